// TSHERVE_WORKER_MODE=threads, what holds on both runtimes: the shared site's loading, unreadable
// files, and Bun's refusal of threads. Node's threads serving requests: threads.node.test.ts.
import { readFileSync, statSync, symlinkSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/log.js';
import { adoptSite, loadSite } from '../src/site.js';
import { filesUnder, makeSite, runTsherve, startMapSource, type MapSource } from './helpers.js';

let map: MapSource;
beforeAll(async () => {
  map = await startMapSource('gh https://github.com/\ndocs https://example.org/docs\n');
});
afterAll(async () => map?.close());

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
      const site = loadSite(root, {
        maxBytes: 1 << 30,
        confineSymlinks: false,
        log: createLogger('warn', {}, (l) => lines.push(l)),
        shared,
        toBody: (b: Buffer) => b,
      });
      expect(site.decoded.has('/rescan')).toBe(false);
      expect(site.files).toBe(filesUnder(root).length - 1);
      expect(site.bytes).toBe(
        filesUnder(root)
          .filter((f) => !f.endsWith('rescan'))
          .reduce((n, f) => n + statSync(f).size, 0),
      );
      expect(lines.join('')).toMatch(/"msg":"skipping unreadable file","path":"rescan","error":"EACCES"/);
    });
  }
});

// Threads are Node's: config.ts refuses them with TSHERVE_RUNTIME=bun (Bun's threads cannot share
// the site's bytes) before relaunching, so this holds whichever runtime reads the configuration and
// runs in both suites. Node's threads themselves are tested in threads.node.test.ts, which only the
// Node suite selects (vitest.config.ts); Bun's workers are processes, tested in process.test.ts
// (replacement, drain with 2 workers) and metrics.test.ts (2 workers, merged metrics).
describe('worker threads with TSHERVE_RUNTIME=bun', () => {
  it('are refused with the reason, exit 2, before listening', async () => {
    const r = await runTsherve({ TSHERVE_REDIRECT_MAP_URL: map.url, TSHERVE_RUNTIME: 'bun', TSHERVE_WORKER_MODE: 'threads', TSHERVE_WORKERS: '2' });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(
      'tsherve: TSHERVE_WORKER_MODE: "threads" is not available with TSHERVE_RUNTIME=bun (Bun\'s threads cannot share the site\'s bytes; use processes (the default))',
    );
    expect(r.stdout).not.toContain('listening');
  });
});
