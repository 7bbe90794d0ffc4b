// `server-bench k6-operator` through the built CLI as a real process: the manifest for one size of
// a hosts file validates against our schema of the operator's CRD; wrong input is one line with a
// fix and a non-zero exit; merge of two runners' logs stores one cell the reports read.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/errors.js';
import { ManifestSchema, SUMMARY_LINE_PREFIX } from '../../src/k6op/testrun.js';
import { CellResultSchema } from '../../src/results/schema.js';
import { writeTargets } from '../../src/site/targets.js';
import { assertCliBuilt, CLI, oneLine, ROOT } from '../support/cli.js';

let dir: string;
let hosts: string;
let runDir: string;

async function cli(args: string[]) {
  return execa(process.execPath, [CLI, ...args], {
    reject: false,
    timeout: 60_000,
    cwd: ROOT,
    env: { ...process.env, SERVER_BENCH_CACHE: join(dir, 'cache') },
  });
}

beforeAll(async () => {
  assertCliBuilt();
  dir = await mkdtemp(join(tmpdir(), 'k6op-e2e-'));
  // A made-up host key: the manifest never connects, but the hosts file is validated as bench reads it.
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'k6op-test', '-f', join(dir, 'hostkey')]);
  const hostKey = (await readFile(join(dir, 'hostkey.pub'), 'utf8')).trim();
  hosts = join(dir, 'hosts.json');
  await writeFile(
    hosts,
    JSON.stringify({
      hosts: {
        '1': {
          ssh: { user: 'root', host: '192.0.2.10', identityFile: 'id', hostKey },
          serverCpus: [0],
          generatorCpus: [1],
          generator: { ssh: { user: 'root', host: '192.0.2.20', identityFile: 'id', hostKey }, cpus: [0], serverAddress: '10.0.0.10' },
        },
      },
    }),
  );
  runDir = join(dir, 'run');
  await writeTargets(runDir, { paths: ['/', '/style.css'], redirects: [{ alias: 'gh', target: 'https://example.org/' }] });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

it.each(['k6-operator --help', 'k6-operator manifest --help', 'k6-operator merge --help'])('server-bench %s: usage on stdout, exit 0', async (line) => {
  const r = await cli(line.split(' '));
  expect(r.exitCode, r.stderr).toBe(0);
  expect(r.stderr).toBe('');
  expect(r.stdout).toMatch(/^usage: server-bench k6-operator manifest --hosts FILE --size N --parallelism P/);
  expect((await cli(['--help'])).stdout).toMatch(/^ {2}k6-operator +manifest\|merge/m);
});

describe('k6-operator manifest', () => {
  it("prints a List the CRD schema accepts, aimed at the server address of that size and the impl's port", async () => {
    const r = await cli([
      'k6-operator',
      'manifest',
      '--hosts',
      hosts,
      '--size',
      '1',
      '--parallelism',
      '2',
      '--impl',
      'tsherve',
      '--duration',
      '20s',
      '--targets',
      runDir,
    ]);
    expect(r.exitCode, r.stderr).toBe(ExitCode.ok);
    const m = ManifestSchema.parse(JSON.parse(r.stdout));
    const [cm, tr] = m.items;
    expect(tr.metadata.name).toBe('server-bench-tsherve-1cpu');
    expect(tr.spec.parallelism).toBe(2);
    const env = Object.fromEntries((tr.spec.runner?.env ?? []).map((e) => [e.name, e.value]));
    // Size 1 runs 1 VU; each of the 2 runners gets the size's VUs.
    expect(env).toMatchObject({ VUS: '2', DURATION: '20s', TARGETS: '/test/targets.json' });
    expect(JSON.parse(cm.data['targets.json']!)).toMatchObject({ baseUrl: 'http://10.0.0.10:8080', paths: ['/', '/style.css'] });
    expect(r.stderr).toMatch(
      /for j in server-bench-tsherve-1cpu-1 server-bench-tsherve-1cpu-2; do kubectl logs job\/\$j > \$j\.log; done; server-bench k6-operator merge/,
    );
  });

  it('--out writes the file', async () => {
    const out = join(dir, 'manifest.json');
    const r = await cli(['k6-operator', 'manifest', '--hosts', hosts, '--size', '1', '--parallelism', '1', '--targets', runDir, '--out', out]);
    expect(r.exitCode, r.stderr).toBe(ExitCode.ok);
    expect(r.stdout).toBe('');
    expect(ManifestSchema.parse(JSON.parse(await readFile(out, 'utf8'))).items[1].spec.parallelism).toBe(1);
  });

  it.each([
    [['--size', '3', '--parallelism', '2'], ExitCode.usage, /--size 3: not a size \(sizes: 1, 2, 16/],
    [['--size', '2', '--parallelism', '2'], ExitCode.input, /no host for size 2 \(add hosts\."2"/],
    [['--size', '1', '--parallelism', '0'], ExitCode.usage, /--parallelism 0: must be a whole number ≥ 1 \(the number of k6 runner pods/],
    [['--size', '1'], ExitCode.usage, /--parallelism P is required/],
    [['--size', '1', '--parallelism', '4', '--vus', '2'], ExitCode.usage, /--vus 2 is fewer than --parallelism 4: .* \(give --vus 4 or more/],
    [['--size', '1', '--parallelism', '2', '--name', 'Not_A_Name'], ExitCode.usage, /--name Not_A_Name: not a Kubernetes name \(lower-case/],
  ])('%j → one line with a fix', async (args, code, message) => {
    const r = await cli(['k6-operator', 'manifest', '--hosts', hosts, '--targets', runDir, ...args]);
    expect(r.exitCode).toBe(code);
    expect(oneLine(r.stderr)).toMatch(message);
    expect(r.stdout).toBe('');
  });

  it('no hosts file, or one that is not there → one line', async () => {
    const none = await cli(['k6-operator', 'manifest', '--size', '1', '--parallelism', '2']);
    expect(none.exitCode).toBe(ExitCode.usage);
    expect(oneLine(none.stderr)).toMatch(/--hosts FILE is required \(name the hosts file/);
    const missing = await cli(['k6-operator', 'manifest', '--hosts', join(dir, 'nope.json'), '--size', '1', '--parallelism', '2']);
    expect(missing.exitCode).toBe(ExitCode.input);
    expect(oneLine(missing.stderr)).toMatch(/--hosts .*nope\.json: cannot read it \(ENOENT\) \(give the path of a hosts file/);
  });
});

describe('k6-operator merge', () => {
  const OURS = join(ROOT, 'driver', 'test', 'fixtures', 'k6-ours', 'summary.json');
  const SIMPLE = '/work/shared/fixtures/k6-summaries/benc-uk__k6-reporter__simple.json';

  it("two runners' logs → one k6 cell whose summary says which numbers are exact", async () => {
    const logs: string[] = [];
    for (const [i, f] of [OURS, SIMPLE].entries()) {
      const log = join(dir, `r-${i + 1}.log`);
      await writeFile(log, `server-bench: …\n${SUMMARY_LINE_PREFIX}${JSON.stringify(JSON.parse(await readFile(f, 'utf8')))}\n`);
      logs.push(log);
    }
    const out = join(dir, 'merged');
    const r = await cli(['k6-operator', 'merge', ...logs, '--size', '1', '--impl', 'tsherve', '--out', out]);
    expect(r.exitCode, r.stderr).toBe(ExitCode.ok);
    expect(r.stdout).toMatch(/2 runner\(s\), 29193 requests/);
    expect(r.stdout).toMatch(/p\(95\) 1\.058–30\.026 \(bound\)/);
    const cellDir = join(out, 'cells', '1cpu', 'tsherve', 'r1');
    const cell = CellResultSchema.parse(JSON.parse(await readFile(join(cellDir, 'result.json'), 'utf8')));
    expect(cell.requests).toBe(28315 + 878);
    expect(cell.engine.name).toBe('k6');
    expect(cell.warnings.map((w) => w.code)).toContain('substituted');
    const summary = JSON.parse(await readFile(join(cellDir, 'summary.json'), 'utf8')) as {
      serverBenchMerge: { runners: number; metrics: Record<string, { stats: Record<string, { exact: boolean }> }> };
    };
    expect(summary.serverBenchMerge.runners).toBe(2);
    expect(summary.serverBenchMerge.metrics.http_reqs?.stats.count?.exact).toBe(true);
    expect(summary.serverBenchMerge.metrics.http_req_duration?.stats['p(95)']?.exact).toBe(false);
    expect(await readFile(join(cellDir, 'summary.txt'), 'utf8')).toMatch(/http_reqs\.+: 29193/);
  });

  it('a corrupt summary → one line naming the file, exit 3', async () => {
    const bad = join(dir, 'bad.json');
    await writeFile(bad, '{"metrics": {"http_reqs": ');
    const r = await cli(['k6-operator', 'merge', OURS, bad, '--size', '1', '--out', join(dir, 'never')]);
    expect(r.exitCode).toBe(ExitCode.input);
    expect(oneLine(r.stderr)).toMatch(new RegExp(`server-bench: ${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: k6 summary: not JSON`));
  });
});
