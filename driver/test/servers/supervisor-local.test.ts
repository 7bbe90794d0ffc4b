// The local supervisor against real processes: a small Node HTTP server described as an Impl
// record (ephemeral ports, so this file does not compete with the e2e tests for 8080).
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Impl, ImplContext } from '../../src/contracts.js';
import { BenchError } from '../../src/errors.js';
import { findListener } from '../../src/servers/ports.js';
import { localSupervisor, startupTail } from '../../src/servers/supervisor-local.js';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const ctx: ImplContext = { webroot: '/tmp', mapUrl: 'http://127.0.0.1:9/map', cacheDir: '/tmp', cpus: 1, host: '127.0.0.1' };

function scriptImpl(name: string, port: number, script: string): Impl {
  return {
    name,
    description: 'test',
    reference: false,
    sitePort: port,
    metricsPort: null,
    metricPrefix: null,
    prepare: async () => ({ version: 'test' }),
    launch: () => ({ command: process.execPath, args: ['-e', script], env: { PORT: String(port) } }),
  };
}

const SERVER = `require('http').createServer((q, s) => s.end('ok')).listen(+process.env.PORT, '127.0.0.1');`;
// Forks a helper that would outlive a leader killed alone; ignores SIGTERM.
const STUBBORN = `const cp = require('child_process'); const c = cp.spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
console.log('helper ' + c.pid); process.on('SIGTERM', () => {}); ${SERVER}`;

const sup = localSupervisor({ readyTimeoutMs: 10_000, stopTimeoutMs: 1_000 });
afterEach(async () => {
  await sup.stopAll();
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('localSupervisor', () => {
  it('starts pinned, waits for the port, measures, and stops the whole group', async () => {
    const port = await freePort();
    const h = await sup.start(scriptImpl('stub', port, STUBBORN), ctx, { cpus: [0], memoryLimitBytes: 256 * 1024 * 1024, memoryEnforced: false });
    expect(await (await fetch(`${h.baseUrl}/`)).text()).toBe('ok');
    const holder = await findListener(port);
    expect(holder?.pid).toBeTruthy();
    const status = await readFile(`/proc/${holder?.pid}/status`, 'utf8');
    expect(/Cpus_allowed_list:\s*(\S+)/.exec(status)?.[1]).toBe('0');
    expect(await h.monitor.peakRssBytes()).toBeGreaterThan(1_000_000);
    expect(await h.monitor.cpuSeconds()).toBeGreaterThanOrEqual(0);
    const helperPid = Number(/helper (\d+)/.exec(await h.logTail(5))?.[1]);
    expect(alive(helperPid)).toBe(true);
    await h.stop(); // SIGTERM is ignored: SIGKILL after 1 s, helper included
    expect(await findListener(port)).toBeNull();
    expect(alive(holder?.pid as number)).toBe(false);
    expect(alive(helperPid)).toBe(false);
  });

  it('a server that dies at start-up is an error carrying its error line, not its stack frames', async () => {
    const port = await freePort();
    const err = await sup
      .start(scriptImpl('crashy', port, `throw new SyntaxError('The requested module does not provide an export named StartupError')`), ctx, {
        cpus: [],
        memoryLimitBytes: null,
        memoryEnforced: false,
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BenchError);
    expect((err as BenchError).message).toMatch(/^crashy exited with code 1 during start-up: .*SyntaxError: The requested module/);
    expect((err as BenchError).message).not.toMatch(/ at /);
  });

  it('refuses a busy port, naming its holder', async () => {
    const port = await freePort();
    const busy = createServer().listen(port, '127.0.0.1');
    try {
      await new Promise((r) => busy.once('listening', r));
      const err = await sup.start(scriptImpl('stub', port, SERVER), ctx, { cpus: [], memoryLimitBytes: null, memoryEnforced: false }).catch((e: unknown) => e);
      expect((err as BenchError).message).toContain(`port ${port} is in use by`);
      expect((err as BenchError).message).toContain(`pid ${process.pid}`);
    } finally {
      busy.close();
    }
  });

  it('startupTail prefers error lines', () => {
    expect(startupTail('a\nb\nc\nd')).toBe('b | c | d');
    expect(startupTail('file:///x.js:8\nSyntaxError: bad export\n    at ModuleJob (node:internal)\nNode.js v20')).toBe('SyntaxError: bad export');
  });
});
