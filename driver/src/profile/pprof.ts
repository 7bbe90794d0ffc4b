// Folded stacks → a gzipped pprof profile (profile.proto), the format `go tool pprof`, Parca and
// pprof.me read. Encoded with pprof-format (a maintained pure-JS encoder) rather than by hand.
// Every location is already symbolised (a function name, and for JavaScript its file and line), so
// readers never try to symbolise addresses; the thread name is a sample label. Pure but for gzip.
import { gzipSync } from 'node:zlib';
import { Function as PprofFunction, Label, Line, Location, Profile, Sample, StringTable, ValueType } from 'pprof-format';
import type { FoldedStack, Frame } from './folded.js';

export interface PprofOptions {
  /** Sampling frequency (Hz): one sample stands for 1e9 / hz ns of CPU. */
  hz: number;
  /** Start of the profiled window. */
  startedAt: Date;
  durationSeconds: number;
  /** Average cpu-clock period per sample when perf reported it (ns); default 1e9 / hz. */
  periodNs?: number;
  comments?: string[];
}

const KIND_FILE: Record<Frame['kind'], string> = { kernel: '[kernel]', js: '', native: '', unknown: '' };

/** The protobuf bytes, not yet gzipped (tests decode them). */
export function encodePprof(stacks: readonly FoldedStack[], o: PprofOptions): Uint8Array {
  const strings = new StringTable();
  const functions = new Map<string, PprofFunction>();
  const locations = new Map<string, Location>();
  const locationOf = (f: Frame): Location => {
    const file = f.file ?? KIND_FILE[f.kind];
    const fnKey = `${f.kind}\u0000${f.name}\u0000${file}`;
    let fn = functions.get(fnKey);
    if (!fn) {
      const name = strings.dedup(f.kind === 'kernel' ? `${f.name} [kernel]` : f.name);
      fn = new PprofFunction({ id: functions.size + 1, name, systemName: name, filename: strings.dedup(file), startLine: 0 });
      functions.set(fnKey, fn);
    }
    const locKey = `${fnKey}\u0000${f.line ?? 0}`;
    let loc = locations.get(locKey);
    if (!loc) {
      loc = new Location({ id: locations.size + 1, mappingId: 0, address: 0, line: [new Line({ functionId: fn.id, line: f.line ?? 0 })] });
      locations.set(locKey, loc);
    }
    return loc;
  };
  const period = o.periodNs !== undefined && o.periodNs > 0 ? Math.round(o.periodNs) : Math.round(1e9 / o.hz);
  const threadKey = strings.dedup('thread');
  const samples: Sample[] = stacks.map(
    (s) =>
      new Sample({
        // pprof lists a stack leaf first.
        locationId: [...s.frames].reverse().map((f) => locationOf(f).id),
        value: [s.samples, s.samples * period],
        label: [new Label({ key: threadKey, str: strings.dedup(s.comm) })],
      }),
  );
  const profile = new Profile({
    sampleType: [
      new ValueType({ type: strings.dedup('samples'), unit: strings.dedup('count') }),
      new ValueType({ type: strings.dedup('cpu'), unit: strings.dedup('nanoseconds') }),
    ],
    sample: samples,
    location: [...locations.values()],
    function: [...functions.values()],
    stringTable: strings,
    timeNanos: BigInt(o.startedAt.getTime()) * 1_000_000n,
    durationNanos: BigInt(Math.round(o.durationSeconds * 1e9)),
    periodType: new ValueType({ type: strings.dedup('cpu'), unit: strings.dedup('nanoseconds') }),
    period,
    comment: (o.comments ?? []).map((c) => strings.dedup(c)),
    defaultSampleType: strings.dedup('cpu'),
  });
  return profile.encode();
}

/** profile.proto as written to disk: gzipped, as pprof tools expect. */
export function renderPprof(stacks: readonly FoldedStack[], o: PprofOptions): Buffer {
  return gzipSync(encodePprof(stacks, o));
}
