// The k6-operator manifest (k6op/testrun.ts) against our schema of the operator's CRD, and our k6
// script's SUMMARY_STDOUT mode run for real in Node (k6's modules stubbed: CI has no k6) so a
// runner's log holds a summary that merge reads back.
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { k6ScriptPath } from '../../src/engines/k6.js';
import { UsageError } from '../../src/errors.js';
import { buildManifest, ManifestSchema, OPERATOR_MOUNT, runnerJobs, SUMMARY_LINE_PREFIX, TestRunSchema, type ManifestInput } from '../../src/k6op/testrun.js';
import { readRunnerSummary } from '../../src/cli/commands/k6-operator.js';

const script = readFileSync(k6ScriptPath(), 'utf8');
const input = (over: Partial<ManifestInput> = {}): ManifestInput => ({
  name: 'server-bench-nginx-1cpu',
  parallelism: 3,
  vus: 3,
  durationSeconds: 30,
  baseUrl: 'http://192.0.2.10:8080/',
  targets: { paths: ['/', '/a.css'], redirects: [{ alias: 'x', target: 'https://example.org/' }] },
  script,
  labels: { 'server-bench/size': '1' },
  separate: false,
  image: null,
  ...over,
});

describe('buildManifest', () => {
  const m = buildManifest(input());
  const [cm, tr] = m.items;

  it('is a List of a ConfigMap and a TestRun that our schema of the CRD accepts', () => {
    expect(ManifestSchema.parse(JSON.parse(JSON.stringify(m)))).toEqual(m);
    expect(tr.apiVersion).toBe('k6.io/v1alpha1');
    expect(tr.kind).toBe('TestRun');
    expect(tr.spec.parallelism).toBe(3);
  });

  it("runs our script from the ConfigMap with the targets beside it, at the operator's mount", () => {
    expect(tr.spec.script.configMap.name).toBe(cm.metadata.name);
    const file = tr.spec.script.configMap.file as string;
    expect(cm.data[file]).toBe(script);
    const env = Object.fromEntries((tr.spec.runner?.env ?? []).map((e) => [e.name, e.value]));
    expect(env.TARGETS?.startsWith(OPERATOR_MOUNT)).toBe(true);
    const targets = JSON.parse(cm.data[env.TARGETS!.slice(OPERATOR_MOUNT.length)]!) as { baseUrl: string; paths: string[]; redirects: unknown[] };
    expect(targets).toEqual({ baseUrl: 'http://192.0.2.10:8080', paths: ['/', '/a.css'], redirects: [{ alias: 'x', target: 'https://example.org/' }] });
    expect(env).toMatchObject({ VUS: '3', DURATION: '30s', SUMMARY_STDOUT: '1' });
    // Every setting the script reads from __ENV is given (none left to its defaults but SUMMARY_DIR, unused here).
    const read = [...script.matchAll(/__ENV(?:\.([A-Z_]+)|\[name\])/g)].map((x) => x[1]).filter(Boolean);
    for (const k of read) if (k !== 'SUMMARY_DIR') expect(env, k).toHaveProperty(k as string);
  });

  it('the CRD schema refuses what the operator would: parallelism 0, a missing script, an unknown field, a bad name', () => {
    const ok = JSON.parse(JSON.stringify(tr)) as Record<string, unknown> & { spec: Record<string, unknown>; metadata: Record<string, unknown> };
    expect(TestRunSchema.safeParse(ok).success).toBe(true);
    expect(TestRunSchema.safeParse({ ...ok, spec: { ...ok.spec, parallelism: 0 } }).success).toBe(false);
    expect(TestRunSchema.safeParse({ ...ok, spec: { ...ok.spec, parallelism: 2 ** 31 } }).success).toBe(false);
    const { script: _s, ...noScript } = ok.spec;
    expect(TestRunSchema.safeParse({ ...ok, spec: noScript }).success).toBe(false);
    expect(TestRunSchema.safeParse({ ...ok, spec: { ...ok.spec, parallelizm: 2 } }).success).toBe(false);
    expect(TestRunSchema.safeParse({ ...ok, metadata: { name: 'Bad_Name' } }).success).toBe(false);
    expect(TestRunSchema.safeParse({ ...ok, apiVersion: 'k6.io/v1' }).success).toBe(false);
  });

  it('--separate and --image reach the spec; the runner Jobs are <name>-1…P', () => {
    const s = buildManifest(input({ separate: true, image: 'grafana/k6:1.4.2' })).items[1];
    expect(s.spec.separate).toBe(true);
    expect(s.spec.runner?.image).toBe('grafana/k6:1.4.2');
    expect(tr.spec.separate).toBeUndefined();
    expect(runnerJobs('t', 3)).toEqual(['t-1', 't-2', 't-3']);
  });

  it('refuses fewer VUs than runners, and a ConfigMap over 1 MiB', () => {
    expect(() => buildManifest(input({ vus: 2 }))).toThrow(UsageError);
    expect(() => buildManifest(input({ vus: 2 }))).toThrow(/--vus 2 is fewer than --parallelism 3/);
    const many = Array.from({ length: 40_000 }, (_, i) => `/a-rather-long-path/number-${i}.html`);
    expect(() => buildManifest(input({ targets: { paths: many, redirects: [] } }))).toThrow(/1 MiB/);
  });
});

describe("k6/script.js's handleSummary with SUMMARY_STDOUT=1", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'k6op-script-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('puts the summary on one stdout line that merge reads back, and writes no file', async () => {
    // The script as a Node module: k6's three imports replaced by stubs, __ENV and open() as globals.
    const stubbed = script
      .replace("import http from 'k6/http';", 'const http = { batch: () => [] };')
      .replace("import { check } from 'k6';", 'const check = () => true;')
      .replace("import { Counter } from 'k6/metrics';", 'class Counter { add() {} }');
    expect(stubbed).not.toMatch(/^import /m);
    const mod = join(dir, 'script.mjs');
    await writeFile(mod, stubbed);
    const targets = join(dir, 'targets.json');
    await writeFile(targets, JSON.stringify({ baseUrl: 'http://h:8080', paths: ['/'], redirects: [] }));
    const g = globalThis as Record<string, unknown>;
    g.__ENV = { TARGETS: targets, SUMMARY_STDOUT: '1', SUMMARY_DIR: dir };
    g.open = (f: string) => readFileSync(f, 'utf8');
    try {
      const { handleSummary } = (await import(pathToFileURL(mod).href)) as { handleSummary: (d: unknown) => Record<string, string> };
      const data = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'k6-ours', 'summary.json'), 'utf8')) as unknown;
      const out = handleSummary(data);
      expect(Object.keys(out)).toEqual(['stdout']);
      const lines = out.stdout!.trimEnd().split('\n');
      expect(lines).toHaveLength(2);
      expect(lines[0]).toBe('server-bench: 28315 requests, 4045 failed checks');
      expect(lines[1]!.startsWith(SUMMARY_LINE_PREFIX)).toBe(true);
      const log = join(dir, 'runner.log');
      await writeFile(log, out.stdout!);
      const r = await readRunnerSummary(log);
      expect(r.raw).toEqual(data);
    } finally {
      delete g.__ENV;
      delete g.open;
    }
  });
});
