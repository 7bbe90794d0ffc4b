// Node only (TSHERVE_WORKER_MODE=threads): several worker threads serving one shared copy of the
// site from one port, metrics merged across threads, drain on SIGTERM, and the memory that sharing
// saves. Selected only when the suite's tsherve runs on Node: vitest.config.ts leaves *.node.test.ts
// out of the Bun suite (npm run test:tsherve:bun), where threads are refused (threads.test.ts) and
// several workers are processes (process.test.ts, metrics.test.ts).
import { readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join, relative, sep } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  childPids,
  downloadAcrossSigterm,
  filesUnder,
  get,
  makeSite,
  metrics,
  metricValue,
  rssBytes,
  RUNTIME,
  startMapSource,
  startTsherve,
  workersInLog,
  type MapSource,
  type Tsherve,
} from './helpers.js';

let map: MapSource;
beforeAll(async () => {
  if (RUNTIME !== 'node')
    throw new Error(`threads.node.test.ts runs tsherve on Node only, but the suite's runtime is ${RUNTIME}: vitest.config.ts should have left it out`);
  map = await startMapSource('gh https://github.com/\ndocs https://example.org/docs\n');
});
afterAll(async () => map?.close());

function startThreads(env: Record<string, string>): Promise<Tsherve> {
  return startTsherve({ TSHERVE_REDIRECT_MAP_URL: map.url, TSHERVE_WORKER_MODE: 'threads', ...env });
}

describe('worker threads', () => {
  it('serve every file byte for byte on one port, both threads taking part, with no child process left', async () => {
    const { root } = makeSite();
    const ts = await startThreads({ TSHERVE_WEBROOT: root, TSHERVE_WORKERS: '2', TSHERVE_LOG_LEVEL: 'debug' });
    try {
      const files = filesUnder(root);
      for (let round = 0; round < 3; round++) {
        for (const file of files) {
          const path = '/' + relative(root, file).split(sep).map(encodeURIComponent).join('/');
          const r = await get(ts.base, path); // a new connection each time
          expect(r.status, path).toBe(200);
          expect(r.body.equals(readFileSync(file)), path).toBe(true);
        }
      }
      const workers = workersInLog(ts.stdout());
      expect(workers.size).toBe(2);
      // The descriptor helpers have exited: threads, not processes.
      const children = childPids(ts.proc.pid!);
      expect(children).toEqual([]);
      expect(ts.stdout()).toContain('"workerMode":"threads"');
    } finally {
      expect(await ts.stop()).toBe(0);
    }
  });

  it('merge metrics exactly: counters summed over threads, the map gauge not, memory counted once', async () => {
    const ts = await startThreads({ TSHERVE_WEBROOT: makeSite().root, TSHERVE_WORKERS: '2' });
    try {
      for (let i = 0; i < 3; i++) expect((await get(ts.base, '/')).status).toBe(200);
      for (let i = 0; i < 2; i++) expect((await get(ts.base, '/gh')).status).toBe(301);
      expect((await get(ts.base, '/missing')).status).toBe(404);
      const m = await metrics(ts.metricsPort);
      expect(metricValue(m, 'tsherve_requests_total')).toBe(6);
      expect(metricValue(m, 'tsherve_response_status{status="200"}')).toBe(3);
      expect(metricValue(m, 'tsherve_redirects_served{alias="gh"}')).toBe(2);
      expect(metricValue(m, 'tsherve_redirects_defined')).toBe(2);
      expect(metricValue(m, 'tsherve_request_duration_seconds_count')).toBe(6);
      // One process: its resident memory once (not once per thread); heaps summed over 3 isolates.
      expect(m).toContain('# HELP tsherve_process_resident_memory_bytes Resident memory, bytes\n');
      expect(metricValue(m, 'tsherve_process_resident_memory_bytes')).toBeLessThan((rssBytes(ts.proc.pid!) ?? 0) * 1.5);
      expect(m).toContain('V8 heap used, bytes (summed over 3 V8 isolates');
    } finally {
      expect(await ts.stop()).toBe(0);
    }
  });

  it('drain an in-flight large download on SIGTERM, exit 0 and free the port', async () => {
    const { root } = makeSite();
    const ts = await startThreads({ TSHERVE_WEBROOT: root, TSHERVE_WORKERS: '2' });
    const received = await downloadAcrossSigterm(ts);
    expect(received).toBe(8 * 1024 * 1024);
    expect(await ts.stop()).toBe(0);
    const refused = await new Promise<string>((resolve) => {
      const s = connect(ts.port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve('connected');
      });
      s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    });
    expect(refused).toBe('ECONNREFUSED');
  });

  it('an extra thread costs far less memory than a copy of the site (48 MiB site)', async () => {
    const { root } = makeSite();
    writeFileSync(join(root, 'large.bin'), Buffer.alloc(40 * 1024 * 1024, 3));
    const settle = async (ts: Tsherve): Promise<number> => {
      for (let i = 0; i < 8; i++) expect((await get(ts.base, '/large.bin', { method: 'HEAD' })).status).toBe(200);
      await new Promise((r) => setTimeout(r, 500));
      return rssBytes(ts.proc.pid!) ?? 0;
    };
    const two = await startThreads({ TSHERVE_WEBROOT: root, TSHERVE_WORKERS: '2' });
    const rssTwo = await settle(two);
    expect(await two.stop()).toBe(0);
    const four = await startThreads({ TSHERVE_WEBROOT: root, TSHERVE_WORKERS: '4' });
    const rssFour = await settle(four);
    expect(await four.stop()).toBe(0);
    const perThread = (rssFour - rssTwo) / 2;
    // A copy per thread would add ≥ 48 MiB each; a shared site adds an isolate (~15 MB measured).
    expect(perThread).toBeLessThan(24 * 1024 * 1024);
    expect(perThread).toBeGreaterThan(0);
  });
});
