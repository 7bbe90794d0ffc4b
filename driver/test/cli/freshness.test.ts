// A stale build is refused, naming the sources newer than their compiled files (issue 13: after
// breaking tsherve's handler, verify still said PASS from the old dist/). On a temporary tree with
// real files and mtimes; bench and verify call assertFreshBuild on the repository before anything runs.
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvironmentError } from '../../src/errors.js';
import { assertFreshBuild, staleSources } from '../../src/cli/freshness.js';

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'freshness-'));
  for (const d of ['driver/src', 'servers/tsherve/src', 'dist/driver/src', 'dist/servers/tsherve/src']) await mkdir(join(root, d), { recursive: true });
  const old = new Date(Date.now() - 60_000);
  for (const f of ['driver/src/cli.ts', 'servers/tsherve/src/handler.ts', 'driver/src/types.d.ts']) {
    await writeFile(join(root, f), '// source\n');
    await utimes(join(root, f), old, old);
  }
  await writeFile(join(root, 'dist/driver/src/cli.js'), '// built\n');
  await writeFile(join(root, 'dist/servers/tsherve/src/handler.js'), '// built\n');
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('a stale build', () => {
  it('is fresh when every source is older than its output (declaration files have none)', () => {
    expect(staleSources(root)).toEqual([]);
    expect(() => assertFreshBuild(root)).not.toThrow();
  });

  it('names an edited source, and one that was never built', async () => {
    await writeFile(join(root, 'servers/tsherve/src/handler.ts'), '// broken edit\n');
    await writeFile(join(root, 'driver/src/new-module.ts'), '// not built yet\n');
    expect(staleSources(root)).toEqual(['driver/src/new-module.ts', 'servers/tsherve/src/handler.ts']);
    expect(() => assertFreshBuild(root)).toThrow(EnvironmentError);
    try {
      assertFreshBuild(root);
    } catch (err) {
      expect((err as EnvironmentError).oneLine()).toBe(
        'the build in dist/ is older than driver/src/new-module.ts, servers/tsherve/src/handler.ts: this would measure the old code (run npm run build first (npm run bench builds before it runs))',
      );
    }
  });
});
