// A separate generator machine (hosts/generator.ts, netpath.ts, generator-check.ts) against a real
// OpenSSH sshd on 127.0.0.1 as the generator machine and a real HTTP server started here as the
// server: wrk run there through SFTP'd files with its CPU seconds, the RTT and link probes against
// the real net-probe listener, an abort that leaves no wrk, a dropped session as one line; and the
// pure parts: server addresses, the network-bound warning, the probe's parser, the relay's wire.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BenchError } from '../../src/errors.js';
import { parseHostsFile, parseServerAddress } from '../../src/hosts/file.js';
import { generatorBaseUrl, generatorEngineVersion, killGeneratorCommand, runRemoteLoad } from '../../src/hosts/generator.js';
import { inspectGenerator, pingFromGenerator } from '../../src/hosts/generator-check.js';
import { networkBoundWarning, parseNetPath, probeFromGenerator } from '../../src/hosts/netpath.js';
import { openHost, type HostSession } from '../../src/hosts/remote.js';
import { LOAD_REPLY_MARK, LOAD_REQUEST_MARK, LoadRequestSchema, loadRelay, markedJson, type LoadRequest } from '../../src/guest/load-relay.js';
import { listenNetProbe } from '../../src/guest/netprobe.js';
import { parseK6TestArgs } from '../../src/guest/k6test.js';
import { hostKeyBlob } from '../../src/hosts/file.js';
import { sshdMissing, startSshd, type TestSshd } from '../support/sshd.js';
import { renderHostFiles } from '../../src/hosts/hostfiles.js';
import { IMPL_SPECS } from '../../src/run/matrix-files.js';
import { describeMachines } from '../../src/report/machines.js';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAvSLJv1M8n0tzbFGzc2eNGXoXQ8pQ6gS3GbqK4ZLzJk test';
const ssh = { user: 'root', host: '192.0.2.1', identityFile: '/nonexistent/id', hostKey: KEY };

describe('server addresses', () => {
  it.each([
    ['10.0.0.5', { host: '10.0.0.5', port: null }],
    ['bench-1.lab:18080', { host: 'bench-1.lab', port: 18080 }],
    ['[fd00::5]:80', { host: '[fd00::5]', port: 80 }],
    ['[fd00::5]', { host: '[fd00::5]', port: null }],
  ])('%s parses', (text, want) => expect(parseServerAddress(text)).toEqual(want));

  it.each(['h:0', 'h:70000', 'h:port', 'http://h', 'fd00::5', ''])('%j does not', (text) => expect(parseServerAddress(text)).toBeNull());

  it("the generator's URL: the address's host, its port when it has one, else the server's", () => {
    expect(generatorBaseUrl('http://127.0.0.1:8080', '192.0.2.7')).toBe('http://192.0.2.7:8080');
    expect(generatorBaseUrl('http://127.0.0.1:8080/', '10.0.2.2:18080')).toBe('http://10.0.2.2:18080');
    expect(generatorBaseUrl('http://127.0.0.1:8080', '[fd00::5]:9')).toBe('http://[fd00::5]:9');
  });

  it('the hosts file takes generator.serverAddress as host:port and names a bad one with the fix', () => {
    const parse = (g: unknown) => parseHostsFile(JSON.stringify({ hosts: { '1': { ssh, serverCpus: [0], generatorCpus: [1], generator: g } } }), '/x/h.json');
    const h = parse({ ssh: { ...ssh, host: '192.0.2.2' }, cpus: [1, 0], serverAddress: '10.0.2.2:18080' }).hosts[0];
    expect(h?.generator).toMatchObject({ cpus: [0, 1], serverAddress: '10.0.2.2:18080' });
    expect(h?.generator?.ssh.host).toBe('192.0.2.2');
    // Absent: the server's own ssh.host.
    expect(parse({ ssh, cpus: [0] }).hosts[0]?.generator?.serverAddress).toBe('192.0.2.1');
    let line = '';
    try {
      parse({ ssh, cpus: [0], serverAddress: 'h:99999' });
    } catch (err) {
      line = (err as BenchError).oneLine();
    }
    expect(line).toMatch(/hosts\.1\.generator\.serverAddress: not host or host:port \(.*host:port when the site port is forwarded/);
  });
});

describe('a machine whose load comes from a generator machine', () => {
  const impls = IMPL_SPECS.filter((i) => i.name === 'tsherve');
  const unit = (generator: boolean) => {
    const files = renderHostFiles({
      impls,
      host: {
        size: '1',
        serverCpus: [0],
        generatorCpus: [1],
        ...(generator ? { generator: { ssh: {} as never, cpus: [0], serverAddress: 'h' } } : {}),
      },
      scripts: { benchSite: 'true', sshSetup: 'true', mapServer: '' },
      tsherveNodeFlags: [],
    });
    const f = files.find((x) => x.path === '/etc/systemd/system/bench-tsherve.service');
    return f?.kind === 'file' ? f.content : '';
  };
  it('gets servers listening on every address; without one they stay on 127.0.0.1', () => {
    expect(unit(true)).toMatch(/TSHERVE_HOST=0\.0\.0\.0/);
    expect(unit(false)).toMatch(/TSHERVE_HOST=127\.0\.0\.1/);
  });

  it('the reports describe the generator machine and the path measured', () => {
    const m = {
      target: 'root@10.0.0.5:22',
      hostname: 'bench-1',
      cpuModel: 'EPYC',
      cores: 2,
      memoryBytes: 2 ** 30,
      kernel: '6.1.0',
      arch: 'x86_64',
      virt: 'kvm',
      os: 'Debian GNU/Linux 12',
      serverCpus: [0],
      generatorCpus: [1],
      generator: {
        target: 'bench@10.0.0.9:22',
        hostname: 'gen-1',
        cpuModel: 'Xeon',
        cores: 8,
        memoryBytes: 2 ** 33,
        kernel: '6.8.0',
        arch: 'x86_64',
        virt: 'none',
        os: 'Ubuntu 24.04',
        cpus: [0, 1, 2, 3],
        serverAddress: '10.0.0.5',
        rttMs: 0.21,
        rttMinMs: 0.18,
        linkBytesPerSecond: 117e6,
      },
    };
    const [line] = describeMachines({ machines: { '1': m } });
    expect(line).toMatch(
      /^size 1: bench-1 \(root@10\.0\.0\.5:22\).*; load from gen-1 \(bench@10\.0\.0\.9:22\), Xeon, 8 cores.*generator cores 0,1,2,3, to 10\.0\.0\.5: RTT 0\.210 ms median, 0\.180 ms min, link 117 MB\/s \(one TCP stream\); server cores 0$/,
    );
    const [none] = describeMachines({ machines: { '1': { ...m, generator: { ...m.generator, rttMs: null, rttMinMs: null, linkBytesPerSecond: null } } } });
    expect(none).toMatch(/RTT not measured, link not measured/);
  });
});

describe('the network-bound warning', () => {
  it('is given from 80 % of the measured link, never without a measurement', () => {
    expect(networkBoundWarning(79e6, 100e6)).toBeNull();
    const w = networkBoundWarning(80e6, 100e6);
    expect(w?.code).toBe('network-bound');
    expect(w?.message).toMatch(/80 MB\/s, 80 % of the 100 MB\/s the link carried .*the network, not the server/);
    expect(networkBoundWarning(120e6, 100e6)?.message).toMatch(/120 %/);
    expect(networkBoundWarning(1e9, null)).toBeNull();
    expect(networkBoundWarning(1e9, 0)).toBeNull();
  });
});

describe("the probe's output", () => {
  it('gives the median and minimum round trip and the bytes/s, or says what is missing', () => {
    const p = parseNetPath(['rtt=1.000100 1.000300', 'rtt=2.0 2.0001', 'rtt=3.0 3.0005', 'zero=300000000 10.0 13.0'].join('\n'));
    expect(p.rttMs).toBeCloseTo(0.2, 6);
    expect(p.rttMinMs).toBeCloseTo(0.1, 6);
    expect(p.pings).toBe(3);
    expect(p.capacityBytesPerSecond).toBeCloseTo(1e8, 0);
    expect(p.problem).toBeNull();
    const q = parseNetPath('problem=cannot connect to h:1\n');
    expect(q).toMatchObject({ rttMs: null, capacityBytesPerSecond: null, problem: 'cannot connect to h:1' });
  });
});

describe('the load relay wire', () => {
  const request = {
    baseUrl: 'http://127.0.0.1:8080',
    targets: { paths: ['/'], redirects: [] },
    vus: 2,
    connections: 12,
    durationSeconds: 5,
    cpus: [1],
    outDir: '/tmp/x',
  };

  it("asks on one marked line and resolves with the driver's reply; a reply for another id is ignored", async () => {
    const sent: string[] = [];
    const r = loadRelay('wrk', (l) => sent.push(l));
    const done = r.engine.run(request);
    expect(sent).toHaveLength(1);
    const req = LoadRequestSchema.parse(markedJson(sent[0] as string, LOAD_REQUEST_MARK));
    expect(req).toMatchObject({ id: 0, engine: 'wrk', connections: 12, durationSeconds: 5 });
    const result = {
      engine: 'wrk',
      engineVersion: '4.2.0',
      durationSeconds: 5,
      requests: 10,
      bytes: 100,
      latencyMs: { avg: 1, p50: 1, p90: 1, p95: 1, p99: 1, max: 2 },
      statusCounts: { '2xx-3xx': 10 },
      failedChecks: 0,
      errors: 0,
      loadgenCpuSeconds: 0.5,
      raw: {},
    };
    r.receive(`${LOAD_REPLY_MARK}${JSON.stringify({ id: 7, ok: true, result })}`);
    r.receive('not a reply');
    r.receive(`${LOAD_REPLY_MARK}${JSON.stringify({ id: 0, ok: true, result })}`);
    await expect(done).resolves.toMatchObject({ requests: 10, loadgenCpuSeconds: 0.5 });
  });

  it("a failed run on the generator fails the cell with the driver's line; stdin closing fails a pending run", async () => {
    const r = loadRelay('wrk', () => undefined);
    const one = r.engine.run(request);
    r.receive(`${LOAD_REPLY_MARK}${JSON.stringify({ id: 0, ok: false, message: 'generator x: the connection dropped', fix: 'check it' })}`);
    await expect(one).rejects.toThrow(/generator x: the connection dropped/);
    const two = r.engine.run(request);
    r.end();
    await expect(two).rejects.toThrow(/closed the load relay/);
    await expect(r.engine.run(request)).rejects.toThrow(/closed the load relay/);
  });

  it('k6test takes --relay-load CPUS with --spec - only', () => {
    expect(parseK6TestArgs(['--spec', '-', '--relay-load', '0,1'], ['tsherve']).relayLoad).toEqual([0, 1]);
    expect(parseK6TestArgs(['--spec', '-'], ['tsherve']).relayLoad).toBeNull();
    expect(() => parseK6TestArgs(['tsherve', '--relay-load', '0'], ['tsherve'])).toThrow(/--relay-load goes with --spec -/);
    expect(() => parseK6TestArgs(['--spec', '-', '--relay-load', 'a'], ['tsherve'])).toThrow(/not a core list/);
    expect(parseK6TestArgs(['--net-probe', '--seconds', '5'], ['tsherve'])).toMatchObject({ netProbe: true, seconds: 5 });
  });
});

const missing = sshdMissing();
const noWrk = (await execa('sh', ['-c', 'command -v wrk'], { reject: false })).exitCode !== 0 ? 'wrk is not installed' : null;

/** Our wrk processes anywhere on this machine (the generator machine is this one). */
async function ourWrks(): Promise<string[]> {
  const r = await execa('pgrep', ['-af', '[/]tmp/server-bench-gen-'], { reject: false });
  return r.stdout.split('\n').filter((l) => l.includes('wrk'));
}

describe.skipIf(missing !== null || noWrk !== null)('a generator machine over real SSH (sshd on 127.0.0.1)', () => {
  let sshd: TestSshd;
  let gen: HostSession;
  let web: Server;
  let webPort: number;
  const body = Buffer.alloc(2048, 'x');

  beforeAll(async () => {
    sshd = await startSshd();
    gen = await openHost({
      user: sshd.user,
      host: '127.0.0.1',
      port: sshd.port,
      identityFile: sshd.identityFile,
      hostKeyLine: sshd.hostKeyLine,
      hostKey: (hostKeyBlob(sshd.hostKeyLine) as { blob: Buffer }).blob,
    });
    web = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
      res.end(body);
    });
    await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
    webPort = (web.address() as AddressInfo).port;
  }, 30_000);

  afterAll(async () => {
    gen?.close();
    await new Promise((r) => web?.close(r));
    await sshd?.stop();
  });

  const req = (durationSeconds: number): LoadRequest => ({
    id: 0,
    engine: 'wrk',
    // k6test's own view of the server; the serverAddress below points the generator elsewhere.
    baseUrl: 'http://127.0.0.1:8080',
    targets: { paths: ['/', '/a.txt', '/b/'], redirects: [{ alias: 'go', target: 'https://example.org/' }] },
    vus: 1,
    connections: 4,
    durationSeconds,
  });

  it('runs wrk there against host:port, pinned, and returns its parsed result with its CPU seconds', async () => {
    const version = await generatorEngineVersion(gen, 'wrk');
    expect(version).toMatch(/\d+\.\d+/);
    const folders = async () => (await gen.exec('ls -d /tmp/server-bench-gen-* 2>/dev/null')).stdout.trim();
    const before = await folders();
    const r = await runRemoteLoad(gen, req(2), { engine: 'wrk', engineVersion: version as string, cpus: [0], serverAddress: `127.0.0.1:${webPort}` });
    console.log(`remote wrk: ${r.requests} requests, ${(r.bytes / 1e6).toFixed(1)} MB, CPU ${r.loadgenCpuSeconds} s`);
    expect(r.engine).toBe('wrk');
    expect(r.engineVersion).toBe(version);
    expect(r.durationSeconds).toBeGreaterThan(1.8);
    expect(r.durationSeconds).toBeLessThan(3);
    expect(r.requests).toBeGreaterThan(100);
    expect(r.bytes).toBeGreaterThan(r.requests * body.length);
    expect(r.errors).toBe(0);
    expect(r.statusCounts['4xx-5xx']).toBe(0);
    expect(r.latencyMs.p50).toBeGreaterThan(0);
    // Pinned to one core for 2 s: some CPU, never more than that core's 2 s (plus start-up).
    expect(r.loadgenCpuSeconds).toBeGreaterThan(0.05);
    expect(r.loadgenCpuSeconds).toBeLessThan(2.5);
    // Nothing of the run is left on the generator.
    expect(await folders()).toBe(before);
  }, 30_000);

  it('a server that is not at the address fails the run in one line (not a cell of zeros)', async () => {
    const p = runRemoteLoad(gen, req(1), { engine: 'wrk', engineVersion: 'x', cpus: [0], serverAddress: '127.0.0.1:1' });
    const err = (await p.catch((e: unknown) => e)) as BenchError;
    expect(err).toBeInstanceOf(BenchError);
    expect(err.oneLine()).not.toContain('\n');
    // wrk gives up at its first refused connect; a server that accepts and never answers is caught after the run (no response).
    expect(err.oneLine()).toMatch(/^generator .*: wrk exited with 1: unable to connect to 127\.0\.0\.1:1 Connection refused/);
  }, 30_000);

  it('an engine missing there fails the run in one line', async () => {
    const hasK6 = (await execa('sh', ['-c', 'command -v k6'], { reject: false })).exitCode === 0;
    if (hasK6) return expect(hasK6).toBe(true); // k6 here: nothing missing to show
    const p = runRemoteLoad(gen, { ...req(1), engine: 'k6' }, { engine: 'k6', engineVersion: 'x', cpus: [0], serverAddress: `127.0.0.1:${webPort}` });
    const err = (await p.catch((e: unknown) => e)) as BenchError;
    expect(err).toBeInstanceOf(BenchError);
    expect(err.oneLine()).not.toContain('\n');
    expect(err.oneLine()).toMatch(/^generator .*: k6 exited with 127 \(not installed there\)/);
  }, 30_000);

  it('an abort kills wrk there within seconds and leaves no wrk', async () => {
    const ac = new AbortController();
    const started = Date.now();
    const p = runRemoteLoad(gen, req(60), { engine: 'wrk', engineVersion: 'x', cpus: [0], serverAddress: `127.0.0.1:${webPort}`, signal: ac.signal });
    const settled = p.catch((e: unknown) => e);
    // Wait (bounded) until wrk runs there, then abort.
    for (let i = 0; i < 100 && (await ourWrks()).length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect((await ourWrks()).length).toBeGreaterThan(0);
    ac.abort(new Error('ctrl-c'));
    const err = await settled;
    expect(err).toBeInstanceOf(BenchError);
    expect((err as BenchError).message).toMatch(/interrupted/);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(await ourWrks()).toEqual([]);
  }, 40_000);

  it('a session that drops mid-run fails that run in one line', async () => {
    const s = await openHost(gen.target);
    const p = runRemoteLoad(s, req(30), { engine: 'wrk', engineVersion: 'x', cpus: [0], serverAddress: `127.0.0.1:${webPort}` }).catch((e: unknown) => e);
    for (let i = 0; i < 100 && (await ourWrks()).length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    s.close();
    const err = (await p) as BenchError;
    expect(err).toBeInstanceOf(BenchError);
    expect(err.oneLine()).toMatch(/generator .*: the connection dropped during the wrk run/);
    // What a real drop cannot do, the test does: no wrk left behind here.
    await gen.exec(killGeneratorCommand('/tmp/server-bench-gen-', 3_000));
    expect(await ourWrks()).toEqual([]);
    await gen.exec('rm -rf /tmp/server-bench-gen-*');
  }, 40_000);

  it('measures the RTT and the link to a net-probe listener, and finds it reachable', async () => {
    const l = await listenNetProbe(0, { host: '127.0.0.1', streamMs: 1_000, lifetimeMs: 30_000 });
    try {
      const p = await probeFromGenerator(gen, '127.0.0.1', l.port, 10);
      console.log(`net path: RTT median ${p.rttMs} ms, min ${p.rttMinMs} ms, link ${((p.capacityBytesPerSecond ?? 0) / 1e6).toFixed(0)} MB/s`);
      expect(p.problem).toBeNull();
      expect(p.pings).toBe(10);
      // Loopback through bash and node: well under 20 ms, above a microsecond.
      expect(p.rttMs).toBeGreaterThan(0.001);
      expect(p.rttMs).toBeLessThan(20);
      expect(p.rttMinMs).toBeLessThanOrEqual(p.rttMs as number);
      // Loopback carries at least 50 MB/s even on this shared 2-core machine, and no 100 GB/s.
      expect(p.capacityBytesPerSecond).toBeGreaterThan(50e6);
      expect(p.capacityBytesPerSecond).toBeLessThan(100e9);
      expect(await pingFromGenerator(gen, '127.0.0.1', l.port)).toBeNull();
    } finally {
      await l.close();
    }
    // Closed now: the address is reported unreachable, in a few words.
    const why = await pingFromGenerator(gen, '127.0.0.1', l.port);
    expect(why).toMatch(/refused|no answer/i);
  }, 30_000);

  it("checks the generator machine's tools and cores, one line each", async () => {
    const target = { ssh: gen.target, cpus: [0], serverAddress: '127.0.0.1' };
    expect((await inspectGenerator(gen, target, 'wrk')).missing).toEqual([]);
    const hasK6 = (await execa('sh', ['-c', 'command -v k6'], { reject: false })).exitCode === 0;
    const r = await inspectGenerator(gen, { ...target, cpus: [0, 4096] }, hasK6 ? 'wrk' : 'k6');
    expect(r.missing.join('\n')).toMatch(/core\(s\) 4096 do not exist/);
    if (!hasK6) expect(r.missing.join('\n')).toMatch(/generator .*: missing k6 \(install k6/);
    expect(r.facts?.cores).toBeGreaterThan(0);
  }, 30_000);
});
