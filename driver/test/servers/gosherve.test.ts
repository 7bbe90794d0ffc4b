// Where a gosherve binary comes from (gosherve.ts, checkout.ts) with real builds: a small Go
// module this test writes (never gosherve, never named so) built from its checkout, the cache,
// rebuilds when its Go files change, a build that does not answer --help never cached, and a tag
// with no binary anywhere named in one line with every place tried. The built CLI's `prepare`
// prints each step.
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode, InputError, UsageError } from '../../src/errors.js';
import { cachedTagBinary, obtainCheckout, obtainTag, parseGosherveSpec, tagEnvVar } from '../../src/servers/gosherve.js';
import { resolveImpls } from '../../src/servers/registry.js';
import { writeGoServer } from '../fixtures/go-servers.js';

const ROOT = join(dirname(new URL(import.meta.url).pathname), '..', '..', '..');
const CLI = join(ROOT, 'dist', 'driver', 'src', 'cli', 'main.js');

let work: string;
let cache: string;
let checkout: string;

async function cli(args: string[], env: Record<string, string> = {}) {
  return execa(process.execPath, [CLI, ...args], { reject: false, timeout: 600_000, env: { SERVER_BENCH_CACHE: cache, GOPROXY: 'off', ...env } });
}

/** Every folder under the checkouts cache, relative: what was cached. */
async function cachedBuilds(): Promise<string[]> {
  const root = join(cache, 'checkouts');
  const out: string[] = [];
  for (const c of await readdir(root).catch(() => [] as string[])) for (const b of await readdir(join(root, c))) out.push(`${c}/${b}`);
  return out.sort();
}

beforeAll(async () => {
  // go install fails at once, as it does wherever the module proxy refuses gosherve (and never downloads here).
  process.env.GOPROXY = 'off';
  work = await mkdtemp(join(tmpdir(), 'gosherve-src-test-'));
  cache = join(work, 'cache');
  checkout = await writeGoServer(join(work, 'tiny-fileserver'), { refreshEveryRequest: false });
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('gosherve@ specs', () => {
  it('parses tags and checkout paths, and says what is wrong with anything else', () => {
    expect(parseGosherveSpec('v0.3.7')).toEqual({ kind: 'tag', tag: 'v0.3.7' });
    expect(parseGosherveSpec(checkout)).toEqual({ kind: 'checkout', dir: checkout });
    expect(() => parseGosherveSpec('./no/such/dir')).toThrow(InputError);
    expect(() => parseGosherveSpec('./no/such/dir')).toThrow(/no such folder/);
    expect(() => parseGosherveSpec(work)).toThrow(/has no go\.mod/);
    expect(() => parseGosherveSpec('v1 beta')).toThrow(UsageError);
    expect(tagEnvVar('v0.3.7')).toBe('SERVER_BENCH_GOSHERVE_BIN_V0_3_7');
  });

  it('resolves --impls entries in order: a checkout is named after its folder, a tag keeps its spec', () => {
    const problems: Error[] = [];
    const impls = resolveImpls(['tsherve', `gosherve@${checkout}`, 'gosherve@v0.3.7', 'gosherve', `gosherve@${checkout}`, 'nosuch'], problems as never);
    expect(impls.map((i) => i.name)).toEqual(['tsherve', 'tiny-fileserver', 'gosherve@v0.3.7', 'gosherve']);
    expect(problems.map((p) => p.message)).toEqual(['unknown implementation "nosuch"']);
  });
});

describe('a checkout built into the cache', () => {
  it('builds once, reuses the build while the Go files are unchanged, rebuilds when they change', async () => {
    const first = await obtainCheckout(checkout, cache);
    expect('bin' in first, JSON.stringify(first)).toBe(true);
    if (!('bin' in first)) return;
    expect(first.steps[0]).toMatch(/^cache: no build of these 2 Go files$/);
    expect(first.steps[1]).toMatch(/^go build \. in .*tiny-fileserver: [0-9.]+ s → /);
    expect(first.version).toMatch(/^tiny-fileserver content [0-9a-f]{12} \(checkout /);
    expect((await execa(first.bin, ['--help'])).stdout).toMatch(/test server/);

    const again = await obtainCheckout(checkout, cache);
    expect('bin' in again && again.bin).toBe(first.bin);
    expect(again.steps).toEqual([`cache: ${first.bin} (built from the same 2 Go files)`]);

    // A test file does not make the binary: no rebuild.
    await writeFile(join(checkout, 'main_test.go'), 'package main\n');
    expect((await obtainCheckout(checkout, cache)).steps[0]).toMatch(/^cache: /);

    await writeGoServer(checkout, { refreshEveryRequest: false, marker: 'edited' });
    const edited = await obtainCheckout(checkout, cache);
    expect('bin' in edited && edited.bin).not.toBe(first.bin);
    expect('version' in edited && edited.version).not.toBe(first.version);
    // Only the newest build of a checkout is kept.
    expect(await cachedBuilds()).toHaveLength(1);
    expect(existsSync(first.bin)).toBe(false);
  }, 600_000);

  it('labels a git checkout with git describe, dirty when edited', async () => {
    const dir = await writeGoServer(join(work, 'git-server'), { refreshEveryRequest: false });
    const git = (...a: string[]) =>
      execa('git', ['-C', dir, ...a], { env: { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' } });
    await git('init', '-q');
    await git('add', '.');
    await git('commit', '-q', '-m', 'first');
    await git('tag', 'v9.9.9');
    const clean = await obtainCheckout(dir, cache);
    expect(clean.steps.at(-1)).not.toMatch(/failed/);
    expect('version' in clean && clean.version).toMatch(/^git-server v9\.9\.9 \(checkout /);
    await writeGoServer(dir, { refreshEveryRequest: false, marker: 'edited' });
    const dirty = await obtainCheckout(dir, cache);
    expect('version' in dirty && dirty.version).toMatch(/^git-server v9\.9\.9-dirty \(checkout /);
  }, 240_000);

  it('never caches a build that fails or does not answer --help, and says why in one line', async () => {
    const broken = await writeGoServer(join(work, 'broken'), { refreshEveryRequest: false });
    await writeFile(join(broken, 'main.go'), 'package main\n\nfunc main() { undefinedThing() }\n');
    const before = await cachedBuilds();
    const r = await obtainCheckout(broken, cache);
    expect('unavailable' in r && r.unavailable).toMatch(/^broken \(checkout .*\): go build \. failed: .*undefined: undefinedThing.*; fix the checkout/);
    expect(await cachedBuilds()).toEqual(before);

    const mute = await writeGoServer(join(work, 'no-help'), { refreshEveryRequest: false });
    await writeFile(join(mute, 'main.go'), 'package main\n\nimport "os"\n\nfunc main() { os.Exit(3) }\n');
    const m = await obtainCheckout(mute, cache);
    expect('unavailable' in m && m.unavailable).toMatch(/--help exited 3/);
    expect(await cachedBuilds()).toEqual(before);
    const leftovers = (await readdir(join(cache, 'checkouts'))).flatMap((d) => d);
    for (const d of leftovers) expect((await readdir(join(cache, 'checkouts', d))).filter((x) => x.startsWith('.tmp-'))).toEqual([]);
  }, 240_000);
});

describe('a tag: explicit binary → cache → go install → one line', () => {
  it('names every place tried when there is no binary anywhere, and caches nothing', async () => {
    const r = await obtainTag('v0.3.7', [tagEnvVar('v0.3.7')], cache, { GOPROXY: 'off' });
    expect(r.steps).toHaveLength(3);
    expect(r.steps[0]).toBe('explicit binary: SERVER_BENCH_GOSHERVE_BIN_V0_3_7 is not set');
    expect(r.steps[1]).toBe(`cache: no ${cachedTagBinary(cache, 'v0.3.7')}`);
    expect(r.steps[2]).toMatch(/^go install: go install github\.com\/jnsgruk\/gosherve\/cmd\/gosherve@v0\.3\.7 failed: /);
    expect('unavailable' in r && r.unavailable).toMatch(
      /^gosherve v0\.3\.7: no binary \(tried SERVER_BENCH_GOSHERVE_BIN_V0_3_7, the cache .*, go install .*\); set SERVER_BENCH_GOSHERVE_BIN_V0_3_7 to a gosherve v0\.3\.7 binary, build that tag into .*, or benchmark a checkout with --impls gosherve@\.\/path$/,
    );
    expect(existsSync(join(cache, 'gosherve', 'v0.3.7'))).toBe(false);
  }, 60_000);

  it('uses the explicit binary first, then the cache; a broken explicit binary is one line', async () => {
    const built = await obtainCheckout(checkout, cache);
    if (!('bin' in built)) throw new Error(built.unavailable);
    const explicit = await obtainTag('v0.3.7', ['MY_BIN'], cache, { MY_BIN: built.bin });
    expect(explicit.steps).toEqual([`explicit binary: MY_BIN=${built.bin}`]);
    expect('version' in explicit && explicit.version).toBe(`v0.3.7 (${built.bin})`);

    const notExec = join(work, 'not-executable');
    await writeFile(notExec, 'x');
    const bad = await obtainTag('v0.3.7', ['MY_BIN'], cache, { MY_BIN: notExec });
    expect('unavailable' in bad && bad.unavailable).toMatch(
      /^gosherve v0\.3\.7: MY_BIN=.*not-executable does not work \(.*not an executable file\); point it at a gosherve v0\.3\.7 binary$/,
    );

    // A binary placed in the cache by hand (here: the test's own server, for the tag v9.9.9).
    const cached = cachedTagBinary(cache, 'v9.9.9');
    await mkdir(dirname(cached), { recursive: true });
    await copyFile(built.bin, cached);
    await chmod(cached, 0o755);
    const fromCache = await obtainTag('v9.9.9', ['MY_BIN'], cache, {});
    expect(fromCache.steps).toEqual(['explicit binary: MY_BIN is not set', `cache: ${cached}`]);
  }, 240_000);
});

describe('server-bench prepare', () => {
  it('prints each step on stderr and the outcome on stdout; exit 4 when one is unavailable', async () => {
    const r = await cli(['prepare', '--impls', `gosherve@${checkout},gosherve@v0.3.7`]);
    expect(r.exitCode, r.stderr).toBe(ExitCode.environment);
    expect(r.stderr).toMatch(/^prepare tiny-fileserver\n {2}cache: /m);
    expect(r.stderr).toMatch(
      /^prepare gosherve@v0\.3\.7\n {2}explicit binary: SERVER_BENCH_GOSHERVE_BIN_V0_3_7 is not set\n {2}cache: no .*\n {2}go install: /m,
    );
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^tiny-fileserver: tiny-fileserver content [0-9a-f]{12} \(checkout /);
    expect(lines[1]).toMatch(/^gosherve@v0\.3\.7: unavailable: gosherve v0\.3\.7: no binary/);
  }, 240_000);

  it('a bad spec is one line with the fix', async () => {
    const r = await cli(['prepare', '--impls', 'gosherve@./nowhere']);
    expect(r.exitCode).toBe(ExitCode.input);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^server-bench: --impls gosherve@\.\/nowhere: no such folder .*\(give the folder of a gosherve checkout/);
  });

  it('bench --backend vm refuses gosherve@ specs in one line', async () => {
    const r = await cli(['bench', '--backend', 'vm', '--impls', 'tsherve,gosherve@v0.3.7']);
    expect(r.exitCode).toBe(ExitCode.usage);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^server-bench: --backend vm: gosherve@v0\.3\.7 cannot run in the VMs.*\(run it with the local backend/);
    expect(await readFile(join(checkout, 'go.mod'), 'utf8')).toContain('module');
  });
});
