// The pure parts, on fixed inputs: path decoding, request spellings of a site path, header scan,
// ranges, the map parser, cachebust, and the configuration's parsing rules.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import type { FileHeaders } from '../src/answer.js';
import { parseRange } from '../src/handler.js';
import { readFileHeaders } from '../src/runtime-node.js';
import { aliasKey, decodePath } from '../src/paths.js';
import { withCachebust } from '../src/redirects.js';
import { requestForms } from '../src/site.js';

describe('decodePath', () => {
  it('normalises what it can and refuses what could leave the root', () => {
    expect(decodePath('/a//b/./c/')).toEqual({ ok: true, path: '/a/b/c/' });
    expect(decodePath('/caf%C3%A9')).toEqual({ ok: true, path: '/café' });
    expect(decodePath('/%252e%252e/x')).toEqual({ ok: true, path: '/%2e%2e/x' }); // decoded once only
    for (const bad of ['/../x', '/a/%2e%2E/x', '/a%5cb', '/a%00', '/%', '/%c3%28', 'x', '*']) {
      const r = decodePath(bad);
      expect(r.ok, bad).toBe(false);
      if (!r.ok) expect(r.status).toBe(400);
    }
  });

  it('aliasKey trims slashes on both sides', () => {
    expect(aliasKey('//gh//')).toBe('gh');
    expect(aliasKey('/a/b/')).toBe('a/b');
    expect(aliasKey('/')).toBe('');
  });
});

describe('requestForms', () => {
  it('lists the spellings a client sends, each decoding back to the path', () => {
    expect(requestForms('/a/b.css')).toEqual(['/a/b.css']);
    expect(requestForms('/my file.txt')).toEqual(['/my%20file.txt']);
    expect(requestForms('/a&b+c.txt').sort()).toEqual(['/a%26b%2Bc.txt', '/a&b+c.txt'].sort());
    expect(requestForms('/100%.txt')).toEqual(['/100%25.txt']);
    expect(requestForms('/a%20b.txt')).toEqual(['/a%2520b.txt']);
    expect(requestForms('/q?.txt')).toEqual(['/q%3F.txt']);
  });
});

describe('readFileHeaders', () => {
  const scratch = (): FileHeaders => ({ ifNoneMatch: 'stale', ifModifiedSince: 'stale', range: 'stale', ifRange: 'stale' });
  it('finds the four headers in any case, joins repeated If-None-Match, clears the rest', () => {
    expect(
      readFileHeaders(
        ['Host', 'x', 'IF-NONE-MATCH', '"a"', 'if-none-match', '"b"', 'Range', 'bytes=0-1', 'If-Range', '"a"', 'If-Modified-Since', 'd'],
        scratch(),
      ),
    ).toEqual({
      ifNoneMatch: '"a", "b"',
      ifModifiedSince: 'd',
      range: 'bytes=0-1',
      ifRange: '"a"',
    });
    expect(readFileHeaders(['Host', 'x', 'Referer', 'y', 'If-Match', '"a"'], scratch())).toEqual({
      ifNoneMatch: undefined,
      ifModifiedSince: undefined,
      range: undefined,
      ifRange: undefined,
    });
  });
});

describe('parseRange', () => {
  it('handles single ranges and refuses the unsatisfiable', () => {
    expect(parseRange('bytes=0-0', 10)).toEqual({ start: 0, end: 0 });
    expect(parseRange('bytes=5-', 10)).toEqual({ start: 5, end: 9 });
    expect(parseRange('bytes=-3', 10)).toEqual({ start: 7, end: 9 });
    expect(parseRange('bytes=-30', 10)).toEqual({ start: 0, end: 9 });
    expect(parseRange('bytes=2-100', 10)).toEqual({ start: 2, end: 9 });
    expect(parseRange('bytes=10-', 10)).toBe('unsatisfiable');
    expect(parseRange('bytes=-0', 10)).toBe('unsatisfiable');
    expect(parseRange('bytes=0-1,3-4', 10)).toBeNull(); // several ranges: the whole file
    expect(parseRange('items=0-1', 10)).toBeNull();
    expect(parseRange('bytes=5-2', 10)).toBeNull();
  });
});

describe('withCachebust', () => {
  it('appends to the query as written, before any fragment', () => {
    expect(withCachebust('http://h/m.txt', 1_700_000_000_999)).toBe('http://h/m.txt?cachebust=1700000000');
    expect(withCachebust('http://h/m.txt?a=b%20c', 1_000)).toBe('http://h/m.txt?a=b%20c&cachebust=1');
    expect(withCachebust('http://h/m.txt?', 1_000)).toBe('http://h/m.txt?cachebust=1');
    expect(withCachebust('http://h/m.txt#x', 1_000)).toBe('http://h/m.txt?cachebust=1');
  });
});

describe('parseConfig', () => {
  const url = { TSHERVE_REDIRECT_MAP_URL: 'http://127.0.0.1:1/m' };
  it('applies defaults and units, and flags win over the environment', () => {
    const c = parseConfig({ ...url, TSHERVE_PORT: '1', TSHERVE_MAP_TIMEOUT: '2s' }, ['--port', '0', '--max-site-bytes=2MiB', '--workers', '3']);
    expect(c).toMatchObject({
      port: 0,
      metricsPort: 8081,
      host: '127.0.0.1',
      logLevel: 'info',
      workers: 3,
      maxSiteBytes: 2 * 1024 * 1024,
      mapTimeoutMs: 2000,
      mapMaxBytes: 1024 * 1024,
      refreshIntervalMs: 1000,
      periodicRefreshMs: 0,
      confineSymlinks: false,
      webroot: null,
    });
    expect(parseConfig({ ...url, TSHERVE_PORT: '' }, []).port).toBe(8080); // empty = unset
  });

  it('names the setting, the value and the fix in one line', () => {
    expect(() => parseConfig({ ...url, TSHERVE_PORT: 'abc' }, [])).toThrow('TSHERVE_PORT: "abc" is not a port (0-65535)');
    try {
      parseConfig({ ...url, TSHERVE_WORKERS: '0' }, []);
      expect.unreachable();
    } catch (err) {
      expect((err as { exitCode: number }).exitCode).toBe(2);
      expect((err as { oneLine(): string }).oneLine()).toBe('TSHERVE_WORKERS: "0" is not a worker count (1-1024)');
    }
  });
});

describe('tsherve stands alone', () => {
  it('imports nothing from the harness (driver/): only its own modules, node: built-ins and shared/', async () => {
    const { readdirSync, readFileSync } = await import('node:fs');
    const { dirname, join } = await import('node:path');
    const { fileURLToPath } = await import('node:url');
    const here = dirname(fileURLToPath(import.meta.url));
    for (const dir of [join(here, '..', 'src'), here]) {
      for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
        const specifiers = [...readFileSync(join(dir, file), 'utf8').matchAll(/(?:from|import\()\s*'([^']+)'/g)].map((m) => m[1]!);
        for (const s of specifiers)
          expect(
            s.startsWith('node:') || s === 'vitest' || /^\.\.?\/[^.]/.test(s) || s.startsWith('../src/') || s === '../../../shared/redirect-map.js',
            `${file}: ${s}`,
          ).toBe(true);
      }
    }
  });
});

describe('relaunch', () => {
  it("starts Node with the flags of cli.ts's shebang", async () => {
    const { readFileSync } = await import('node:fs');
    const { NODE_FLAGS } = await import('../src/relaunch.js');
    const shebang = readFileSync(new URL('../src/cli.ts', import.meta.url), 'utf8').split('\n', 1)[0];
    expect(shebang).toBe(`#!/usr/bin/env -S node ${NODE_FLAGS.join(' ')}`);
  });
});
