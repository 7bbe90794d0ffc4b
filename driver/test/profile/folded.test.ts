// profile/folded.ts on real `perf script` output (driver/test/fixtures/perf/*.script.txt: 26 samples
// each of tsherve with V8's perf map, gosherve v0.3.3 and Debian's stripped nginx, recorded with
// perf record -e cpu-clock -g): folding, frame kinds and names, missing-symbol accounting, the folded file round trip.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  foldPerfScript,
  frameLabel,
  parseFolded,
  parseFrameLabel,
  parseJitName,
  PerfScriptFolder,
  renderFolded,
  type FoldedStack,
  type Frame,
} from '../../src/profile/folded.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'perf');
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

  it("takes the text in any chunking of lines, and ignores perf's notes", async () => {
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
    expect(back.find((s) => s.frames.some((f) => f.name === 'handle'))?.frames.find((f) => f.name === 'handle')).toEqual(
      js('handle', 'file:///work/wt/profile/dist/servers/tsherve/src/handler.js', 169),
    );
    for (const f of [ker('tcp_sendmsg'), nat('main.main'), js('x', 'node:events', 3), { name: '[nginx]', kind: 'unknown', file: null, line: null } as Frame])
      expect(parseFrameLabel(frameLabel(f))).toEqual(f);
    expect(parseFolded('garbage without a count\n\nnode;a 3\n')).toEqual([{ comm: 'node', frames: [nat('a')], samples: 3 }]);
  });
});
