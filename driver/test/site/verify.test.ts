// site/verify.ts: the verification gate against real servers — nginx with our reference config,
// tsherve, and a deliberately wrong node:http server.
import { verificationCounts } from '../../src/report/format.js';
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildTargets } from '../../src/site/crawl.js';
import { generateSite } from '../../src/site/generate.js';
import { checkContentType, expectedType, fileForPath, verify } from '../../src/site/verify.js';
import { freePort, useSiteServers } from '../support/site-servers.js';

const env = useSiteServers();

describe('verification', () => {
  it('passes on nginx serving the site with our reference config, with no warnings', async () => {
    const targets = await buildTargets(`http://127.0.0.1:${env.nginxPort}`, env.site.redirectsText);
    const v = await verify({
      impl: 'nginx',
      size: '1',
      baseUrl: `http://127.0.0.1:${env.nginxPort}`,
      metricsUrl: null,
      metricPrefix: null,
      targets,
      webroot: env.site.dir,
    });
    expect(v.findings.filter((f) => f.status !== 'pass')).toEqual([]);
    expect(v.passed).toBe(true);
    expect(v.counts).toEqual({ pass: targets.paths.length + targets.redirects.length + 1, warn: 0, fail: 0 });
    expect(v.targets).toBe(targets.paths.length + targets.redirects.length);
    // Each target and the unknown path; no metrics here.
    expect(v.checks).toBe(v.targets + 1);
    expect(v.findings).toEqual([{ status: 'pass', url: `http://127.0.0.1:${env.nginxPort}`, reason: expect.stringMatching(/^\d+ of \d+ checks passed/) }]);
  });

  it('passes on tsherve, including its metrics counter', async () => {
    const cli = resolve('dist/servers/tsherve/src/cli.js');
    const proc = spawn(process.execPath, [cli], {
      env: { TSHERVE_WEBROOT: env.site.dir, TSHERVE_REDIRECT_MAP_URL: env.map.url, TSHERVE_PORT: '0', TSHERVE_METRICS_PORT: '0', TSHERVE_WORKERS: '1' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
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
      const targets = await buildTargets(base, env.site.redirectsText);
      expect(targets.paths).toEqual(env.site.expectedPaths);
      const v = await verify({
        impl: 'tsherve',
        size: '1',
        baseUrl: base,
        metricsUrl: `http://127.0.0.1:${ports.metricsPort}/metrics`,
        metricPrefix: 'tsherve_',
        targets,
        webroot: env.site.dir,
      });
      expect(v.findings.filter((f) => f.status === 'fail')).toEqual([]);
      expect(v.passed).toBe(true);
      expect(v.counts.pass).toBeGreaterThan(targets.paths.length);
      // Checks exceed targets (the unknown path, the metrics counter): the reports say checks, not "over N targets".
      expect(v.checks).toBe(v.targets + 2);
      expect(verificationCounts(v)).toBe(`${v.counts.pass} of ${v.targets + 2} checks passed, 0 warning(s), 0 failure(s) (${v.targets} targets)`);
    } finally {
      proc.kill('SIGTERM');
    }
  }, 30_000);

  it('collects every finding of nginx with a wrong config: a wrong alias Location, a missing file', async () => {
    const copy = join(env.tmp, 'broken-site');
    await generateSite({ dir: copy, seed: 7, targetBytes: 2_000_000 });
    const gone = env.site.expectedPaths.find((p) => p.endsWith('.webp'))!;
    rmSync(join(copy, gone));
    const wrong = env.site.redirects.map((r, i) => (i === 2 ? { alias: r.alias, target: 'https://wrong.example/' } : r));
    const bad = await env.startNginx('nginx-bad', copy, wrong);
    try {
      const base = `http://127.0.0.1:${bad.port}`;
      const v = await verify({
        impl: 'nginx',
        size: '1',
        baseUrl: base,
        metricsUrl: null,
        metricPrefix: null,
        targets: { paths: env.site.expectedPaths, redirects: env.site.redirects },
        webroot: copy,
      });
      expect(v.passed).toBe(false);
      expect(v.findings.filter((f) => f.status === 'fail')).toEqual([
        { status: 'fail', url: `${base}${gone}`, reason: 'expected 200, got 404' },
        {
          status: 'fail',
          url: `${base}/${env.site.redirects[2]!.alias}`,
          reason: `Location https://wrong.example/, expected ${env.site.redirects[2]!.target}`,
        },
      ]);
      expect(v.counts.pass).toBe(env.site.expectedPaths.length + env.site.redirects.length + 1 - 2);
    } finally {
      process.kill(-bad.proc.pid!, 'SIGTERM');
    }
  });

  it('collects every failure and warning of a misbehaving server, each with its URL and reason', async () => {
    const realCss = statSync(join(env.site.dir, 'css/site.css')).size;
    const js = readFileSync(join(env.site.dir, 'js/theme.js'));
    // Framed with Content-Length unless a case is about framing.
    const send = (res: import('node:http').ServerResponse, status: number, headers: Record<string, string>, body: string | Buffer = ''): void => {
      res.writeHead(status, { 'Content-Length': String(Buffer.byteLength(body)), ...headers }).end(body);
    };
    const server: Server = createServer((req, res) => {
      const url = req.url ?? '/';
      if (url === '/css/site.css') send(res, 200, { 'Content-Type': 'text/css' }, 'short');
      else if (url === '/js/theme.js') send(res, 200, { 'Content-Type': 'image/png' }, js);
      else if (url === '/js/search.js')
        send(res, 200, { 'Content-Type': 'application/javascript; charset=latin1' }, readFileSync(join(env.site.dir, 'js/search.js')));
      else if (url === '/robots.txt') {
        res.writeHead(200, { 'Content-Type': 'text/plain' }); // chunked: no Content-Length
        res.write(readFileSync(join(env.site.dir, 'robots.txt')));
        res.end();
      } else if (url === '/atom.xml') send(res, 200, { 'Content-Type': 'text/html' }, 'abc');
      else if (url === '/gh') send(res, 301, { Location: 'https://wrong.example/' });
      else if (url === '/github') send(res, 302, { Location: env.site.redirects[1]!.target });
      else if (url === '/linkedin') send(res, 200, {}, 'not a redirect');
      else if (url.startsWith('/server-bench-no-such-page')) send(res, 200, {}, 'oops');
      else if (url === '/metrics') send(res, 200, {}, '# other\nbad_requests_total_other 1\nother_metric 1\n');
      else if (url === '/hang')
        res.writeHead(200, { 'Content-Type': 'text/html', 'Content-Length': '100' }).write('partial'); // never ends
      else send(res, 500, {});
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const paths = ['/css/site.css', '/js/theme.js', '/js/search.js', '/robots.txt', '/atom.xml', '/index.xml', '/hang'];
      const t0 = Date.now();
      const v = await verify({
        impl: 'bad',
        size: '1',
        baseUrl: base,
        metricsUrl: `${base}/metrics`,
        metricPrefix: 'bad_',
        targets: { paths, redirects: env.site.redirects.slice(0, 3) },
        webroot: env.site.dir,
        timeoutMs: 500,
      });
      expect(Date.now() - t0).toBeLessThan(10_000);
      expect(v.passed).toBe(false);
      const reasons = (u: string): string[] => v.findings.filter((f) => f.url === `${base}${u}`).map((f) => `${f.status}: ${f.reason}`);
      expect(reasons('/css/site.css')).toEqual([`fail: body is 5 bytes, the file ${join(env.site.dir, 'css/site.css')} has ${realCss}`]);
      expect(reasons('/js/theme.js')).toEqual(['fail: Content-Type image/png, expected text/javascript']);
      expect(reasons('/js/search.js')).toEqual(['warn: Content-Type application/javascript, expected text/javascript (equivalent for browsers)']);
      expect(reasons('/robots.txt')).toEqual([`warn: no Content-Length header (chunked); ${statSync(join(env.site.dir, 'robots.txt')).size} bytes received`]);
      expect(reasons('/atom.xml').sort()).toEqual(
        [
          `fail: Content-Type text/html, expected application/xml`,
          `fail: body is 3 bytes, the file ${join(env.site.dir, 'atom.xml')} has ${statSync(join(env.site.dir, 'atom.xml')).size}`,
        ].sort(),
      );
      expect(reasons('/index.xml')).toEqual(['fail: expected 200, got 500']);
      expect(reasons('/hang')).toEqual(['fail: no complete answer within 500 ms']);
      expect(reasons('/gh')).toEqual([`fail: Location https://wrong.example/, expected ${env.site.redirects[0]!.target}`]);
      expect(reasons('/github')).toEqual(['fail: expected 301 or 308, got 302']);
      expect(reasons('/linkedin')).toEqual(['fail: expected 301 or 308, got 200', `fail: Location (none), expected ${env.site.redirects[2]!.target}`]);
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
    expect(await fileForPath(env.site.dir, '/')).toBe(join(env.site.dir, 'index.html'));
    expect(await fileForPath(env.site.dir, '/posts/post-001/')).toBe(join(env.site.dir, 'posts/post-001/index.html'));
    expect(await fileForPath(env.site.dir, '/posts/post-001')).toBe(join(env.site.dir, 'posts/post-001/index.html'));
    expect(await fileForPath(env.site.dir, '/css/site.css')).toBe(join(env.site.dir, 'css/site.css'));
    expect(await fileForPath(env.site.dir, '/a%20b.png')).toBe(join(env.site.dir, 'a b.png'));
    expect(await fileForPath(env.site.dir, '/%2e%2e/%2e%2e/etc/passwd')).toBeNull();
    expect(await fileForPath(env.site.dir, '/%E0%A4%A')).toBeNull();
    expect(expectedType('/posts/x/')).toBe('text/html');
    expect(expectedType('/images/a-800.WEBP')).toBe('image/webp');
    expect(expectedType('/LICENSE')).toBeNull();
  });

  it('grades Content-Type headers: parameters, equivalents, wrong types', () => {
    expect(checkContentType('text/html; charset=utf-8', 'text/html').status).toBe('pass');
    expect(checkContentType('TEXT/HTML', 'text/html').status).toBe('pass');
    expect(checkContentType('text/html; charset=iso-8859-1', 'text/html')).toEqual({
      status: 'warn',
      reason: 'Content-Type text/html; charset=iso-8859-1: charset iso-8859-1, the files are UTF-8',
    });
    expect(checkContentType('text/xml; charset=utf-8', 'application/xml').status).toBe('warn');
    expect(checkContentType('application/octet-stream', 'image/webp')).toEqual({
      status: 'fail',
      reason: 'Content-Type application/octet-stream, expected image/webp',
    });
    expect(checkContentType(null, 'image/png').status).toBe('fail');
  });

  it('fails (does not hang) when nothing listens', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const v = await verify({
      impl: 'gone',
      size: '1',
      baseUrl: base,
      metricsUrl: `${base}/metrics`,
      metricPrefix: 'x_',
      targets: { paths: ['/'], redirects: [] },
      webroot: null,
      timeoutMs: 1_000,
    });
    expect(v.passed).toBe(false);
    expect(v.findings.filter((f) => f.status === 'fail').map((f) => f.reason)).toEqual([
      'request failed: ECONNREFUSED',
      'request failed: ECONNREFUSED',
      'metrics: request failed: ECONNREFUSED',
    ]);
  });
});
