// report/table.ts: the plain terminal table (and its median).
import { describe, expect, it } from 'vitest';
import { SCHEMA_VERSION, type CellResult } from '../../src/results/schema.js';
import { renderTable } from '../../src/report/table.js';
import { median } from '../../src/results/stats.js';

function result(impl: string, size: '1' | '2', rep: number, reqPerSec: number, mbs: number, saturated = false): CellResult {
  const sz = size === '1' ? { name: '1', cpus: 1, memoryMiB: 256, vus: 1 } : { name: '2', cpus: 2, memoryMiB: 4096, vus: 10 };
  return {
    schemaVersion: SCHEMA_VERSION,
    id: `${impl}-${size}cpu-r${rep}`,
    impl,
    size: sz,
    rep,
    order: 0,
    engine: { name: 'wrk', version: '4' },
    vus: sz.vus,
    connections: sz.vus * 6,
    warmupSeconds: 5,
    durationSeconds: 30,
    requests: reqPerSec * 30,
    reqPerSec,
    bytes: mbs * 30e6,
    bytesPerSec: mbs * 1e6,
    latencyMs: { avg: 1, p50: 1, p90: 1, p95: 1, p99: 2, max: 3 },
    statusCounts: { '200': 1 },
    failedChecks: 0,
    errors: 0,
    mapFetches: 0,
    resources: {
      serverCpuSeconds: 1,
      serverPeakRssBytes: 1,
      memoryLimitBytes: null,
      memoryEnforced: false,
      serverCpus: [0],
      loadgenCpuSeconds: 1,
      loadgenCpus: [1],
      loadgenUtilisation: 0.5,
    },
    warnings: saturated ? [{ code: 'loadgen-saturated', message: 'x' }] : [],
    startedAt: '',
    finishedAt: '',
    raw: null,
  };
}

describe('renderTable', () => {
  it('puts the median req/s and MB/s of each impl × size in its cell', () => {
    const rs = [
      result('a', '1', 1, 1000, 50),
      result('a', '1', 2, 3000, 150),
      result('a', '1', 3, 2000, 100),
      result('b', '1', 1, 15_453, 899, true),
      result('a', '2', 1, 4000, 200),
      result('a', '2', 2, 5000, 300),
    ];
    const out = renderTable(rs, ['a', 'b']);
    const lines = out.split('\n');
    // `*` means fastest here as in every report; the saturated generator is `†`.
    expect(lines.find((l) => l.includes('1 CPU / 256 MB / 1 VU'))).toMatch(/2,000 req\/s +│ 15,453 req\/s \* †/);
    expect(out).toContain('100 MB/s');
    expect(out).toContain('899 MB/s');
    expect(lines.find((l) => l.includes('2 CPU / 4 GB / 10 VU'))).toMatch(/4,500 req\/s \* .*–/);
    expect(out).toContain('* fastest at that size (by median req/s)');
    expect(out).toContain('† generator-bound: the load generator was saturated');
    expect(
      renderTable(
        rs.filter((r) => r.impl === 'a'),
        ['a'],
      ),
    ).not.toContain('†');
    expect(out).toContain('(n=3)');
  });

  it('median of even and odd counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
  });
});
