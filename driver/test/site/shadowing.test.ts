// A map whose alias names a file of the site (issue 13: `about.html https://…`): servers that serve
// files first answer it with the file, so the gate checks it as a file and nginx's config leaves it
// out; the user is told once. A map of garbage says how many lines were skipped and why. Real
// tsherve and nginx through the built CLI's `verify`.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitPortsFree } from '../../src/servers/ports.js';
import { splitShadowedAliases } from '../../src/site/shadowing.js';

const ROOT = join(dirname(new URL(import.meta.url).pathname), '..', '..', '..');
const CLI = join(ROOT, 'dist', 'driver', 'src', 'cli', 'main.js');
let work: string;
let site: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'shadowing-test-'));
  site = join(work, 'site');
  await mkdir(join(site, 'docs'), { recursive: true });
  await writeFile(join(site, 'index.html'), '<html><body><a href="/about.html">about</a> <a href="/docs/">docs</a></body></html>\n');
  await writeFile(join(site, 'about.html'), '<html><body>about us</body></html>\n');
  await writeFile(join(site, 'docs', 'index.html'), '<html><body>docs</body></html>\n');
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('aliases that name files', () => {
  it('splits them off the redirects, by the same file mapping the gate uses', async () => {
    const r = await splitShadowedAliases(site, [
      { alias: 'about.html', target: 'https://example.org/about' },
      { alias: 'docs', target: 'https://example.org/docs' },
      { alias: 'gh', target: 'https://github.com/' },
    ]);
    expect(r.filePaths).toEqual(['/about.html', '/docs']);
    expect(r.redirects).toEqual([{ alias: 'gh', target: 'https://github.com/' }]);
  });

  it('verify passes tsherve and nginx, checking the alias as a file, and says so once', async () => {
    const map = join(work, 'map.txt');
    await writeFile(map, 'about.html https://example.org/about\ngh https://github.com/\n');
    await waitPortsFree([8080, 8081], 30_000);
    const r = await execa(process.execPath, [CLI, 'verify', '--impls', 'tsherve,nginx', '--webroot', site, '--redirects', map, '--json'], {
      reject: false,
      timeout: 120_000,
    });
    expect(r.exitCode, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { impl: string; verification: { passed: boolean; findings: { url: string; status: string }[] } }[];
    expect(out.map((o) => [o.impl, o.verification.passed])).toEqual([
      ['tsherve', true],
      ['nginx', true],
    ]);
    expect(r.stderr.split('\n').filter((l) => l.includes('name a file of the site'))).toHaveLength(1);
    expect(r.stderr).toMatch(/1 alias\(es\) name a file of the site \(\/about\.html\)/);
  }, 120_000);

  it('a map of garbage: the count of skipped lines and the first reasons', async () => {
    const map = join(work, 'garbage.txt');
    await writeFile(map, 'this is not a map\n\tgh\thttps://github.com/\n/lead https://example.org/\nok https://example.org/\n');
    await waitPortsFree([8080, 8081], 30_000);
    const r = await execa(process.execPath, [CLI, 'verify', '--impls', 'tsherve', '--webroot', site, '--redirects', map], { reject: false, timeout: 120_000 });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /warning: --redirects .*garbage\.txt: 3 line\(s\) skipped, 1 alias\(es\) read \(line 1: expected "alias target" separated by one space, got 5 field\(s\)/,
    );
  }, 120_000);
});
