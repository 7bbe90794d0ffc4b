// The short-link map: read by the repository's one grammar (shared/redirect-map.ts, gosherve's),
// fetched with a timeout and a size cap, and refreshed on a miss without letting a flood of unknown
// paths hammer the map's host.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { parseRedirectMap, type SkippedLine } from '../../../shared/redirect-map.js';
import type { Logger } from './log.js';

/** The map as tsherve serves it: alias → target, by the repository's one grammar (gosherve's). */
export function parseMap(text: string): { map: Map<string, string>; skipped: SkippedLine[] } {
  const parsed = parseRedirectMap(text);
  return { map: new Map(parsed.redirects.map((r) => [r.alias, r.target])), skipped: parsed.skipped };
}

export class MapFetchError extends Error {}

/** The URL with `cachebust=<unix seconds>` appended, keeping its query as written (gosherve does the same). */
export function withCachebust(url: string, nowMs: number): string {
  const hash = url.indexOf('#');
  const base = hash === -1 ? url : url.slice(0, hash);
  const sep = !base.includes('?') ? '?' : base.endsWith('?') || base.endsWith('&') ? '' : '&';
  return `${base}${sep}cachebust=${Math.floor(nowMs / 1000)}`;
}

/**
 * GET the map with `cachebust`, one deadline for the whole exchange (redirects included) and a size
 * cap enforced while reading. node:http rather than the global fetch: loading undici for one small
 * GET costs ~40 MB of peak memory, which counts against tsherve's memory budget.
 */
export function fetchMapText(url: string, timeoutMs: number, maxBytes: number): Promise<string> {
  const signal = AbortSignal.timeout(timeoutMs);
  // `target` may be relative to `base` (a Location header); resolving it here turns a malformed
  // one into a MapFetchError instead of an exception thrown in the response callback.
  const get = (target: string, base: URL | undefined, hopsLeft: number): Promise<string> =>
    new Promise((resolve, reject) => {
      let u: URL;
      try {
        u = new URL(target, base);
      } catch {
        reject(new MapFetchError(`redirected to an invalid URL "${target}"`));
        return;
      }
      const send = u.protocol === 'https:' ? httpsRequest : u.protocol === 'http:' ? httpRequest : null;
      if (send === null) {
        reject(new MapFetchError(`redirected to a non-http(s) URL "${target}"`));
        return;
      }
      const req = send(u, { signal, headers: { 'user-agent': 'tsherve', accept: 'text/plain, */*' } }, (res) => {
        const status = res.statusCode ?? 0;
        const location = res.headers.location;
        if (status >= 300 && status < 400 && location !== undefined) {
          res.resume();
          if (hopsLeft === 0) reject(new MapFetchError('too many redirects'));
          else resolve(get(location, u, hopsLeft - 1));
          return;
        }
        if (status !== 200) {
          res.resume();
          reject(new MapFetchError(`HTTP ${status}`));
          return;
        }
        const declared = Number(res.headers['content-length'] ?? NaN);
        if (declared > maxBytes) {
          res.destroy();
          reject(new MapFetchError(`map is ${declared} bytes, over the ${maxBytes}-byte cap`));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBytes) {
            res.destroy();
            reject(new MapFetchError(`map is over the ${maxBytes}-byte cap`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        res.on('error', (err) => reject(describeFetchError(err, timeoutMs)));
      });
      req.on('error', (err) => reject(describeFetchError(err, timeoutMs)));
      req.end();
    });
  return get(withCachebust(url, Date.now()), undefined, 5);
}

function describeFetchError(err: Error, timeoutMs: number): MapFetchError {
  if (err instanceof MapFetchError) return err;
  if (err.name === 'AbortError' || err.name === 'TimeoutError') return new MapFetchError(`no complete answer within ${timeoutMs} ms`);
  return new MapFetchError((err as NodeJS.ErrnoException).code ?? err.message);
}

export interface RefreshCounts {
  ok: number;
  error: number;
  skipped: number; // a miss that found the interval not yet elapsed
}

export interface RedirectStoreOptions {
  url: string;
  timeoutMs: number;
  maxBytes: number;
  intervalMs: number;
  log: Logger;
  /** Called whenever the map changes (metrics). */
  onMap?: (map: Map<string, string>) => void;
}

/**
 * Holds the current map. On a miss, all concurrent misses share one in-flight fetch, and at most
 * one fetch starts per interval; a failed fetch keeps the last good map.
 */
export class RedirectStore {
  map = new Map<string, string>();
  readonly counts: RefreshCounts = { ok: 0, error: 0, skipped: 0 };
  private inflight: Promise<void> | null = null;
  private lastStart = -Infinity;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly opts: RedirectStoreOptions) {}

  get size(): number {
    return this.map.size;
  }

  lookup(alias: string): string | undefined {
    return this.map.get(alias);
  }

  /** Fetch now (start-up, periodic); throws MapFetchError on failure. */
  async load(): Promise<void> {
    this.lastStart = Date.now();
    try {
      const text = await fetchMapText(this.opts.url, this.opts.timeoutMs, this.opts.maxBytes);
      this.apply(text);
      this.counts.ok++;
    } catch (err) {
      this.counts.error++;
      throw err;
    }
  }

  /**
   * Start-up: retry with a doubling pause (250 ms, 500 ms, 1 s, 2 s) while the next attempt still
   * starts within about five seconds, so a map host that is just coming up is waited for.
   */
  async loadWithRetries(budgetMs = 5_000): Promise<void> {
    const deadline = Date.now() + budgetMs;
    let pause = 250;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.load();
        return;
      } catch (err) {
        this.opts.log.warn('redirect map fetch failed', { url: this.opts.url, attempt, error: (err as Error).message });
        if (Date.now() + pause > deadline) throw err;
        await new Promise((r) => setTimeout(r, pause));
        pause *= 2;
      }
    }
  }

  apply(text: string): void {
    const parsed = parseMap(text);
    for (const s of parsed.skipped) this.opts.log.warn('skipping redirect map line', { line: s.line, reason: s.reason });
    this.map = parsed.map;
    this.opts.onMap?.(this.map);
  }

  /** Refresh after a miss: join the in-flight fetch, or start one if the interval allows. Never throws. */
  refreshOnMiss(): Promise<void> {
    if (this.inflight) return this.inflight;
    if (Date.now() - this.lastStart < this.opts.intervalMs) {
      this.counts.skipped++;
      return Promise.resolve();
    }
    this.inflight = this.load()
      .catch((err: Error) => {
        this.opts.log.warn('redirect map refresh failed; keeping the last good map', { url: this.opts.url, error: err.message });
      })
      .finally(() => {
        this.inflight = null;
      });
    return this.inflight;
  }

  startPeriodic(everyMs: number): void {
    if (everyMs <= 0) return;
    this.timer = setInterval(() => void this.refreshOnMiss(), everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
