import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode, InputError, UsageError } from '../../src/errors.js';
import { cellDir, RESULT_FILE } from '../../src/results/layout.js';
import { defaultCellValues } from '../../src/run/cell-options.js';
import { SCHEMA_VERSION, type CellResult, type RunInfo } from '../../src/results/schema.js';
import { createRunDir, loadRun, storedResults, writeCell, writeFileAtomic, writeRunInfo } from '../../src/results/store.js';

let base: string;
beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'store-test-'));
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

const size = { name: '1', cpus: 1, memoryMiB: 256, vus: 1 };
function runInfo(runId: string): RunInfo {
  return {
    schemaVersion: SCHEMA_VERSION,
    runId,
    createdAt: new Date().toISOString(),
    backend: 'local',
    loadgen: 'dedicated',
    emulated: false,
    config: {
      impls: ['tsherve'],
      sizes: [size],
      reps: 2,
      ...defaultCellValues('local'),
      durationSeconds: 2,
      warmupSeconds: 1,
      vusOverride: null,
      engine: 'wrk',
      reference: 'tsherve',
    },
    site: { kind: 'generated', seed: 1, targetBytes: 2_000_000, files: 10, bytes: 2_000_000, aliases: 3 },
    order: ['tsherve-1cpu-r1', 'tsherve-1cpu-r2'],
    skipped: [],
    host: { hostname: 'h', cpuModel: 'cpu', cores: 2, memoryBytes: 1, kernel: 'k', os: 'os', cgroupV2Writable: false, kvm: false },
    versions: { node: process.version, go: null, engine: 'wrk 4', impls: { tsherve: '0.1.0' } },
    git: { revision: null, dirty: false },
  };
}
function cell(rep: number): CellResult {
  const now = new Date().toISOString();
  return {
    schemaVersion: SCHEMA_VERSION,
    id: `tsherve-1cpu-r${rep}`,
    impl: 'tsherve',
    size,
    rep,
    order: rep - 1,
    engine: { name: 'wrk', version: '4' },
    vus: 1,
    connections: 6,
    warmupSeconds: 1,
    durationSeconds: 2,
    requests: 100,
    reqPerSec: 50,
    bytes: 1000,
    bytesPerSec: 500,
    latencyMs: { avg: 1, p50: 1, p90: 1, p95: 1, p99: 2, max: 3 },
    statusCounts: { '200': 100 },
    failedChecks: 0,
    errors: 0,
    mapFetches: 0,
    resources: {
      serverCpuSeconds: 1,
      serverPeakRssBytes: 1e6,
      memoryLimitBytes: null,
      memoryEnforced: false,
      serverCpus: [0],
      loadgenCpuSeconds: 0.5,
      loadgenCpus: [1],
      loadgenUtilisation: 0.25,
    },
    warnings: [],
    startedAt: now,
    finishedAt: now,
    raw: { any: 'thing' },
  };
}

describe('store', () => {
  it('creates a run folder once and refuses to reuse it', async () => {
    const dir = join(base, 'reports', 'run-a');
    await createRunDir(dir);
    await writeFile(join(dir, 'marker'), 'x');
    const err = await createRunDir(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).message).toContain('already exists');
    expect(await readFile(join(dir, 'marker'), 'utf8')).toBe('x');
  });

  it('writes atomically: no temporary file is left, and a reader never sees a partial file', async () => {
    const f = join(base, 'atomic', 'big.json');
    const big = JSON.stringify({ data: 'y'.repeat(2_000_000) });
    await writeFileAtomic(f, JSON.stringify({ data: 'old' }));
    let partial = 0;
    let reads = 0;
    const reader = (async () => {
      for (let i = 0; i < 200; i++) {
        const text = await readFile(f, 'utf8');
        reads++;
        try {
          JSON.parse(text);
        } catch {
          partial++;
        }
      }
    })();
    for (let i = 0; i < 10; i++) await writeFileAtomic(f, i % 2 ? big : JSON.stringify({ data: 'old' }));
    await reader;
    expect(reads).toBe(200);
    expect(partial).toBe(0);
    expect((await readdir(join(base, 'atomic'))).sort()).toEqual(['big.json']);
  });

  it('round-trips a run and lists finished cells', async () => {
    const dir = join(base, 'reports', 'run-b');
    await createRunDir(dir);
    await writeRunInfo(dir, runInfo('run-b'));
    await writeCell(dir, cell(1), 'text summary\n');
    expect((await storedResults(dir)).map((r) => r.id)).toEqual(['tsherve-1cpu-r1']);
    const loaded = await loadRun(dir);
    expect(loaded.run.runId).toBe('run-b');
    expect(loaded.cells.map((c) => c.id)).toEqual(['tsherve-1cpu-r1']);
    expect(await readFile(join(cellDir(dir, '1', 'tsherve', 1), 'summary.txt'), 'utf8')).toBe('text summary\n');
    expect(JSON.parse(await readFile(join(cellDir(dir, '1', 'tsherve', 1), 'summary.json'), 'utf8'))).toEqual({ any: 'thing' });
  });

  it('names the corrupt file in an InputError', async () => {
    const dir = join(base, 'reports', 'run-c');
    await createRunDir(dir);
    await writeRunInfo(dir, runInfo('run-c'));
    await writeCell(dir, cell(1));
    const file = join(cellDir(dir, '1', 'tsherve', 1), RESULT_FILE);
    await writeFile(file, '{"schemaVersion": 1, "id": "garbage"');
    const err = await loadRun(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).exitCode).toBe(ExitCode.input);
    expect((err as InputError).message).toContain(file);
    await writeFile(file, JSON.stringify({ ...cell(1), requests: -5 }));
    const err2 = await storedResults(dir).catch((e: unknown) => e);
    expect((err2 as InputError).message).toMatch(new RegExp(`corrupt cell result ${file}: .* at requests`));
  });
});
