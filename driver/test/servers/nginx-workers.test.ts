// The nginx reference gets one worker process per core of the cell, like the servers it is
// compared with (tsherve and tsherve-bun start one worker per CPU).
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nginx, type LocalImplContext } from '../../src/servers/registry.js';

describe('nginx reference workers', () => {
  for (const cpus of [1, 2, 16]) {
    it(`runs ${cpus} worker process(es) on ${cpus} CPU(s)`, () => {
      const workDir = mkdtempSync(join(tmpdir(), 'nginx-workers-'));
      const ctx: LocalImplContext = { webroot: '/srv/site', mapUrl: 'http://127.0.0.1:1/map', cacheDir: workDir, cpus, host: '127.0.0.1', workDir };
      const spec = nginx.launch(ctx);
      const conf = readFileSync(join(workDir, 'nginx.conf'), 'utf8');
      expect(spec.args).toContain(join(workDir, 'nginx.conf'));
      expect(conf).toMatch(new RegExp(`^worker_processes ${cpus};$`, 'm'));
    });
  }
});
