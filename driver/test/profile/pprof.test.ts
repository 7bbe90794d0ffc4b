// profile/pprof.ts: the pprof encoding, read back by `go tool pprof`.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { foldPerfScript } from '../../src/profile/folded.js';
import { encodePprof, renderPprof } from '../../src/profile/pprof.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'perf');
const run = promisify(execFile);
const script = (name: string) => readFile(join(FIXTURES, `${name}.script.txt`), 'utf8');

describe('pprof', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sb-pprof-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('decodes to the same samples: leaf-first locations, thread label, cpu nanoseconds', async () => {
    const r = foldPerfScript(await script('gosherve-old'));
    const p = Profile.decode(encodePprof(r.stacks, { hz: 99, startedAt: new Date('2026-12-01T00:00:00Z'), durationSeconds: 30 }));
    const str = (i: number | bigint) => p.stringTable.strings[Number(i)];
    expect(p.sampleType.map((t) => `${str(t.type)}/${str(t.unit)}`)).toEqual(['samples/count', 'cpu/nanoseconds']);
    expect(Number(p.period)).toBe(Math.round(1e9 / 99));
    expect(p.sample.reduce((n, s) => n + Number(s.value[0]), 0)).toBe(26);
    expect(p.sample.every((s) => s.label.length === 1 && str(s.label[0]!.key) === 'thread' && str(s.label[0]!.str) === 'gosherve')).toBe(true);
    const fnName = new Map(p.function.map((f) => [Number(f.id), str(f.name)]));
    const locFn = new Map(p.location.map((l) => [Number(l.id), fnName.get(Number(l.line[0]!.functionId))]));
    const leafNames = p.sample.map((s) => locFn.get(Number(s.locationId[0])));
    expect(leafNames.filter((n) => n === 'crypto/sha1.blockSHANI.abi0')).toHaveLength(
      r.stacks.filter((s) => s.frames.at(-1)?.name === 'crypto/sha1.blockSHANI.abi0').length,
    );
    expect(Number(p.durationNanos)).toBe(30e9);
  });

  it('go tool pprof -top reads profile.proto: totals, Go and kernel function names', async () => {
    const r = foldPerfScript(await script('gosherve-old'));
    const file = join(dir, 'profile.proto');
    await writeFile(file, renderPprof(r.stacks, { hz: 99, startedAt: new Date(), durationSeconds: 1, periodNs: 1e7 }));
    expect(gunzipSync(await readFile(file)).length).toBeGreaterThan(100); // gzipped on disk
    const { stdout } = await run('go', ['tool', 'pprof', '-top', '-cum', '-nodecount=200', file], {
      env: { ...process.env, PPROF_TMPDIR: dir },
      timeout: 120_000,
    });
    expect(stdout).toMatch(/Type: cpu/);
    expect(stdout).toMatch(/Total samples = 260ms/); // 26 samples × 10 ms
    expect(stdout).toMatch(/github\.com\/jnsgruk\/gosherve\/pkg\/server\.\(\*Server\)\.RefreshRedirects/);
    const refresh = /^\s*\S+\s+\S+\s+\S+\s+(\S+)\s+(\S+)%\s+github\.com\/jnsgruk\/gosherve\/pkg\/server\.\(\*Server\)\.RefreshRedirects$/m.exec(stdout);
    expect(refresh?.[1]).toBe('60ms'); // 6 of 26 samples
    expect(stdout).toMatch(/_copy_to_iter \[kernel\]/);
  }, 180_000);

  it('an empty profile is still a valid file', () => {
    const p = Profile.decode(encodePprof([], { hz: 99, startedAt: new Date(), durationSeconds: 1 }));
    expect(p.sample).toEqual([]);
  });
});
