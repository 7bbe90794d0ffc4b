// RunPlan (run/plan.ts): from the command line, with every problem reported at once; with --resume
// from the stored run.json alone (its configuration wins over the flags given), through the same
// RunSettings; and what a new run records is exactly what --resume restores.
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode, UsageError } from '../../src/errors.js';
import { IMPL_NAMES } from '../../src/servers/registry.js';
import { buildMatrix } from '../../src/run/matrix.js';
import { defaultCellValues } from '../../src/run/cell-options.js';
import { newRunInfo, settingsFromRun, type RunPlan } from '../../src/run/plan.js';
import { RunInfoSchema } from '../../src/results/schema.js';
import { readRunInfo } from '../../src/results/store.js';
import { benchPlan as plan, problemsOf } from '../support/plan.js';

const RUNS = join(dirname(new URL(import.meta.url).pathname), '..', 'fixtures', 'runs');

let reports: string;
const saved = process.env.SERVER_BENCH_REPORTS;
beforeAll(async () => {
  reports = await mkdtemp(join(tmpdir(), 'plan-test-'));
  process.env.SERVER_BENCH_REPORTS = reports;
  await cp(join(RUNS, 'normal'), join(reports, 'normal'), { recursive: true });
});
afterAll(async () => {
  if (saved === undefined) delete process.env.SERVER_BENCH_REPORTS;
  else process.env.SERVER_BENCH_REPORTS = saved;
  await rm(reports, { recursive: true, force: true });
});

describe('RunPlan from the command line', () => {
  it("holds the run's settings, its folder under the reports and the cell options every cell gets", async () => {
    const p = await plan([
      '--impls',
      'tsherve,nginx',
      '--sizes',
      '1',
      '--reps',
      '2',
      '--duration',
      '2s',
      '--warmup',
      '0s',
      '--loadgen',
      'shared',
      '--out',
      join(reports, 'x'),
    ]);
    expect(p).toMatchObject({
      backend: 'local',
      implSpecs: ['tsherve', 'nginx'],
      reps: 2,
      loadgen: 'shared',
      engine: 'auto',
      reference: null,
      runDir: join(reports, 'x'),
      reportsDir: reports,
      resume: null,
    });
    expect(p.impls.map((i) => i.name)).toEqual(['tsherve', 'nginx']);
    expect(p.cell).toEqual({ ...defaultCellValues('local'), durationSeconds: 2, warmupSeconds: 0 });
    expect(p.site).toMatchObject({ kind: 'generated', seed: 1, targetBytes: 40_000_000 });
    const fresh = await plan(['--impls', 'tsherve']);
    expect(dirname(fresh.runDir)).toBe(reports);
  });

  it('the VM backend: every implementation by default, and its refusals all at once', async () => {
    const p = await plan(['--backend', 'vm', '--sizes', '1']);
    expect(p.impls.map((i) => i.name)).toEqual(IMPL_NAMES); // the VMs carry every one
    expect(p.engine).toBe('k6');
    const problems = await problemsOf(['--backend', 'vm', '--impls', 'tsherve,gosherve@v0.3.7', '--engine', 'auto', '--runner', '/x', '--webroot', '/tmp']);
    expect(problems).toHaveLength(4);
    expect(problems[0]).toMatch(/^--webroot is not taken by --backend vm/);
    expect(problems[1]).toMatch(/^--backend vm: gosherve@v0\.3\.7 cannot run in the VMs/);
    expect(problems[2]).toMatch(/^--engine auto: the VMs run k6/);
    expect(problems[3]).toMatch(/^--runner names one runner, for one size/);
  });

  it('checks files and combinations before anything starts', async () => {
    expect(await problemsOf(['--redirects', '/nonexistent/map.txt', '--reference', 'apache', '--resume', 'normal', '--out', '/tmp/x'])).toEqual([
      '--redirects /nonexistent/map.txt: no such file (pass a redirect map file, one "alias https://target" per line)',
      '--redirects needs --webroot (give both to benchmark your own site)',
      expect.stringMatching(/^--reference apache: not one of the implementations this run runs/),
      '--resume and --out cannot be combined (--resume continues the run folder it names)',
    ]);
    const missing = await plan(['--resume', 'nosuch']).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(UsageError);
    expect((missing as UsageError).exitCode).toBe(ExitCode.usage);
    expect((missing as UsageError).oneLine()).toBe(`--resume nosuch: no run folder ${join(reports, 'nosuch')} (run ids are folder names under ${reports})`);
  });
});

describe('RunPlan from a stored run (--resume)', () => {
  it('refuses flags that would change the stored settings, naming each difference in one line', async () => {
    const err = await plan([
      '--resume',
      'normal',
      '--impls',
      'nginx',
      '--sizes',
      '16',
      '--reps',
      '5',
      '--duration',
      '1s',
      '--vus',
      '7',
      '--loadgen',
      'shared',
      '--site-size',
      '2MB',
      '--json',
    ]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    const line = (err as UsageError).oneLine();
    expect(line).toMatch(
      /^--resume normal: --impls nginx \(the run has [^)]+\), --sizes 16 \(the run has 1,2\), --reps 5 \(the run has \d+\), --duration 1s \(the run has \d+s\), --vus 7 \(the run has default\), --loadgen shared \(the run has dedicated\), --site-size 2MB \(the run has 40000000 bytes\): a resumed run keeps the settings it started with \(leave those flags out/,
    );
    expect(line).not.toContain('--json');
  });

  it('takes the stored configuration, with the results already there; flags that repeat it are fine', async () => {
    const stored = await readRunInfo(join(reports, 'normal'));
    const p = await plan([
      '--resume',
      'normal',
      '--reps',
      String(stored.config.reps),
      '--sizes',
      stored.config.sizes.map((z) => z.name).join(','),
      '--engine',
      'auto',
      '--json',
    ]);
    expect(p.json).toBe(true);
    expect(p.runDir).toBe(join(reports, 'normal'));
    expect(p.resume?.run).toEqual(stored);
    expect(p.resume?.results.length).toBeGreaterThan(0);
    expect(p.impls.map((i) => i.name)).toEqual(stored.config.impls);
    expect({ sizes: p.sizes, reps: p.reps, engine: p.engine, loadgen: p.loadgen, reference: p.reference }).toEqual({
      sizes: stored.config.sizes,
      reps: stored.config.reps,
      engine: stored.config.engine,
      loadgen: stored.loadgen,
      reference: stored.config.reference,
    });
    // Options the stored run predates read as what it ran with: shipped logs, not today's quiet default.
    expect(stored.config.serverLogs).toBeUndefined();
    expect(p.cell).toMatchObject({
      durationSeconds: stored.config.durationSeconds,
      warmupSeconds: stored.config.warmupSeconds,
      vusOverride: stored.config.vusOverride,
      connectionsOverride: null,
      serverLogs: 'shipped',
    });
    expect(p.site).toEqual({ kind: 'generated', seed: 1, targetBytes: 40_000_000 });
  });

  it('a new run records exactly the settings --resume restores', async () => {
    const p: RunPlan = await plan([
      '--impls',
      'tsherve,nginx',
      '--sizes',
      '1,2',
      '--reps',
      '2',
      '--duration',
      '3s',
      '--warmup',
      '1s',
      '--vus',
      '5',
      '--loadgen',
      'shared',
      '--seed',
      '7',
      '--site-size',
      '2MB',
      '--reference',
      'nginx',
    ]);
    const facts = {
      engine: 'wrk' as const,
      emulated: false,
      site: { kind: 'generated' as const, seed: 7, targetBytes: 2_000_000, files: 40, bytes: 2_000_000, aliases: 2 },
      versions: { go: null, engine: 'wrk 4', impls: {} },
    };
    const run = RunInfoSchema.parse(await newRunInfo(p, facts, buildMatrix(['tsherve', 'nginx'], p.sizes, p.reps)));
    expect(run.config.implSpecs).toEqual(['tsherve', 'nginx']);
    expect(settingsFromRun(run)).toEqual({
      implSpecs: p.implSpecs,
      sizes: p.sizes,
      reps: p.reps,
      engine: 'wrk',
      loadgen: p.loadgen,
      site: p.site,
      reference: 'nginx',
      cell: p.cell,
      profile: null,
    });
  });
});
