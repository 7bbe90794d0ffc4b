// The run's one target list from the site's tree (targets.ts): files, folders as dir/, hidden files
// left out, aliases a file shadows left out, percent-encoded names, a stable hash, and a stored
// file that round-trips and refuses tampering.
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { readTargets, siteTargets, targetsHash, treePaths, writeTargets } from '../../src/site/targets.js';

let work: string;
let site: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'targets-test-'));
  site = join(work, 'site');
  await mkdir(join(site, 'posts', 'hello world'), { recursive: true });
  await mkdir(join(site, '.git'), { recursive: true });
  await writeFile(join(site, 'index.html'), 'home');
  await writeFile(join(site, 'about.html'), 'about');
  await writeFile(join(site, '.buildinfo'), 'hidden');
  await writeFile(join(site, '.git', 'HEAD'), 'hidden');
  await writeFile(join(site, 'posts', 'hello world', 'index.html'), 'post');
  await writeFile(join(site, 'posts', 'hello world', 'café.png'), 'img');
  await writeFile(join(work, 'outside.js'), 'linked');
  await symlink(join(work, 'outside.js'), join(site, 'jquery.js'));
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('the run target list', () => {
  it('lists files, folders with an index as dir/, follows symlinked files, leaves hidden files out', async () => {
    expect(await treePaths(site)).toEqual(['/', '/about.html', '/jquery.js', '/posts/hello%20world/', '/posts/hello%20world/caf%C3%A9.png']);
  });

  it('keeps the aliases no file shadows; a site without index.html is one line', async () => {
    const t = await siteTargets(site, [
      { alias: 'gh', target: 'https://github.com/' },
      { alias: 'about.html', target: 'https://example.org/' },
    ]);
    expect(t.redirects).toEqual([{ alias: 'gh', target: 'https://github.com/' }]);
    await expect(siteTargets(join(site, 'posts'), [])).rejects.toThrow(InputError);
  });

  it('has a hash that depends on the content, not the order, and a stored file that round-trips and detects tampering', async () => {
    const t = await siteTargets(site, [{ alias: 'gh', target: 'https://github.com/' }]);
    expect(targetsHash({ paths: [...t.paths].reverse(), redirects: t.redirects })).toBe(targetsHash(t));
    expect(targetsHash({ paths: t.paths.slice(1), redirects: t.redirects })).not.toBe(targetsHash(t));
    const runDir = join(work, 'run');
    await mkdir(runDir);
    const hash = await writeTargets(runDir, t);
    expect(await readTargets(runDir)).toEqual({ targets: t, hash });
    const file = join(runDir, 'targets.json');
    const stored = JSON.parse(await readFile(file, 'utf8')) as { paths: string[] };
    stored.paths.pop();
    await writeFile(file, JSON.stringify(stored));
    await expect(readTargets(runDir)).rejects.toThrow(/its hash does not match its paths/);
  });
});
