// How a run's outcome becomes its exit code and its closing lines (README: 4 environment, 5 a
// failed cell): a run with nothing to run stops before it writes a run folder, naming why; a
// failed verification or cell is 5; an implementation asked for by name that could not be had is
// 4. Each is said once, one line each. Pure: the outcome in, lines and a code out.
import { EnvironmentError, ExitCode, type ExitCodeValue } from '../errors.js';
import type { BenchOutcome } from './loop.js';

/** Every cell vetoed (no size fits, no implementation available): the error, naming each reason once. */
export function nothingToRun(skipped: readonly { impl: string; size: string; reason: string }[]): EnvironmentError {
  const reasons = [...new Set(skipped.map((s) => s.reason))];
  const shared = reasons.some((r) => r.includes('--loadgen shared'));
  return new EnvironmentError(
    `nothing to run: ${reasons.join('; ') || 'no implementation and size'}`,
    shared
      ? 'add --loadgen shared, or choose a size this host fits (--sizes 1)'
      : 'choose sizes this host fits and implementations that are available (server-bench prepare names them)',
  );
}

/** The closing lines (stderr) and the exit code; `requested`: the implementations named with --impls (null: the default set). */
export function outcomeCode(
  outcome: Pick<BenchOutcome, 'failed' | 'rejected' | 'unavailable'>,
  requested: readonly string[] | null,
  retryHint: string,
): { lines: string[]; code: ExitCodeValue } {
  const lines: string[] = [];
  let code: ExitCodeValue = ExitCode.ok;
  for (const r of outcome.rejected) {
    lines.push(`${r.impl} at size ${r.size} was not measured: ${r.reason}`);
    code = ExitCode.failure;
  }
  if (outcome.failed.length > 0) {
    lines.push(`${outcome.failed.length} cell(s) failed: ${outcome.failed.join(', ')} (see the lines above; ${retryHint})`);
    code = ExitCode.failure;
  }
  const missing = outcome.unavailable.filter((u) => requested?.includes(u.impl));
  if (missing.length > 0) {
    lines.push(`asked for but unavailable: ${missing.map((u) => u.impl).join(', ')} (see the skip lines above; server-bench prepare says how to get each)`);
    if (code === ExitCode.ok) code = ExitCode.environment;
  }
  return { lines: lines.map((l) => `server-bench: ${l}`), code };
}
