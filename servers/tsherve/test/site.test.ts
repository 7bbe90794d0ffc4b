// The site port against a real tsherve process: files, directories, 404, traversal, conditional
// and range requests, methods.
import { symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { get, makeSite, startMapSource, startTsherve, type MapSource, type Tsherve } from './helpers.js';

let map: MapSource;
let ts: Tsherve;
let site: { root: string; parent: string };

beforeAll(async () => {
  site = makeSite();
  // Symlinks: one inside, one to a file outside the root (followed by default), one broken, one loop.
  mkdirSync(join(site.parent, 'shared'));
  writeFileSync(join(site.parent, 'shared', 'lib.js'), 'shared()');
  symlinkSync(join(site.parent, 'shared', 'lib.js'), join(site.root, 'assets', 'lib.js'));
  symlinkSync(join(site.root, 'nowhere'), join(site.root, 'broken-link'));
  symlinkSync(site.root, join(site.root, 'loop'));
  map = await startMapSource('gh https://github.com/\n');
  ts = await startTsherve({ TSHERVE_WEBROOT: site.root, TSHERVE_REDIRECT_MAP_URL: map.url });
});

afterAll(async () => {
  await ts?.stop();
  await map?.close();
});

describe('files', () => {
  it('serves / and directories with and without a trailing slash from index.html', async () => {
    const root = await get(ts.base, '/');
    expect(root.status).toBe(200);
    expect(root.body.toString()).toBe('<h1>home</h1>');
    for (const p of ['/posts/hello', '/posts/hello/', '/posts/hello/index.html']) {
      const r = await get(ts.base, p);
      expect(r.status, p).toBe(200);
      expect(r.body.toString()).toBe('<h1>hello</h1>');
    }
  });

  it('sends precomputed headers: type, length, strong ETag, Last-Modified, Cache-Control', async () => {
    const r = await get(ts.base, '/assets/site.css');
    expect(r.headers['content-type']).toBe('text/css; charset=utf-8');
    expect(r.headers['content-length']).toBe('6');
    expect(r.headers.etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
    expect(Date.parse(r.headers['last-modified'] as string)).not.toBeNaN();
    expect(r.headers['cache-control']).toBe('public, max-age=31536000, must-revalidate');
    expect((await get(ts.base, '/assets/app.js')).headers['content-type']).toBe('text/javascript; charset=utf-8');
  });

  it('serves awkward file names: spaces and non-ASCII, percent-encoded', async () => {
    expect((await get(ts.base, '/assets/my%20file.txt')).body.toString()).toBe('spaces');
    expect((await get(ts.base, '/assets/caf%C3%A9.txt')).body.toString()).toBe('accent');
    expect((await get(ts.base, '/assets/caf%c3%a9.txt')).body.toString()).toBe('accent'); // lower-case hex
    expect((await get(ts.base, '/assets/.hidden')).body.toString()).toBe('dotfile');
  });

  it('serves names with "%", "&" and "+" by what the request decodes to, never by its raw spelling', async () => {
    expect((await get(ts.base, '/assets/100%25.txt')).body.toString()).toBe('percent');
    expect((await get(ts.base, '/assets/a%2520b.txt')).body.toString()).toBe('literal');
    // "%20" means a space: there is no "a b.txt", so the file literally named "a%20b.txt" must not answer.
    expect((await get(ts.base, '/assets/a%20b.txt')).status).toBe(404);
    expect((await get(ts.base, '/assets/a&b+c.txt')).body.toString()).toBe('delims');
    expect((await get(ts.base, '/assets/a%26b%2Bc.txt')).body.toString()).toBe('delims');
    expect((await get(ts.base, '/assets/a:b*c.txt')).body.toString()).toBe('pattern');
    expect((await get(ts.base, '/assets/a%3Ab%2Ac.txt')).body.toString()).toBe('pattern');
    expect((await get(ts.base, '/assets//site.css')).body.toString()).toBe('body{}');
    expect((await get(ts.base, '/assets/./site.css?v=3')).body.toString()).toBe('body{}');
  });

  it('finds a file by its exact path only: another case or a slash after a file name is not that file', async () => {
    expect((await get(ts.base, '/Assets/site.css')).status).toBe(404);
    expect((await get(ts.base, '/assets/SITE.CSS')).status).toBe(404);
    expect((await get(ts.base, '/assets/site.css/')).status).toBe(404);
    expect((await get(ts.base, '/assets/site.css?x=1#y')).body.toString()).toBe('body{}');
  });

  it('refuses oversized request headers with 431 and keeps serving', async () => {
    const r = await get(ts.base, '/', { headers: { 'X-Big': 'a'.repeat(20_000) } });
    expect(r.status).toBe(431);
    expect((await get(ts.base, '/')).status).toBe(200);
  });

  it('cuts off a client that never finishes its headers (slowloris) within the headers timeout', async () => {
    const { connect } = await import('node:net');
    const t0 = Date.now();
    const answer = await new Promise<string>((resolve, reject) => {
      const sock = connect(ts.port, '127.0.0.1', () => sock.write('GET / HTTP/1.1\r\nHost: x\r\nX-Slow: '));
      let got = '';
      sock.on('data', (d: Buffer) => (got += d.toString()));
      sock.on('close', () => resolve(got));
      sock.on('error', reject);
      setTimeout(() => {
        sock.destroy();
        reject(new Error('still open after 20 s'));
      }, 20_000);
    });
    expect(answer === '' || answer.startsWith('HTTP/1.1 408')).toBe(true);
    expect(Date.now() - t0).toBeGreaterThan(9_000); // not before the 10 s headers timeout
  }, 30_000);

  it('logs no request lines at info', () => {
    expect(ts.stdout()).not.toContain('"msg":"request"');
  });

  it('follows symlinks at load time, skipping broken and looping ones', async () => {
    expect((await get(ts.base, '/assets/lib.js')).body.toString()).toBe('shared()');
    expect((await get(ts.base, '/broken-link')).status).toBe(404);
    expect((await get(ts.base, '/loop/index.html')).status).toBe(404);
    expect(ts.stdout()).toContain('skipping broken symlink');
    expect(ts.stdout()).toContain('skipping symlink loop');
  });

  it('answers HEAD with headers and no body', async () => {
    const r = await get(ts.base, '/assets/site.css', { method: 'HEAD' });
    expect(r.status).toBe(200);
    expect(r.headers['content-length']).toBe('6');
    expect(r.body.length).toBe(0);
  });

  it('refuses other methods with 405 and Allow', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']) {
      const r = await get(ts.base, '/', { method });
      expect(r.status, method).toBe(405);
      expect(r.headers.allow).toBe('GET, HEAD');
    }
  });

  it('answers HEAD for a missing path with the 404 headers and no body', async () => {
    const r = await get(ts.base, '/nothing-here', { method: 'HEAD' });
    expect(r.status).toBe(404);
    expect(r.body.length).toBe(0);
    expect(Number(r.headers['content-length'])).toBe('<h1>custom 404</h1>'.length);
  });

  it('serves 404.html with status 404 for unknown paths', async () => {
    const r = await get(ts.base, '/no/such/page');
    expect(r.status).toBe(404);
    expect(r.body.toString()).toBe('<h1>custom 404</h1>');
    expect(r.headers['content-type']).toContain('text/html');
  });
});

describe('traversal and malformed paths', () => {
  const attempts = [
    '/../secret.txt',
    '/..%2fsecret.txt',
    '/%2e%2e/secret.txt',
    '/%2E%2E%2Fsecret.txt',
    '/%252e%252e/secret.txt',
    '/assets/../../secret.txt',
    '/assets/%2e%2e/%2e%2e/secret.txt',
    '/..\\secret.txt',
    '/%5c..%5csecret.txt',
    '/posts/hello/../../../secret.txt',
    '/.%2e/secret.txt',
    '//../secret.txt',
    '/%00',
    '/index.html%00.txt',
    '/%',
    '/%zz',
    '/%c3%28',
    '/assets/100%.txt',
    '/%2e%2e%5csecret.txt',
    '/assets/..%5c..%5csecret.txt',
    '/..%00/secret.txt',
    '/%u002e%u002e/secret.txt',
    '/' + '../'.repeat(20) + 'etc/passwd',
    'http://127.0.0.1/../secret.txt',
  ];
  for (const path of attempts) {
    it(`${path} → 4xx, never the secret, never 5xx`, async () => {
      const r = await get(ts.base, path);
      expect(r.status).toBeGreaterThanOrEqual(400);
      expect(r.status).toBeLessThan(500);
      expect(r.body.toString()).not.toContain('TOP-SECRET');
    });
  }
});

describe('conditional and range requests', () => {
  it('If-None-Match with the ETag → 304; another ETag → 200', async () => {
    const first = await get(ts.base, '/assets/site.css');
    const etag = first.headers.etag as string;
    const r = await get(ts.base, '/assets/site.css', { headers: { 'If-None-Match': etag } });
    expect(r.status).toBe(304);
    expect(r.body.length).toBe(0);
    expect((await get(ts.base, '/assets/site.css', { headers: { 'If-None-Match': `W/${etag}, "x"` } })).status).toBe(304);
    expect((await get(ts.base, '/assets/site.css', { headers: { 'If-None-Match': '"other"' } })).status).toBe(200);
  });

  it('If-Modified-Since at or after Last-Modified → 304; before → 200', async () => {
    const first = await get(ts.base, '/assets/site.css');
    const lm = first.headers['last-modified'] as string;
    expect((await get(ts.base, '/assets/site.css', { headers: { 'If-Modified-Since': lm } })).status).toBe(304);
    expect((await get(ts.base, '/assets/site.css', { headers: { 'If-Modified-Since': 'Mon, 01 Jan 2001 00:00:00 GMT' } })).status).toBe(200);
  });

  it('a single Range → 206 with Content-Range; suffix and open ranges', async () => {
    const r = await get(ts.base, '/assets/site.css', { headers: { Range: 'bytes=1-3' } });
    expect(r.status).toBe(206);
    expect(r.headers['content-range']).toBe('bytes 1-3/6');
    expect(r.body.toString()).toBe('ody');
    expect((await get(ts.base, '/assets/site.css', { headers: { Range: 'bytes=-2' } })).body.toString()).toBe('{}');
    expect((await get(ts.base, '/assets/site.css', { headers: { Range: 'bytes=4-' } })).body.toString()).toBe('{}');
  });

  it('an unsatisfiable Range → 416', async () => {
    const r = await get(ts.base, '/assets/site.css', { headers: { Range: 'bytes=100-200' } });
    expect(r.status).toBe(416);
    expect(r.headers['content-range']).toBe('bytes */6');
  });
});

describe('confined symlinks', () => {
  it('refuses links that leave the webroot when TSHERVE_CONFINE_SYMLINKS=true', async () => {
    const confined = await startTsherve({ TSHERVE_WEBROOT: site.root, TSHERVE_REDIRECT_MAP_URL: map.url, TSHERVE_CONFINE_SYMLINKS: 'true' });
    try {
      expect((await get(confined.base, '/assets/lib.js')).status).toBe(404);
      expect((await get(confined.base, '/assets/site.css')).status).toBe(200);
      expect(confined.stdout()).toContain('skipping symlink that leaves the webroot');
    } finally {
      await confined.stop();
    }
  });
});
