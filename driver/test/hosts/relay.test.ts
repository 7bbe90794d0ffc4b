// The load relay end to end, short of systemd: the server machine is the stand-in runner
// (fixtures/fake-runner.mjs: a real sshd whose sessions run our built k6test with the local
// supervisor, a real tsherve on 8080), the generator machine a second real sshd on 127.0.0.1.
// One cell goes to `k6test --spec - --relay-load 0`; k6test asks the driver for its warm-up and
// measured load on stderr, the driver runs wrk on the generator over SSH and answers on k6test's
// stdin, and the cell comes back over SFTP recorded with the generator machine's cores.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostKeyBlob } from '../../src/hosts/file.js';
import { runRemoteLoad } from '../../src/hosts/generator.js';
import { checkGenerator } from '../../src/hosts/generator-check.js';
import { probeFromGenerator, startServerProbe } from '../../src/hosts/netpath.js';
import { execRelayedCell, relayCommand } from '../../src/hosts/relay.js';
import { openHost, type HostSession } from '../../src/hosts/remote.js';
import { defaultCellValues } from '../../src/run/cell-options.js';
import { cellSpecOf, type CellHooks } from '../../src/run/loop.js';
import type { Size } from '../../src/results/schema.js';
import { DEFAULT_SIZES } from '../../src/run/sizes.js';
import { generateSite } from '../../src/site/generate.js';
import { collectCell } from '../../src/vm/backend.js';
import { generateKeyPair, publicKeyBlob } from '../../src/vm/keys.js';
import { connect, type SshSession } from '../../src/vm/ssh.js';
import { sshdMissing, startSshd, type TestSshd } from '../support/sshd.js';
import { freePort } from '../support/site-servers.js';

const ROOT = join(dirname(new URL(import.meta.url).pathname), '..', '..', '..');
const RUNNER = join(ROOT, 'driver', 'test', 'fixtures', 'fake-runner.mjs');
const K6TEST = join(ROOT, 'dist', 'driver', 'src', 'guest', 'k6test-cli.js');

const missing = sshdMissing() ?? (existsSync(K6TEST) ? null : 'npm run build first');

describe.skipIf(missing !== null)('k6test relaying its load to a generator machine (real sshds, k6test, tsherve, wrk)', () => {
  let work: string;
  let runner: ResultPromise;
  let server: SshSession;
  let sshd: TestSshd;
  let gen: HostSession;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'relay-test-'));
    const generated = await generateSite({ dir: join(work, 'site'), seed: 1, targetBytes: 1_000_000 });
    await writeFile(join(work, 'redirects.txt'), generated.redirectsText);
    const shared = join(work, 'shared');
    await mkdir(shared);
    const keys = generateKeyPair('relay-test');
    await writeFile(join(shared, 'authorized_keys'), keys.authorizedKey);
    const port = await freePort();
    runner = execa(process.execPath, [RUNNER], {
      reject: false,
      all: true,
      env: {
        NIX_DISK_IMAGE: join(work, 'disk.img'),
        QEMU_NET_OPTS: `hostfwd=tcp:127.0.0.1:${port}-:22`,
        SHARED_DIR: shared,
        FAKE_VM_WEBROOT: join(work, 'site'),
        FAKE_VM_MAP: join(work, 'redirects.txt'),
        TMPDIR: work,
      },
    });
    const pub = join(shared, 'host_ed25519_key.pub');
    for (let i = 0; i < 300 && !existsSync(pub); i++) await new Promise((r) => setTimeout(r, 100));
    server = await connect({ host: '127.0.0.1', port, privateKey: keys.privateKey, hostKey: publicKeyBlob(await readFile(pub, 'utf8')) });
    sshd = await startSshd();
    gen = await openHost({
      user: sshd.user,
      host: '127.0.0.1',
      port: sshd.port,
      identityFile: sshd.identityFile,
      hostKeyLine: sshd.hostKeyLine,
      hostKey: (hostKeyBlob(sshd.hostKeyLine) as { blob: Buffer }).blob,
    });
  }, 60_000);

  afterAll(async () => {
    server?.close();
    gen?.close();
    runner?.kill('SIGTERM');
    await runner;
    await sshd?.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('runs the cell with its warm-up and measured load on the generator and stores it with the generator cores', async () => {
    const size = DEFAULT_SIZES.find((s) => s.name === '1') as Size;
    const spec = cellSpecOf(
      { loadgen: 'dedicated', reps: 1, profile: null, cell: { ...defaultCellValues('vm'), durationSeconds: 2, warmupSeconds: 1 } },
      'wrk',
      { id: 'tsherve-1cpu-r1', impl: 'tsherve', size, rep: 1, order: 0 },
      true,
    );
    const runDir = join(work, 'run');
    await mkdir(runDir);
    const info: string[] = [];
    const hooks: CellHooks = { runDir, info: (l) => info.push(l), onPhase: () => undefined, onProgress: () => undefined };
    const asked: number[] = [];
    const remoteOut = join(work, 'remote-out', 'tsherve-1cpu-r1');
    const r = await execRelayedCell(server, relayCommand([1]), spec, remoteOut, hooks, 'server', (req, signal) => {
      asked.push(req.durationSeconds);
      // k6test's own view of the server (127.0.0.1:8080) reaches the generator as serverAddress.
      expect(req.baseUrl).toBe('http://127.0.0.1:8080');
      return runRemoteLoad(gen, req, { engine: 'wrk', engineVersion: 'relayed', cpus: [1], serverAddress: '127.0.0.1', signal });
    });
    expect(r.code, `${r.stderr}\n${info.join('\n')}`).toBe(0);
    // Warm-up, then the measured run: both went to the generator.
    expect(asked).toEqual([1, 2]);
    // The relay's lines are the driver's, never progress lines.
    expect(info.join('\n')).not.toMatch(/SERVER_BENCH_LOAD/);
    const out = await collectCell(server, remoteOut, join(work, 'staging'), spec, hooks, false, r);
    expect(out.kind).toBe('done');
    if (out.kind !== 'done') return;
    const c = out.result;
    expect(c.engine).toEqual({ name: 'wrk', version: 'relayed' });
    expect(c.requests).toBeGreaterThan(50);
    expect(c.failedChecks).toBe(0);
    expect(c.resources.loadgenCpus).toEqual([1]);
    expect(c.resources.loadgenCpuSeconds).toBeGreaterThan(0);
    expect(c.resources.serverCpuSeconds).toBeGreaterThan(0);
    // The generator's cores are another machine's: never "shared" with the server's.
    expect(c.warnings.map((w) => w.code)).not.toContain('cores-shared');
  }, 120_000);

  it('measures the path against k6test --net-probe on the server machine, which ends with its stdin; the check passes', async () => {
    const asServer: HostSession = { ...server, target: gen.target, asRoot: (c) => c };
    const probe = await startServerProbe(asServer, 30);
    expect(probe.port).toBe(8080); // impls.json's site port
    let path;
    try {
      path = await probeFromGenerator(gen, '127.0.0.1', probe.port, 10);
    } finally {
      await probe.stop();
    }
    expect(path.problem).toBeNull();
    expect(path.pings).toBe(10);
    expect(path.rttMs).toBeGreaterThan(0.001);
    expect(path.rttMs).toBeLessThan(20);
    expect(path.capacityBytesPerSecond).toBeGreaterThan(50e6);
    // Stopped: nothing listens on the site port any more.
    const refused = await execa('bash', ['-c', 'exec 3<>/dev/tcp/127.0.0.1/8080'], { reject: false });
    expect(refused.exitCode).not.toBe(0);
    // The whole generator check, the address tried through the server machine's probe.
    const g = { ssh: gen.target, cpus: [1], serverAddress: '127.0.0.1' };
    const checked = await checkGenerator(g, 'wrk', asServer);
    expect(checked.missing).toEqual([]);
    expect(checked.engineVersion).toMatch(/\d+\.\d+/);
    // An address the generator cannot reach: one line naming it and the fix.
    const bad = await checkGenerator({ ...g, serverAddress: '127.0.0.1:1' }, 'wrk', asServer);
    expect(bad.missing).toHaveLength(1);
    expect(bad.missing[0]).toMatch(/^generator .*: the server address 127\.0\.0\.1:1 is not reachable from it \(.*\): fix generator\.serverAddress/);
  }, 60_000);

  it('a generator that fails fails the cell in one line, and k6test stops', async () => {
    const size = DEFAULT_SIZES.find((s) => s.name === '1') as Size;
    const spec = cellSpecOf(
      { loadgen: 'dedicated', reps: 1, profile: null, cell: { ...defaultCellValues('vm'), durationSeconds: 2, warmupSeconds: 0 } },
      'wrk',
      { id: 'tsherve-1cpu-r2', impl: 'tsherve', size, rep: 2, order: 1 },
      false,
    );
    const runDir = join(work, 'run2');
    await mkdir(runDir);
    const hooks: CellHooks = { runDir, info: () => undefined, onPhase: () => undefined, onProgress: () => undefined };
    const remoteOut = join(work, 'remote-out', 'tsherve-1cpu-r2');
    const r = await execRelayedCell(server, relayCommand([1]), spec, remoteOut, hooks, 'server', async () => {
      const { EnvironmentError } = await import('../../src/errors.js');
      throw new EnvironmentError('generator bench@gen:22: the connection dropped during the wrk run', 'check the generator machine and its network');
    });
    expect(r.code).not.toBe(0);
    const out = await collectCell(server, remoteOut, join(work, 'staging2'), spec, hooks, false, r);
    expect(out).toMatchObject({ kind: 'failed' });
    expect(out.kind === 'failed' ? out.reason : '').toMatch(/generator bench@gen:22: the connection dropped during the wrk run/);
    expect(out.kind === 'failed' ? out.reason : '').not.toContain('\n');
  }, 60_000);
});
