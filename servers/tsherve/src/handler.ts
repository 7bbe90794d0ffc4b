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

function notModified(req: IncomingMessage, entry: Entry): boolean {
  const inm = req.headers['if-none-match'];
  if (inm !== undefined) return etagMatches(inm, entry.etag);
  const ims = req.headers['if-modified-since'];
  if (ims !== undefined) {
    const t = Date.parse(ims);
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

  const finish = (res: ServerResponse, status: number, t0: number): void => {
    hot.countStatus(status);
    hot.observe((performance.now() - t0) / 1000);
  };

  const serveEntry = (req: IncomingMessage, res: ServerResponse, entry: Entry, head: boolean, t0: number): void => {
    if (req.headers['if-none-match'] !== undefined || req.headers['if-modified-since'] !== undefined) {
      if (notModified(req, entry)) {
        res.writeHead(304, entry.headers304);
        res.end();
        finish(res, 304, t0);
        return;
      }
    }
    const rangeHeader = req.headers.range;
    if (rangeHeader !== undefined) {
      const ifRange = req.headers['if-range'];
      const range = ifRange !== undefined && ifRange !== entry.etag && ifRange !== entry.lastModified ? null : parseRange(rangeHeader, entry.body.length);
      if (range === 'unsatisfiable') {
        res.writeHead(416, ['Content-Range', `bytes */${entry.body.length}`, 'Content-Length', '0']);
        res.end();
        finish(res, 416, t0);
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
        finish(res, 206, t0);
        return;
      }
    }
    res.writeHead(200, entry.headers200);
    if (head) res.end();
    else res.end(entry.body);
    finish(res, 200, t0);
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
    finish(res, 404, t0);
  };

  const redirect = (res: ServerResponse, alias: string, target: string, t0: number): void => {
    res.writeHead(301, ['Location', target, 'Access-Control-Allow-Origin', '*', 'Content-Length', '0']);
    res.end();
    hot.countRedirect(alias);
    finish(res, 301, t0);
  };

  const badRequest = (res: ServerResponse, status: number, reason: string, t0: number): void => {
    const body = `${reason}\n`;
    res.writeHead(status, ['Content-Type', 'text/plain; charset=utf-8', 'Content-Length', String(Buffer.byteLength(body))]);
    res.end(body);
    finish(res, status, t0);
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
      finish(res, 405, t0);
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
