// hosts/bundle-delta.ts: the bundle's manifest of a real folder tree, the machine's listing made by
// the real find/sha256sum script (here, over a copy of the tree), and the plan of what to send and
// remove between them.
import { chmod, cp, mkdir, mkdtemp, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listingScript, manifestOf, parseListing, planDelta, type BundleManifest } from '../../src/hosts/bundle-delta.js';

const ROOTS = ['opt/server-bench', 'opt/node'];
let work: string;
let tree: string;
let manifest: BundleManifest;

async function listing(base: string) {
  const r = await execa('bash', ['-c', listingScript(ROOTS, base)]);
  return parseListing(r.stdout);
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'bundle-delta-'));
  tree = join(work, 'tree');
  await mkdir(join(tree, 'opt/server-bench/dist/a b'), { recursive: true });
  await mkdir(join(tree, 'opt/node/bin'), { recursive: true });
  await mkdir(join(tree, 'opt/server-bench/empty'), { recursive: true });
  await writeFile(join(tree, 'opt/server-bench/dist/main.js'), 'console.log(1)\n');
  await writeFile(join(tree, 'opt/server-bench/dist/a b/with space.js'), 'x\n');
  await writeFile(join(tree, 'opt/node/bin/node'), Buffer.alloc(4096, 7));
  await chmod(join(tree, 'opt/node/bin/node'), 0o755);
  await symlink('node', join(tree, 'opt/node/bin/nodejs'));
  manifest = await manifestOf(tree, ROOTS);
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('the bundle delta', () => {
  it("manifests a tree's files (sha256, mode, size), links and folders", () => {
    const byPath = new Map(manifest.entries.map((e) => [e.path, e]));
    expect(byPath.get('opt/node/bin/node')).toMatchObject({ kind: 'file', mode: 0o755, size: 4096 });
    expect(byPath.get('opt/node/bin/nodejs')).toEqual({ kind: 'link', path: 'opt/node/bin/nodejs', target: 'node' });
    expect(byPath.get('opt/server-bench/empty')).toEqual({ kind: 'dir', path: 'opt/server-bench/empty' });
    expect(byPath.get('opt/server-bench/dist/a b/with space.js')).toMatchObject({ kind: 'file' });
  });

  it('a bare machine gets every file and link; an identical one nothing', async () => {
    const bare = planDelta(manifest, await listing(join(work, 'nothing-here')));
    expect(bare.send).toHaveLength(bare.total);
    expect(bare.total).toBe(4);
    expect(bare.remove).toEqual([]);
    const same = join(work, 'same');
    await cp(tree, same, { recursive: true, verbatimSymlinks: true });
    const plan = planDelta(manifest, await listing(same));
    expect(plan).toEqual({ send: [], sendBytes: 0, remove: [], total: 4 });
  });

  it('a changed file, a changed mode, a changed link and extra files there: those sent, the extras removed', async () => {
    const there = join(work, 'there');
    await cp(tree, there, { recursive: true, verbatimSymlinks: true });
    await writeFile(join(there, 'opt/server-bench/dist/main.js'), 'console.log(2)\n');
    await chmod(join(there, 'opt/node/bin/node'), 0o644);
    await unlink(join(there, 'opt/node/bin/nodejs'));
    await symlink('elsewhere', join(there, 'opt/node/bin/nodejs'));
    await mkdir(join(there, 'opt/server-bench/old/deep'), { recursive: true });
    await writeFile(join(there, 'opt/server-bench/old/deep/stale.js'), 'old\n');
    await writeFile(join(there, 'opt/server-bench/stale.txt'), 'old\n');
    const plan = planDelta(manifest, await listing(there));
    expect(plan.send.sort()).toEqual(['opt/node/bin/node', 'opt/node/bin/nodejs', 'opt/server-bench/dist/main.js']);
    expect(plan.sendBytes).toBe(4096 + 'console.log(1)\n'.length);
    // The stale folder once (not its contents), the old link before it is sent again.
    expect(plan.remove.sort()).toEqual(['opt/node/bin/nodejs', 'opt/server-bench/old', 'opt/server-bench/stale.txt']);
  });

  it('parses what sha256sum escapes as unhashed, so that file is sent', () => {
    const remote = parseListing(['f 644 opt/node/x', `h \\${'0'.repeat(64)}  opt/node/x\\nweird`, `h ${'a'.repeat(64)}  opt/node/y`].join('\n'));
    expect(remote.get('opt/node/x')).toEqual({ kind: 'file', mode: 0o644 });
    expect(remote.has('opt/node/y')).toBe(false);
  });
});
