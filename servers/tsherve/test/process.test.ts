// Process behaviour: invalid configuration, start-up failures, --help, the site cap, worker
// replacement and graceful drain on SIGTERM.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SETTINGS } from '../src/config.js';
import {
  childPids,
  CLI,
  CLI_BUN,
  downloadAcrossSigterm,
  executableOf,
  makeSite,
  RUNTIME,
  runTsherve,
  startMapSource,
  startTsherve,
  get,
  type MapSource,
} from './helpers.js';

let map: MapSource;
let site: { root: string; parent: string };
beforeAll(async () => {
  site = makeSite();
  writeFileSync(join(site.parent, 'a-file'), 'x');
  map = await startMapSource('a https://example.org/a\n');
});
afterAll(async () => map?.close());

describe('invalid configuration: one line naming the setting, exit 2, before listening', () => {
  const cases: [string, Record<string, string>, string[], RegExp][] = [
    ['missing map URL', {}, [], /^tsherve: TSHERVE_REDIRECT_MAP_URL: is required/],
    ['bad map URL', { TSHERVE_REDIRECT_MAP_URL: 'not a url' }, [], /^tsherve: TSHERVE_REDIRECT_MAP_URL: "not a url" is not a URL/],
    ['non-http map URL', { TSHERVE_REDIRECT_MAP_URL: 'ftp://x/y' }, [], /TSHERVE_REDIRECT_MAP_URL: "ftp:\/\/x\/y" is not an http\(s\) URL/],
    ['missing webroot', { TSHERVE_WEBROOT: '/no/such/dir' }, [], /^tsherve: TSHERVE_WEBROOT: "\/no\/such\/dir" does not exist/],
    ['webroot is a file', {}, ['--webroot', 'FILE'], /^tsherve: TSHERVE_WEBROOT: ".*a-file" is a file, not a directory/],
    ['bad port', { TSHERVE_PORT: '70000' }, [], /^tsherve: TSHERVE_PORT: "70000" is not a port/],
    ['bad metrics port', {}, ['--metrics-port=abc'], /^tsherve: TSHERVE_METRICS_PORT: "abc" is not a port/],
    ['unknown level', { TSHERVE_LOG_LEVEL: 'loud' }, [], /^tsherve: TSHERVE_LOG_LEVEL: "loud" is not one of debug, info, warn, error/],
    ['bad workers', { TSHERVE_WORKERS: '0' }, [], /^tsherve: TSHERVE_WORKERS: "0" is not a worker count/],
    ['bad worker mode', { TSHERVE_WORKER_MODE: 'fibers' }, [], /^tsherve: TSHERVE_WORKER_MODE: "fibers" is not one of processes, threads$/],
    ['bad size cap', { TSHERVE_MAX_SITE_BYTES: 'lots' }, [], /^tsherve: TSHERVE_MAX_SITE_BYTES: "lots" is not a size/],
    ['bad timeout', { TSHERVE_MAP_TIMEOUT: 'soon' }, [], /^tsherve: TSHERVE_MAP_TIMEOUT: "soon" is not a duration/],
    ['bad host', {}, ['--host', ' '], /^tsherve: TSHERVE_HOST: " " is not a host/],
    ['bad map size cap', {}, ['--map-max-bytes', '0'], /^tsherve: TSHERVE_MAP_MAX_BYTES: "0" must be greater than 0/],
    ['bad refresh interval', { TSHERVE_REFRESH_INTERVAL: '-1s' }, [], /^tsherve: TSHERVE_REFRESH_INTERVAL: "-1s" is not a duration/],
    ['bad periodic refresh', {}, ['--periodic-refresh=often'], /^tsherve: TSHERVE_PERIODIC_REFRESH: "often" is not a duration/],
    ['bad symlink setting', { TSHERVE_CONFINE_SYMLINKS: 'maybe' }, [], /^tsherve: TSHERVE_CONFINE_SYMLINKS: "maybe" is not true or false/],
    ['non-numeric port', { TSHERVE_PORT: 'abc' }, [], /^tsherve: TSHERVE_PORT: "abc" is not a port \(0-65535\)$/],
    ['unknown flag', {}, ['--colour', 'red'], /^tsherve: --colour: unknown flag/],
    ['stray argument', {}, ['serve'], /^tsherve: serve: unexpected argument/],
    ['flag without value', {}, ['--port'], /^tsherve: --port: needs a value/],
  ];
  for (const [name, env, args, re] of cases) {
    it(name, async () => {
      const fullEnv = { TSHERVE_REDIRECT_MAP_URL: map.url, ...env };
      if (name === 'missing map URL') delete (fullEnv as Record<string, string>).TSHERVE_REDIRECT_MAP_URL;
      const r = await runTsherve(
        fullEnv,
        args.map((a) => (a === 'FILE' ? join(site.parent, 'a-file') : a)),
      );
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr.trim()).toMatch(re);
      expect(r.stdout).not.toContain('listening');
    });
  }

  it('flags win over the environment', async () => {
    const r = await runTsherve({ TSHERVE_REDIRECT_MAP_URL: map.url, TSHERVE_PORT: 'bad' }, ['--port', '99999']);
    expect(r.stderr).toContain('"99999" is not a port');
    // A bad variable is not looked at when its flag is given: this one starts.
    const ts = await startTsherve({ TSHERVE_REDIRECT_MAP_URL: 'not a url', TSHERVE_LOG_LEVEL: 'loud' }, [
      `--redirect-map-url=${map.url}`,
      '--log-level',
      'warn',
    ]);
    try {
      expect((await get(ts.base, '/a')).status).toBe(301);
    } finally {
      expect(await ts.stop()).toBe(0);
    }
  });

  it('the README documents every setting with its flag', () => {
    const readme = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', 'README.md'), 'utf8');
    for (const s of SETTINGS) expect(readme).toContain(`| \`${s.env}\` | \`--${s.flag}\` |`);
  });

  it('--help lists every setting with its flag', async () => {
    const r = await runTsherve({}, ['--help']);
    expect(r.code).toBe(0);
    for (const s of SETTINGS) {
      expect(r.stdout).toContain(s.env);
      expect(r.stdout).toContain(`--${s.flag}`);
    }
    expect(SETTINGS.map((s) => s.env)).toEqual(
      expect.arrayContaining([
        'TSHERVE_WEBROOT',
        'TSHERVE_REDIRECT_MAP_URL',
        'TSHERVE_HOST',
        'TSHERVE_PORT',
        'TSHERVE_METRICS_PORT',
        'TSHERVE_LOG_LEVEL',
        'TSHERVE_WORKERS',
        'TSHERVE_MAX_SITE_BYTES',
        'TSHERVE_MAP_TIMEOUT',
        'TSHERVE_MAP_MAX_BYTES',
        'TSHERVE_REFRESH_INTERVAL',
        'TSHERVE_PERIODIC_REFRESH',
        'TSHERVE_CONFINE_SYMLINKS',
        'TSHERVE_RUNTIME',
      ]),
    );
  });
});

describe('start-up failures', () => {
  it('an unreachable map exits non-zero naming the URL and the cause', async () => {
    const { createServer } = await import('node:net');
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r())); // now nothing listens there
    const url = `http://127.0.0.1:${port}/map.txt`;
    const r = await runTsherve({ TSHERVE_REDIRECT_MAP_URL: url });
    expect(r.code).toBe(3);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`cannot fetch the redirect map ${url}: ECONNREFUSED`);
  });

  it('a site over the cap is refused', async () => {
    const r = await runTsherve({ TSHERVE_REDIRECT_MAP_URL: map.url, TSHERVE_WEBROOT: site.root, TSHERVE_MAX_SITE_BYTES: '1MiB' });
    expect(r.code).toBe(3);
    expect(r.stdout).not.toContain('listening');
    expect(r.stderr).toMatch(/larger than TSHERVE_MAX_SITE_BYTES/);
  });

  it('a busy port is named', async () => {
    const first = await startTsherve({ TSHERVE_REDIRECT_MAP_URL: map.url });
    try {
      const r = await runTsherve({ TSHERVE_REDIRECT_MAP_URL: map.url, TSHERVE_PORT: String(first.port) });
      expect(r.code).toBe(4);
      expect(r.stderr).toContain(`cannot listen on 127.0.0.1:${first.port}: EADDRINUSE`);
    } finally {
      await first.stop();
    }
  });
});

describe('processes', () => {
  it('replaces a worker that dies, and keeps serving', async () => {
    const ts = await startTsherve({ TSHERVE_REDIRECT_MAP_URL: map.url, TSHERVE_WEBROOT: site.root, TSHERVE_WORKERS: '2', TSHERVE_LOG_LEVEL: 'info' });
    try {
      const children = childPids(ts.proc.pid!);
      expect(children).toHaveLength(2);
      process.kill(children[0]!, 'SIGKILL');
      const deadline = Date.now() + 10_000;
      while (!ts.stdout().includes('worker died') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(ts.stdout()).toContain('worker died; starting a replacement');
      for (let i = 0; i < 6; i++) expect((await get(ts.base, '/')).status).toBe(200);
      let after: number[] = [];
      while (Date.now() < deadline) {
        after = childPids(ts.proc.pid!);
        if (after.length === 2) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(after).toHaveLength(2);
      expect(after).not.toContain(children[0]);
    } finally {
      // Possibly while the replacement still loads: it must stop at once, not after the drain limit.
      const t0 = Date.now();
      expect(await ts.stop()).toBe(0);
      expect(Date.now() - t0).toBeLessThan(8_000);
    }
  });

  it('retries a replacement that cannot start at doubling intervals, not in a tight loop', async () => {
    const own = makeSite();
    const ts = await startTsherve({ TSHERVE_REDIRECT_MAP_URL: map.url, TSHERVE_WEBROOT: own.root, TSHERVE_WORKERS: '2', TSHERVE_LOG_LEVEL: 'info' });
    try {
      // Every replacement now fails its configuration check (the webroot is gone) and exits 2.
      rmSync(own.root, { recursive: true, force: true });
      process.kill(childPids(ts.proc.pid!)[0]!, 'SIGKILL');
      await new Promise((r) => setTimeout(r, 2_000));
      const delays = ts
        .stdout()
        .split('\n')
        .filter((l) => l.includes('worker died'))
        .map((l) => (JSON.parse(l) as { inMs: number }).inMs);
      // 0 (it had served), then 100, 200, 400, 800 ms: about five attempts in 2 s, never dozens.
      expect(delays.slice(0, 4)).toEqual([0, 100, 200, 400]);
      expect(delays.length).toBeLessThanOrEqual(7);
      expect((await get(ts.base, '/')).status).toBeLessThan(500); // the surviving worker still answers
    } finally {
      const t0 = Date.now();
      expect(await ts.stop()).toBe(0);
      expect(Date.now() - t0).toBeLessThan(8_000);
    }
  });

  for (const workers of ['1', '2']) {
    it(`drains an in-flight large download on SIGTERM and exits 0 (workers=${workers})`, async () => {
      const ts = await startTsherve({ TSHERVE_REDIRECT_MAP_URL: map.url, TSHERVE_WEBROOT: site.root, TSHERVE_WORKERS: workers });
      // SIGTERM arrives while most of the 8 MiB is still to come; then it is read slowly.
      const received = await downloadAcrossSigterm(ts);
      expect(received).toBe(8 * 1024 * 1024);
      expect(await ts.stop()).toBe(0);
    });
  }
});

describe('runtimes', () => {
  const other = RUNTIME === 'node' ? 'bun' : 'node';

  it(`--runtime ${other} starts tsherve again under ${other}, which serves, drains and exits with it`, async () => {
    const ts = await startTsherve({ TSHERVE_REDIRECT_MAP_URL: map.url, TSHERVE_WEBROOT: site.root }, ['--runtime', other], { runtime: other });
    try {
      expect(ts.servingPid).not.toBe(ts.proc.pid);
      expect(childPids(ts.proc.pid!)).toEqual([ts.servingPid]);
      expect((await get(ts.base, '/')).status).toBe(200);
    } finally {
      expect(await ts.stop()).toBe(0);
    }
    expect(existsSync(`/proc/${ts.servingPid}`)).toBe(false);
  });

  it('TSHERVE_RUNTIME names the runtime too; an unknown one is refused', async () => {
    const ts = await startTsherve({ TSHERVE_REDIRECT_MAP_URL: map.url, TSHERVE_RUNTIME: RUNTIME }, [], { runtime: RUNTIME });
    expect(ts.servingPid).toBe(ts.proc.pid); // already the right runtime: no second process
    expect(await ts.stop()).toBe(0);
    const r = await runTsherve({ TSHERVE_REDIRECT_MAP_URL: map.url, TSHERVE_RUNTIME: 'deno' });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('tsherve: TSHERVE_RUNTIME: "deno" is not one of node, bun');
  });

  it('tsherve-bun defaults to Bun from either runtime, and --runtime still wins', async () => {
    const fromRuntime = await startTsherve({ TSHERVE_REDIRECT_MAP_URL: map.url }, [], { cmdline: [executableOf(RUNTIME), [CLI_BUN]], runtime: 'bun' });
    expect(await fromRuntime.stop()).toBe(0);
    const toNode = await startTsherve({ TSHERVE_REDIRECT_MAP_URL: map.url }, [], {
      cmdline: [executableOf(RUNTIME), [CLI_BUN, '--runtime', 'node']],
      runtime: 'node',
    });
    expect(await toNode.stop()).toBe(0);
  });

  it('a runtime executable that is not the runtime named is refused, not started again and again', async () => {
    // A `node` on PATH that runs Bun: the relaunched process notices instead of relaunching again.
    const fakeBin = mkdtempSync(join(tmpdir(), 'tsherve-fake-node-'));
    writeFileSync(join(fakeBin, 'node'), `#!/bin/sh\nshift\nexec ${executableOf('bun')} "$@"\n`, { mode: 0o755 }); // drops the Node flag
    try {
      const r = await runTsherve({ TSHERVE_REDIRECT_MAP_URL: map.url, PATH: `${fakeBin}:${process.env.PATH ?? ''}` }, [], 20_000, [
        executableOf('bun'),
        [CLI, '--runtime', 'node'],
      ]);
      expect(r.code).toBe(4);
      expect(r.stderr.trim()).toMatch(/^tsherve: .* was started as node but is bun \(put the real node first on PATH\)$/);
    } finally {
      rmSync(fakeBin, { recursive: true, force: true });
    }
  });

  it('the same --help under both runtimes', async () => {
    const here = await runTsherve({}, ['--help']);
    const there = await runTsherve({}, ['--help'], 20_000, [executableOf(other), [CLI, '--help']]);
    expect(here.code).toBe(0);
    expect(there.stdout).toBe(here.stdout);
    expect(here.stdout).toContain('TSHERVE_RUNTIME');
  });
});
