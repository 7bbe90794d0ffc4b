// Redirects against a real map source: lookups, invalid lines, refresh on a miss, coalescing,
// slow and dead sources, oversized maps.
import { afterEach, describe, expect, it } from 'vitest';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fetchMapText, parseMap } from '../src/redirects.js';
import { get, makeSite, metrics, metricValue, startMapSource, startTsherve, type MapSource, type Tsherve } from './helpers.js';

// gosherve's grammar (shared/redirect-map.ts): lines 5-10 are skipped (three fields, not a URL, not
// http(s), a control character, a tab instead of the one space, an alias ending in "/").
const MAP = [
  '# comment',
  '',
  'gh https://github.com/jnsgruk',
  'blog http://example.org/blog?x=1',
  'two words here',
  'bad not-a-url',
  'ftp ftp://example.org/x',
  'ctl https://example.org/a\u0007b',
  'tab\thttps://example.org/t',
  'docs/ https://example.org/docs',
  '',
].join('\n');
const SKIPPED = [5, 6, 7, 8, 9, 10];

let map: MapSource | undefined;
let ts: Tsherve | undefined;
afterEach(async () => {
  await ts?.stop();
  await map?.close();
  ts = undefined;
  map = undefined;
});

describe('parseMap', () => {
  it('keeps valid lines, skips the rest with their line numbers', () => {
    const p = parseMap(MAP);
    expect([...p.map.entries()]).toEqual([
      ['gh', 'https://github.com/jnsgruk'],
      ['blog', 'http://example.org/blog?x=1'],
    ]);
    expect(p.skipped.map((s) => s.line)).toEqual(SKIPPED);
  });
});

describe('redirects', () => {
  it('301 with Location, with and without trailing slash; invalid lines logged with line numbers', async () => {
    map = await startMapSource(MAP);
    ts = await startTsherve({ TSHERVE_REDIRECT_MAP_URL: map.url, TSHERVE_WEBROOT: makeSite().root });
    for (const p of ['/gh', '/gh/', '//gh//']) {
      const r = await get(ts.base, p);
      expect(r.status, p).toBe(301);
      expect(r.headers.location).toBe('https://github.com/jnsgruk');
    }
    expect((await get(ts.base, '/blog')).headers.location).toBe('http://example.org/blog?x=1');
    for (const skipped of ['/bad', '/tab', '/docs', '/docs/']) expect((await get(ts.base, skipped)).status, skipped).toBe(404);
    const out = ts.stdout();
    for (const line of SKIPPED) expect(out).toContain(`"line":${line}`);
  });

  it('files win over redirects', async () => {
    map = await startMapSource('index.html https://example.org/\n');
    ts = await startTsherve({ TSHERVE_REDIRECT_MAP_URL: map.url, TSHERVE_WEBROOT: makeSite().root });
    expect((await get(ts.base, '/index.html')).status).toBe(200);
  });

  it('sends the cachebust query parameter', async () => {
    const seen: string[] = [];
    map = await startMapSource('a https://example.org/a\n');
    const { createServer } = await import('node:http');
    const srv = createServer((req, res) => {
      seen.push(req.url ?? '');
      res.end('a https://example.org/a\n');
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    try {
      ts = await startTsherve({ TSHERVE_REDIRECT_MAP_URL: `http://127.0.0.1:${port}/m.txt?token=1` });
      expect(seen[0]).toMatch(/^\/m\.txt\?token=1&cachebust=\d+$/);
    } finally {
      await ts?.stop();
      ts = undefined;
      srv.close();
    }
  });

  it('a miss refreshes the map and picks up a new alias', async () => {
    map = await startMapSource('a https://example.org/a\n');
    ts = await startTsherve({ TSHERVE_REDIRECT_MAP_URL: map.url, TSHERVE_REFRESH_INTERVAL: '0' });
    const miss = await get(ts.base, '/new');
    expect(miss.status).toBe(404);
    expect(miss.body.toString()).toBe('Not found'); // no webroot, so no 404.html: the plain answer
    map.text = 'a https://example.org/a\nnew https://example.org/new\n';
    const r = await get(ts.base, '/new');
    expect(r.status).toBe(301);
    expect(r.headers.location).toBe('https://example.org/new');
  });

  it('a flood of 50 concurrent unknown paths costs one fetch', async () => {
    map = await startMapSource('a https://example.org/a\n');
    ts = await startTsherve({ TSHERVE_REDIRECT_MAP_URL: map.url, TSHERVE_REFRESH_INTERVAL: '1500ms' });
    await new Promise((r) => setTimeout(r, 1600)); // let the start-up fetch's interval pass
    const before = map.fetches;
    map.delayMs = 300; // keep the fetch in flight while the flood arrives
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => get(ts!.base, `/unknown-${i}`)));
    expect(answers.every((a) => a.status === 404)).toBe(true);
    expect(map.fetches - before).toBe(1);
    // Inside the interval, more misses start no fetch at all.
    await Promise.all(Array.from({ length: 20 }, (_, i) => get(ts!.base, `/again-${i}`)));
    expect(map.fetches - before).toBe(1);
    const m = await metrics(ts.metricsPort);
    expect(metricValue(m, 'tsherve_redirect_map_refreshes_total{result="skipped"}')).toBe(20);
  });

  it('a slow map source: an unknown path gets 404 within the fetch timeout', async () => {
    map = await startMapSource('a https://example.org/a\n');
    ts = await startTsherve({ TSHERVE_REDIRECT_MAP_URL: map.url, TSHERVE_MAP_TIMEOUT: '500ms', TSHERVE_REFRESH_INTERVAL: '0' });
    map.delayMs = 5_000;
    const t0 = Date.now();
    const r = await get(ts.base, '/unknown');
    expect(r.status).toBe(404);
    expect(Date.now() - t0).toBeLessThan(2_500);
    expect((await get(ts.base, '/a')).status).toBe(301); // last good map kept
  });

  it('a dead map source: known redirects and files are still served', async () => {
    map = await startMapSource('a https://example.org/a\n');
    ts = await startTsherve({ TSHERVE_REDIRECT_MAP_URL: map.url, TSHERVE_WEBROOT: makeSite().root, TSHERVE_REFRESH_INTERVAL: '0' });
    await map.close();
    map = undefined;
    expect((await get(ts.base, '/unknown')).status).toBe(404);
    expect((await get(ts.base, '/a')).status).toBe(301);
    expect((await get(ts.base, '/')).status).toBe(200);
    expect(ts.stdout()).toContain('keeping the last good map');
  });

  it('an oversized map is refused at start-up with the cause', async () => {
    map = await startMapSource('a https://example.org/a\n'.repeat(100));
    const { runTsherve } = await import('./helpers.js');
    const r = await runTsherve({ TSHERVE_REDIRECT_MAP_URL: map.url, TSHERVE_MAP_MAX_BYTES: '1KiB' });
    expect(r.code).toBe(3);
    expect(r.stdout).not.toContain('listening');
    expect(r.stderr).toMatch(/cannot fetch the redirect map .*over the 1024-byte cap/);
  });

  it('start-up waits for a map host that comes up within a few seconds', async () => {
    map = await startMapSource('late https://example.org/late\n');
    map.status = 503;
    setTimeout(() => {
      if (map) map.status = 200;
    }, 700);
    ts = await startTsherve({ TSHERVE_REDIRECT_MAP_URL: map.url });
    expect(map.fetches).toBeGreaterThan(1);
    expect(ts.stdout()).toContain('"msg":"redirect map fetch failed"');
    expect((await get(ts.base, '/late')).headers.location).toBe('https://example.org/late');
  });

  it('periodic refresh picks up a new alias without a miss', async () => {
    map = await startMapSource('a https://example.org/a\n');
    ts = await startTsherve({ TSHERVE_REDIRECT_MAP_URL: map.url, TSHERVE_PERIODIC_REFRESH: '200ms', TSHERVE_REFRESH_INTERVAL: '100ms' });
    map.text = 'a https://example.org/a\nb https://example.org/b\n';
    const deadline = Date.now() + 5_000;
    let defined: number | undefined;
    while (Date.now() < deadline) {
      defined = metricValue(await metrics(ts.metricsPort), 'tsherve_redirects_defined');
      if (defined === 2) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(defined).toBe(2);
  });

  it('logs one line per request at debug, none at info', async () => {
    map = await startMapSource('a https://example.org/a\n');
    ts = await startTsherve({ TSHERVE_REDIRECT_MAP_URL: map.url, TSHERVE_LOG_LEVEL: 'debug' });
    await get(ts.base, '/a?x=1');
    const deadline = Date.now() + 2_000;
    while (!ts.stdout().includes('"msg":"request"') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const line = ts
      .stdout()
      .split('\n')
      .find((l) => l.includes('"msg":"request"'));
    expect(JSON.parse(line ?? '{}')).toMatchObject({ level: 'debug', method: 'GET', url: '/a?x=1', status: 301 });
  });

  it('an oversized map on refresh keeps the last good map', async () => {
    map = await startMapSource('a https://example.org/a\n');
    ts = await startTsherve({ TSHERVE_REDIRECT_MAP_URL: map.url, TSHERVE_MAP_MAX_BYTES: '1KiB', TSHERVE_REFRESH_INTERVAL: '0' });
    map.text = 'b https://example.org/b\n'.repeat(100);
    expect((await get(ts.base, '/b')).status).toBe(404);
    expect((await get(ts.base, '/a')).status).toBe(301);
  });
});

describe('fetching the map through redirects', () => {
  it('follows a relative Location, and a malformed one is a fetch error, not a crash', async () => {
    const server = createServer((req, res) => {
      if (req.url?.startsWith('/rel')) res.writeHead(302, { Location: '/map.txt' }).end();
      else if (req.url?.startsWith('/bad')) res.writeHead(302, { Location: 'http://[bad' }).end();
      else res.end('gh https://github.com/\n');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      expect(await fetchMapText(`${base}/rel`, 2_000, 1024)).toBe('gh https://github.com/\n');
      await expect(fetchMapText(`${base}/bad`, 2_000, 1024)).rejects.toThrow(/redirected to an invalid URL "http:\/\/\[bad"/);
    } finally {
      server.close();
    }
  });
});
