// The k6 script without k6 (CI has none): it must be valid JavaScript, import only k6's built-in
// modules (the VMs are offline), and declare the workload the parser relies on. Its behaviour
// under real k6 is pinned by the committed real output in fixtures/k6-ours (k6summary.test.ts).
import { readFileSync } from 'node:fs';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { k6ScriptPath } from '../../src/engines/k6.js';
import { REQUIRED_TREND_STATS } from '../../src/engines/k6summary.js';

const script = readFileSync(k6ScriptPath(), 'utf8');

describe('k6/script.js', () => {
  it('is valid JavaScript (module syntax)', async () => {
    const r = await execa(process.execPath, ['--check', k6ScriptPath()], { reject: false });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
  });
  it('imports only k6 built-ins: nothing remote, no jslib', () => {
    const imports = [...script.matchAll(/^import .* from '([^']+)';$/gm)].map((m) => m[1]);
    expect(imports.sort()).toEqual(['k6', 'k6/http', 'k6/metrics']);
    expect(script).not.toMatch(/https?:\/\/[^\s'"`]*jslib|import\s*\(/);
  });
  it('asks k6 for every statistic the driver reports (the driver never fills in a missing one)', () => {
    const m = /summaryTrendStats: (\[[^\]]*\])/.exec(script);
    expect(m, 'summaryTrendStats in options').not.toBeNull();
    const stats = JSON.parse(m![1]!.replace(/'/g, '"')) as string[];
    expect(REQUIRED_TREND_STATS).toEqual(['avg', 'p(50)', 'p(90)', 'p(95)', 'p(99)', 'max']);
    for (const s of REQUIRED_TREND_STATS) expect(stats, s).toContain(s);
    expect(stats).toContain('count');
  });
  it('declares the workload: batch per host 6, redirects not followed', () => {
    expect(script).toMatch(/batchPerHost: 6/);
    expect(script).toMatch(/redirects: 0/);
    expect(script).toMatch(/new Counter\(`status_\$\{code\}`\)/);
    expect(script).toMatch(/\[`\$\{dir\}\/summary\.json`\]: JSON\.stringify\(data\)/);
  });
});
