// The site port's request handler: file, then redirect, then not-found; conditional and range
// requests; everything for a known file precomputed, so the hot path is a lookup and one write.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Logger } from './log.js';
import type { HotCounters } from './metrics.js';
import { aliasKey, decodePath } from './paths.js';
import type { RedirectStore } from './redirects.js';
import type { Entry, Site } from './site.js';

const ALLOW = ['Allow', 'GET, HEAD', 'Content-Type', 'text/plain; charset=utf-8', 'Content-Length', '18'];
const NOT_FOUND_PLAIN = Buffer.from('Not found');
const NOT_FOUND_HEADERS = ['Content-Type', 'text/plain; charset=utf-8', 'Content-Length', String(NOT_FOUND_PLAIN.length)];

export interface HandlerDeps {
  site: Site;
  redirects: RedirectStore;
  hot: HotCounters;
  log: Logger;
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

/** The request headers a file answer depends on; undefined = absent. */
export interface FileHeaders {
  ifNoneMatch: string | undefined;
  ifModifiedSince: string | undefined;
  range: string | undefined;
  ifRange: string | undefined;
}

/** Case-insensitive equality of a header name with a lower-case constant, without allocating. */
function nameIs(name: string, lower: string): boolean {
  if (name.length !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) if ((name.charCodeAt(i) | 0x20) !== lower.charCodeAt(i)) return false;
  return true;
}

/**
 * Read the four headers from rawHeaders into `out`. req.headers would build an object per request
 * (Node fills it lazily on first access); a typical request has none of the four.
 */
export function readFileHeaders(raw: readonly string[], out: FileHeaders): FileHeaders {
  out.ifNoneMatch = out.ifModifiedSince = out.range = out.ifRange = undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const c = name.charCodeAt(0) | 0x20;
    if (c === 0x69 /* i */) {
      if (nameIs(name, 'if-none-match')) out.ifNoneMatch = out.ifNoneMatch === undefined ? raw[i + 1] : `${out.ifNoneMatch}, ${raw[i + 1]}`;
      else if (nameIs(name, 'if-modified-since')) out.ifModifiedSince ??= raw[i + 1];
      else if (nameIs(name, 'if-range')) out.ifRange ??= raw[i + 1];
    } else if (c === 0x72 /* r */ && nameIs(name, 'range')) out.range ??= raw[i + 1];
  }
  return out;
}

function notModified(h: FileHeaders, entry: Entry): boolean {
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

export function createHandler(deps: HandlerDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const { site, redirects, hot, log } = deps;
  const raw = site.raw;
  const decodedEntries = site.decoded;
  const debug = log.enabled('debug');

  const finish = (status: number, t0: number): void => {
    hot.countStatus(status);
    hot.observe((performance.now() - t0) / 1000);
  };

  // One scratch record: serveEntry reads it synchronously, so requests never share it across a tick.
  const scratch: FileHeaders = { ifNoneMatch: undefined, ifModifiedSince: undefined, range: undefined, ifRange: undefined };

  const serveEntry = (req: IncomingMessage, res: ServerResponse, entry: Entry, head: boolean, t0: number): void => {
    const h = readFileHeaders(req.rawHeaders, scratch);
    if (h.ifNoneMatch !== undefined || h.ifModifiedSince !== undefined) {
      if (notModified(h, entry)) {
        res.writeHead(304, entry.headers304);
        res.end();
        finish(304, t0);
        return;
      }
    }
    const rangeHeader = h.range;
    if (rangeHeader !== undefined) {
      const ifRange = h.ifRange;
      const range = ifRange !== undefined && ifRange !== entry.etag && ifRange !== entry.lastModified ? null : parseRange(rangeHeader, entry.body.length);
      if (range === 'unsatisfiable') {
        res.writeHead(416, ['Content-Range', `bytes */${entry.body.length}`, 'Content-Length', '0']);
        res.end();
        finish(416, t0);
        return;
      }
      if (range !== null) {
        const len = range.end - range.start + 1;
        res.writeHead(206, [
          'Content-Type', entry.contentType,
          'Content-Length', String(len),
          'Content-Range', `bytes ${range.start}-${range.end}/${entry.body.length}`,
          ...entry.headers304,
        ]);
        if (head) res.end();
        else res.end(entry.body.subarray(range.start, range.end + 1));
        finish(206, t0);
        return;
      }
    }
    res.writeHead(200, entry.headers200);
    if (head) res.end();
    else res.end(entry.body);
    finish(200, t0);
  };

  const notFound = (res: ServerResponse, head: boolean, t0: number): void => {
    const page = site.notFound;
    if (page && site.notFoundHeaders) {
      res.writeHead(404, site.notFoundHeaders);
      if (head) res.end();
      else res.end(page.body);
    } else {
      res.writeHead(404, NOT_FOUND_HEADERS);
      if (head) res.end();
      else res.end(NOT_FOUND_PLAIN);
    }
    finish(404, t0);
  };

  const redirect = (res: ServerResponse, alias: string, target: string, t0: number): void => {
    res.writeHead(301, ['Location', target, 'Access-Control-Allow-Origin', '*', 'Content-Length', '0']);
    res.end();
    hot.countRedirect(alias);
    finish(301, t0);
  };

  const badRequest = (res: ServerResponse, status: number, reason: string, t0: number): void => {
    const body = `${reason}\n`;
    res.writeHead(status, ['Content-Type', 'text/plain; charset=utf-8', 'Content-Length', String(Buffer.byteLength(body))]);
    res.end(body);
    finish(status, t0);
  };

  return function handle(req, res): void {
    const t0 = performance.now();
    hot.requests++;
    if (debug) res.on('finish', () => log.debug('request', { method: req.method, url: req.url, status: res.statusCode }));
    const method = req.method;
    const head = method === 'HEAD';
    if (method !== 'GET' && !head) {
      res.writeHead(405, ALLOW);
      res.end('Method not allowed');
      finish(405, t0);
      return;
    }
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const hit = raw.get(path);
    if (hit !== undefined) {
      serveEntry(req, res, hit, head, t0);
      return;
    }
    const decoded = decodePath(path);
    if (!decoded.ok) {
      badRequest(res, decoded.status, decoded.reason, t0);
      return;
    }
    const entry = decodedEntries.get(decoded.path);
    if (entry !== undefined) {
      serveEntry(req, res, entry, head, t0);
      return;
    }
    const alias = aliasKey(decoded.path);
    const target = redirects.lookup(alias);
    if (target !== undefined) {
      redirect(res, alias, target, t0);
      return;
    }
    // A miss: refresh the map (shared, rate-limited, bounded by the fetch timeout), then look again.
    redirects.refreshOnMiss().then(
      () => {
        if (res.destroyed) return;
        const again = redirects.lookup(alias);
        if (again !== undefined) redirect(res, alias, again, t0);
        else notFound(res, head, t0);
      },
      () => notFound(res, head, t0),
    );
  };
}
