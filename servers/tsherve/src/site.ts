// The site, held in memory: walked once at start-up, every file with its response headers computed
// once (our equivalent of go:embed). Requests become one Map lookup keyed by the URL path.
import { createHash } from 'node:crypto';
import { closeSync, openSync, readdirSync, readFileSync, readSync, realpathSync, statSync, type Stats } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { InputError } from './errors.js';
import { contentTypeFor } from './mime.js';
import type { Logger } from './log.js';

const CACHE_CONTROL = 'public, max-age=31536000, must-revalidate';

/** `B`: how the runtime holds the bytes (runtime.ts): a Buffer on Node, a Blob on Bun. */
export interface Entry<B = Buffer> {
  body: B;
  /** Bytes in body. */
  size: number;
  etag: string;
  lastModified: string;
  /** Modification time in whole seconds, for If-Modified-Since. */
  mtimeSeconds: number;
  contentType: string;
  /** Flat raw header list for a 200 answer: writeHead(200, headers200). */
  headers200: string[];
  /** Headers for a 304 answer. */
  headers304: string[];
}

export interface Site<B = Buffer> {
  /**
   * Request path exactly as a client sends it (percent-encoded forms of each file path, and the
   * path itself when it needs no encoding) → entry: the common request is this one lookup.
   */
  raw: Map<string, Entry<B>>;
  /** Decoded, normalised site path → entry, for requests that missed `raw`. */
  decoded: Map<string, Entry<B>>;
  /** 404.html, answered with status 404; null = plain "Not found". */
  notFound: Entry<B> | null;
  /** Headers for the 404 page (precomputed like every other answer). */
  notFoundHeaders: string[] | null;
  files: number;
  bytes: number;
}

export function emptySite<B>(): Site<B> {
  return { raw: new Map(), decoded: new Map(), notFound: null, notFoundHeaders: null, files: 0, bytes: 0 };
}

export interface LoadOptions<B> {
  maxBytes: number;
  /** The runtime's form of a file's bytes, made once at load (runtime.ts). */
  toBody: (bytes: Buffer) => B;
  confineSymlinks: boolean;
  log: Logger;
  /**
   * Read every body into SharedArrayBuffers (worker threads then share them instead of copying),
   * straight from the file: no per-file Buffer whose freed memory would stay resident.
   */
  shared?: boolean;
}

/** Bump allocation of Buffer views over SharedArrayBuffers of CHUNK bytes (larger files get their own). */
class SharedArena {
  static readonly CHUNK = 32 * 1024 * 1024;
  private chunk: SharedArrayBuffer | null = null;
  private used = 0;

  alloc(size: number): Buffer {
    if (size > SharedArena.CHUNK / 4) return Buffer.from(new SharedArrayBuffer(Math.max(1, size)), 0, size);
    if (this.chunk === null || this.used + size > this.chunk.byteLength) {
      // Pages of the unused tail are never touched, so they never become resident.
      this.chunk = new SharedArrayBuffer(SharedArena.CHUNK);
      this.used = 0;
    }
    const view = Buffer.from(this.chunk, this.used, size);
    this.used += size;
    return view;
  }
}

/** The whole file into `into` (a read can return less than asked). */
function readInto(path: string, into: Buffer): void {
  const fd = openSync(path, 'r');
  try {
    let off = 0;
    while (off < into.length) {
      const n = readSync(fd, into, off, into.length - off, off);
      if (n === 0) throw new Error(`${path} shrank while it was read`);
      off += n;
    }
  } finally {
    closeSync(fd);
  }
}

function makeEntry<B>(file: string, bytes: Buffer, st: Stats, toBody: (bytes: Buffer) => B): Entry<B> {
  const etag = `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 27)}"`;
  const lastModified = st.mtime.toUTCString();
  const contentType = contentTypeFor(file);
  return {
    body: toBody(bytes),
    size: bytes.length,
    etag,
    lastModified,
    mtimeSeconds: Math.floor(st.mtimeMs / 1000),
    contentType,
    headers200: [
      'Content-Type',
      contentType,
      'Content-Length',
      String(bytes.length),
      'ETag',
      etag,
      'Last-Modified',
      lastModified,
      'Cache-Control',
      CACHE_CONTROL,
      'Accept-Ranges',
      'bytes',
    ],
    headers304: ['ETag', etag, 'Last-Modified', lastModified, 'Cache-Control', CACHE_CONTROL],
  };
}

function safeDecode(s: string): string | null {
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
}

/**
 * The forms a client may send for a site path: every segment through encodeURIComponent (which
 * encodes sub-delimiters like "&" too), through encodeURI (which leaves them), and the path as is.
 * A form is kept only when decoding it gives the path back, so a file literally named "a%20b"
 * is not served for a request that means "a b", and only when a client can send it as is.
 */
export function requestForms(path: string): string[] {
  const forms = new Set<string>([
    path
      .split('/')
      .map((seg) => encodeURIComponent(seg))
      .join('/'),
    encodeURI(path).replace(/[?#]/g, (c) => encodeURIComponent(c)),
    path,
  ]);
  // Printable ASCII without "?" and "#": anything else cannot arrive as a request path.
  return [...forms].filter((f) => /^[\x21-\x7e]*$/.test(f) && !/[?#]/.test(f) && safeDecode(f) === path);
}

export function loadSite<B>(root: string, opts: LoadOptions<B>): Site<B> {
  const raw = new Map<string, Entry<B>>();
  const decoded = new Map<string, Entry<B>>();
  const realRoot = realpathSync(root);
  let bytes = 0;
  let files = 0;
  // Real directories on the current path: a symlink back to one of them is a loop.
  const visiting = new Set<string>();
  const arena = opts.shared ? new SharedArena() : null;

  const add = (urlPath: string, entry: Entry<B>): void => {
    decoded.set(urlPath, entry);
    for (const form of requestForms(urlPath)) raw.set(form, entry);
  };

  const walk = (dir: string, realDir: string): void => {
    visiting.add(realDir);
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch (err) {
      opts.log.warn('skipping unreadable directory', { path: relative(root, dir), error: String(err) });
      visiting.delete(realDir);
      return;
    }
    for (const name of names) {
      const full = join(dir, name);
      let real: string;
      let st: Stats;
      try {
        real = realpathSync(full);
        st = statSync(real);
      } catch (err) {
        opts.log.warn('skipping broken symlink or unreadable file', { path: relative(root, full), error: (err as NodeJS.ErrnoException).code ?? String(err) });
        continue;
      }
      if (opts.confineSymlinks && real !== realRoot && !real.startsWith(realRoot + sep)) {
        opts.log.warn('skipping symlink that leaves the webroot', { path: relative(root, full), target: real });
        continue;
      }
      if (st.isDirectory()) {
        if (visiting.has(real)) {
          opts.log.warn('skipping symlink loop', { path: relative(root, full), target: real });
          continue;
        }
        walk(full, real);
      } else if (st.isFile()) {
        bytes += st.size;
        if (bytes > opts.maxBytes) {
          throw new InputError(
            `the site in ${root} is larger than TSHERVE_MAX_SITE_BYTES (${opts.maxBytes} bytes)`,
            'raise TSHERVE_MAX_SITE_BYTES or serve a smaller folder',
          );
        }
        let body: Buffer;
        try {
          if (arena) {
            body = arena.alloc(st.size);
            readInto(real, body);
          } else body = readFileSync(real);
        } catch (err) {
          opts.log.warn('skipping unreadable file', { path: relative(root, full), error: (err as NodeJS.ErrnoException).code ?? String(err) });
          bytes -= st.size;
          continue;
        }
        files++;
        const rel = '/' + relative(root, full).split(sep).join('/');
        const entry = makeEntry(rel, body, st, opts.toBody);
        add(rel, entry);
        if (name === 'index.html') {
          const dirPath = rel.slice(0, -'index.html'.length); // "/", "/posts/a/"
          add(dirPath, entry);
          if (dirPath.length > 1) add(dirPath.slice(0, -1), entry);
        }
      }
    }
    visiting.delete(realDir);
  };
  walk(root, realRoot);
  const notFound = decoded.get('/404.html') ?? null;
  const notFoundHeaders = notFound ? ['Content-Type', notFound.contentType, 'Content-Length', String(notFound.size), 'Cache-Control', 'no-cache'] : null;
  return { raw, decoded, notFound, notFoundHeaders, files, bytes };
}

/**
 * A site received from another thread: structured cloning turns each Buffer into a plain
 * Uint8Array over the same (shared) memory; make them Buffers again, still without copying.
 */
export function adoptSite(cloned: Site): Site {
  for (const e of uniqueEntries(cloned)) {
    const u = e.body as Uint8Array;
    if (!Buffer.isBuffer(u)) e.body = Buffer.from(u.buffer, u.byteOffset, u.byteLength);
  }
  return cloned;
}

function uniqueEntries<B>(site: Site<B>): Entry<B>[] {
  const seen = new Set<Entry<B>>(site.decoded.values());
  if (site.notFound) seen.add(site.notFound);
  return [...seen];
}
