// The servers the site tests share: a generated site (seed 7, 2 MB), the map server with its
// redirects and nginx with our reference config serving it, started once per test file.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer as netServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { startMapServer } from '../../src/site/map-server.js';
import { renderNginxConfig } from '../../src/servers/nginx.js';
import { generateSite } from '../../src/site/generate.js';
import type { GeneratedSite, MapServer, Redirect } from '../../src/contracts.js';

export async function freePort(): Promise<number> {
  const s = netServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function waitHttp(url: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await fetch(url).then(
      (r) => r.body?.cancel().then(() => true),
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url} never answered`);
}

export function treeHash(dir: string): string {
  const h = createHash('sha256');
  const walk = (d: string): void => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else h.update(p.slice(dir.length)).update(readFileSync(p));
    }
  };
  walk(dir);
  return h.digest('hex');
}

export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(p.slice(dir.length));
    }
  };
  walk(dir);
  return out.sort();
}

export interface SiteServers {
  /** A scratch folder, removed after the file's tests. */
  readonly tmp: string;
  /** Valid inside tests (set in beforeAll). */
  site: GeneratedSite;
  map: MapServer;
  nginxPort: number;
  /** nginx with our rendered config, unprivileged-style from a scratch prefix, on a free port. */
  startNginx(name: string, webroot: string, redirects: Redirect[]): Promise<{ proc: ChildProcess; port: number; prefix: string }>;
}

/** Registers the file's beforeAll/afterAll: the site, the map server and nginx serving the site. */
export function useSiteServers(): SiteServers {
  const tmp = mkdtempSync(join(tmpdir(), 'sb-site-test-'));
  const started: ChildProcess[] = [];
  const env = {
    tmp,
    async startNginx(name: string, webroot: string, redirects: Redirect[]) {
      const port = await freePort();
      const prefix = join(tmp, name);
      mkdirSync(prefix, { recursive: true });
      writeFileSync(
        join(prefix, 'nginx.conf'),
        renderNginxConfig({ webroot, redirects, port, prefixDir: prefix, workers: 1, runAsRoot: process.getuid?.() === 0 }),
      );
      const proc = spawn('nginx', ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-e', join(prefix, 'error.log')], { stdio: 'ignore', detached: true });
      started.push(proc);
      await waitHttp(`http://127.0.0.1:${port}/`);
      return { proc, port, prefix };
    },
  } as SiteServers;
  beforeAll(async () => {
    env.site = await generateSite({ dir: join(tmp, 'site'), seed: 7, targetBytes: 2_000_000 });
    env.map = await startMapServer({ text: env.site.redirectsText });
    env.nginxPort = (await env.startNginx('nginx', env.site.dir, env.site.redirects)).port;
  });
  afterAll(async () => {
    for (const p of started) if (p.pid && p.exitCode === null) process.kill(-p.pid, 'SIGTERM');
    await env.map?.close();
    rmSync(tmp, { recursive: true, force: true });
  });
  return env;
}
