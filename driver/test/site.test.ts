// The generated site, the map server, the crawl and the verification gate, against real servers:
// nginx with our reference config, tsherve, and a deliberately wrong node:http server.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as netServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTargets, crawl, extractLinks } from '../src/crawl.js';
import { startMapServer } from '../src/mapserver.js';
import { renderNginxConfig } from '../src/nginx.js';
import { parseRedirectMap } from '../src/redirectmap.js';
import { generateSite } from '../src/sitegen.js';
import { verify } from '../src/verify.js';
import type { GeneratedSite, MapServer } from '../src/contracts.js';

const tmp = mkdtempSync(join(tmpdir(), 'sb-site-test-'));
let site: GeneratedSite;
let nginx: ChildProcess;
let nginxPort: number;
let map: MapServer;

async function freePort(): Promise<number> {
  const s = netServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function waitHttp(url: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await fetch(url).then((r) => r.body?.cancel().then(() => true), () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url} never answered`);
}

function treeHash(dir: string): string {
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

beforeAll(async () => {
  site = await generateSite({ dir: join(tmp, 'site'), seed: 7, targetBytes: 2_000_000 });
  map = await startMapServer({ text: site.redirectsText });
  nginxPort = await freePort();
  const prefix = join(tmp, 'nginx');
  mkdirSync(prefix, { recursive: true });
  writeFileSync(join(prefix, 'nginx.conf'), renderNginxConfig({ webroot: site.dir, redirects: site.redirects, port: nginxPort, host: '127.0.0.1', prefixDir: prefix, runAsRoot: process.getuid?.() === 0 }));
  nginx = spawn('nginx', ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-e', join(prefix, 'error.log')], { stdio: 'ignore', detached: true });
  await waitHttp(`http://127.0.0.1:${nginxPort}/`);
});

afterAll(async () => {
  if (nginx?.pid) process.kill(-nginx.pid, 'SIGTERM');
  await map?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('site generator', () => {
  it('is deterministic: same seed and size → identical tree; another seed differs', async () => {
    const again = await generateSite({ dir: join(tmp, 'again'), seed: 7, targetBytes: 2_000_000 });
    const other = await generateSite({ dir: join(tmp, 'other'), seed: 8, targetBytes: 2_000_000 });
    expect(treeHash(again.dir)).toBe(treeHash(site.dir));
    expect(treeHash(other.dir)).not.toBe(treeHash(site.dir));
    expect(again.redirectsText).toBe(site.redirectsText);
  });

  it('has the default shape of the original blog (~40 MB, ~680 files, images ~90 % of bytes)', async () => {
    const big = await generateSite({ dir: join(tmp, 'big'), seed: 1, targetBytes: 40_000_000 });
    const sizes: [string, number][] = [];
    const walk = (d: string): void => {
      for (const n of readdirSync(d)) {
        const p = join(d, n);
        const st = statSync(p);
        if (st.isDirectory()) walk(p);
        else sizes.push([p, st.size]);
      }
    };
    walk(big.dir);
    const v = sizes.map((s) => s[1]).sort((a, b) => a - b);
    const total = v.reduce((a, b) => a + b, 0);
    const images = sizes.filter((s) => s[0].includes('/images/')).reduce((a, s) => a + s[1], 0);
    expect(sizes.length).toBeGreaterThanOrEqual(600);
    expect(sizes.length).toBeLessThanOrEqual(760);
    expect(total).toBeGreaterThan(36e6);
    expect(total).toBeLessThan(44e6);
    expect(v[Math.floor(v.length / 2)]).toBeGreaterThan(12_000);
    expect(v[Math.floor(v.length / 2)]).toBeLessThan(26_000);
    expect(v[Math.floor(v.length * 0.9)]).toBeGreaterThan(100_000);
    expect(v[Math.floor(v.length * 0.9)]).toBeLessThan(180_000);
    expect(v.at(-1)).toBeLessThanOrEqual(2_200_000);
    expect(images / total).toBeGreaterThan(0.85);
    expect(big.redirects.length).toBeGreaterThanOrEqual(24);
    const html = sizes.filter((s) => s[0].endsWith('.html')).length;
    expect(html).toBeGreaterThan(120);
    rmSync(big.dir, { recursive: true, force: true });
  }, 60_000);

  it('writes images with valid magic headers', () => {
    const img = readdirSync(join(site.dir, 'images'));
    const jpg = img.find((f) => f.endsWith('.jpg'));
    const png = img.find((f) => f.endsWith('.png'));
    if (jpg) expect([...readFileSync(join(site.dir, 'images', jpg)).subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff]);
    if (png) expect(readFileSync(join(site.dir, 'images', png)).subarray(1, 4).toString()).toBe('PNG');
    expect(jpg ?? png).toBeDefined();
  });
});

describe('map server and redirect map', () => {
  it('serves the map whatever the query string and counts fetches', async () => {
    map.resetFetches();
    const a = await fetch(`${map.url}?cachebust=1`).then((r) => r.text());
    await fetch(map.url).then((r) => r.text());
    expect(a).toBe(site.redirectsText);
    expect(map.fetches()).toBe(2);
  });

  it('parses gosherve format, skipping comments, blanks and bad lines', () => {
    const p = parseRedirectMap('# c\n\ngh https://github.com\nbad\n/x/ http://e.org/x\nrel not-a-url\n');
    expect(p.redirects).toEqual([{ alias: 'gh', target: 'https://github.com' }, { alias: 'x', target: 'http://e.org/x' }]);
    expect(p.skipped.map((s) => s.line)).toEqual([4, 6]);
  });
});

describe('crawl', () => {
  it('extracts href, src and every srcset candidate', () => {
    const links = extractLinks('<a href="/a">x</a><img src="/b.jpg" srcset="/b-800.jpg 800w, /b-1600.jpg 1600w"><script src="/c.js"></script>');
    expect(links).toEqual(['/a', '/b.jpg', '/b-800.jpg', '/b-1600.jpg', '/c.js']);
  });

  it('finds every page and asset of the generated site, and nothing else (real nginx)', async () => {
    const paths = await crawl(`http://127.0.0.1:${nginxPort}`);
    expect(paths).toEqual(site.expectedPaths);
  });

  it('builds targets: crawl plus every alias of the map', async () => {
    const t = await buildTargets(`http://127.0.0.1:${nginxPort}`, site.redirectsText);
    expect(t.paths.length).toBe(site.expectedPaths.length);
    expect(t.redirects).toEqual(site.redirects);
  });
});

describe('verification', () => {
  it('passes on nginx serving the site with our reference config', async () => {
    const targets = await buildTargets(`http://127.0.0.1:${nginxPort}`, site.redirectsText);
    const v = await verify({ impl: 'nginx', size: '1', baseUrl: `http://127.0.0.1:${nginxPort}`, metricsUrl: null, metricPrefix: null, targets, webroot: site.dir });
    expect(v.findings.filter((f) => f.status === 'fail')).toEqual([]);
    expect(v.passed).toBe(true);
    expect(v.counts.pass).toBe(targets.paths.length + targets.redirects.length + 1);
  });

  it('passes on tsherve, including its metrics counter', async () => {
    const cli = resolve('dist/servers/tsherve/src/cli.js');
    const proc = spawn(process.execPath, [cli], { env: { TSHERVE_WEBROOT: site.dir, TSHERVE_REDIRECT_MAP_URL: map.url, TSHERVE_PORT: '0', TSHERVE_METRICS_PORT: '0', TSHERVE_WORKERS: '1' }, stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const ports = await new Promise<{ port: number; metricsPort: number }>((res, rej) => {
        let out = '';
        proc.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          const line = out.split('\n').find((l) => l.includes('"listening"'));
          if (line) res(JSON.parse(line) as { port: number; metricsPort: number });
        });
        proc.once('exit', (c) => rej(new Error(`tsherve exited ${c}`)));
      });
      const base = `http://127.0.0.1:${ports.port}`;
      const targets = await buildTargets(base, site.redirectsText);
      expect(targets.paths).toEqual(site.expectedPaths);
      const v = await verify({ impl: 'tsherve', size: '1', baseUrl: base, metricsUrl: `http://127.0.0.1:${ports.metricsPort}/metrics`, metricPrefix: 'tsherve_', targets, webroot: site.dir });
      expect(v.findings.filter((f) => f.status === 'fail')).toEqual([]);
      expect(v.passed).toBe(true);
    } finally {
      proc.kill('SIGTERM');
    }
  });

  it('collects every failure of a misbehaving server, each with its URL and reason', async () => {
    const file = '/css/site.css';
    const realSize = statSync(join(site.dir, 'css/site.css')).size;
    const server: Server = createServer((req, res) => {
      const url = req.url ?? '/';
      if (url === file) res.writeHead(200, { 'Content-Type': 'text/css' }).end('short');
      else if (url === '/js/theme.js') res.writeHead(200, { 'Content-Type': 'image/png' }).end(readFileSync(join(site.dir, 'js/theme.js')));
      else if (url === '/gh') res.writeHead(301, { Location: 'https://wrong.example/' }).end();
      else if (url === '/github') res.writeHead(302, { Location: site.redirects[1]!.target }).end();
      else if (url.startsWith('/server-bench-no-such-page')) res.writeHead(200).end('oops');
      else if (url === '/metrics') res.writeHead(200).end('other_metric 1\n');
      else res.writeHead(500).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const targets = { paths: [file, '/js/theme.js', '/index.xml'], redirects: site.redirects.slice(0, 2) };
      const v = await verify({ impl: 'bad', size: '1', baseUrl: base, metricsUrl: `${base}/metrics`, metricPrefix: 'bad_', targets, webroot: site.dir });
      expect(v.passed).toBe(false);
      const byUrl = (u: string): string => v.findings.find((f) => f.url === `${base}${u}`)?.reason ?? '';
      expect(byUrl(file)).toBe(`body is 5 bytes, the file has ${realSize}`);
      expect(byUrl('/js/theme.js')).toBe('Content-Type image/png, expected text/javascript');
      expect(byUrl('/index.xml')).toBe('expected 200, got 500');
      expect(byUrl('/gh')).toBe(`Location https://wrong.example/, expected ${site.redirects[0]!.target}`);
      expect(byUrl('/github')).toBe('expected 301 or 308, got 302');
      expect(v.findings.find((f) => f.url.includes('server-bench-no-such-page'))?.reason).toBe('expected 404 for an unknown path, got 200');
      expect(byUrl('/metrics')).toBe('no bad_requests_total counter in the metrics');
      expect(v.counts.fail).toBe(7);
    } finally {
      server.close();
    }
  });
});
