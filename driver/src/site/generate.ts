// A deterministic, seeded generator of a blog-like static site shaped like the original post's
// (pages that link their images, one CSS, two JS files, feeds, a 404 page; images ~90 % of bytes),
// plus a redirect map. Same seed and size → byte-identical tree.
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { GeneratedSite, Redirect, SiteOptions } from '../contracts.js';

export const DEFAULT_SITE_BYTES = 40_000_000;
export const DEFAULT_SEED = 1;
/** Bumped whenever the same seed and size would give different bytes; part of any cache key for generated sites. */
export const SITEGEN_VERSION = 2;
const MAX_FILE = 2_000_000;

/** mulberry32: small, fast, good enough for test data. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

const WORDS =
  'server bench latency throughput memory kernel socket buffer static site redirect metric cache request response worker cluster core image page feed nix flake virtual machine load test go rust typescript node sendfile header index tag archive'.split(
    ' ',
  );

function words(rand: () => number, n: number): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(WORDS[Math.floor(rand() * WORDS.length)] as string);
  return out.join(' ');
}

type ImgKind = 'jpg' | 'png' | 'webp' | 'svg' | 'ico' | 'woff2';

function imageBytes(kind: ImgKind, size: number, rand: () => number): Buffer {
  if (kind === 'svg') {
    // A complete document of exactly `size` bytes: circles while they fit, then whitespace.
    const head = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100">';
    const tail = '</svg>\n';
    let body = '';
    for (;;) {
      const c = `<circle cx="${Math.floor(rand() * 100)}" cy="${Math.floor(rand() * 100)}" r="${1 + Math.floor(rand() * 9)}"/>`;
      if (head.length + body.length + c.length + tail.length > size) break;
      body += c;
    }
    return Buffer.from(head + body.padEnd(Math.max(0, size - head.length - tail.length), ' ') + tail);
  }
  const buf = Buffer.alloc(size);
  // Random payload; only the header must be valid.
  for (let i = 0; i < size; i += 4) buf.writeUInt32LE((rand() * 0x100000000) >>> 0, Math.min(i, size - 4));
  if (kind === 'jpg') {
    Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00]).copy(buf, 0);
    buf[size - 2] = 0xff;
    buf[size - 1] = 0xd9;
  } else if (kind === 'png') {
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0, 3, 0x20, 0, 0, 2, 0x58, 8, 6, 0, 0, 0]).copy(
      buf,
      0,
    );
  } else if (kind === 'ico') {
    // ICONDIR (reserved 0, type 1, one image) + one 16×16 entry pointing just past the directory.
    Buffer.from([0, 0, 1, 0, 1, 0, 16, 16, 0, 0, 1, 0, 32, 0]).copy(buf, 0);
    buf.writeUInt32LE(size - 22, 14);
    buf.writeUInt32LE(22, 18);
  } else if (kind === 'woff2') {
    buf.write('wOF2', 0, 'ascii');
    buf.writeUInt32BE(0x00010000, 4); // TrueType flavour
    buf.writeUInt32BE(size, 8);
  } else {
    buf.write('RIFF', 0, 'ascii');
    buf.writeUInt32LE(size - 8, 4);
    buf.write('WEBPVP8 ', 8, 'ascii');
  }
  return buf;
}

interface Page {
  urlPath: string; // "/posts/p-001/"
  file: string; // "posts/p-001/index.html"
  title: string;
  images: { srcs: string[] }[];
  links: string[];
}

/** How many of each kind of file a site of `targetBytes` gets (scaled from the 40 MB default). */
function siteShape(targetBytes: number): { posts: number; tags: number; imagesPerPost: number } {
  const scale = targetBytes / DEFAULT_SITE_BYTES;
  return { posts: Math.max(4, Math.round(140 * scale)), tags: Math.max(2, Math.round(12 * scale)), imagesPerPost: 2 };
}

export async function generateSite(opts: SiteOptions): Promise<GeneratedSite> {
  const rand = prng(opts.seed);
  const shape = siteShape(opts.targetBytes);
  const files = new Map<string, Buffer>();
  const expected = new Set<string>();

  // Images first: sizes from a log-normal (median ~22 KB), then scaled to the byte budget.
  const imageSpecs: { path: string; kind: ImgKind; size: number }[] = [];
  const posts: Page[] = [];
  const tagNames = Array.from({ length: shape.tags }, (_, i) => `${WORDS[i % WORDS.length]}${i >= WORDS.length ? i : ''}`);
  for (let p = 0; p < shape.posts; p++) {
    const slug = `post-${String(p + 1).padStart(3, '0')}`;
    const page: Page = { urlPath: `/posts/${slug}/`, file: `posts/${slug}/index.html`, title: words(rand, 4), images: [], links: [] };
    for (let i = 0; i < shape.imagesPerPost; i++) {
      const kind: ImgKind = (['jpg', 'jpg', 'jpg', 'png', 'webp', 'svg'] as const)[Math.floor(rand() * 6)] as ImgKind;
      const base = `/images/${slug}-${i + 1}`;
      const srcs: string[] = [];
      // A responsive image: two widths (srcset), except SVG.
      const widths = kind === 'svg' ? [0] : [800, 1600];
      for (const w of widths) {
        const path = w === 0 ? `${base}.svg` : `${base}-${w}.${kind}`;
        const size = Math.round(16_000 * Math.exp(1.6 * gaussian(rand)) * (w === 1600 ? 2.2 : 1));
        imageSpecs.push({ path, kind, size });
        srcs.push(path);
      }
      page.images.push({ srcs });
    }
    posts.push(page);
  }

  // The stylesheet references a font and a background image, so a crawler must read CSS url(...)
  // (one relative to the stylesheet, one absolute) to find every file.
  const css = `@font-face{font-family:body;src:url("../fonts/body.woff2") format("woff2")}\nbody{font-family:body,sans-serif;max-width:48rem;margin:auto;background:url(/images/paper.png)}\n${Array.from({ length: 200 }, (_, i) => `.c${i}{margin:${i % 7}px}`).join('\n')}\n`;
  const js1 = `// theme\n${Array.from({ length: 150 }, (_, i) => `function f${i}(x){return x*${i}}`).join('\n')}\n`;
  const js2 = `// search\n${Array.from({ length: 300 }, (_, i) => `const v${i}=${i};`).join('\n')}\n`;
  const head = (title: string): string =>
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title>` +
    `<link rel="stylesheet" href="/css/site.css"><link rel="icon" href="/favicon.svg"><link rel="icon" href="/favicon.ico" sizes="16x16">` +
    `<link rel="alternate" type="application/rss+xml" href="/index.xml">` +
    `<script src="/js/theme.js" defer></script><script src="/js/search.js" defer></script></head><body>` +
    `<nav><a href="/">home</a> <a href="/about/">about</a> <a href="/archive/">archive</a> <a href="/tags/">tags</a></nav>`;
  const foot =
    '<footer><a href="/index.xml">feed</a> <a href="/atom.xml">atom</a> <a href="/robots.txt">robots</a> <a href="https://github.com/example">elsewhere</a></footer></body></html>';
  // Small sites (tests) get shorter pages, or the text alone would exceed their byte budget.
  const textScale = Math.min(1, opts.targetBytes / 10_000_000);
  const filler = (n: number): string => Array.from({ length: Math.max(1, Math.round(n * textScale)) }, () => `<p>${words(rand, 40)}</p>`).join('');

  const postTags = posts.map(() => [tagNames[Math.floor(rand() * tagNames.length)] as string]);
  const breathe = async (): Promise<void> => {
    await new Promise((r) => setImmediate(r));
    opts.signal?.throwIfAborted();
  };
  for (let i = 0; i < posts.length; i++) {
    const page = posts[i] as Page;
    if (i % 20 === 19) await breathe();
    // Every other post refers to its images relative to the page ("../../images/...").
    const up = i % 2 === 1 ? '../../..' : '';
    const imgs = page.images
      .map((im) => {
        const [a, b] = im.srcs.map((s) => `${up}${s}`);
        return b ? `<img src="${a}" srcset="${a} 800w, ${b} 1600w" sizes="100vw" alt="">` : `<img src="${a}" alt="">`;
      })
      .join('');
    // Neighbours by relative URL ("../post-002/", "../" for itself), as generators like Hugo write them.
    const rel = (p: Page): string => `../${p.urlPath.split('/')[2]}/`;
    const prev = i > 0 ? `<a href="${rel(posts[i - 1]!)}">previous</a>` : '';
    const next = i < posts.length - 1 ? `<a href="${rel(posts[i + 1]!)}">next</a>` : '';
    const outside = `<p><a href="./#top">top</a> <a href="#comments">comments</a> <a href="https://example.com/ref/${i}">a reference</a> <a href="mailto:author@example.org">mail</a></p>`;
    const tags = postTags[i]!.map((t) => `<a href="/tags/${t}/">${t}</a>`).join(' ');
    files.set(
      page.file,
      Buffer.from(
        `${head(page.title)}<article><h1>${page.title}</h1>${tags}${imgs}${filler(40 + Math.floor(rand() * 110))}</article>${outside}${prev} ${next}${foot}`,
      ),
    );
    expected.add(page.urlPath);
  }
  const list = (ps: Page[]): string => `<ul>${ps.map((p) => `<li><a href="${p.urlPath}">${p.title}</a></li>`).join('')}</ul>`;
  const addPage = (urlPath: string, title: string, body: string): void => {
    files.set(`${urlPath.slice(1)}index.html`, Buffer.from(`${head(title)}<h1>${title}</h1>${body}${foot}`));
    expected.add(urlPath);
  };
  addPage('/', 'home', list(posts.slice(0, 20)) + filler(5));
  addPage('/archive/', 'archive', list(posts));
  addPage('/about/', 'about', `${filler(10)}<a href="/404.html">the not-found page</a>`);
  addPage('/tags/', 'tags', `<ul>${tagNames.map((t) => `<li><a href="/tags/${t}/">${t}</a></li>`).join('')}</ul>`);
  await breathe();
  for (const t of tagNames) addPage(`/tags/${t}/`, `tag ${t}`, list(posts.filter((_, i) => postTags[i]!.includes(t))));
  files.set('404.html', Buffer.from(`${head('not found')}<h1>Not found</h1>${foot}`));
  expected.add('/404.html');
  files.set('css/site.css', Buffer.from(css));
  files.set('js/theme.js', Buffer.from(js1));
  files.set('js/search.js', Buffer.from(js2));
  const item = (p: Page): string => `<item><title>${p.title}</title><link>https://example.org${p.urlPath}</link></item>`;
  files.set('index.xml', Buffer.from(`<?xml version="1.0"?><rss version="2.0"><channel><title>blog</title>${posts.map(item).join('')}</channel></rss>`));
  files.set(
    'atom.xml',
    Buffer.from(
      `<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>blog</title>${posts.map((p) => `<entry><title>${p.title}</title></entry>`).join('')}</feed>`,
    ),
  );
  files.set('favicon.svg', imageBytes('svg', 600, rand));
  files.set('favicon.ico', imageBytes('ico', 1150, rand));
  files.set('robots.txt', Buffer.from('User-agent: *\nAllow: /\n'));
  files.set('fonts/body.woff2', imageBytes('woff2', 24_000, rand));
  files.set('images/paper.png', imageBytes('png', 3_000, rand));
  for (const p of [
    '/css/site.css',
    '/js/theme.js',
    '/js/search.js',
    '/index.xml',
    '/atom.xml',
    '/favicon.svg',
    '/favicon.ico',
    '/robots.txt',
    '/fonts/body.woff2',
    '/images/paper.png',
  ])
    expected.add(p);

  // Scale images to the byte budget; one image at the maximum size, as on a real blog.
  const otherBytes = [...files.values()].reduce((n, b) => n + b.length, 0);
  // No image above 1/20 of the site (2 MB at the default size); the bytes a capped image cannot take
  // go to the others, a few rounds suffice.
  const cap = Math.min(MAX_FILE, Math.max(2_000, Math.round(opts.targetBytes / 20)));
  const budget = Math.max(imageSpecs.length * 200, opts.targetBytes - otherBytes);
  const raw = imageSpecs.map((s) => s.size);
  let factor = budget / raw.reduce((n, x) => n + x, 0);
  for (let round = 0; round < 4; round++) {
    const capped = raw.filter((x) => x * factor >= cap);
    const free = raw.filter((x) => x * factor < cap).reduce((n, x) => n + x, 0);
    if (free === 0) break;
    factor = Math.max(0, budget - capped.length * cap) / free;
  }
  imageSpecs.forEach((s, i) => {
    s.size = Math.max(200, Math.min(cap, Math.round((raw[i] as number) * factor)));
  });
  if (opts.targetBytes >= 10 * MAX_FILE) {
    const biggest = imageSpecs.filter((s) => s.kind !== 'svg').sort((a, b) => b.size - a.size)[0];
    if (biggest) biggest.size = MAX_FILE;
  }
  // Generating a large site takes long: yield now and then, so a Ctrl-C is heard and stops it.
  let made = 0;
  for (const s of imageSpecs) {
    files.set(s.path.slice(1), imageBytes(s.kind, s.size, rand));
    expected.add(s.path);
    made += s.size;
    if (made >= 4_000_000) {
      made = 0;
      await breathe();
    }
  }

  await mkdir(opts.dir, { recursive: true });
  const dirs = new Set([...files.keys()].map((f) => dirname(join(opts.dir, f))));
  for (const d of dirs) await mkdir(d, { recursive: true });
  let bytes = 0;
  for (const [f, b] of files) {
    opts.signal?.throwIfAborted();
    await writeFile(join(opts.dir, f), b);
    bytes += b.length;
  }
  const redirects = generateRedirects(
    rand,
    posts.map((p) => p.urlPath),
  );
  return {
    dir: opts.dir,
    files: files.size,
    bytes,
    expectedPaths: [...expected].sort(),
    redirects,
    redirectsText: renderRedirectMap(redirects),
  };
}

function generateRedirects(rand: () => number, postPaths: string[]): Redirect[] {
  const out: Redirect[] = [];
  const names = ['gh', 'github', 'linkedin', 'mastodon', 'cv', 'talk', 'slides', 'keys', 'gpg', 'matrix', 'blog', 'rss', 'book', 'meet', 'chat'];
  for (let i = 0; i < 36; i++) {
    const alias = i < names.length ? names[i]! : `go/${i}`;
    const target =
      i % 3 === 0
        ? `https://example.org${postPaths[Math.floor(rand() * postPaths.length)]}`
        : `https://example.com/${alias.replace('/', '-')}/${Math.floor(rand() * 1e6)}`;
    out.push({ alias, target });
  }
  return out;
}

/** @public nix/gen-site.mjs calls it through a computed import (the Nix build of the site). */
export function renderRedirectMap(redirects: Redirect[]): string {
  return `# short links (gosherve format: alias target)\n\n${redirects.map((r) => `${r.alias} ${r.target}`).join('\n')}\n`;
}

export interface SiteStats {
  files: number;
  bytes: number;
  /** File-size percentiles in bytes (nearest rank). */
  p50: number;
  p90: number;
  max: number;
}

/** Count and size distribution of the regular files under `dir` (for tests and reports). */
export async function siteStats(dir: string): Promise<SiteStats> {
  const sizes: number[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) sizes.push((await stat(p)).size);
    }
  };
  await walk(dir);
  sizes.sort((a, b) => a - b);
  const rank = (q: number): number => (sizes.length === 0 ? 0 : (sizes[Math.min(sizes.length - 1, Math.ceil(q * sizes.length) - 1)] as number));
  return { files: sizes.length, bytes: sizes.reduce((a, b) => a + b, 0), p50: rank(0.5), p90: rank(0.9), max: sizes.at(-1) ?? 0 };
}
