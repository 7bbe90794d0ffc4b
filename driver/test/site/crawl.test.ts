// site/crawl.ts: link extraction from HTML and CSS, and a crawl of a real server (nginx with our config).
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildTargets, crawl, extractCssLinks, extractLinks, samePath, srcsetUrls } from '../../src/site/crawl.js';
import { useSiteServers } from '../support/site-servers.js';

const env = useSiteServers();

describe('crawl: link extraction', () => {
  it('extracts href, src, every srcset candidate and CSS in style attributes and elements', () => {
    const links = extractLinks(
      '<a href="/a">x</a><img src="/b.jpg" srcset="/b-800.jpg 800w, /b-1600.jpg 1600w"><script src="/c.js"></script><div style="background:url(\'/d.png\')"></div><style>p{background:url(/e.png)}</style><source srcset="/f.webp 1x,/g.webp 2x">',
    );
    expect(links).toEqual(['/a', '/b.jpg', '/b-800.jpg', '/b-1600.jpg', '/c.js', '/d.png', '/e.png', '/f.webp', '/g.webp']);
  });

  it('parses srcset like the HTML spec (no spaces after commas, commas inside URLs, no descriptors)', () => {
    expect(srcsetUrls('a.jpg 800w,b.jpg 1600w')).toEqual(['a.jpg', 'b.jpg']);
    expect(srcsetUrls('  a.jpg,  b.jpg 2x ,c.jpg')).toEqual(['a.jpg', 'b.jpg', 'c.jpg']);
    expect(srcsetUrls('/img?w=1,2 1x, /x.jpg 2x')).toEqual(['/img?w=1,2', '/x.jpg']);
  });

  it('extracts CSS url() in every quoting style and @import, ignoring comments', () => {
    expect(extractCssLinks('@import "base.css"; /* url(/no.png) */ a{b:url( "../f.woff2" ) format("woff2")} c{d:url(\'/e.png\')} f{g:url(h.svg)}')).toEqual([
      '../f.woff2',
      '/e.png',
      'h.svg',
      'base.css',
    ]);
  });

  it('keeps same-origin paths only, resolving ./ and ../, dropping fragments and queries, canonical percent-encoding', () => {
    const page = new URL('http://127.0.0.1:8080/posts/a/index.html');
    expect(samePath('../b/', page)).toBe('/posts/b/');
    expect(samePath('./img.jpg#x', page)).toBe('/posts/a/img.jpg');
    expect(samePath('../../x/./y/../z.css?v=2', page)).toBe('/x/z.css');
    expect(samePath('#top', page)).toBeNull();
    expect(samePath('https://example.com/x', page)).toBeNull();
    expect(samePath('//example.com/x', page)).toBeNull();
    expect(samePath('http://127.0.0.1:9999/x', page)).toBeNull();
    expect(samePath('mailto:a@b.c', page)).toBeNull();
    expect(samePath('data:image/png;base64,AAAA', page)).toBeNull();
    expect(samePath('/caf%c3%a9 %7euser', page)).toBe('/caf%C3%A9%20~user');
    expect(samePath('/café ~user', page)).toBe('/caf%C3%A9%20~user');
  });
});

describe('crawl: a real server', () => {
  it('finds every page and asset of the generated site (nginx), set-equal to what the generator expects', async () => {
    const paths = await crawl(`http://127.0.0.1:${env.nginxPort}`);
    expect(paths).toEqual(env.site.expectedPaths);
    // The pages do link elsewhere (a reference, mail, GitHub, fragments): none of that is a target.
    const post = readFileSync(join(env.site.dir, 'posts/post-002/index.html'), 'utf8');
    expect(post).toContain('https://example.com/ref/');
    expect(post).toContain('href="../post-001/"');
    expect(paths.some((p) => p.includes('example') || p.includes('#'))).toBe(false);
    expect(paths).toContain('/fonts/body.woff2'); // only the stylesheet refers to it
  });

  it('stops following pages at maxPages but still lists what it saw', async () => {
    const paths = await crawl(`http://127.0.0.1:${env.nginxPort}`, { maxPages: 1 });
    expect(paths).toContain('/');
    expect(paths.length).toBeLessThan(env.site.expectedPaths.length);
    expect(paths.length).toBeGreaterThan(5); // "/" itself links the stylesheet, scripts and posts
  });

  it('builds targets: crawl plus every alias of the map', async () => {
    const t = await buildTargets(`http://127.0.0.1:${env.nginxPort}`, env.site.redirectsText);
    expect(t.paths).toEqual(env.site.expectedPaths);
    expect(t.redirects).toEqual(env.site.redirects);
  });

  it('fails with the URL when a page does not answer in time, instead of hanging', async () => {
    const server: Server = createServer((req, res) => {
      if (req.url === '/') res.writeHead(200, { 'Content-Type': 'text/html' }).end('<a href="/slow">s</a>');
      // "/slow" never answers.
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const t0 = Date.now();
      await expect(crawl(base, { timeoutMs: 300 })).rejects.toThrow(`crawling ${base}/slow failed: no answer within 300 ms`);
      expect(Date.now() - t0).toBeLessThan(5_000);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
