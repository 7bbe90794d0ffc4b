import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newRunDir, newRunId } from '../../src/results/layout.js';

let reports: string;
beforeAll(async () => {
  reports = await mkdtemp(join(tmpdir(), 'layout-'));
});
afterAll(async () => {
  await rm(reports, { recursive: true, force: true });
});

describe('newRunDir', () => {
  const at = new Date(Date.UTC(2026, 11, 1, 19, 1, 2));
  it('is named by the start time in UTC', () => {
    expect(newRunId(at)).toBe('20261201-190102');
    expect(basename(newRunDir(reports, at))).toBe('20261201-190102');
  });
  it('does not collide with a run started in the same second', async () => {
    await mkdir(join(reports, '20261201-190102'));
    expect(basename(newRunDir(reports, at))).toBe('20261201-190102-2');
    await mkdir(join(reports, '20261201-190102-2'));
    expect(basename(newRunDir(reports, at))).toBe('20261201-190102-3');
  });
});
