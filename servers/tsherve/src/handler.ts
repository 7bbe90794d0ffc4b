// The site port's request handling, the same on every runtime: file, then redirect, then not
// found; conditional and range requests. Every answer for a known file is made once, when the
// handler is created, so the hot path is a lookup that returns a ready Answer for the runtime's
// adapter to write.
import { performance } from 'node:perf_hooks';
import { textAnswer, type Answer, type App, type FileHeaders, type HeaderReader, type Route } from './answer.js';
import type { Logger } from './log.js';
import type { HotCounters } from './metrics.js';
import { aliasKey, decodePath } from './paths.js';
import type { RedirectStore } from './redirects.js';
import type { Entry, Site } from './site.js';

const METHOD_NOT_ALLOWED = textAnswer(405, 'Method not allowed', undefined, true, ['Allow', 'GET, HEAD']);
const NOT_FOUND_PLAIN = textAnswer(404, 'Not found', undefined, true);
const NOT_FOUND_PLAIN_HEAD: Answer<never> = { ...NOT_FOUND_PLAIN, body: null };

export interface HandlerDeps<B> {
  site: Site<B>;
  redirects: RedirectStore;
  hot: HotCounters;
  log: Logger;
  /** A part of a body, for 206 answers: Buffer.subarray on Node, Blob.slice on Bun (neither copies). */
  slice(body: B, start: number, endExclusive: number): B;
}

function etagMatches(header: string, etag: string): boolean {
  if (header.trim() === '*') return true;
  for (const part of header.split(',')) {
    let t = part.trim();
    if (t.startsWith('W/')) t = t.slice(2);
    if (t === etag) return true;
  }
  return false;
}

function notModified<B>(h: FileHeaders, entry: Entry<B>): boolean {
  if (h.ifNoneMatch !== undefined) return etagMatches(h.ifNoneMatch, entry.etag);
  if (h.ifModifiedSince !== undefined) {
    const t = Date.parse(h.ifModifiedSince);
    return !Number.isNaN(t) && entry.mtimeSeconds <= Math.floor(t / 1000);
  }
  return false;
}

/** Parse a single byte range; null = ignore the header (serve 200), 'unsatisfiable' = 416. */
export function parseRange(header: string, size: number): { start: number; end: number } | 'unsatisfiable' | null {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m) return null; // several ranges or another unit: a full answer is allowed
  const [, a, b] = m as unknown as [string, string, string];
  if (a === '' && b === '') return null;
  let start: number;
  let end: number;
  if (a === '') {
    const n = Number(b);
    if (n === 0) return 'unsatisfiable';
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(a);
    end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
    if (b !== '' && Number(b) < start) return null;
  }
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

/** A file with its answers made once; as a Route, it answers a request for one of its paths. */
interface Served<B> extends Route<B> {
  entry: Entry<B>;
  ok: Answer<B>;
  okHead: Answer<B>;
  notModified: Answer<B>;
}

function serveTable<B>(
  site: Site<B>,
  answerFile: <N>(s: Served<B>, req: N, method: string, read: HeaderReader<N>) => Answer<B>,
): { raw: Map<string, Served<B>>; decoded: Map<string, Served<B>> } {
  const made = new Map<Entry<B>, Served<B>>();
  const served = (entry: Entry<B>): Served<B> => {
    let s = made.get(entry);
    if (s === undefined) {
      const self: Served<B> = {
        entry,
        ok: { status: 200, headers: entry.headers200, body: entry.body, fixed: true },
        okHead: { status: 200, headers: entry.headers200, body: null, fixed: true },
        notModified: { status: 304, headers: entry.headers304, body: null, fixed: true },
        answer: (req, method, read) => answerFile(self, req, method, read),
      };
      s = self;
      made.set(entry, s);
    }
    return s;
  };
  const table = (from: Map<string, Entry<B>>): Map<string, Served<B>> => new Map([...from].map(([k, e]) => [k, served(e)]));
  return { raw: table(site.raw), decoded: table(site.decoded) };
}

export function createHandler<B>(deps: HandlerDeps<B>): App<B> {
  const { site, redirects, hot, log, slice } = deps;
  const debug = log.enabled('debug');
  const page = site.notFound;
  const notFoundGet: Answer<B> = page && site.notFoundHeaders ? { status: 404, headers: site.notFoundHeaders, body: page.body, fixed: true } : NOT_FOUND_PLAIN;
  const notFoundHead: Answer<B> = page && site.notFoundHeaders ? { ...notFoundGet, body: null } : NOT_FOUND_PLAIN_HEAD;

  // One scratch record: a file answer reads it synchronously, so requests never share it across a tick.
  const scratch: FileHeaders = { ifNoneMatch: undefined, ifModifiedSince: undefined, range: undefined, ifRange: undefined };

  const fileAnswer = <N>(s: Served<B>, head: boolean, req: N, read: HeaderReader<N>): Answer<B> => {
    const h = read(req, scratch);
    const entry = s.entry;
    if ((h.ifNoneMatch !== undefined || h.ifModifiedSince !== undefined) && notModified(h, entry)) return s.notModified;
    if (h.range !== undefined) {
      const ifRange = h.ifRange;
      const range = ifRange !== undefined && ifRange !== entry.etag && ifRange !== entry.lastModified ? null : parseRange(h.range, entry.size);
      if (range === 'unsatisfiable')
        return { status: 416, headers: ['Content-Range', `bytes */${entry.size}`, 'Content-Length', '0'], body: null, fixed: false };
      if (range !== null) {
        const headers = [
          'Content-Type',
          entry.contentType,
          'Content-Length',
          String(range.end - range.start + 1),
          'Content-Range',
          `bytes ${range.start}-${range.end}/${entry.size}`,
          ...entry.headers304,
        ];
        return { status: 206, headers, body: head ? null : slice(entry.body, range.start, range.end + 1), fixed: false };
      }
    }
    return head ? s.okHead : s.ok;
  };

  // A request for a file's path, whatever the method (routed natively by an adapter, or found by answer()).
  const answerFile = <N>(s: Served<B>, req: N, method: string, read: HeaderReader<N>): Answer<B> => {
    hot.requests++;
    if (method === 'GET') return fileAnswer(s, false, req, read);
    if (method === 'HEAD') return fileAnswer(s, true, req, read);
    return METHOD_NOT_ALLOWED;
  };
  const { raw, decoded } = serveTable(site, answerFile);

  const redirect = (alias: string, target: string): Answer<B> => {
    hot.countRedirect(alias);
    return { status: 301, headers: ['Location', target, 'Access-Control-Allow-Origin', '*', 'Content-Length', '0'], body: null, fixed: false };
  };

  return {
    routes: raw,
    logsRequests: debug,
    answer<N>(req: N, method: string, url: string, read: HeaderReader<N>): Answer<B> | Promise<Answer<B>> {
      const q = url.indexOf('?');
      const hit = raw.get(q === -1 ? url : url.slice(0, q));
      if (hit !== undefined) return answerFile(hit, req, method, read);
      hot.requests++;
      const head = method === 'HEAD';
      if (method !== 'GET' && !head) return METHOD_NOT_ALLOWED;
      const path = q === -1 ? url : url.slice(0, q);
      const d = decodePath(path);
      if (!d.ok) return textAnswer(d.status, `${d.reason}\n`);
      const s = decoded.get(d.path);
      if (s !== undefined) return fileAnswer(s, head, req, read);
      const alias = aliasKey(d.path);
      const target = redirects.lookup(alias);
      if (target !== undefined) return redirect(alias, target);
      // A miss: refresh the map (shared, rate-limited, bounded by the fetch timeout), then look again.
      return redirects.refreshOnMiss().then(
        () => {
          const again = redirects.lookup(alias);
          return again !== undefined ? redirect(alias, again) : head ? notFoundHead : notFoundGet;
        },
        () => (head ? notFoundHead : notFoundGet),
      );
    },
    done(method: string, url: string, status: number, t0: number): void {
      hot.countStatus(status);
      hot.observe((performance.now() - t0) / 1000);
      if (debug) log.debug('request', { method, url, status });
    },
  };
}
