// The run plan as `bench ARGV` makes it (the engine not looked for), and the one-line problems it
// refuses ARGV with ([] when it takes it): the plan, VM profile and --parca tests share them.
import { ProblemsError, UsageError } from '../../src/errors.js';
import { BENCH_FLAGS, readFlags } from '../../src/run/options.js';
import { makeRunPlan, type RunPlan } from '../../src/run/plan.js';

export function benchPlan(argv: string[]): Promise<RunPlan> {
  return makeRunPlan(readFlags('bench', argv, BENCH_FLAGS), { checkEngine: false });
}

export async function problemsOf(argv: string[]): Promise<string[]> {
  try {
    await benchPlan(argv);
  } catch (err) {
    if (err instanceof ProblemsError) return err.problems.map((p) => p.oneLine());
    if (err instanceof UsageError) return [err.oneLine()];
    throw err;
  }
  return [];
}
