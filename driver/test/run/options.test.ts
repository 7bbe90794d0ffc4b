// The bench flag table (run/options.ts) and the cell options (run/cell-options.ts): one table drives
// parsing (defaults per backend, every problem collected), each backend's --help, k6test's flags,
// and run.json's config, which must keep reading runs stored before an option existed.
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BenchError, ExitCode, UsageError } from '../../src/errors.js';
import { IMPL_NAMES } from '../../src/servers/registry.js';
import { usage } from '../../src/guest/k6test.js';
import { CELL_KEYS, CELL_OPTIONS, storedCellValues, type CellOption } from '../../src/run/cell-options.js';
import { BENCH_FLAGS, flagValues, readFlags, renderFlagHelp, type BackendName } from '../../src/run/options.js';
import { RunInfoSchema } from '../../src/results/schema.js';

const RUNS = join(dirname(new URL(import.meta.url).pathname), '..', 'fixtures', 'runs');

function values(argv: string[], backend: BackendName = 'local') {
  const problems: BenchError[] = [];
  const v = flagValues(BENCH_FLAGS, readFlags('bench', argv, BENCH_FLAGS), backend, problems);
  return { v, problems: problems.map((p) => p.oneLine()) };
}

describe('bench flags', () => {
  it("parses what is given and takes each backend's default for the rest", () => {
    const local = values(['--impls', 'tsherve,nginx', '--sizes', '2,1', '--duration', '1m30s', '--vus', '4', '--json']);
    expect(local.problems).toEqual([]);
    expect(local.v).toMatchObject({
      impls: ['tsherve', 'nginx'],
      reps: 3,
      durationSeconds: 90,
      warmupSeconds: 5,
      vusOverride: 4,
      engine: 'auto',
      loadgen: 'dedicated',
      json: true,
      backend: 'local',
      allowTcg: false,
    });
    expect(local.v.sizes.map((s) => s.name)).toEqual(['2', '1']);
    expect(values([], 'vm').v).toMatchObject({ engine: 'k6', impls: null, vusOverride: null, sshTimeoutSeconds: null });
  });

  it('collects every problem instead of stopping at the first, each naming its flag', () => {
    const r = values(['--sizes', '1,3,4', '--reps', '0', '--warmup', 'soon', '--engine', 'ab', '--duration', '0s']);
    expect(r.problems).toEqual([
      'unknown size "3" (--sizes takes vCPU counts from: 1, 2, 16)',
      'unknown size "4" (--sizes takes vCPU counts from: 1, 2, 16)',
      '--reps: "0" is not a positive whole number (for example --reps 3)',
      '--duration must be longer than 0 (for example --duration 30s)',
      '--warmup: bad duration "soon" (--warmup takes a duration like 30s, 2m, 1m30s or 500ms)',
      '--engine: unknown engine "ab" (valid: auto, wrk, k6)',
    ]);
  });

  it('a flag the backend does not take is a usage line, in both directions', () => {
    expect(values(['--webroot', '/x', '--resume', 'r1'], 'vm').problems).toEqual([
      '--webroot is not taken by --backend vm (see server-bench bench --backend vm --help)',
      '--resume is not taken by --backend vm (see server-bench bench --backend vm --help)',
    ]);
    expect(values(['--allow-tcg'], 'local').problems).toEqual(['--allow-tcg is not taken by --backend local (see server-bench bench --backend local --help)']);
  });

  it('an unknown flag or a stray argument is one usage line pointing at --help', () => {
    for (const argv of [['--fast'], ['tsherve']]) {
      let err: unknown;
      try {
        readFlags('bench', argv, BENCH_FLAGS);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(UsageError);
      expect((err as UsageError).exitCode).toBe(ExitCode.usage);
      expect((err as UsageError).oneLine()).toMatch(/^bench: .*(--fast|"tsherve").* \(see server-bench bench --help\)$/);
    }
  });

  it("each backend's --help lists exactly the flags it takes, one line each plus continuations", () => {
    const local = renderFlagHelp(BENCH_FLAGS, 'local');
    const vm = renderFlagHelp(BENCH_FLAGS, 'vm');
    for (const o of Object.values(BENCH_FLAGS)) {
      const line = new RegExp(`^  --${o.flag}${'arg' in o && o.arg !== undefined ? ` ${o.arg}` : ''} +\\S`, 'm');
      const takes = (b: BackendName) => !('backends' in o) || o.backends === undefined || (o.backends as readonly string[]).includes(b);
      expect(line.test(local), `--${o.flag} in local help`).toBe(takes('local'));
      expect(line.test(vm), `--${o.flag} in vm help`).toBe(takes('vm'));
    }
    expect(local).toMatch(new RegExp(`^  --impls LIST        implementations, comma-separated \\(${IMPL_NAMES.join(', ')}\\),\\n {22}gosherve@<tag>`, 'm'));
    expect(vm).toMatch(/^ {2}--engine E {10}k6 \(default\) \| wrk, inside the VM$/m);
  });
});

describe('cell options', () => {
  it("are bench flags, k6test flags and keys of run.json's config, all from the one table", () => {
    const k6test = usage(['tsherve']);
    for (const k of CELL_KEYS) {
      const o = CELL_OPTIONS[k];
      expect(BENCH_FLAGS[k], k).toBe(o);
      expect(k6test).toContain(`[--${o.flag} ${o.arg}]`);
      expect(Object.keys(RunInfoSchema.shape.config.shape)).toContain(k);
    }
  });

  it('every stored run still loads: an option missing from an older run.json declares what that run ran with', async () => {
    const dirs = await readdir(RUNS);
    expect(dirs.length).toBeGreaterThan(3);
    for (const d of dirs) {
      const json = JSON.parse(await readFile(join(RUNS, d, 'run.json'), 'utf8')) as { config: Record<string, unknown> };
      for (const k of CELL_KEYS) {
        if (!(k in json.config)) expect((CELL_OPTIONS[k] as CellOption<unknown>).before, `${k} is missing from ${d}/run.json`).not.toBeUndefined();
      }
      const run = RunInfoSchema.parse(json);
      for (const k of CELL_KEYS) expect(storedCellValues(run.config)[k], `${d}: ${k}`).not.toBeUndefined();
    }
  });
});
