// The verification gate: before any load, check that a server answers every target correctly,
// collecting every finding (pass / warn / fail with URL and reason) instead of stopping at the first.
// Each request has a timeout, so a hung server yields fail findings, never a hung harness.
import { stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import type { Finding, VerifyFn, VerifyOptions } from '../contracts.js';
import { SCHEMA_VERSION, type Verification } from '../results/schema.js';
import { fetchIdempotent } from './idempotent-fetch.js';

/**
 * Media types by extension: the ones sitegen writes plus the usual companions of a static site.
 * The gate expects them, and the nginx reference is configured with them (nginx.ts).
 */
export const MEDIA_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html',
  '.htm': 'text/html',
  '.css': 'text/css',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.json': 'application/json',
  '.xml': 'application/xml',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
  '.avif': 'image/avif',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.pdf': 'application/pdf',
};
// Media types a browser treats alike: a server that picks the other one gets a warning, not a fail.
const EQUIVALENT: Record<string, string[]> = {
  'text/javascript': ['application/javascript', 'application/x-javascript'],
  'application/xml': ['text/xml', 'application/rss+xml', 'application/atom+xml'],
  'image/x-icon': ['image/vnd.microsoft.icon'],
  'font/woff2': ['application/font-woff2'],
  'font/woff': ['application/font-woff'],
};

export interface VerifyExtraOptions {
  /** Per request, including the body. Default 10 s. */
  timeoutMs?: number;
  /** Requests in flight. Default 8. */
  concurrency?: number;
}

/**
 * The file a URL path maps to, as the servers map it: "/" and "/dir/" → dir/index.html, "/dir"
 * (a directory) → dir/index.html. Null when the path escapes the webroot or is not valid encoding.
 */
export async function fileForPath(webroot: string, path: string): Promise<string | null> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return null;
  }
  const root = normalize(webroot + sep);
  const file = normalize(join(root, decoded.endsWith('/') ? `${decoded}index.html` : decoded));
  if (!file.startsWith(root)) return null;
  const st = await stat(file).catch(() => null);
  return st?.isDirectory() ? join(file, 'index.html') : file;
}

/** The media type a path should be served with, or null when its extension says nothing. */
export function expectedType(pathOrFile: string): string | null {
  if (pathOrFile.endsWith('/')) return 'text/html';
  return MEDIA_TYPES[extname(pathOrFile).toLowerCase()] ?? null;
}

/** Compare a Content-Type header with the expected media type. */
export function checkContentType(header: string | null, want: string): { status: 'pass' | 'warn' | 'fail'; reason: string } {
  if (header === null || header.trim() === '') return { status: 'fail', reason: `no Content-Type, expected ${want}` };
  const [media = '', ...params] = header.split(';').map((s) => s.trim());
  const got = media.toLowerCase();
  if (got !== want) {
    if ((EQUIVALENT[want] ?? []).includes(got)) return { status: 'warn', reason: `Content-Type ${got}, expected ${want} (equivalent for browsers)` };
    return { status: 'fail', reason: `Content-Type ${got || '(empty)'}, expected ${want}` };
  }
  // The generated pages are UTF-8; a text type labelled with another charset would be mis-decoded.
  const charset = params.map((p) => /^charset=(.*)$/i.exec(p)?.[1]).find((c) => c !== undefined);
  if (charset !== undefined && !/^"?utf-8"?$/i.test(charset))
    return { status: 'warn', reason: `Content-Type ${header}: charset ${charset}, the files are UTF-8` };
  return { status: 'pass', reason: '' };
}

type Answer = { status: number; headers: Headers; length: number; body: string | null } | { error: string };

async function request(url: string, timeoutMs: number, keepBody = false): Promise<Answer> {
  try {
    // identity, as wrk and k6 ask: the gate checks the bytes the measurement gets (servy compresses when asked).
    const res = await fetchIdempotent(url, { redirect: 'manual', headers: { 'accept-encoding': 'identity' }, signal: AbortSignal.timeout(timeoutMs) });
    const buf = Buffer.from(await res.arrayBuffer());
    return { status: res.status, headers: res.headers, length: buf.length, body: keepBody ? buf.toString('utf8') : null };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    if (e.name === 'TimeoutError' || e.name === 'AbortError') return { error: `no complete answer within ${timeoutMs} ms` };
    return { error: `request failed: ${e.cause?.code ?? e.cause?.message ?? e.message}` };
  }
}

async function pool<T>(items: readonly T[], size: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(size, items.length)) }, worker));
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export async function verify(opts: VerifyOptions & VerifyExtraOptions): Promise<Verification> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const concurrency = opts.concurrency ?? 8;
  const base = opts.baseUrl.replace(/\/+$/, '');
  const problems: Finding[] = [];
  let passes = 0;
  // One check per target; a target with several problems reports each of them.
  const check = (url: string, found: { status: 'warn' | 'fail'; reason: string }[]): void => {
    for (const f of found) problems.push({ status: f.status, url, reason: f.reason });
    if (found.length === 0) passes++;
  };

  await pool(opts.targets.paths, concurrency, async (path) => {
    const url = `${base}${path}`;
    const r = await request(url, timeoutMs);
    if ('error' in r) return check(url, [{ status: 'fail', reason: r.error }]);
    if (r.status !== 200) return check(url, [{ status: 'fail', reason: `expected 200, got ${r.status}` }]);
    const found: { status: 'warn' | 'fail'; reason: string }[] = [];

    const declared = r.headers.get('content-length');
    if (declared === null)
      found.push({
        status: 'warn',
        reason: `no Content-Length header (${r.headers.get('transfer-encoding') ?? 'no framing header'}); ${r.length} bytes received`,
      });
    else if (Number(declared) !== r.length) found.push({ status: 'fail', reason: `Content-Length ${declared}, but ${r.length} bytes received` });

    let typeOf = path;
    if (opts.webroot) {
      const file = await fileForPath(opts.webroot, path);
      const size =
        file === null
          ? null
          : await stat(file).then(
              (s) => (s.isFile() ? s.size : null),
              () => null,
            );
      if (file === null || size === null) found.push({ status: 'warn', reason: `served, but no file ${file ?? path} in the webroot to compare with` });
      else {
        typeOf = file;
        if (r.length !== size) found.push({ status: 'fail', reason: `body is ${r.length} bytes, the file ${file} has ${size}` });
      }
    }
    const want = expectedType(typeOf);
    if (want) {
      const t = checkContentType(r.headers.get('content-type'), want);
      if (t.status !== 'pass') found.push({ status: t.status, reason: t.reason });
    }
    check(url, found);
  });

  await pool(opts.targets.redirects, concurrency, async ({ alias, target }) => {
    const url = `${base}/${alias}`;
    const r = await request(url, timeoutMs);
    if ('error' in r) return check(url, [{ status: 'fail', reason: r.error }]);
    const found: { status: 'warn' | 'fail'; reason: string }[] = [];
    if (r.status !== 301 && r.status !== 308) found.push({ status: 'fail', reason: `expected 301 or 308, got ${r.status}` });
    const loc = r.headers.get('location');
    if (loc !== target) found.push({ status: 'fail', reason: `Location ${loc ?? '(none)'}, expected ${target}` });
    check(url, found);
  });

  // Random, so no cache or alias can answer it; a 404 page's body is fine, any status but 404 is not.
  const unknown = `${base}/server-bench-no-such-page-${Math.random().toString(36).slice(2, 10)}`;
  const nf = await request(unknown, timeoutMs);
  if ('error' in nf) check(unknown, [{ status: 'fail', reason: nf.error }]);
  else check(unknown, nf.status === 404 ? [] : [{ status: 'fail', reason: `expected 404 for an unknown path, got ${nf.status}` }]);

  if (opts.metricsUrl && opts.metricPrefix) {
    const counter = `${opts.metricPrefix}requests_total`;
    const r = await request(opts.metricsUrl, timeoutMs, true);
    if ('error' in r) check(opts.metricsUrl, [{ status: 'fail', reason: `metrics: ${r.error}` }]);
    else if (r.status !== 200) check(opts.metricsUrl, [{ status: 'fail', reason: `metrics answered ${r.status}, expected 200` }]);
    else if (!new RegExp(`^${escapeRegExp(counter)}(\\{[^}]*\\})? [0-9.eE+-]+`, 'm').test(r.body ?? '')) {
      check(opts.metricsUrl, [{ status: 'fail', reason: `no ${counter} counter in the metrics` }]);
    } else check(opts.metricsUrl, []);
  }

  const fails = problems.filter((f) => f.status === 'fail').length;
  const warns = problems.length - fails;
  const targets = opts.targets.paths.length + opts.targets.redirects.length;
  const checks = targets + 1 + (opts.metricsUrl && opts.metricPrefix ? 1 : 0);
  const findings: Finding[] = [
    ...problems.filter((f) => f.status === 'fail'),
    ...problems.filter((f) => f.status === 'warn'),
    {
      status: 'pass',
      url: base,
      reason: `${passes} of ${checks} checks passed without findings (each path, each alias, an unknown path${opts.metricsUrl && opts.metricPrefix ? ', the metrics counter' : ''})`,
    },
  ];
  return {
    schemaVersion: SCHEMA_VERSION,
    impl: opts.impl,
    size: opts.size,
    passed: fails === 0,
    counts: { pass: passes, warn: warns, fail: fails },
    findings,
    targets,
    checks,
    checkedAt: new Date().toISOString(),
  };
}

// Compile-time proof that the gate implements the shared contract.
void (verify satisfies VerifyFn);
