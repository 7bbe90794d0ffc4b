// Folded stacks: `perf script` text → one line per distinct call stack, root first, with its sample
// count ("node;uv_run;…;handle handler.js:169_[j] 42"), the format flame-graph tools share. Kernel
// frames carry `_[k]`, JIT-compiled JavaScript `_[j]`; a frame perf could not name becomes the
// bracketed name of its module ("[nginx]"). Pure: text in, data out, streamable line by line.

export type FrameKind = 'kernel' | 'js' | 'native' | 'unknown';

export interface Frame {
  /** Function name (for JavaScript without file and line). */
  name: string;
  kind: FrameKind;
  /** JavaScript: the script's URL or node: id; otherwise null. */
  file: string | null;
  line: number | null;
}

export interface FoldedStack {
  /** Thread name (perf's comm), the stack's root. */
  comm: string;
  /** Root first, leaf last. */
  frames: Frame[];
  samples: number;
}

/** Where symbols were missing, per module (binary, library, JIT map), in samples. */
interface Unresolved {
  module: string;
  samples: number;
}

export interface FoldResult {
  stacks: FoldedStack[];
  samples: number;
  /** Sum of the samples' periods (cpu-clock: nanoseconds on CPU). */
  periodNs: number;
  /** Process ids seen (perf map files to clean up). */
  pids: number[];
  /** Modules with at least one unnamed frame, by the samples that had one. */
  unresolved: Unresolved[];
  /** Samples whose stack ended in an address perf could not place in any module (broken unwinding). */
  truncated: number;
}

const KERNEL_SUFFIX = '_[k]';
const JS_SUFFIX = '_[j]';

/** A name safe inside a folded line: ';' separates frames and a newline ends the line. */
function clean(s: string): string {
  return s.replace(/;/g, ':').replace(/[\r\n]+/g, ' ');
}

function basename(path: string): string {
  const i = path.lastIndexOf('/');
  return i >= 0 && i < path.length - 1 ? path.slice(i + 1) : path;
}

/**
 * A JIT frame from V8's perf map ("JS:*handle file:///x/handler.js:169:27", older Node
 * "LazyCompile:~handle …"): the tier marker (* optimised, ~ interpreted, ^ baseline, + Maglev) and
 * the column are dropped so one function is one frame whichever tier ran it.
 */
export function parseJitName(sym: string): Frame {
  const m = /^(?:JS|LazyCompile|Function|Script|Eval):[*~^+]?(.*)$/.exec(sym);
  if (!m) return { name: clean(sym.replace(/^(Builtin|Stub|BytecodeHandler|Handler|RegExp):/, '$1 ')), kind: 'js', file: null, line: null };
  const rest = (m[1] ?? '').trim();
  const loc = /^(.*?)\s*(\S+?):(\d+)(?::\d+)?$/.exec(rest);
  if (!loc) return { name: clean(rest || '(anonymous)'), kind: 'js', file: null, line: null };
  return { name: clean(loc[1] || '(anonymous)'), kind: 'js', file: clean(loc[2] ?? ''), line: Number(loc[3]) };
}

/** One frame of `perf script` (symbol and module as perf printed them). */
function frameOf(sym: string, dso: string): Frame {
  if (dso.startsWith('[kernel')) {
    return { name: sym === '[unknown]' ? '[kernel]' : clean(sym), kind: 'kernel', file: null, line: null };
  }
  const jitMap = /\/perf-\d+\.map$/.test(dso);
  if (sym === '[unknown]' || sym === '') {
    const mod = dso === '[unknown]' || dso === '' ? 'unknown' : dso === '//anon' || dso.startsWith('[anon') ? 'anon' : jitMap ? 'JIT' : basename(dso);
    return { name: `[${mod}]`, kind: 'unknown', file: null, line: null };
  }
  if (jitMap) return parseJitName(sym);
  return { name: clean(sym), kind: 'native', file: null, line: null };
}

/** The text of a frame in a folded line. */
export function frameLabel(f: Frame): string {
  if (f.kind === 'kernel') return `${f.name}${KERNEL_SUFFIX}`;
  if (f.kind === 'js') return `${f.name}${f.file !== null ? ` ${f.file}:${f.line ?? 0}` : ''}${JS_SUFFIX}`;
  return f.name;
}

/** Inverse of frameLabel. */
export function parseFrameLabel(label: string): Frame {
  if (label.endsWith(KERNEL_SUFFIX)) return { name: label.slice(0, -KERNEL_SUFFIX.length), kind: 'kernel', file: null, line: null };
  if (label.endsWith(JS_SUFFIX)) {
    const body = label.slice(0, -JS_SUFFIX.length);
    const m = /^(.*) (\S+):(\d+)$/.exec(body);
    return m ? { name: m[1] ?? '', kind: 'js', file: m[2] ?? '', line: Number(m[3]) } : { name: body, kind: 'js', file: null, line: null };
  }
  if (/^\[[^\]]*\]$/.test(label)) return { name: label, kind: 'unknown', file: null, line: null };
  return { name: label, kind: 'native', file: null, line: null };
}

// Header of a sample in `perf script -F comm,pid,tid,period,event,ip,sym,dso`:
// "node 16401/16401    1001001 cpu-clock: " (comm may hold spaces).
const HEADER = /^(.*?)\s+(\d+)\/(\d+)\s+(\d+)\s+([\w:.-]+):\s*$/;
// A frame line: "\t    7f32278f6be0 JS:^parserOnIncoming node:_http_server:1026:26 (/tmp/perf-1.map)".
const FRAME = /^\s+([0-9a-f]+)\s+(.*?)\s+\(([^()]*)\)\s*$/;

/**
 * Folds `perf script` output fed line by line. Kept separate from perf.ts so it is tested on fixed
 * text; `push` takes any chunking of lines (no trailing newline needed).
 */
export class PerfScriptFolder {
  private readonly counts = new Map<string, { comm: string; frames: Frame[]; samples: number }>();
  private readonly unresolved = new Map<string, number>();
  private readonly pids = new Set<number>();
  private samples = 0;
  private periodNs = 0;
  private truncated = 0;
  private current: { comm: string; frames: Frame[]; missing: Set<string>; broken: boolean } | null = null;

  push(line: string): void {
    if (line.trim() === '') {
      this.flush();
      return;
    }
    const h = HEADER.exec(line);
    if (h && !line.startsWith('\t') && !line.startsWith(' ')) {
      this.flush();
      this.current = { comm: clean((h[1] ?? '').trim() || `[${h[2]}]`), frames: [], missing: new Set(), broken: false };
      this.pids.add(Number(h[2]));
      this.periodNs += Number(h[4]);
      return;
    }
    const f = FRAME.exec(line);
    if (!f || !this.current) return; // perf's own notes ("Warning: …") and anything unexpected
    const [, ip, sym = '', dso = ''] = f;
    const frame = frameOf(sym, dso);
    if (frame.kind === 'unknown') {
      if (dso === '[unknown]' || /^0+$/.test(ip ?? '')) this.current.broken = true;
      else this.current.missing.add(frame.name === '[JIT]' ? `${dso} (JIT code)` : dso);
    }
    this.current.frames.push(frame); // leaf first, as perf prints
  }

  private flush(): void {
    const c = this.current;
    this.current = null;
    if (!c) return;
    const frames = c.frames.reverse();
    // Unwinding that stops in unmapped memory leaves "[unknown]" roots: one such frame is enough.
    while (frames.length > 1 && frames[0]?.name === '[unknown]' && frames[1]?.name === '[unknown]') frames.shift();
    this.samples++;
    if (c.broken) this.truncated++;
    for (const m of c.missing) this.unresolved.set(m, (this.unresolved.get(m) ?? 0) + 1);
    const key = `${c.comm};${frames.map(frameLabel).join(';')}`;
    const seen = this.counts.get(key);
    if (seen) seen.samples++;
    else this.counts.set(key, { comm: c.comm, frames, samples: 1 });
  }

  result(): FoldResult {
    this.flush();
    return {
      stacks: [...this.counts.values()],
      samples: this.samples,
      periodNs: this.periodNs,
      pids: [...this.pids].sort((a, b) => a - b),
      unresolved: [...this.unresolved]
        .map(([module, samples]) => ({ module, samples }))
        .sort((a, b) => b.samples - a.samples || a.module.localeCompare(b.module)),
      truncated: this.truncated,
    };
  }
}

/** Fold a whole `perf script` text at once. */
export function foldPerfScript(text: string): FoldResult {
  const folder = new PerfScriptFolder();
  for (const line of text.split('\n')) folder.push(line);
  return folder.result();
}

/** The folded file: one "comm;root;…;leaf count" line per stack, heaviest first. */
export function renderFolded(stacks: readonly FoldedStack[]): string {
  const lines = [...stacks].sort((a, b) => b.samples - a.samples).map((s) => `${[s.comm, ...s.frames.map(frameLabel)].join(';')} ${s.samples}`);
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}

/** Parse a folded file back (what the reports read). Lines that do not end in a count are skipped. */
export function parseFolded(text: string): FoldedStack[] {
  const out: FoldedStack[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    const m = /^(.*) (\d+)$/.exec(line);
    if (!m || !m[1]) continue;
    const [comm = '', ...labels] = m[1].split(';');
    out.push({ comm, frames: labels.map(parseFrameLabel), samples: Number(m[2]) });
  }
  return out;
}
