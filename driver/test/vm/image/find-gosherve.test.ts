// Which gosherve binary the Debian image carries: the one the local backend would run (its
// variables first, then the cache), never one built for the image. Before this, the image looked at
// the command of an unprepared Impl ('gosherve') and never carried gosherve, whatever was set.
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findGosherve } from '../../../src/vm/image/build.js';

let dir: string;
let cache: string;
let explicit: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'find-gosherve-'));
  cache = join(dir, 'cache');
  for (const tag of ['v0.3.5']) {
    await mkdir(join(cache, 'gosherve', tag, 'bin'), { recursive: true });
    await writeFile(join(cache, 'gosherve', tag, 'bin', 'gosherve'), '#!/bin/sh\n');
    await chmod(join(cache, 'gosherve', tag, 'bin', 'gosherve'), 0o755);
  }
  explicit = join(dir, 'my-gosherve');
  await writeFile(explicit, '#!/bin/sh\n');
  await chmod(explicit, 0o755);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('findGosherve (the Debian image)', () => {
  it('takes the cache binary of the release tag', async () => {
    expect(await findGosherve({ name: 'gosherve' }, cache, {})).toEqual({
      impl: 'gosherve',
      bin: join(cache, 'gosherve', 'v0.3.5', 'bin', 'gosherve'),
      reason: '',
    });
  });

  it('takes SERVER_BENCH_GOSHERVE_OLD_BIN / SERVER_BENCH_GOSHERVE_BIN before the cache', async () => {
    expect((await findGosherve({ name: 'gosherve-old' }, cache, { SERVER_BENCH_GOSHERVE_OLD_BIN: explicit })).bin).toBe(explicit);
    expect((await findGosherve({ name: 'gosherve' }, cache, { SERVER_BENCH_GOSHERVE_BIN: explicit })).bin).toBe(explicit);
    expect((await findGosherve({ name: 'gosherve' }, cache, { SERVER_BENCH_GOSHERVE_BIN_V0_3_5: explicit })).bin).toBe(explicit);
  });

  it('says why when there is none, naming the variable or the cache path', async () => {
    const none = await findGosherve({ name: 'gosherve-old' }, cache, {});
    expect(none.bin).toBeNull();
    expect(none.reason).toContain(join(cache, 'gosherve', 'v0.3.3', 'bin', 'gosherve'));
    expect(none.reason).toContain('SERVER_BENCH_GOSHERVE_OLD_BIN');
    const wrong = await findGosherve({ name: 'gosherve' }, cache, { SERVER_BENCH_GOSHERVE_BIN: join(dir, 'absent') });
    expect(wrong.bin).toBeNull();
    expect(wrong.reason).toContain(`SERVER_BENCH_GOSHERVE_BIN=${join(dir, 'absent')} is not an executable file`);
  });
});
