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
import { buildTargets, crawl, extractCssLinks, extractLinks, samePath, srcsetUrls } from '../src/site/crawl.js';
import { startMapServer } from '../src/site/map-server.js';
import { nginxVersion, renderNginxConfig } from '../src/servers/nginx.js';
import { parseRedirectMap } from '../../shared/redirect-map.js';
import { generateSite, siteStats } from '../src/site/generate.js';
import { checkContentType, expectedType, fileForPath, verify } from '../src/site/verify.js';
import type { Redirect } from '../src/contracts.js';
import type { GeneratedSite, MapServer } from '../src/contracts.js';

const tmp = mkdtempSync(join(tmpdir(), 'sb-site-test-'));
let site: GeneratedSite;
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

const started: ChildProcess[] = [];

/** nginx with our rendered config, unprivileged-style from a scratch prefix, on a free port. */
async function startNginx(name: string, webroot: string, redirects: Redirect[]): Promise<{ proc: ChildProcess; port: number; prefix: string }> {
  const port = await freePort();
  const prefix = join(tmp, name);
  mkdirSync(prefix, { recursive: true });
  writeFileSync(join(prefix, 'nginx.conf'), renderNginxConfig({ webroot, redirects, port, prefixDir: prefix, workers: 1, runAsRoot: process.getuid?.() === 0 }));
  const proc = spawn('nginx', ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-e', join(prefix, 'error.log')], { stdio: 'ignore', detached: true });
  started.push(proc);
  await waitHttp(`http://127.0.0.1:${port}/`);
  return { proc, port, prefix };
}

beforeAll(async () => {
  site = await generateSite({ dir: join(tmp, 'site'), seed: 7, targetBytes: 2_000_000 });
  map = await startMapServer({ text: site.redirectsText });
  const n = await startNginx('nginx', site.dir, site.redirects);
  nginxPort = n.port;
});

afterAll(async () => {
  for (const p of started) if (p.pid && p.exitCode === null) process.kill(-p.pid, 'SIGTERM');
  await map?.close();
  rmSync(tmp, { recursive: true, force: true });
});

function listFiles(dir: string): string[] {
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

describe('site generator', () => {
  it('is deterministic: same seed and size → identical tree; another seed differs', async () => {
    const again = await generateSite({ dir: join(tmp, 'again'), seed: 7, targetBytes: 2_000_000 });
    const other = await generateSite({ dir: join(tmp, 'other'), seed: 8, targetBytes: 2_000_000 });
    expect(treeHash(again.dir)).toBe(treeHash(site.dir));
    expect(treeHash(other.dir)).not.toBe(treeHash(site.dir));
    expect(again.redirectsText).toBe(site.redirectsText);
    expect(again.expectedPaths).toEqual(site.expectedPaths);
  });

  it('has the default shape of the original blog (~40 MB, ~680 files, images ~90 % of bytes)', async () => {
    const big = await generateSite({ dir: join(tmp, 'big'), seed: 1, targetBytes: 40_000_000 });
    const st = await siteStats(big.dir);
    const images = listFiles(big.dir).filter((f) => f.startsWith('/images/')).reduce((a, f) => a + statSync(join(big.dir, f)).size, 0);
    expect(st.files).toBe(big.files);
    expect(st.bytes).toBe(big.bytes);
    expect(st.files).toBeGreaterThanOrEqual(600);
    expect(st.files).toBeLessThanOrEqual(760);
    expect(st.bytes).toBeGreaterThan(36e6);
    expect(st.bytes).toBeLessThan(44e6);
    expect(st.p50).toBeGreaterThan(12_000);
    expect(st.p50).toBeLessThan(26_000);
    expect(st.p90).toBeGreaterThan(100_000);
    expect(st.p90).toBeLessThan(180_000);
    expect(st.max).toBeLessThanOrEqual(2_200_000);
    expect(images / st.bytes).toBeGreaterThanOrEqual(0.85);
    expect(big.redirects.length).toBeGreaterThanOrEqual(24);
    expect(listFiles(big.dir).filter((f) => f.endsWith('.html')).length).toBeGreaterThan(120);
    rmSync(big.dir, { recursive: true, force: true });
  }, 60_000);

  it('works at small sizes, and every file is an expected path (nothing unreachable)', async () => {
    for (const targetBytes of [200_000, 2_000_000]) {
      const s = await generateSite({ dir: join(tmp, `small-${targetBytes}`), seed: 3, targetBytes });
      const st = await siteStats(s.dir);
      expect(st.bytes).toBeGreaterThan(targetBytes * 0.5);
      expect(st.bytes).toBeLessThan(targetBytes * 1.5);
      const asFiles = s.expectedPaths.map((p) => (p.endsWith('/') ? `${p}index.html` : p)).sort();
      expect(asFiles).toEqual(listFiles(s.dir));
    }
  });

  it('writes images, icon and font with valid magic headers', () => {
    const img = readdirSync(join(site.dir, 'images'));
    const head = (f: string, n: number): Buffer => readFileSync(join(site.dir, f)).subarray(0, n);
    const jpg = img.find((f) => f.endsWith('.jpg'));
    const png = img.find((f) => f.endsWith('.png'));
    const webp = img.find((f) => f.endsWith('.webp'));
    const svg = img.find((f) => f.endsWith('.svg'));
    expect(jpg && png && webp && svg).toBeTruthy();
    expect([...head(`images/${jpg}`, 4)]).toEqual([0xff, 0xd8, 0xff, 0xe0]);
    expect([...readFileSync(join(site.dir, 'images', jpg!)).subarray(-2)]).toEqual([0xff, 0xd9]);
    expect([...head(`images/${png}`, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(head(`images/${webp}`, 16).toString('latin1')).toMatch(/^RIFF[\s\S]{4}WEBPVP8 /);
    expect(readFileSync(join(site.dir, 'images', svg!), 'utf8')).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"[\s\S]*<\/svg>\s*$/);
    expect([...head('favicon.ico', 4)]).toEqual([0, 0, 1, 0]);
    expect(head('fonts/body.woff2', 4).toString('latin1')).toBe('wOF2');
  });

  it('writes a gosherve-format map (comment, blank line, alias target) that parses back to its redirects', () => {
    expect(site.redirectsText).toMatch(/^# .*\n\n/);
    expect(site.redirects.length).toBeGreaterThanOrEqual(24);
    const parsed = parseRedirectMap(site.redirectsText);
    expect(parsed.skipped).toEqual([]);
    expect(parsed.redirects).toEqual(site.redirects);
    for (const r of site.redirects) expect(r.target).toMatch(/^https:\/\//);
  });
});

describe('map server', () => {
  it('serves the map whatever the query string, counts fetches, resets and swaps text', async () => {
    map.resetFetches();
    const a = await fetch(`${map.url}?cachebust=1732000000`).then((r) => r.text());
    const b = await fetch(map.url).then((r) => ({ status: r.status, type: r.headers.get('content-type') }));
    expect(a).toBe(site.redirectsText);
    expect(b).toEqual({ status: 200, type: 'text/plain; charset=utf-8' });
    expect(map.fetches()).toBe(2);
    const other = await fetch(map.url.replace('/redirects.txt', '/other')).then((r) => r.status);
    expect(other).toBe(404);
    expect(map.fetches()).toBe(2);
    map.setText('gh https://e.org/\n');
    expect(await fetch(map.url).then((r) => r.text())).toBe('gh https://e.org/\n');
    map.setText(site.redirectsText);
    map.resetFetches();
    expect(map.fetches()).toBe(0);
  });

  it('names the cause when it cannot listen', async () => {
    const port = Number(new URL(map.url).port);
    await expect(startMapServer({ text: '', port })).rejects.toThrow(`the redirect map server cannot listen on 127.0.0.1:${port}: EADDRINUSE`);
  });

  it('answers a burst of 200 concurrent fetches (normal listen backlog), counting each', async () => {
    map.resetFetches();
    const statuses = await Promise.all(Array.from({ length: 200 }, (_, i) => fetch(`${map.url}?cachebust=${i}`).then(async (r) => (await r.text(), r.status))));
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(map.fetches()).toBe(200);
  });
});

describe('crawl: link extraction', () => {
  it('extracts href, src, every srcset candidate and CSS in style attributes and elements', () => {
    const links = extractLinks('<a href="/a">x</a><img src="/b.jpg" srcset="/b-800.jpg 800w, /b-1600.jpg 1600w"><script src="/c.js"></script><div style="background:url(\'/d.png\')"></div><style>p{background:url(/e.png)}</style><source srcset="/f.webp 1x,/g.webp 2x">');
    expect(links).toEqual(['/a', '/b.jpg', '/b-800.jpg', '/b-1600.jpg', '/c.js', '/d.png', '/e.png', '/f.webp', '/g.webp']);
  });

  it('parses srcset like the HTML spec (no spaces after commas, commas inside URLs, no descriptors)', () => {
    expect(srcsetUrls('a.jpg 800w,b.jpg 1600w')).toEqual(['a.jpg', 'b.jpg']);
    expect(srcsetUrls('  a.jpg,  b.jpg 2x ,c.jpg')).toEqual(['a.jpg', 'b.jpg', 'c.jpg']);
    expect(srcsetUrls('/img?w=1,2 1x, /x.jpg 2x')).toEqual(['/img?w=1,2', '/x.jpg']);
  });

  it('extracts CSS url() in every quoting style and @import, ignoring comments', () => {
    expect(extractCssLinks('@import "base.css"; /* url(/no.png) */ a{b:url( "../f.woff2" ) format("woff2")} c{d:url(\'/e.png\')} f{g:url(h.svg)}')).toEqual(['../f.woff2', '/e.png', 'h.svg', 'base.css']);
  });

  it('keeps same-origin paths only, resolving ./ and ../, dropping fragments and queries, canonical percent-encoding', () => {
    const page = new URL('http://127.0.0.1:8080/posts/a/index.html');
    expect(samePath('../b/', page)).toBe('/posts/b/');
    expect(samePath('./img.jpg#x', page)).toBe('/posts/a/img.jpg');
    expect(samePath('../../x/./y/../z.css?v=2', page)).toBe('/x/z.css');
    expect(samePath('#top', page)).toBeNull();
    expect(samePath('https://example.com/x', page)).toBeNull();
    expect(samePath('//example.com/x', page)).toBeNull();
    expect(samePath('http://127.0.0.1:9999/x', page)).toBeNull();
    expect(samePath('mailto:a@b.c', page)).toBeNull();
    expect(samePath('data:image/png;base64,AAAA', page)).toBeNull();
    expect(samePath('/caf%c3%a9 %7euser', page)).toBe('/caf%C3%A9%20~user');
    expect(samePath('/café ~user', page)).toBe('/caf%C3%A9%20~user');
  });
});

describe('crawl: a real server', () => {
  it('finds every page and asset of the generated site (nginx), set-equal to what the generator expects', async () => {
    const paths = await crawl(`http://127.0.0.1:${nginxPort}`);
    expect(paths).toEqual(site.expectedPaths);
    // The pages do link elsewhere (a reference, mail, GitHub, fragments): none of that is a target.
    const post = readFileSync(join(site.dir, 'posts/post-002/index.html'), 'utf8');
    expect(post).toContain('https://example.com/ref/');
    expect(post).toContain('href="../post-001/"');
    expect(paths.some((p) => p.includes('example') || p.includes('#'))).toBe(false);
    expect(paths).toContain('/fonts/body.woff2'); // only the stylesheet refers to it
  });

  it('stops following pages at maxPages but still lists what it saw', async () => {
    const paths = await crawl(`http://127.0.0.1:${nginxPort}`, { maxPages: 1 });
    expect(paths).toContain('/');
    expect(paths.length).toBeLessThan(site.expectedPaths.length);
    expect(paths.length).toBeGreaterThan(5); // "/" itself links the stylesheet, scripts and posts
  });

  it('builds targets: crawl plus every alias of the map', async () => {
    const t = await buildTargets(`http://127.0.0.1:${nginxPort}`, site.redirectsText);
    expect(t.paths).toEqual(site.expectedPaths);
    expect(t.redirects).toEqual(site.redirects);
  });

  it('fails with the URL when a page does not answer in time, instead of hanging', async () => {
    const server: Server = createServer((req, res) => {
      if (req.url === '/') res.writeHead(200, { 'Content-Type': 'text/html' }).end('<a href="/slow">s</a>');
      // "/slow" never answers.
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const t0 = Date.now();
      await expect(crawl(base, { timeoutMs: 300 })).rejects.toThrow(`crawling ${base}/slow failed: no answer within 300 ms`);
      expect(Date.now() - t0).toBeLessThan(5_000);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});

describe('nginx reference', () => {
  it('reports its version and renders the reference settings', async () => {
    expect(await nginxVersion()).toMatch(/^\d+\.\d+\.\d+/);
    expect(await nginxVersion('/nonexistent/nginx')).toBeNull();
    const conf = renderNginxConfig({ webroot: '/srv/site', redirects: [{ alias: 'go/1', target: 'https://e.org/$x' }], port: 8080, prefixDir: '/tmp/p' });
    for (const line of ['worker_processes 1;', 'sendfile on;', 'tcp_nopush on;', 'access_log off;', 'daemon off;', 'master_process on;', 'error_log /tmp/p/error.log warn;', 'pid /tmp/p/nginx.pid;', 'client_body_temp_path /tmp/p/client_body;', 'listen 127.0.0.1:8080', 'error_page 404 /404.html;', 'image/webp webp;']) {
      expect(conf).toContain(line);
    }
    expect(conf).toContain('location = "/go/1" { return 301 "https://e.org/\\$x"; }');
    expect(conf).toContain('location = "/go/1/" { return 301 "https://e.org/\\$x"; }');
    expect(conf).not.toContain('/etc/nginx');
    // Every media type the gate expects is configured, so the reference passes it on any site.
    for (const line of ['text/html html htm;', 'image/jpeg jpg jpeg;', 'image/avif avif;', 'font/woff woff;', 'application/pdf pdf;']) expect(conf).toContain(line);
  });

  it('serves a post with and without the trailing slash (no /dir → /dir/ redirect), and aliases with both', async () => {
    const base = `http://127.0.0.1:${nginxPort}`;
    const want = readFileSync(join(site.dir, 'posts/post-001/index.html'), 'utf8');
    for (const p of ['/posts/post-001', '/posts/post-001/']) {
      const r = await fetch(`${base}${p}`, { redirect: 'manual' });
      expect([p, r.status]).toEqual([p, 200]);
      expect(await r.text()).toBe(want);
    }
    const r = await fetch(`${base}/${site.redirects[0]!.alias}/`, { redirect: 'manual' });
    expect(r.status).toBe(301);
    expect(r.headers.get('location')).toBe(site.redirects[0]!.target);
    const nf = await fetch(`${base}/nope`);
    expect(nf.status).toBe(404);
    expect(await nf.text()).toBe(readFileSync(join(site.dir, '404.html'), 'utf8'));
  });
});

describe('verification', () => {
  it('passes on nginx serving the site with our reference config, with no warnings', async () => {
    const targets = await buildTargets(`http://127.0.0.1:${nginxPort}`, site.redirectsText);
    const v = await verify({ impl: 'nginx', size: '1', baseUrl: `http://127.0.0.1:${nginxPort}`, metricsUrl: null, metricPrefix: null, targets, webroot: site.dir });
    expect(v.findings.filter((f) => f.status !== 'pass')).toEqual([]);
    expect(v.passed).toBe(true);
    expect(v.counts).toEqual({ pass: targets.paths.length + targets.redirects.length + 1, warn: 0, fail: 0 });
    expect(v.targets).toBe(targets.paths.length + targets.redirects.length);
    expect(v.findings).toEqual([{ status: 'pass', url: `http://127.0.0.1:${nginxPort}`, reason: expect.stringMatching(/^\d+ of \d+ checks passed/) }]);
  });

  it('passes on tsherve, including its metrics counter', async () => {
    const cli = resolve('dist/servers/tsherve/src/cli.js');
    const proc = spawn(process.execPath, [cli], { env: { TSHERVE_WEBROOT: site.dir, TSHERVE_REDIRECT_MAP_URL: map.url, TSHERVE_PORT: '0', TSHERVE_METRICS_PORT: '0', TSHERVE_WORKERS: '1' }, stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const ports = await new Promise<{ port: number; metricsPort: number }>((res, rej) => {
        let out = '';
        const timer = setTimeout(() => rej(new Error('tsherve did not log "listening" within 15 s')), 15_000);
        proc.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          const line = out.split('\n').find((l) => l.includes('"listening"'));
          if (line) {
            clearTimeout(timer);
            res(JSON.parse(line) as { port: number; metricsPort: number });
          }
        });
        proc.once('exit', (c) => rej(new Error(`tsherve exited ${c}`)));
      });
      const base = `http://127.0.0.1:${ports.port}`;
      const targets = await buildTargets(base, site.redirectsText);
      expect(targets.paths).toEqual(site.expectedPaths);
      const v = await verify({ impl: 'tsherve', size: '1', baseUrl: base, metricsUrl: `http://127.0.0.1:${ports.metricsPort}/metrics`, metricPrefix: 'tsherve_', targets, webroot: site.dir });
      expect(v.findings.filter((f) => f.status === 'fail')).toEqual([]);
      expect(v.passed).toBe(true);
      expect(v.counts.pass).toBeGreaterThan(targets.paths.length);
    } finally {
      proc.kill('SIGTERM');
    }
  }, 30_000);

  it('collects every finding of nginx with a wrong config: a wrong alias Location, a missing file', async () => {
    const copy = join(tmp, 'broken-site');
    await generateSite({ dir: copy, seed: 7, targetBytes: 2_000_000 });
    const gone = site.expectedPaths.find((p) => p.endsWith('.webp'))!;
    rmSync(join(copy, gone));
    const wrong = site.redirects.map((r, i) => (i === 2 ? { alias: r.alias, target: 'https://wrong.example/' } : r));
    const bad = await startNginx('nginx-bad', copy, wrong);
    try {
      const base = `http://127.0.0.1:${bad.port}`;
      const v = await verify({ impl: 'nginx', size: '1', baseUrl: base, metricsUrl: null, metricPrefix: null, targets: { paths: site.expectedPaths, redirects: site.redirects }, webroot: copy });
      expect(v.passed).toBe(false);
      expect(v.findings.filter((f) => f.status === 'fail')).toEqual([
        { status: 'fail', url: `${base}${gone}`, reason: 'expected 200, got 404' },
        { status: 'fail', url: `${base}/${site.redirects[2]!.alias}`, reason: `Location https://wrong.example/, expected ${site.redirects[2]!.target}` },
      ]);
      expect(v.counts.pass).toBe(site.expectedPaths.length + site.redirects.length + 1 - 2);
    } finally {
      process.kill(-bad.proc.pid!, 'SIGTERM');
    }
  });

  it('collects every failure and warning of a misbehaving server, each with its URL and reason', async () => {
    const realCss = statSync(join(site.dir, 'css/site.css')).size;
    const js = readFileSync(join(site.dir, 'js/theme.js'));
    // Framed with Content-Length unless a case is about framing.
    const send = (res: import('node:http').ServerResponse, status: number, headers: Record<string, string>, body: string | Buffer = ''): void => {
      res.writeHead(status, { 'Content-Length': String(Buffer.byteLength(body)), ...headers }).end(body);
    };
    const server: Server = createServer((req, res) => {
      const url = req.url ?? '/';
      if (url === '/css/site.css') send(res, 200, { 'Content-Type': 'text/css' }, 'short');
      else if (url === '/js/theme.js') send(res, 200, { 'Content-Type': 'image/png' }, js);
      else if (url === '/js/search.js') send(res, 200, { 'Content-Type': 'application/javascript; charset=latin1' }, readFileSync(join(site.dir, 'js/search.js')));
      else if (url === '/robots.txt') {
        res.writeHead(200, { 'Content-Type': 'text/plain' }); // chunked: no Content-Length
        res.write(readFileSync(join(site.dir, 'robots.txt')));
        res.end();
      } else if (url === '/atom.xml') send(res, 200, { 'Content-Type': 'text/html' }, 'abc');
      else if (url === '/gh') send(res, 301, { Location: 'https://wrong.example/' });
      else if (url === '/github') send(res, 302, { Location: site.redirects[1]!.target });
      else if (url === '/linkedin') send(res, 200, {}, 'not a redirect');
      else if (url.startsWith('/server-bench-no-such-page')) send(res, 200, {}, 'oops');
      else if (url === '/metrics') send(res, 200, {}, '# other\nbad_requests_total_other 1\nother_metric 1\n');
      else if (url === '/hang') res.writeHead(200, { 'Content-Type': 'text/html', 'Content-Length': '100' }).write('partial'); // never ends
      else send(res, 500, {});
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const paths = ['/css/site.css', '/js/theme.js', '/js/search.js', '/robots.txt', '/atom.xml', '/index.xml', '/hang'];
      const t0 = Date.now();
      const v = await verify({ impl: 'bad', size: '1', baseUrl: base, metricsUrl: `${base}/metrics`, metricPrefix: 'bad_', targets: { paths, redirects: site.redirects.slice(0, 3) }, webroot: site.dir, timeoutMs: 500 });
      expect(Date.now() - t0).toBeLessThan(10_000);
      expect(v.passed).toBe(false);
      const reasons = (u: string): string[] => v.findings.filter((f) => f.url === `${base}${u}`).map((f) => `${f.status}: ${f.reason}`);
      expect(reasons('/css/site.css')).toEqual([`fail: body is 5 bytes, the file ${join(site.dir, 'css/site.css')} has ${realCss}`]);
      expect(reasons('/js/theme.js')).toEqual(['fail: Content-Type image/png, expected text/javascript']);
      expect(reasons('/js/search.js')).toEqual(['warn: Content-Type application/javascript, expected text/javascript (equivalent for browsers)']);
      expect(reasons('/robots.txt')).toEqual([`warn: no Content-Length header (chunked); ${statSync(join(site.dir, 'robots.txt')).size} bytes received`]);
      expect(reasons('/atom.xml').sort()).toEqual([`fail: Content-Type text/html, expected application/xml`, `fail: body is 3 bytes, the file ${join(site.dir, 'atom.xml')} has ${statSync(join(site.dir, 'atom.xml')).size}`].sort());
      expect(reasons('/index.xml')).toEqual(['fail: expected 200, got 500']);
      expect(reasons('/hang')).toEqual(['fail: no complete answer within 500 ms']);
      expect(reasons('/gh')).toEqual([`fail: Location https://wrong.example/, expected ${site.redirects[0]!.target}`]);
      expect(reasons('/github')).toEqual(['fail: expected 301 or 308, got 302']);
      expect(reasons('/linkedin')).toEqual(['fail: expected 301 or 308, got 200', `fail: Location (none), expected ${site.redirects[2]!.target}`]);
      expect(v.findings.find((f) => f.url.includes('server-bench-no-such-page'))?.reason).toBe('expected 404 for an unknown path, got 200');
      expect(reasons('/metrics')).toEqual(['fail: no bad_requests_total counter in the metrics']);
      expect(v.counts).toEqual({ pass: 0, warn: 2, fail: 12 });
      // Fails first, then warnings, then the summarised passes.
      expect(v.findings.map((f) => f.status)).toEqual([...Array(12).fill('fail'), 'warn', 'warn', 'pass']);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('maps URL paths to files as the servers do, and never outside the webroot', async () => {
    expect(await fileForPath(site.dir, '/')).toBe(join(site.dir, 'index.html'));
    expect(await fileForPath(site.dir, '/posts/post-001/')).toBe(join(site.dir, 'posts/post-001/index.html'));
    expect(await fileForPath(site.dir, '/posts/post-001')).toBe(join(site.dir, 'posts/post-001/index.html'));
    expect(await fileForPath(site.dir, '/css/site.css')).toBe(join(site.dir, 'css/site.css'));
    expect(await fileForPath(site.dir, '/a%20b.png')).toBe(join(site.dir, 'a b.png'));
    expect(await fileForPath(site.dir, '/%2e%2e/%2e%2e/etc/passwd')).toBeNull();
    expect(await fileForPath(site.dir, '/%E0%A4%A')).toBeNull();
    expect(expectedType('/posts/x/')).toBe('text/html');
    expect(expectedType('/images/a-800.WEBP')).toBe('image/webp');
    expect(expectedType('/LICENSE')).toBeNull();
  });

  it('grades Content-Type headers: parameters, equivalents, wrong types', () => {
    expect(checkContentType('text/html; charset=utf-8', 'text/html').status).toBe('pass');
    expect(checkContentType('TEXT/HTML', 'text/html').status).toBe('pass');
    expect(checkContentType('text/html; charset=iso-8859-1', 'text/html')).toEqual({ status: 'warn', reason: 'Content-Type text/html; charset=iso-8859-1: charset iso-8859-1, the files are UTF-8' });
    expect(checkContentType('text/xml; charset=utf-8', 'application/xml').status).toBe('warn');
    expect(checkContentType('application/octet-stream', 'image/webp')).toEqual({ status: 'fail', reason: 'Content-Type application/octet-stream, expected image/webp' });
    expect(checkContentType(null, 'image/png').status).toBe('fail');
  });

  it('fails (does not hang) when nothing listens', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const v = await verify({ impl: 'gone', size: '1', baseUrl: base, metricsUrl: `${base}/metrics`, metricPrefix: 'x_', targets: { paths: ['/'], redirects: [] }, webroot: null, timeoutMs: 1_000 });
    expect(v.passed).toBe(false);
    expect(v.findings.filter((f) => f.status === 'fail').map((f) => f.reason)).toEqual(['request failed: ECONNREFUSED', 'request failed: ECONNREFUSED', 'metrics: request failed: ECONNREFUSED']);
  });
});
