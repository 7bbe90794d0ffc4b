import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { EnvironmentError, ExitCode } from '../../src/errors.js';
import { assertPortsFree, canBind, findListener, waitPortsFree } from '../../src/servers/ports.js';

let servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  servers = [];
});

function listen(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    servers.push(s);
    s.once('error', reject);
    s.listen({ port: 0, host }, () => resolve((s.address() as { port: number }).port));
  });
}

describe('ports', () => {
  it('finds a real listener on 127.0.0.1 with our pid and command', async () => {
    const port = await listen('127.0.0.1');
    const holder = await findListener(port);
    expect(holder?.pid).toBe(process.pid);
    expect(holder?.comm).toBeTruthy();
    expect(holder?.cmdline).toContain('node');
    await expect(assertPortsFree([port])).rejects.toThrow(new RegExp(`port ${port} is in use by .*\\(pid ${process.pid}`));
    const err = await assertPortsFree([port]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EnvironmentError);
    expect((err as EnvironmentError).exitCode).toBe(ExitCode.environment);
    expect((err as EnvironmentError).hint).toContain(`kill ${process.pid}`);
  });

  it('finds a listener on 0.0.0.0 and on ::', async () => {
    const p4 = await listen('0.0.0.0');
    expect((await findListener(p4))?.pid).toBe(process.pid);
    expect(await canBind(p4, '127.0.0.1')).toBe(false);
    const p6 = await listen('::');
    expect((await findListener(p6))?.pid).toBe(process.pid);
  });

  it('reports a free port as free, and notices when a port frees up', async () => {
    const port = await listen('127.0.0.1');
    const s = servers.pop() as Server;
    await new Promise((r) => s.close(r));
    expect(await findListener(port)).toBeNull();
    await expect(assertPortsFree([port])).resolves.toBeUndefined();
    expect(await waitPortsFree([port], 1000)).toBe(true);
  });
});
