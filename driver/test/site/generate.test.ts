// site/generate.ts: the seeded site generator, against the map server and the files it writes.
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseRedirectMap } from '../../../shared/redirect-map.js';
import { generateSite, siteStats } from '../../src/site/generate.js';
import { treeHash, listFiles, useSiteServers } from '../support/site-servers.js';

const env = useSiteServers();

describe('site generator', () => {
  it('is deterministic: same seed and size → identical tree; another seed differs', async () => {
    const again = await generateSite({ dir: join(env.tmp, 'again'), seed: 7, targetBytes: 2_000_000 });
    const other = await generateSite({ dir: join(env.tmp, 'other'), seed: 8, targetBytes: 2_000_000 });
    expect(treeHash(again.dir)).toBe(treeHash(env.site.dir));
    expect(treeHash(other.dir)).not.toBe(treeHash(env.site.dir));
    expect(again.redirectsText).toBe(env.site.redirectsText);
    expect(again.expectedPaths).toEqual(env.site.expectedPaths);
  });

  it('has the default shape of the original blog (~40 MB, ~680 files, images ~90 % of bytes)', async () => {
    const big = await generateSite({ dir: join(env.tmp, 'big'), seed: 1, targetBytes: 40_000_000 });
    const st = await siteStats(big.dir);
    const images = listFiles(big.dir)
      .filter((f) => f.startsWith('/images/'))
      .reduce((a, f) => a + statSync(join(big.dir, f)).size, 0);
    expect(st.files).toBe(big.files);
    expect(st.bytes).toBe(big.bytes);
    expect(st.files).toBeGreaterThanOrEqual(600);
    expect(st.files).toBeLessThanOrEqual(760);
    expect(st.bytes).toBeGreaterThan(36e6);
    expect(st.bytes).toBeLessThan(44e6);
    expect(st.p50).toBeGreaterThan(12_000);
    expect(st.p50).toBeLessThan(26_000);
    expect(st.p90).toBeGreaterThan(100_000);
    expect(st.p90).toBeLessThan(180_000);
    expect(st.max).toBeLessThanOrEqual(2_200_000);
    expect(images / st.bytes).toBeGreaterThanOrEqual(0.85);
    expect(big.redirects.length).toBeGreaterThanOrEqual(24);
    expect(listFiles(big.dir).filter((f) => f.endsWith('.html')).length).toBeGreaterThan(120);
    rmSync(big.dir, { recursive: true, force: true });
  }, 60_000);

  it('works at small sizes, and every file is an expected path (nothing unreachable)', async () => {
    for (const targetBytes of [200_000, 2_000_000]) {
      const s = await generateSite({ dir: join(env.tmp, `small-${targetBytes}`), seed: 3, targetBytes });
      const st = await siteStats(s.dir);
      expect(st.bytes).toBeGreaterThan(targetBytes * 0.5);
      expect(st.bytes).toBeLessThan(targetBytes * 1.5);
      const asFiles = s.expectedPaths.map((p) => (p.endsWith('/') ? `${p}index.html` : p)).sort();
      expect(asFiles).toEqual(listFiles(s.dir));
    }
  });

  it('writes images, icon and font with valid magic headers', () => {
    const img = readdirSync(join(env.site.dir, 'images'));
    const head = (f: string, n: number): Buffer => readFileSync(join(env.site.dir, f)).subarray(0, n);
    const jpg = img.find((f) => f.endsWith('.jpg'));
    const png = img.find((f) => f.endsWith('.png'));
    const webp = img.find((f) => f.endsWith('.webp'));
    const svg = img.find((f) => f.endsWith('.svg'));
    expect(jpg && png && webp && svg).toBeTruthy();
    expect([...head(`images/${jpg}`, 4)]).toEqual([0xff, 0xd8, 0xff, 0xe0]);
    expect([...readFileSync(join(env.site.dir, 'images', jpg!)).subarray(-2)]).toEqual([0xff, 0xd9]);
    expect([...head(`images/${png}`, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(head(`images/${webp}`, 16).toString('latin1')).toMatch(/^RIFF[\s\S]{4}WEBPVP8 /);
    expect(readFileSync(join(env.site.dir, 'images', svg!), 'utf8')).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"[\s\S]*<\/svg>\s*$/);
    expect([...head('favicon.ico', 4)]).toEqual([0, 0, 1, 0]);
    expect(head('fonts/body.woff2', 4).toString('latin1')).toBe('wOF2');
  });

  it('writes a gosherve-format map (comment, blank line, alias target) that parses back to its redirects', () => {
    expect(env.site.redirectsText).toMatch(/^# .*\n\n/);
    expect(env.site.redirects.length).toBeGreaterThanOrEqual(24);
    const parsed = parseRedirectMap(env.site.redirectsText);
    expect(parsed.skipped).toEqual([]);
    expect(parsed.redirects).toEqual(env.site.redirects);
    for (const r of env.site.redirects) expect(r.target).toMatch(/^https:\/\//);
  });
});
