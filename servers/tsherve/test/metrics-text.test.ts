// The metrics module without a server: snapshots, merging, the IPC check and the text format.
import { describe, expect, it } from 'vitest';
import { parseCoordinatorMessage, parseWorkerMessage } from '../src/scrape.js';
import {
  DURATION_BUCKETS,
  escapeLabel,
  HotCounters,
  mergeSnapshots,
  parseSnapshot,
  ProcessMonitor,
  renderSnapshot,
  takeSnapshot,
  type Snapshot,
} from '../src/metrics.js';

function snapshotAfter(fill: (hot: HotCounters) => void, defined = 2): Snapshot {
  const hot = new HotCounters();
  fill(hot);
  const monitor = new ProcessMonitor();
  try {
    return takeSnapshot({ hot, redirectsDefined: () => defined, refreshes: () => ({ ok: 1, error: 0, skipped: 3 }) }, monitor);
  } finally {
    monitor.stop();
  }
}

/** Every line of the text format is a comment or `name{labels} value`; returns the samples. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  const families = new Set<string>();
  expect(text.endsWith('\n')).toBe(true);
  for (const line of text.trimEnd().split('\n')) {
    const type = /^# TYPE (\S+) (counter|gauge|histogram)$/.exec(line);
    if (type) {
      expect(families.has(type[1]!)).toBe(false); // each family once
      families.add(type[1]!);
      continue;
    }
    if (line.startsWith('# HELP ')) continue;
    const m = /^([a-z_:][a-z0-9_:]*)(\{(?:[a-z_]+="(?:[^"\\\n]|\\["\\n])*",?)*\})? (\S+)$/.exec(line);
    expect(m, `not a sample line: ${line}`).not.toBeNull();
    const value = m![3] === '+Inf' ? Number.POSITIVE_INFINITY : Number(m![3]);
    expect(Number.isNaN(value)).toBe(false);
    out.set(`${m![1]}${m![2] ?? ''}`, value);
  }
  return out;
}

describe('metrics text', () => {
  it('renders the hot counters exactly, with a cumulative histogram', () => {
    const s = snapshotAfter((hot) => {
      hot.requests = 5;
      hot.countStatus(200);
      hot.countStatus(200);
      hot.countStatus(404);
      hot.countRedirect('gh');
      hot.observe(0.00005); // first bucket
      hot.observe(0.0003); // 0.0005 bucket
      hot.observe(10); // +Inf only
    });
    const m = samples(renderSnapshot(s));
    expect(m.get('tsherve_requests_total')).toBe(5);
    expect(m.get('tsherve_response_status{status="200"}')).toBe(2);
    expect(m.get('tsherve_response_status{status="404"}')).toBe(1);
    expect(m.has('tsherve_response_status{status="500"}')).toBe(false);
    expect(m.get('tsherve_redirects_served{alias="gh"}')).toBe(1);
    expect(m.get('tsherve_redirects_defined')).toBe(2);
    expect(m.get('tsherve_redirect_map_refreshes_total{result="skipped"}')).toBe(3);
    expect(m.get('tsherve_request_duration_seconds_bucket{le="0.0001"}')).toBe(1);
    expect(m.get('tsherve_request_duration_seconds_bucket{le="0.00025"}')).toBe(1);
    expect(m.get('tsherve_request_duration_seconds_bucket{le="0.0005"}')).toBe(2);
    expect(m.get('tsherve_request_duration_seconds_bucket{le="5"}')).toBe(2);
    expect(m.get('tsherve_request_duration_seconds_bucket{le="+Inf"}')).toBe(3);
    expect(m.get('tsherve_request_duration_seconds_count')).toBe(3);
    expect(m.get('tsherve_request_duration_seconds_sum')).toBeCloseTo(10.00035, 10);
    expect(m.get('tsherve_process_resident_memory_bytes')).toBeGreaterThan(10 * 1024 * 1024);
    expect(m.get('tsherve_process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(m.get('tsherve_process_open_fds')).toBeGreaterThan(2);
    expect(m.has('tsherve_nodejs_eventloop_lag_seconds')).toBe(true);
    expect(
      m.get(
        `tsherve_nodejs_version_info{version="${process.version}",major="${process.versions.node.split('.')[0]}",minor="${process.versions.node.split('.')[1]}",patch="${process.versions.node.split('.')[2]}"}`,
      ),
    ).toBe(1);
    const bun = process.versions.bun;
    expect(m.get(`tsherve_runtime_info{runtime="${bun === undefined ? 'node' : 'bun'}",version="${bun ?? process.versions.node}"}`)).toBe(1);
  });

  it('escapes label values from the map (quotes, backslashes, newlines)', () => {
    expect(escapeLabel('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
    const s = snapshotAfter((hot) => hot.countRedirect('we"ird\\alias'));
    expect(renderSnapshot(s)).toContain('tsherve_redirects_served{alias="we\\"ird\\\\alias"} 1\n');
    samples(renderSnapshot(s));
  });

  it('merges workers: counters and buckets summed, the defined gauge not, memory summed with the primary', () => {
    const a = snapshotAfter((hot) => {
      hot.requests = 3;
      hot.countStatus(200);
      hot.countRedirect('gh');
      hot.observe(0.001);
    });
    const b = snapshotAfter((hot) => {
      hot.requests = 4;
      hot.countStatus(200);
      hot.countStatus(301);
      hot.countRedirect('gh');
      hot.countRedirect('docs');
      hot.observe(0.001);
      hot.observe(1);
    });
    const primary = new ProcessMonitor();
    const figures = primary.sample();
    primary.stop();
    const m = mergeSnapshots([a, b], [figures]);
    expect(m.requests).toBe(7);
    expect(m.status).toEqual({ '200': 2, '301': 1 });
    expect(m.redirects).toEqual({ gh: 2, docs: 1 });
    expect(m.redirectsDefined).toBe(2);
    expect(m.refreshes).toEqual({ ok: 2, error: 0, skipped: 6 });
    expect(m.durationCount).toBe(3);
    expect(m.durationBuckets.reduce((x, y) => x + y, 0)).toBe(3);
    expect(m.processes).toBe(3);
    expect(m.process.residentBytes).toBe(a.process.residentBytes + b.process.residentBytes + figures.residentBytes);
    expect(renderSnapshot(m)).toContain('(summed over 3 processes)');
    expect(samples(renderSnapshot(m)).get('tsherve_requests_total')).toBe(7);
  });

  it('accepts a snapshot that crossed IPC (JSON) and refuses broken ones', () => {
    const s = snapshotAfter((hot) => (hot.requests = 1));
    const wire: unknown = JSON.parse(JSON.stringify(s));
    expect(parseSnapshot(wire)).toEqual(s);
    const broken = (change: (o: Record<string, unknown>) => void): unknown => {
      const o = JSON.parse(JSON.stringify(s)) as Record<string, unknown>;
      change(o);
      return o;
    };
    expect(parseSnapshot(broken((o) => (o.requests = -1)))).toBeNull();
    expect(parseSnapshot(broken((o) => (o.status = { '200': 'many' })))).toBeNull();
    expect(parseSnapshot(broken((o) => (o.durationBuckets = [1, 2])))).toBeNull();
    expect(parseSnapshot(broken((o) => delete o.process))).toBeNull();
    expect(parseSnapshot(broken((o) => ((o.process as Record<string, unknown>).lag = null)))).toBeNull();
    expect(parseSnapshot('x')).toBeNull();
    expect(DURATION_BUCKETS.length + 1).toBe(s.durationBuckets.length);
  });

  it('checks worker and primary messages field by field', () => {
    expect(parseWorkerMessage({ type: 'tsherve:ready', port: 8080 })).toEqual({ type: 'tsherve:ready', port: 8080 });
    expect(parseWorkerMessage({ type: 'tsherve:ready', port: 0 })).toBeNull();
    expect(parseWorkerMessage({ type: 'tsherve:fatal', line: 'x', exitCode: 3 })).toEqual({ type: 'tsherve:fatal', line: 'x', exitCode: 3 });
    expect(parseWorkerMessage({ type: 'tsherve:fatal', line: 3, exitCode: 3 })).toBeNull();
    expect(parseWorkerMessage({ type: 'tsherve:metrics', id: 1, snapshot: { nope: true } })).toEqual({ type: 'tsherve:metrics', id: 1, snapshot: null });
    expect(parseWorkerMessage({ type: 'other' })).toBeNull();
    expect(parseWorkerMessage(null)).toBeNull();
    expect(parseCoordinatorMessage({ type: 'tsherve:scrape', id: 7 })).toEqual({ type: 'tsherve:scrape', id: 7 });
    expect(parseCoordinatorMessage({ type: 'tsherve:scrape', id: -1 })).toBeNull();
    expect(parseCoordinatorMessage({ type: 'tsherve:shutdown' })).toEqual({ type: 'tsherve:shutdown' });
    expect(parseCoordinatorMessage({ type: 'tsherve:other' })).toBeNull();
  });
});
