// TSHERVE_WORKER_MODE=threads: several worker threads serving one shared copy of the site from
// one port, metrics merged across threads, drain on SIGTERM, and the memory that sharing saves.
import { readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join, relative, sep } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/log.js';
import { adoptSite, loadSite } from '../src/site.js';
import { childPids, downloadAcrossSigterm, rssBytes, runTsherve, RUNTIME, get, makeSite, metrics, metricValue, startMapSource, startTsherve, workersInLog, type MapSource, type Tsherve } from './helpers.js';

let map: MapSource;
beforeAll(async () => {
  map = await startMapSource('gh https://github.com/\ndocs https://example.org/docs\n');
});
afterAll(async () => map?.close());

function filesUnder(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const full = join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else out.push(full);
    }
  };
  walk(root);
  return out;
}

function startThreads(env: Record<string, string>): Promise<Tsherve> {
  return startTsherve({ TSHERVE_REDIRECT_MAP_URL: map.url, TSHERVE_WORKER_MODE: 'threads', ...env });
}

describe('shared site', () => {
  it('loads every body into SharedArrayBuffers, byte for byte, and survives a structured clone as Buffers', () => {
    const { root } = makeSite();
    const site = loadSite(root, { maxBytes: 1 << 30, confineSymlinks: false, log: createLogger('error'), shared: true, toBody: (b: Buffer) => b });
    const files = filesUnder(root);
    expect(site.files).toBe(files.length);
    for (const file of files) {
      const entry = site.decoded.get('/' + relative(root, file).split(sep).join('/'));
      expect(entry, file).toBeDefined();
      expect(entry!.body.buffer).toBeInstanceOf(SharedArrayBuffer);
      expect(entry!.body.equals(readFileSync(file)), file).toBe(true);
    }
    const cloned = adoptSite(structuredClone(site));
    const big = cloned.decoded.get('/big.bin')!;
    expect(Buffer.isBuffer(big.body)).toBe(true);
    expect(big.body.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(cloned.raw.get('/big.bin')).toBe(big); // one entry behind both lookup tables, as before cloning
  });
});

describe('unreadable files', () => {
  // A write-only sysfs attribute: it stats as a 4 KiB file, but reading it is refused even to root.
  const WRITE_ONLY = '/sys/bus/pci/rescan';
  for (const shared of [false, true]) {
    it(`are skipped with a warning while loading the site (shared: ${shared})`, () => {
      expect(statSync(WRITE_ONLY).isFile()).toBe(true);
      const { root } = makeSite();
      symlinkSync(WRITE_ONLY, join(root, 'rescan'));
      const lines: string[] = [];
      const site = loadSite(root, { maxBytes: 1 << 30, confineSymlinks: false, log: createLogger('warn', {}, (l) => lines.push(l)), shared, toBody: (b: Buffer) => b });
      expect(site.decoded.has('/rescan')).toBe(false);
      expect(site.files).toBe(filesUnder(root).length - 1);
      expect(site.bytes).toBe(filesUnder(root).filter((f) => !f.endsWith('rescan')).reduce((n, f) => n + statSync(f).size, 0));
      expect(lines.join('')).toMatch(/"msg":"skipping unreadable file","path":"rescan","error":"EACCES"/);
    });
  }
});

// Threads are Node's (config.ts refuses them under Bun, whose threads cannot share the site's bytes).
describe.runIf(RUNTIME === 'bun')('worker threads under Bun', () => {
  it('are refused with the reason, exit 2, before listening', async () => {
    const r = await runTsherve({ TSHERVE_REDIRECT_MAP_URL: map.url, TSHERVE_WORKER_MODE: 'threads', TSHERVE_WORKERS: '2' });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('tsherve: TSHERVE_WORKER_MODE: "threads" is not available with TSHERVE_RUNTIME=bun (Bun\'s threads cannot share the site\'s bytes; use processes (the default))');
    expect(r.stdout).not.toContain('listening');
  });
});

describe.runIf(RUNTIME === 'node')('worker threads', () => {
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
