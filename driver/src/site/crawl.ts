// Finding the targets: crawl a running server from "/" with a real HTML parser (href, src, every
// srcset candidate, inline styles) and read stylesheets' url(...)/@import, same origin only, then
// add every alias of the redirect map. Each URL is fetched once, with bounded concurrency.
import { Parser } from 'htmlparser2';
import type { Targets } from '../contracts.js';
import { BenchError, ExitCode, InputError } from '../errors.js';
import { parseRedirectMap } from '../../../shared/redirect-map.js';
import { splitShadowedAliases } from './shadowing.js';
import { fetchIdempotent } from './idempotent-fetch.js';

export interface CrawlOptions {
  /** Pages parsed at most (HTML and CSS); further pages are still listed, not followed. Default 10,000. */
  maxPages?: number;
  /** URLs fetched at most, whatever they are. Default 100,000. */
  maxUrls?: number;
  /** Per request, including the body. Default 10 s. */
  timeoutMs?: number;
  /** Requests in flight. Default 8. */
  concurrency?: number;
}

const URL_ATTRS = new Set(['href', 'src', 'poster', 'data']);
const SRCSET_ATTRS = new Set(['srcset', 'imagesrcset']);

/** URLs a stylesheet refers to: url(...) (quoted or not) and @import "...". */
export function extractCssLinks(css: string): string[] {
  const out: string[] = [];
  const noComments = css.replace(/\/\*[\s\S]*?\*\//g, '');
  for (const m of noComments.matchAll(/url\(\s*(?:"([^"]*)"|'([^']*)'|([^'")\s]*))\s*\)/gi)) {
    const u = (m[1] ?? m[2] ?? m[3] ?? '').trim();
    if (u) out.push(u);
  }
  for (const m of noComments.matchAll(/@import\s+(?:"([^"]*)"|'([^']*)')/gi)) {
    const u = (m[1] ?? m[2] ?? '').trim();
    if (u) out.push(u);
  }
  return out;
}

/**
 * The URLs in a srcset, following the HTML spec's candidate parsing: a URL runs to the next
 * whitespace (a trailing comma ends the candidate), then descriptors ("800w", "2x") run to a comma.
 * So "a.jpg 800w,b.jpg 1600w" and URLs holding commas ("data:...,x") both come out right.
 */
export function srcsetUrls(value: string): string[] {
  const out: string[] = [];
  let i = 0;
  const n = value.length;
  const space = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f';
  while (i < n) {
    while (i < n && (space(value[i]) || value[i] === ',')) i++;
    const start = i;
    while (i < n && !space(value[i])) i++;
    const url = value.slice(start, i);
    if (url === '') break;
    if (url.endsWith(',')) {
      out.push(url.replace(/,+$/, ''));
      continue;
    }
    out.push(url);
    let depth = 0;
    while (i < n && (depth > 0 || value[i] !== ',')) {
      if (value[i] === '(') depth++;
      else if (value[i] === ')') depth = Math.max(0, depth - 1);
      i++;
    }
  }
  return out.filter((u) => u !== '');
}

/** URLs referenced by an HTML document: href, src, poster, every srcset candidate, and CSS in style. */
export function extractLinks(html: string): string[] {
  const out: string[] = [];
  let inStyle = false;
  const parser = new Parser(
    {
      onopentag(name, attrs) {
        if (name === 'style') inStyle = true;
        for (const [k, v] of Object.entries(attrs)) {
          if (URL_ATTRS.has(k)) out.push(v.trim());
          else if (SRCSET_ATTRS.has(k)) out.push(...srcsetUrls(v));
          else if (k === 'style') out.push(...extractCssLinks(v));
        }
      },
      ontext(text) {
        if (inStyle) out.push(...extractCssLinks(text));
      },
      onclosetag(name) {
        if (name === 'style') inStyle = false;
      },
    },
    { decodeEntities: true },
  );
  parser.write(html);
  parser.end();
  return out;
}

const UNRESERVED = /[A-Za-z0-9\-._~]/;

/**
 * The same-origin path a link on `page` points to, or null (other origin, mailto:, data:,
 * fragment only). "../" and "../../" are resolved, the fragment and query dropped, and
 * percent-encoding made canonical (upper-case hex, unreserved characters decoded), so "/a%7e"
 * and "/a~" or "/caf%c3%a9" and "/café" are one target.
 */
export function samePath(link: string, page: URL): string | null {
  if (link === '' || link.startsWith('#')) return null;
  let u: URL;
  try {
    u = new URL(link, page);
  } catch {
    return null;
  }
  if (u.origin !== page.origin || (u.protocol !== 'http:' && u.protocol !== 'https:')) return null;
  return canonicalPath(u.pathname);
}

function canonicalPath(pathname: string): string {
  return pathname.replace(/%[0-9a-fA-F]{2}/g, (m) => {
    const c = String.fromCharCode(parseInt(m.slice(1), 16));
    return UNRESERVED.test(c) ? c : m.toUpperCase();
  });
}

function isHtml(type: string): boolean {
  return /^\s*(text\/html|application\/xhtml\+xml)\b/i.test(type);
}
function isCss(type: string): boolean {
  return /^\s*text\/css\b/i.test(type);
}

/**
 * Every same-origin path that answers 200, found from "/", sorted. A page that answers something
 * else is not a target (and not followed); a request that fails or times out ends the crawl with an
 * error naming the URL, because targets missing silently would skew every number after it.
 */
export async function crawl(baseUrl: string, opts: CrawlOptions = {}): Promise<string[]> {
  const maxPages = opts.maxPages ?? 10_000;
  const maxUrls = opts.maxUrls ?? 100_000;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const concurrency = Math.max(1, opts.concurrency ?? 8);
  const base = new URL(baseUrl);
  const seen = new Set<string>(['/']);
  const queue: string[] = ['/'];
  const found = new Set<string>();
  let pages = 0;

  const enqueue = (links: string[], from: URL): void => {
    for (const link of links) {
      const p = samePath(link, from);
      if (p === null || seen.has(p) || seen.size >= maxUrls) continue;
      seen.add(p);
      queue.push(p);
    }
  };

  const visit = async (path: string): Promise<void> => {
    const url = new URL(path, base);
    let res: Response;
    try {
      // identity, as the load generators ask: fetch's default gzip/deflate would make servers that
      // compress (servy) spend seconds per large page here, on work no measured request does.
      res = await fetchIdempotent(url, { redirect: 'manual', headers: { 'accept-encoding': 'identity' }, signal: AbortSignal.timeout(timeoutMs) });
      if (res.status !== 200) {
        await res.body?.cancel();
        return;
      }
      found.add(path);
      const type = res.headers.get('content-type') ?? '';
      const parse = (isHtml(type) || isCss(type)) && pages < maxPages;
      if (!parse) {
        // An asset: its status is all the crawl needs; drop the body unread.
        await res.body?.cancel();
        return;
      }
      pages++;
      const text = await res.text();
      enqueue(isHtml(type) ? extractLinks(text) : extractCssLinks(text), url);
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      const why = e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (e.cause?.code ?? e.message);
      throw new BenchError(`crawling ${url.href} failed: ${why}`, `check that the server answers on ${base.origin}`, ExitCode.failure, { cause: err });
    }
  };

  await new Promise<void>((resolve, reject) => {
    let active = 0;
    let failed = false;
    const pump = (): void => {
      if (failed) return;
      while (active < concurrency && queue.length > 0) {
        const next = queue.shift() as string;
        active++;
        visit(next).then(
          () => {
            active--;
            pump();
          },
          (err: unknown) => {
            failed = true;
            reject(err);
          },
        );
      }
      if (active === 0 && queue.length === 0) resolve();
    };
    pump();
  });
  return [...found].sort();
}

/**
 * The load's targets: the crawl from "/" plus every alias of the map (gosherve's rules). With the
 * webroot, an alias that names a file of the site is a file path, not a redirect (shadowing.ts).
 */
export async function buildTargets(baseUrl: string, mapText: string, opts: CrawlOptions & { webroot?: string } = {}): Promise<Targets> {
  const paths = await crawl(baseUrl, opts);
  if (paths.length === 0) throw new InputError(`crawling ${baseUrl}/ found nothing`, 'the site needs an index.html that answers 200 at /');
  const { redirects } = parseRedirectMap(mapText);
  if (opts.webroot === undefined) return { paths, redirects };
  const split = await splitShadowedAliases(opts.webroot, redirects);
  return { paths: [...new Set([...paths, ...split.filePaths])].sort(), redirects: split.redirects };
}
