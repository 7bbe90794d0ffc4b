// bench --profile's pure core on real `perf script` output (driver/test/fixtures/perf/*.script.txt:
// 26 samples each of tsherve with V8's perf map, gosherve v0.3.3 and Debian's stripped nginx,
// recorded here with perf record -e cpu-clock -g): folding, frame kinds and names, missing-symbol
// accounting, the folded file round trip, the top tables, the flame tree, the warnings, and the
// pprof encoding read back by `go tool pprof`.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { foldPerfScript, frameLabel, parseFolded, parseFrameLabel, parseJitName, PerfScriptFolder, renderFolded, type FoldedStack, type Frame } from '../src/profile/folded.js';
import { encodePprof, renderPprof } from '../src/profile/pprof.js';
import { profileWarnings } from '../src/profile/recorder.js';
import { displayName, shareMatching, topFunctions } from '../src/profile/top.js';
import { buildFlameTree } from '../src/profile/tree.js';

const FIXTURES = join(import.meta.dirname, 'fixtures', 'perf');
const run = promisify(execFile);
const script = (name: string) => readFile(join(FIXTURES, `${name}.script.txt`), 'utf8');

const js = (name: string, file: string | null = null, line: number | null = null): Frame => ({ name, kind: 'js', file, line });
const nat = (name: string): Frame => ({ name, kind: 'native', file: null, line: null });
const ker = (name: string): Frame => ({ name, kind: 'kernel', file: null, line: null });

describe('folding perf script output', () => {
  it('tsherve: every sample, kernel frames marked, JIT frames named from the perf map without tier or column', async () => {
    const r = foldPerfScript(await script('tsherve'));
    expect(r.samples).toBe(26);
    expect(r.pids).toEqual([16401]);
    expect(r.unresolved).toEqual([]);
    expect(r.truncated).toBe(0);
    expect(r.periodNs).toBe(26 * 1001001);
    expect(r.stacks.every((s) => s.comm === 'node')).toBe(true);
    const all = r.stacks.flatMap((s) => s.frames.map((f) => ({ f, n: s.samples })));
    const handle = all.filter(({ f }) => f.name === 'handle' && f.kind === 'js');
    expect(handle[0]?.f).toEqual(js('handle', 'file:///work/wt/profile/dist/servers/tsherve/src/handler.js', 169));
    expect(handle.reduce((s, x) => s + x.n, 0)).toBe(19); // the fixture's samples under tsherve's handler
    // The kernel copy of writev: 13 samples end in _copy_from_iter, below do_writev.
    const copy = r.stacks.filter((s) => s.frames.at(-1)?.name === '_copy_from_iter');
    expect(copy.reduce((n, s) => n + s.samples, 0)).toBe(13);
    expect(copy.every((s) => s.frames.at(-1)?.kind === 'kernel' && s.frames.some((f) => f.name === 'do_writev'))).toBe(true);
    // Root first: the process's entry at the top of every complete stack.
    expect(r.stacks.filter((s) => s.frames[0]?.name === '__libc_start_call_main').length).toBeGreaterThan(0);
  });

  it('gosherve v0.3.3: Go symbols from the unstripped binary, the map refresh on the request path', async () => {
    const r = foldPerfScript(await script('gosherve-old'));
    expect(r.samples).toBe(26);
    expect(r.unresolved).toEqual([]);
    const refresh = r.stacks.filter((s) => s.frames.some((f) => f.name === 'github.com/jnsgruk/gosherve/pkg/server.(*Server).RefreshRedirects'));
    expect(refresh.reduce((n, s) => n + s.samples, 0)).toBe(6);
    // Callers above callees: routeHandler → handleRedirect → LookupRedirect → RefreshRedirects → fetchRedirects.
    const names = refresh[0]!.frames.map((f) => f.name);
    const at = (n: string) => names.indexOf(`github.com/jnsgruk/gosherve/pkg/server.${n}`);
    expect(at('(*Server).routeHandler')).toBeLessThan(at('handleRedirect'));
    expect(at('handleRedirect')).toBeLessThan(at('(*Server).RefreshRedirects'));
    expect(at('(*Server).RefreshRedirects')).toBeLessThan(at('(*Server).fetchRedirects'));
  });

  it('nginx (stripped, no frame pointers): unnamed frames become [nginx], counted per module; cut stacks counted', async () => {
    const r = foldPerfScript(await script('nginx'));
    expect(r.samples).toBe(26);
    expect(r.unresolved).toEqual([{ module: '/usr/sbin/nginx', samples: 9 }]);
    expect(r.truncated).toBe(22);
    const frames = r.stacks.flatMap((s) => s.frames);
    expect(frames.some((f) => f.name === '[nginx]' && f.kind === 'unknown')).toBe(true);
    expect(frames.some((f) => f.name === 'ngx_http_process_request' || f.name.startsWith('ngx_'))).toBe(true); // its exported symbols still resolve
    // A run of "[unknown]" roots from a broken unwind collapses into one.
    expect(r.stacks.some((s) => s.frames[0]?.name === '[unknown]' && s.frames[1]?.name === '[unknown]')).toBe(false);
  });

  it('takes the text in any chunking of lines, and ignores perf\'s notes', async () => {
    const text = await script('gosherve-old');
    const f = new PerfScriptFolder();
    f.push('Warning: 3 out of order events recorded.');
    for (const line of text.split('\n')) f.push(line);
    expect(f.result()).toEqual(foldPerfScript(text));
  });

  it('JIT names: Node 20 "JS:" and older "LazyCompile:" forms, anonymous functions, builtins', () => {
    expect(parseJitName('JS:*clearBuffer node:internal/streams/writable:744:21')).toEqual(js('clearBuffer', 'node:internal/streams/writable', 744));
    expect(parseJitName('LazyCompile:~handle /srv/app/handler.js:12:3')).toEqual(js('handle', '/srv/app/handler.js', 12));
    expect(parseJitName('JS:~ file:///srv/a.js:5:1')).toEqual(js('(anonymous)', 'file:///srv/a.js', 5));
    expect(parseJitName('JS:+serve file:///srv/my;dir/a.js:7:9')).toEqual(js('serve', 'file:///srv/my:dir/a.js', 7)); // ';' would split a folded line
    expect(parseJitName('Builtin:ArrayPrototypePush')).toEqual(js('Builtin ArrayPrototypePush'));
  });

  it('folded files round-trip, heaviest stack first, frames annotated _[k] and _[j]', async () => {
    const r = foldPerfScript(await script('tsherve'));
    const text = renderFolded(r.stacks);
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(r.stacks.length);
    const counts = lines.map((l) => Number(l.slice(l.lastIndexOf(' ') + 1)));
    expect(counts).toEqual([...counts].sort((a, b) => b - a));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(26);
    expect(text).toContain(';handle file:///work/wt/profile/dist/servers/tsherve/src/handler.js:169_[j];');
    expect(text).toContain(';_copy_from_iter_[k] ');
    const back = parseFolded(text);
    const key = (s: FoldedStack) => `${s.comm};${s.frames.map(frameLabel).join(';')}`;
    expect(back.map(key).sort()).toEqual(r.stacks.map(key).sort());
    expect(back.find((s) => s.frames.some((f) => f.name === 'handle'))?.frames.find((f) => f.name === 'handle')).toEqual(js('handle', 'file:///work/wt/profile/dist/servers/tsherve/src/handler.js', 169));
    for (const f of [ker('tcp_sendmsg'), nat('main.main'), js('x', 'node:events', 3), { name: '[nginx]', kind: 'unknown', file: null, line: null } as Frame]) expect(parseFrameLabel(frameLabel(f))).toEqual(f);
    expect(parseFolded('garbage without a count\n\nnode;a 3\n')).toEqual([{ comm: 'node', frames: [nat('a')], samples: 3 }]);
  });
});

describe('top functions', () => {
  // main → serve → handle → { read (3 self), write → copy (5 self) }, plus 2 samples in gc.
  const stacks: FoldedStack[] = [
    { comm: 'srv', frames: [nat('main'), nat('serve'), nat('handle'), nat('read')], samples: 3 },
    { comm: 'srv', frames: [nat('main'), nat('serve'), nat('handle'), nat('write'), ker('copy')], samples: 5 },
    { comm: 'srv', frames: [nat('main'), nat('serve'), nat('handle')], samples: 1 },
    { comm: 'srv', frames: [nat('gc')], samples: 2 },
    { comm: 'srv', frames: [nat('main'), nat('rec'), nat('rec'), nat('rec')], samples: 1 },
  ];

  it('self = leaf; total counts a function once per stack and skips pass-through callers', () => {
    const t = topFunctions(stacks, 10);
    expect(t.samples).toBe(12);
    expect(t.self.map((e) => [e.name, e.samples])).toEqual([['copy', 5], ['read', 3], ['gc', 2], ['handle', 1], ['rec', 1]]);
    expect(t.self[0]).toMatchObject({ kind: 'kernel', share: 5 / 12 });
    // main (10) splits into serve and rec: listed; serve (9) hands 9/9 to handle: a pass-through, so
    // handle (9) stands for it; write (5) hands everything to copy: copy stands for it; rec once, not thrice.
    expect(t.total.map((e) => [e.name, e.samples])).toEqual([['main', 10], ['handle', 9], ['copy', 5], ['read', 3], ['gc', 2], ['rec', 1]]);
  });

  it('leaves unnamed frames out of the total table, keeps them as self, and cuts at n', () => {
    const t = topFunctions([{ comm: 'x', frames: [{ name: '[unknown]', kind: 'unknown', file: null, line: null }, nat('a'), { name: '[nginx]', kind: 'unknown', file: null, line: null }], samples: 4 }, ...stacks], 3);
    expect(t.total.map((e) => e.name)).not.toContain('[unknown]');
    expect(t.self.map((e) => e.name)).toEqual(['copy', '[nginx]', 'read']);
    expect(t.total).toHaveLength(3);
  });

  it('names JavaScript by file and line, and finds shares by pattern', () => {
    expect(displayName(js('handle', 'file:///srv/dist/handler.js', 169))).toBe('handle (handler.js:169)');
    expect(shareMatching(stacks, /^(read|write)$/)).toBeCloseTo(8 / 12);
  });
});

describe('flame tree', () => {
  it('root → thread → frames, values summed, thin nodes pruned, widest first', () => {
    const stacks: FoldedStack[] = [
      { comm: 'srv', frames: [nat('main'), nat('a')], samples: 600 },
      { comm: 'srv', frames: [nat('main'), nat('b')], samples: 399 },
      { comm: 'srv', frames: [nat('main'), nat('tiny')], samples: 1 },
    ];
    const t = buildFlameTree(stacks, { minShare: 0.002 });
    expect(t).toMatchObject({ name: 'all', kind: 'root', value: 1000 });
    expect(t.children).toHaveLength(1);
    const main = t.children[0]!.children[0]!;
    expect(main).toMatchObject({ name: 'main', value: 1000 });
    expect(main.children.map((c) => [c.name, c.value])).toEqual([['a', 600], ['b', 399]]); // tiny: 0.1 % < 0.2 %
    expect(buildFlameTree(stacks, { maxNodes: 3 }).children[0]!.children[0]!.children).toEqual([]);
  });
});

describe('profile warnings', () => {
  it('names modules without symbols with their share, stacks cut short, and too few samples', () => {
    const w = profileWarnings({ samples: 1000, hz: 99, truncatedSamples: 770, unresolved: [{ module: '/usr/sbin/nginx', samples: 110 }, { module: '/lib/x.so', samples: 5 }] }, 'nginx');
    expect(w.map((x) => x.code)).toEqual(['profile', 'profile']);
    expect(w[0]!.message).toBe("nginx's profile lacks function names for /usr/sbin/nginx (11 % of samples): the profile is written, those frames appear as [module]; the binary is stripped: install its debug symbols or build it with a symbol table");
    expect(w[1]!.message).toMatch(/stop early in 77 % of samples/);
    const node = profileWarnings({ samples: 150, hz: 99, truncatedSamples: 0, unresolved: [{ module: '//anon', samples: 60 }] }, 'tsherve');
    expect(node[0]!.message).toMatch(/JIT or anonymous code \(\/\/anon\) \(40 % of samples\).*--perf-basic-prof/);
    expect(node[1]!.message).toMatch(/only 150 samples at 99 Hz/);
    expect(profileWarnings({ samples: 5000, hz: 99, truncatedSamples: 10, unresolved: [] }, 'gosherve')).toEqual([]);
  });
});

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
    expect(leafNames.filter((n) => n === 'crypto/sha1.blockSHANI.abi0')).toHaveLength(r.stacks.filter((s) => s.frames.at(-1)?.name === 'crypto/sha1.blockSHANI.abi0').length);
    expect(Number(p.durationNanos)).toBe(30e9);
  });

  it('go tool pprof -top reads profile.proto: totals, Go and kernel function names', async () => {
    const r = foldPerfScript(await script('gosherve-old'));
    const file = join(dir, 'profile.proto');
    await writeFile(file, renderPprof(r.stacks, { hz: 99, startedAt: new Date(), durationSeconds: 1, periodNs: 1e7 }));
    expect(gunzipSync(await readFile(file)).length).toBeGreaterThan(100); // gzipped on disk
    const { stdout } = await run('go', ['tool', 'pprof', '-top', '-cum', '-nodecount=200', file], { env: { ...process.env, PPROF_TMPDIR: dir }, timeout: 120_000 });
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
