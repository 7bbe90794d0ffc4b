// k6test's argument handling and the pure parts of the systemd supervisor (cgroup files), the
// built k6test CLI's usage on an unknown implementation, and the VM backend's pure helpers (runner
// lookup, KVM refusal, key pinning, the CellSpec a cell is sent as).
import { mkdtemp, rm, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvironmentError, ExitCode, UsageError } from '../../src/errors.js';
import { cellSpecFromArgs, parseK6TestArgs } from '../../src/guest/k6test.js';
import { CELL_KEYS, defaultCellValues } from '../../src/run/cell-options.js';
import { parseCellSpec } from '../../src/run/cellspec.js';
import { cellSpecOf } from '../../src/run/loop.js';
import type { Size } from '../../src/results/schema.js';
import { DEFAULT_SIZES } from '../../src/run/sizes.js';
import { parseCpuStat, parseMemoryValue, unitCgroupMonitor } from '../../src/guest/supervisor-systemd.js';
import { K6TEST_SPEC_COMMAND } from '../../src/vm/backend.js';
import { generateKeyPair, publicKeyBlob } from '../../src/vm/keys.js';
import { checkKvm, locateRunner } from '../../src/vm/runner.js';

const ROOT = join(dirname(new URL(import.meta.url).pathname), '..', '..', '..');
const K6TEST = join(ROOT, 'dist', 'driver', 'src', 'guest', 'k6test-cli.js');
const VALID = ['gosherve-old', 'gosherve', 'tsherve', 'nginx'];

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'k6test-unit-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('k6test arguments', () => {
  it('takes the implementation and the load flags', () => {
    const o = parseK6TestArgs(
      ['tsherve', '--vus', '10', '--duration', '1m', '--warmup', '5s', '--out', '/x', '--rep', '2', '--order', '3', '--no-verify', '--engine', 'wrk'],
      VALID,
      {},
    );
    expect(o).toMatchObject({
      impl: 'tsherve',
      vusOverride: 10,
      durationSeconds: 60,
      warmupSeconds: 5,
      out: '/x',
      rep: 2,
      order: 3,
      verify: false,
      engine: 'wrk',
      supervisor: 'systemd',
    });
  });

  it("defaults: 30 s measured, 5 s warm-up, k6, the size's VUs, systemd unless told otherwise", () => {
    expect(parseK6TestArgs(['gosherve'], VALID, {})).toMatchObject({
      durationSeconds: 30,
      warmupSeconds: 5,
      engine: 'k6',
      vusOverride: null,
      rep: 1,
      order: 0,
      verify: true,
      supervisor: 'systemd',
    });
    expect(parseK6TestArgs(['gosherve'], VALID, { K6TEST_SUPERVISOR: 'local' }).supervisor).toBe('local');
  });

  it('an unknown implementation is a usage error listing the valid ones', () => {
    expect(() => parseK6TestArgs(['apache'], VALID, {})).toThrow(UsageError);
    try {
      parseK6TestArgs(['apache'], VALID, {});
    } catch (err) {
      expect((err as UsageError).oneLine()).toBe('k6test: unknown implementation "apache" (valid implementations: gosherve-old, gosherve, tsherve, nginx)');
      expect((err as UsageError).exitCode).toBe(ExitCode.usage);
    }
    expect(() => parseK6TestArgs([], VALID, {})).toThrow(/no implementation given/);
    expect(() => parseK6TestArgs(['tsherve', '--vus', '0'], VALID, {})).toThrow(/--vus/);
    expect(() => parseK6TestArgs(['tsherve', '--duration', 'soon'], VALID, {})).toThrow(/bad duration/);
    expect(() => parseK6TestArgs(['tsherve', '--engine', 'ab'], VALID, {})).toThrow(/--engine/);
    expect(() => parseK6TestArgs(['tsherve', '--bogus'], VALID, {})).toThrow(UsageError);
  });

  /** A stand-in /etc/server-bench of a size-1 VM with gosherve and tsherve. */
  async function writeEtc(): Promise<string> {
    const etc = join(dir, 'etc');
    await execa('mkdir', ['-p', etc]);
    await writeFile(
      join(etc, 'impls.json'),
      JSON.stringify([
        { name: 'gosherve', unit: 'bench-gosherve', sitePort: 8080, metricsPort: 8081, metricPrefix: 'gosherve_' },
        { name: 'tsherve', unit: 'bench-tsherve', sitePort: 8080, metricsPort: 8081, metricPrefix: 'tsherve_' },
      ]),
    );
    await writeFile(join(etc, 'size.json'), JSON.stringify({ name: '1', cpus: 1, memoryMiB: 256, vus: 1, serverCpuList: [0], loadgenCpuList: [1] }));
    await writeFile(
      join(etc, 'vm.json'),
      JSON.stringify({
        webroot: '/w',
        mapUrl: 'http://127.0.0.1:9/r',
        mapFetchesUrl: 'http://127.0.0.1:9/f',
        mapFetchesResetUrl: 'http://127.0.0.1:9/f/r',
        outDir: join(dir, 'out'),
      }),
    );
    return etc;
  }

  it("the built CLI prints the usage with the VM's implementations and exits 2", async () => {
    const etc = await writeEtc();
    const r = await execa(process.execPath, [K6TEST, 'apache'], { reject: false, env: { SERVER_BENCH_ETC: etc }, timeout: 20_000 });
    expect(r.exitCode).toBe(ExitCode.usage);
    expect(r.stderr).toMatch(/^usage: k6test <impl>/m);
    expect(r.stderr).toMatch(/implementations: gosherve, tsherve/);
    expect(r.stderr).toMatch(/k6test: unknown implementation "apache" \(valid implementations: gosherve, tsherve\)/);
  });

  it('the built CLI refuses a cell spec on stdin that is not one, or is for another size, with one line', async () => {
    const etc = await writeEtc();
    const k6test = (input: string) =>
      execa(process.execPath, [K6TEST, '--spec', '-'], { reject: false, input, env: { SERVER_BENCH_ETC: etc }, timeout: 20_000 });
    const bad = await k6test('{"impl": "tsherve", "vus": 3}');
    expect(bad.exitCode).toBe(ExitCode.input);
    expect(bad.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^k6test: the cell spec from stdin is invalid: .* \(the driver and the VM must come from one revision; rebuild the VM\)$/),
    ]);
    const size2 = cellSpecOf(
      { loadgen: 'dedicated', reps: 3, profile: null, cell: defaultCellValues('vm') },
      'k6',
      { id: 'tsherve-2cpu-r1', impl: 'tsherve', size: DEFAULT_SIZES[1] as Size, rep: 1, order: 0 },
      true,
    );
    const other = await k6test(JSON.stringify(size2));
    expect(other.exitCode).toBe(ExitCode.usage);
    expect(other.stderr).toMatch(/^k6test: the cell is for size 2, this VM is size 1 /m);
  });
});

describe("systemd supervisor: the unit's cgroup files", () => {
  it('parses cpu.stat usage_usec and memory values', () => {
    expect(parseCpuStat('usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n')).toBe(2.5);
    expect(parseCpuStat('user_usec 1\n')).toBeNull();
    expect(parseMemoryValue('123456789\n')).toBe(123456789);
    expect(parseMemoryValue('max\n')).toBeNull();
    expect(parseMemoryValue('')).toBeNull();
  });

  it('a monitor over a unit folder reads CPU and the peak (plain files stand in for cgroupfs)', async () => {
    const unit = join(dir, 'bench-x.service');
    await execa('mkdir', ['-p', unit]);
    await writeFile(join(unit, 'cpu.stat'), 'usage_usec 1500000\n');
    await writeFile(join(unit, 'memory.peak'), '4096\n');
    const m = unitCgroupMonitor(unit);
    expect(await m.cpuSeconds()).toBe(1.5);
    expect(await m.peakRssBytes()).toBe(4096);
    await m.stop();
  });
});

describe('VM backend helpers', () => {
  it("finds the runner by flag, per-size variable or the apps' JSON table, and says how to get one", async () => {
    const runner = join(dir, 'run-bench-1-vm');
    await writeFile(runner, '#!/bin/sh\n');
    await chmod(runner, 0o755);
    expect(locateRunner('1', runner, {})).toBe(runner);
    expect(locateRunner('1', null, { SERVER_BENCH_VM_RUNNER_1: runner })).toBe(runner);
    expect(locateRunner('1', null, { SERVER_BENCH_VM_RUNNERS: JSON.stringify({ '1': runner }) })).toBe(runner);
    expect(() => locateRunner('2', null, {})).toThrow(/no VM runner for size 2/);
    expect(() => locateRunner('1', join(dir, 'missing'), {})).toThrow(/not executable/);
    // Not JSON at all: the same usage error as a wrong shape, not an internal error.
    for (const bad of ['{not json', '["a"]']) expect(() => locateRunner('1', null, { SERVER_BENCH_VM_RUNNERS: bad })).toThrow(UsageError);
  });

  it('refuses to run without KVM unless --allow-tcg, then marks the run emulated', () => {
    let line = '';
    try {
      checkKvm(false, join(dir, 'no-kvm'));
    } catch (err) {
      expect((err as EnvironmentError).exitCode).toBe(ExitCode.environment);
      line = (err as EnvironmentError).oneLine();
    }
    expect(line).toMatch(/no-kvm is missing.*pass --allow-tcg/);
    expect(checkKvm(true, join(dir, 'no-kvm'))).toEqual({ emulated: true });
  });

  it('generates a per-run ed25519 key and reads published key lines to the blob ssh2 presents', () => {
    const a = generateKeyPair();
    const b = generateKeyPair();
    expect(a.authorizedKey).toMatch(/^ssh-ed25519 [A-Za-z0-9+/=]+ server-bench\n$/);
    expect(a.privateKey).toMatch(/BEGIN OPENSSH PRIVATE KEY/);
    expect(publicKeyBlob(a.authorizedKey).equals(publicKeyBlob(b.authorizedKey))).toBe(false);
    expect(() => publicKeyBlob('garbage')).toThrow(/not an OpenSSH public key/);
  });

  it('hands a cell to the VM as one CellSpec on stdin: the one the loop makes, and the one k6test makes of the same flags', () => {
    const size = DEFAULT_SIZES.find((s) => s.name === '2') as Size;
    const cell = { id: 'gosherve-old-2cpu-r2', impl: 'gosherve-old', size, rep: 2, order: 7 };
    const sent = {
      ...cellSpecOf(
        { loadgen: 'dedicated', reps: 3, profile: null, cell: { ...defaultCellValues('vm'), durationSeconds: 30, warmupSeconds: 5, vusOverride: 10 } },
        'k6',
        cell,
        false,
      ),
      out: '/var/lib/k6test/out/gosherve-old-2cpu-r2',
    };
    expect(K6TEST_SPEC_COMMAND).toBe('k6test --spec -');
    // What crosses the wire is JSON, validated on the other side by the same schema.
    const wire = JSON.parse(JSON.stringify(sent)) as unknown;
    expect(parseCellSpec(JSON.stringify(sent), 'test')).toEqual(wire);
    expect(wire).toEqual({
      ...defaultCellValues('vm'),
      schemaVersion: 1,
      impl: 'gosherve-old',
      size: { name: '2', cpus: 2, memoryMiB: 4096, vus: 10 },
      rep: 2,
      order: 7,
      verify: false,
      engine: 'k6',
      loadgen: 'dedicated',
      out: '/var/lib/k6test/out/gosherve-old-2cpu-r2',
      profile: null,
      durationSeconds: 30,
      warmupSeconds: 5,
      vusOverride: 10,
    });
    expect(Object.keys(wire as object)).toEqual(expect.arrayContaining(CELL_KEYS)); // every cell option travels
    // `k6test <impl> [flags]` (vm test, people) describes the same cell in the same shape.
    const cfg = {
      size: { ...size, serverCpuList: [0, 1], loadgenCpuList: [2], loadgen: 'dedicated' as const },
      impls: [],
      paths: { webroot: '/w', mapUrl: '', mapFetchesUrl: '', mapFetchesResetUrl: '', outDir: '/var/lib/k6test/out' },
    };
    const args = parseK6TestArgs(
      [
        'gosherve-old',
        '--vus',
        '10',
        '--duration',
        '30s',
        '--warmup',
        '5s',
        '--rep',
        '2',
        '--order',
        '7',
        '--engine',
        'k6',
        '--loadgen',
        'dedicated',
        '--out',
        '/var/lib/k6test/out/gosherve-old-2cpu-r2',
        '--no-verify',
      ],
      VALID,
      {},
    );
    expect(cellSpecFromArgs(args, cfg)).toEqual(wire);
  });

  it('refuses a spec that is not a CellSpec, and flags beside --spec', () => {
    expect(() => parseCellSpec('{"impl":"tsherve"}', 'stdin')).toThrow(/the cell spec from stdin is invalid: .* at /);
    expect(() => parseCellSpec('k6test tsherve --vus 1', 'stdin')).toThrow(/is not JSON/);
    const good = cellSpecOf(
      { loadgen: 'shared', reps: 3, profile: null, cell: { ...defaultCellValues('local'), durationSeconds: 1, warmupSeconds: 0 } },
      'wrk',
      { id: 'tsherve-1cpu-r1', impl: 'tsherve', size: DEFAULT_SIZES[0] as Size, rep: 1, order: 0 },
      true,
    );
    // A key the guest does not know (a newer driver) is refused, not ignored.
    expect(() => parseCellSpec(JSON.stringify({ ...good, fromANewerDriver: 60 }), 'stdin')).toThrow(/invalid/);
    expect(() => parseK6TestArgs(['tsherve', '--spec', '-'], VALID, {})).toThrow(/--spec carries the whole cell/);
    expect(() => parseK6TestArgs(['--spec', '-', '--vus', '3'], VALID, {})).toThrow(/--spec carries the whole cell; --vus/);
    expect(parseK6TestArgs(['--spec', 'cell.json', '--supervisor', 'local'], VALID, {})).toMatchObject({ spec: 'cell.json', supervisor: 'local' });
  });
});
