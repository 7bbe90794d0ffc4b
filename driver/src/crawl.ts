// Finding the targets: crawl a running server from "/" with a real HTML parser (href, src, srcset),
// same origin only, and add every alias of the redirect map.
import { Parser } from 'htmlparser2';
import type { Targets } from './contracts.js';
import { InputError } from './errors.js';
import { parseRedirectMap } from './redirectmap.js';

const LINK_ATTRS = new Set(['href', 'src', 'poster']);

/** URLs referenced by an HTML document: href, src, poster and every srcset candidate. */
export function extractLinks(html: string): string[] {
  const out: string[] = [];
  const parser = new Parser({
    onopentag(_name, attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (LINK_ATTRS.has(k)) out.push(v.trim());
        else if (k === 'srcset' || k === 'imagesrcset') {
          for (const cand of v.split(',')) {
            const url = cand.trim().split(/\s+/)[0];
            if (url) out.push(url);
          }
        }
      }
    },
  });
  parser.write(html);
  parser.end();
  return out;
}

/** A same-origin path for a link found on `page`, or null (other origin, mailto:, fragment only...). */
export function samePath(link: string, page: URL): string | null {
  if (link === '' || link.startsWith('#')) return null;
  let u: URL;
  try {
    u = new URL(link, page);
  } catch {
    return null;
  }
  if (u.origin !== page.origin) return null;
  return u.pathname;
}

export async function crawl(baseUrl: string, opts: { maxPages?: number; timeoutMs?: number; concurrency?: number } = {}): Promise<string[]> {
  const maxPages = opts.maxPages ?? 10_000;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const concurrency = opts.concurrency ?? 8;
  const base = new URL(baseUrl);
  const seen = new Set<string>(['/']);
  const queue: string[] = ['/'];
  const found = new Set<string>();
  let pages = 0;

  const visit = async (path: string): Promise<void> => {
    const url = new URL(path, base);
    const res = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
    if (res.status !== 200) {
      await res.body?.cancel();
      return;
    }
    found.add(path);
    const type = res.headers.get('content-type') ?? '';
    if (!type.includes('text/html') || pages >= maxPages) {
      await res.body?.cancel();
      return;
    }
    pages++;
    const html = await res.text();
    for (const link of extractLinks(html)) {
      const p = samePath(link, url);
      if (p !== null && !seen.has(p)) {
        seen.add(p);
        queue.push(p);
      }
    }
  };

  let active = 0;
  const workers = Array.from({ length: concurrency }, async () => {
    while (queue.length > 0 || active > 0) {
      const next = queue.shift();
      if (next === undefined) {
        await new Promise((r) => setTimeout(r, 5));
        continue;
      }
      active++;
      try {
        await visit(next);
      } finally {
        active--;
      }
    }
  });
  await Promise.all(workers);
  return [...found].sort();
}

export async function buildTargets(baseUrl: string, mapText: string): Promise<Targets> {
  const paths = await crawl(baseUrl);
  if (paths.length === 0) throw new InputError(`crawling ${baseUrl}/ found nothing`, 'the site needs an index.html that answers 200 at /');
  const { redirects } = parseRedirectMap(mapText);
  return { paths, redirects };
}
