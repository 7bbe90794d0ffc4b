// servy as an implementation: the spec, the check every servy binary passes, the check that a binary
// embeds the site under test, where plain `servy` looks, and its launch. Stand-ins (shell scripts
// that answer as servy does and carry a site's bytes) cover the logic on any machine; the cases
// tagged [real servy] build the real thing from SERVER_BENCH_SERVY_CHECKOUT with cargo, serve a
// generated site through the verification gate, and watch its request log in both log modes.
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Impl } from '../../src/contracts.js';
import { buildTargets } from '../../src/site/crawl.js';
import { InputError } from '../../src/errors.js';
import { defaultCacheDir, resolveImpls, type LocalImplContext } from '../../src/servers/registry.js';
import { startMapServer } from '../../src/site/map-server.js';
import { waitPortsFree } from '../../src/servers/ports.js';
import {
  answersAsServy,
  embedsSite,
  obtainServy,
  obtainServyBinary,
  obtainServyCheckout,
  parseServySpec,
  rebuildCost,
  rustSource,
  servy,
  servyCheckoutImpl,
  siteFingerprint,
  siteSample,
} from '../../src/servers/servy.js';
import { generateSite } from '../../src/site/generate.js';
import { localSupervisor } from '../../src/servers/supervisor-local.js';
import { verify } from '../../src/site/verify.js';
import { REAL_SERVY_TAG, realServy } from '../support/real-servers.js';

let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'servy-test-'));
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** A site of a few files with awkward names. */
async function writeSite(dir: string, word: string): Promise<string> {
  await mkdir(join(dir, 'posts', 'a b'), { recursive: true });
  await writeFile(join(dir, 'index.html'), `<!doctype html><title>${word}</title><a href="/posts/a b/">${word} home</a>\n`);
  await writeFile(join(dir, 'posts', 'a b', 'index.html'), `<p>post of ${word}</p>\n`);
  await writeFile(join(dir, 'style.css'), `body { content: "${word}"; }\n`);
  await writeFile(join(dir, '.hidden'), `hidden ${word}\n`);
  return dir;
}

/** A stand-in servy: stops naming SERVY_REDIRECTS_URL when it is unset (as servy does), then the embedded bytes of `site`. */
async function standIn(path: string, site: string | null): Promise<string> {
  const head =
    '#!/bin/sh\nif [ -z "$SERVY_REDIRECTS_URL" ]; then echo "Error: failed to load environment variable SERVY_REDIRECTS_URL" >&2; exit 1; fi\nexit 0\n';
  const parts = [Buffer.from(head)];
  if (site !== null) for (const f of await siteSample(site, 100)) parts.push(await readFile(join(site, f)), Buffer.from('\n'));
  await writeFile(path, Buffer.concat(parts));
  await chmod(path, 0o755);
  return path;
}

describe('servy@<path>', () => {
  it('takes a folder with a Cargo.toml and names the implementation after it', async () => {
    const dir = join(work, 'my-servy');
    await mkdir(dir, { recursive: true });
    expect(() => parseServySpec(dir)).toThrow(InputError);
    expect(() => parseServySpec(dir)).toThrow(/has no Cargo\.toml/);
    expect(() => parseServySpec(join(work, 'nowhere'))).toThrow(/no such folder/);
    await writeFile(join(dir, 'Cargo.toml'), '[package]\nname = "servy"\n');
    expect(parseServySpec(dir)).toEqual({ dir });
    const impls = resolveImpls([`servy@${dir}`, `servy@${dir}`, 'servy']);
    expect(impls.map((i) => i.name)).toEqual(['my-servy', 'servy']);
    expect(impls[0]?.metricPrefix).toBe('servy_');
    // A folder named like a built-in implementation does not take its name.
    const named = join(work, 'servy');
    await mkdir(named, { recursive: true });
    await writeFile(join(named, 'Cargo.toml'), '');
    expect(resolveImpls([`servy@${named}`]).map((i) => i.name)).toEqual(['servy-checkout']);
  });

  it('counts the Rust sources and manifests as what makes the binary, not its tests or docs', () => {
    expect(
      ['src/lib/handlers.rs', 'src/bin/servy/main.rs', 'Cargo.toml', 'Cargo.lock', 'build.rs', 'rust-toolchain.toml', '.cargo/config.toml'].every(rustSource),
    ).toBe(true);
    expect(['tests/assets.rs', 'benches/b.rs', 'examples/e.rs', 'README.md', 'tests/servy_assets/index.html', 'flake.nix'].some(rustSource)).toBe(false);
  });
});

describe('the servy checks', () => {
  it('a servy binary answers by naming SERVY_REDIRECTS_URL; anything else does not pass', async () => {
    expect(await answersAsServy(await standIn(join(work, 'servy-ok'), null))).toEqual({ ok: true });
    const silent = join(work, 'not-servy');
    await writeFile(silent, '#!/bin/sh\nexit 0\n');
    await chmod(silent, 0o755);
    const r = await answersAsServy(silent);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.why).toMatch(/without naming it \(not servy\?\)/);
    const plain = join(work, 'plain-file');
    await writeFile(plain, 'text');
    expect(await answersAsServy(plain)).toEqual({ ok: false, why: `${plain} is not an executable file` });
  });

  it('a binary embeds the site it was built for, and not another one', async () => {
    const a = await writeSite(join(work, 'site-a'), 'alpha');
    const b = await writeSite(join(work, 'site-b'), 'bravo');
    expect(await siteSample(a)).toEqual(['index.html', 'posts/a b/index.html', 'style.css']);
    const bin = await standIn(join(work, 'servy-a'), a);
    expect(await embedsSite(bin, a)).toEqual({ ok: true });
    const other = await embedsSite(bin, b);
    expect(other).toEqual({ ok: false, why: `${bin} does not embed index.html of ${b}: it was built for another site (or another version of it)` });
    // The site's fingerprint covers every file, dotfiles too (rust-embed embeds them).
    const before = await siteFingerprint(a);
    await writeFile(join(a, '.hidden'), 'changed\n');
    expect(await siteFingerprint(a)).not.toBe(before);
  });

  it('an explicit binary built for another site is refused with one line saying how to get the right one', async () => {
    const a = await writeSite(join(work, 'site-c'), 'charlie');
    const d = await writeSite(join(work, 'site-d'), 'delta');
    const bin = await standIn(join(work, 'servy-c'), a);
    const ok = await obtainServyBinary(bin, a);
    expect(ok).toMatchObject({ bin, version: `servy (${bin})` });
    const wrong = await obtainServyBinary(bin, d);
    expect('unavailable' in wrong && wrong.unavailable).toBe(
      `servy: ${bin} does not embed index.html of ${d}: it was built for another site (or another version of it); build it with SERVY_ASSETS_DIR=${d}, or unset SERVER_BENCH_SERVY_BIN and give --impls servy@./checkout (one build per site)`,
    );
  });
});

describe('plain servy', () => {
  it('without a binary or a checkout is skipped with one line saying how to provide one', async () => {
    const r = await obtainServy('/site', join(work, 'cache'), {});
    expect('unavailable' in r && r.unavailable).toBe(
      'servy: no binary or checkout (SERVER_BENCH_SERVY_BIN and SERVER_BENCH_SERVY_CHECKOUT are not set); give --impls servy@./path/to/servy-checkout (built per site with cargo), or set SERVER_BENCH_SERVY_CHECKOUT to a checkout or SERVER_BENCH_SERVY_BIN to a binary built for this site',
    );
    expect(r.steps).toEqual(['explicit binary: SERVER_BENCH_SERVY_BIN is not set', 'checkout: SERVER_BENCH_SERVY_CHECKOUT is not set']);
    const bad = await obtainServy('/site', join(work, 'cache'), { SERVER_BENCH_SERVY_CHECKOUT: join(work, 'nowhere') });
    expect('unavailable' in bad && bad.unavailable).toMatch(/^servy: SERVER_BENCH_SERVY_CHECKOUT servy@.*: no such folder/);
  });

  it('starts with its ports, the map URL and the log level of the mode', async () => {
    const a = await writeSite(join(work, 'site-e'), 'echo');
    const bin = await standIn(join(work, 'servy-e'), a);
    const ctx: LocalImplContext = { webroot: a, mapUrl: 'http://127.0.0.1:1/m', cacheDir: join(work, 'cache'), cpus: 1, host: '127.0.0.1' };
    const prev = process.env.SERVER_BENCH_SERVY_BIN;
    process.env.SERVER_BENCH_SERVY_BIN = bin;
    try {
      expect(await servy.prepare(ctx)).toMatchObject({ version: `servy (${bin})` });
    } finally {
      if (prev === undefined) delete process.env.SERVER_BENCH_SERVY_BIN;
      else process.env.SERVER_BENCH_SERVY_BIN = prev;
    }
    const env = { SERVY_REDIRECTS_URL: 'http://127.0.0.1:1/m', SERVY_HOST: '127.0.0.1', SERVY_PORT: '8080', SERVY_METRICS_PORT: '8081' };
    expect(servy.launch({ ...ctx, serverLogs: 'shipped' })).toEqual({ command: bin, args: [], env: { ...env, SERVY_LOG_LEVEL: 'info' } });
    expect(servy.launch({ ...ctx, serverLogs: 'quiet' }).env.SERVY_LOG_LEVEL).toBe('error');
    expect(servy.launch(ctx).env.SERVY_LOG_LEVEL).toBe('error'); // the default mode is quiet
  });

  it('says what a build for another site costs, from the builds it measured', () => {
    expect(rebuildCost([])).toBe('a build for another site recompiles servy alone');
    expect(rebuildCost([{ seconds: 128.4, cold: true, site: '/a', builtAt: '2026-01-01T00:00:00Z' }])).toMatch(/less than the 128 s of the first build/);
    expect(
      rebuildCost([
        { seconds: 128.4, cold: true, site: '/a', builtAt: '2026-01-01T00:00:00Z' },
        { seconds: 31.2, cold: false, site: '/b', builtAt: '2026-01-02T00:00:00Z' },
      ]),
    ).toBe('a build for another site costs about 31 s (servy alone is recompiled; last measured 2026-01-02)');
  });
});

// The real servy, built from the checkout the environment names. The build uses the harness's own
// cache (not a temporary one): a cold cargo build compiles ~280 crates (2 min on 2 idle cores, far
// more on a busy machine), and one per test run would dwarf the suite. Fixed seeds keep the sites,
// and so the builds, the same from run to run.
const real = realServy();

describe.runIf(real.checkout !== null)(`servy built from a checkout ${REAL_SERVY_TAG}`, () => {
  const checkout = real.checkout as string;
  const cache = defaultCacheDir();
  let siteA: string;
  let siteB: string;
  let impl: Impl;
  let map: Awaited<ReturnType<typeof startMapServer>>;
  const supervisor = localSupervisor();

  beforeAll(async () => {
    siteA = (await generateSite({ dir: join(work, 'real-a'), seed: 161, targetBytes: 300_000 })).dir;
    siteB = (await generateSite({ dir: join(work, 'real-b'), seed: 162, targetBytes: 300_000 })).dir;
    map = await startMapServer({ text: 'gh https://github.com/jnsgruk\nservy https://github.com/jnsgruk/servy\n' });
    impl = servyCheckoutImpl(checkout, []);
  });

  afterAll(async () => {
    await supervisor.stopAll();
    await map?.close();
  });

  it(`builds one binary per site with cargo, reuses it, and each embeds only its own site ${REAL_SERVY_TAG}`, async () => {
    const a = await obtainServyCheckout(checkout, siteA, cache);
    expect('bin' in a, a.steps.join(' | ')).toBe(true);
    if (!('bin' in a)) return;
    expect(a.version).toMatch(/\(checkout .*; built for site [0-9a-f]{12}\)$/);
    const again = await obtainServyCheckout(checkout, siteA, cache);
    expect(again.steps[0]).toMatch(/^cache: .*for this site\); a build for another site /);
    expect('bin' in again && again.bin).toBe(a.bin);
    const b = await obtainServyCheckout(checkout, siteB, cache);
    expect('bin' in b && b.bin).not.toBe(a.bin);
    if (!('bin' in b)) return;
    expect(await embedsSite(a.bin, siteA)).toEqual({ ok: true });
    expect((await embedsSite(a.bin, siteB)).ok).toBe(false);
    expect((await embedsSite(b.bin, siteA)).ok).toBe(false);
    expect(existsSync(join(a.bin, '..', '..', 'build.json'))).toBe(true);
  }, 3_600_000);

  /** Start the checkout's servy on site A in `mode`: the handle and its context. */
  async function start(mode: 'shipped' | 'quiet') {
    await waitPortsFree([8080, 8081], 30_000);
    const ctx: LocalImplContext = { webroot: siteA, mapUrl: map.url, cacheDir: cache, cpus: 1, host: '127.0.0.1', serverLogs: mode };
    const prep = await impl.prepare(ctx);
    expect('version' in prep, JSON.stringify(prep)).toBe(true);
    return supervisor.start(impl, ctx, { cpus: [], memoryLimitBytes: null, memoryEnforced: false });
  }

  it(`passes the verification gate on its site: every path, 308 redirects, 404, servy_ metrics ${REAL_SERVY_TAG}`, async () => {
    const server = await start('quiet');
    try {
      const targets = await buildTargets(server.baseUrl, 'gh https://github.com/jnsgruk\nservy https://github.com/jnsgruk/servy\n');
      expect(targets.paths.length).toBeGreaterThan(5);
      const v = await verify({
        impl: impl.name,
        size: 'host',
        baseUrl: server.baseUrl,
        metricsUrl: server.metricsUrl,
        metricPrefix: impl.metricPrefix,
        targets,
        webroot: siteA,
      });
      expect(v.findings.filter((f) => f.status === 'fail')).toEqual([]);
      expect(v.passed).toBe(true);
      const r = await fetch(`${server.baseUrl}/gh`, { redirect: 'manual' });
      expect(r.status).toBe(308);
      expect(r.headers.get('location')).toBe('https://github.com/jnsgruk');
    } finally {
      await server.stop();
    }
  }, 3_600_000);

  it(`logs one JSON line per request as shipped, and none when quiet ${REAL_SERVY_TAG}`, async () => {
    const lines = async (mode: 'shipped' | 'quiet') => {
      const server = await start(mode);
      try {
        for (let i = 0; i < 5; i++) expect((await fetch(`${server.baseUrl}/?n=${i}`)).status).toBe(200);
        await new Promise((r) => setTimeout(r, 200));
        return ((await server.logTail(500)).match(/served request/g) ?? []).length; // one JSON line each
      } finally {
        await server.stop();
      }
    };
    expect(await lines('shipped')).toBeGreaterThanOrEqual(5);
    expect(await lines('quiet')).toBe(0);
  }, 3_600_000);
});
