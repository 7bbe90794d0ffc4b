// The verification gate: before any load, check that a server answers every target correctly,
// collecting every finding (pass / warn / fail with URL and reason) instead of stopping at the first.
import { stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { Finding, VerifyOptions } from './contracts.js';
import { SCHEMA_VERSION, type Verification } from './schema.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html', '.css': 'text/css', '.js': 'text/javascript', '.json': 'application/json',
  '.xml': 'application/xml', '.svg': 'image/svg+xml', '.png': 'image/png', '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg', '.webp': 'image/webp', '.gif': 'image/gif', '.ico': 'image/x-icon', '.txt': 'text/plain',
};
// Media types that are equivalent for a browser.
const ALIASES: Record<string, string[]> = {
  'text/javascript': ['application/javascript', 'application/x-javascript'],
  'application/xml': ['text/xml', 'application/rss+xml', 'application/atom+xml'],
  'image/x-icon': ['image/vnd.microsoft.icon'],
};

/** The file a URL path maps to: "/" and "/dir/" → index.html. */
export function fileForPath(webroot: string, path: string): string {
  const decoded = decodeURIComponent(path);
  return join(webroot, decoded.endsWith('/') ? `${decoded}index.html` : decoded);
}

function expectedType(file: string): string | null {
  return TYPES[extname(file).toLowerCase()] ?? null;
}

async function request(url: string, timeoutMs: number): Promise<{ status: number; headers: Headers; length: number } | { error: string }> {
  try {
    const res = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
    const body = await res.arrayBuffer();
    return { status: res.status, headers: res.headers, length: body.byteLength };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    return { error: e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (e.cause?.code ?? e.message) };
  }
}

async function pool<T>(items: T[], size: number, fn: (item: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(Array.from({ length: Math.min(size, items.length) }, async () => {
    while (i < items.length) await fn(items[i++] as T);
  }));
}

export async function verify(opts: VerifyOptions & { timeoutMs?: number; concurrency?: number }): Promise<Verification> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const findings: Finding[] = [];
  let passes = 0;
  const pass = (): void => void passes++;
  const add = (status: 'warn' | 'fail', url: string, reason: string): void => void findings.push({ status, url, reason });

  await pool(opts.targets.paths, opts.concurrency ?? 8, async (path) => {
    const url = `${opts.baseUrl}${path}`;
    const r = await request(url, timeoutMs);
    if ('error' in r) return add('fail', url, r.error);
    if (r.status !== 200) return add('fail', url, `expected 200, got ${r.status}`);
    let ok = true;
    if (opts.webroot) {
      const file = fileForPath(opts.webroot, path);
      const size = await stat(file).then((s) => s.size, () => null);
      if (size === null) {
        add('warn', url, `served, but ${file} is not in the webroot`);
        ok = false;
      } else if (r.length !== size) {
        add('fail', url, `body is ${r.length} bytes, the file has ${size}`);
        return;
      }
      const want = expectedType(file);
      const got = (r.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
      if (want && got !== want) {
        if ((ALIASES[want] ?? []).includes(got)) {
          add('warn', url, `Content-Type ${got}, expected ${want} (equivalent)`);
          ok = false;
        } else {
          add('fail', url, `Content-Type ${got || '(none)'}, expected ${want}`);
          return;
        }
      }
    }
    const declared = r.headers.get('content-length');
    if (declared !== null && Number(declared) !== r.length) return add('fail', url, `Content-Length ${declared} but ${r.length} bytes received`);
    if (ok) pass();
  });

  await pool(opts.targets.redirects, opts.concurrency ?? 8, async ({ alias, target }) => {
    const url = `${opts.baseUrl}/${alias}`;
    const r = await request(url, timeoutMs);
    if ('error' in r) return add('fail', url, r.error);
    if (r.status !== 301 && r.status !== 308) return add('fail', url, `expected 301 or 308, got ${r.status}`);
    const loc = r.headers.get('location');
    if (loc !== target) return add('fail', url, `Location ${loc ?? '(none)'}, expected ${target}`);
    pass();
  });

  const unknown = `${opts.baseUrl}/server-bench-no-such-page-${Date.now().toString(36)}`;
  const nf = await request(unknown, timeoutMs);
  if ('error' in nf) add('fail', unknown, nf.error);
  else if (nf.status !== 404) add('fail', unknown, `expected 404 for an unknown path, got ${nf.status}`);
  else pass();

  if (opts.metricsUrl && opts.metricPrefix) {
    const r = await fetch(opts.metricsUrl, { signal: AbortSignal.timeout(timeoutMs) }).then(
      async (res) => ({ status: res.status, text: await res.text() }),
      (err: Error) => ({ status: 0, text: err.message }),
    );
    const counter = `${opts.metricPrefix}requests_total`;
    if (r.status !== 200) add('fail', opts.metricsUrl, r.status === 0 ? `metrics port does not answer: ${r.text}` : `metrics answered ${r.status}`);
    else if (!new RegExp(`^${counter}(\\{[^}]*\\})? `, 'm').test(r.text)) add('fail', opts.metricsUrl, `no ${counter} counter in the metrics`);
    else pass();
  }

  const fails = findings.filter((f) => f.status === 'fail').length;
  return {
    schemaVersion: SCHEMA_VERSION,
    impl: opts.impl,
    size: opts.size,
    passed: fails === 0,
    counts: { pass: passes, warn: findings.length - fails, fail: fails },
    findings,
    targets: opts.targets.paths.length + opts.targets.redirects.length,
    checkedAt: new Date().toISOString(),
  };
}
