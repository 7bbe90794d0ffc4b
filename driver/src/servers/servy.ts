// servy (github.com/jnsgruk/servy), the Rust rewrite of gosherve, as an implementation. servy embeds
// the site into its binary at compile time (rust-embed reads SERVY_ASSETS_DIR during `cargo build`),
// so a binary serves exactly the site it was built with: the harness builds one binary per site from
// the user's checkout, cached by the checkout's Rust sources and the site's content, with one cargo
// target folder per checkout so a new site recompiles servy alone, not its dependencies. An explicit
// binary (SERVER_BENCH_SERVY_BIN) is checked to embed the site under test before it is used.
import { existsSync, statSync } from 'node:fs';
import { chmod, copyFile, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, join, relative, resolve } from 'node:path';
import { execa } from 'execa';
import { z } from 'zod';
import type { Impl, ImplContext } from '../contracts.js';
import {
  buildIntoCache,
  checkoutCacheDir,
  checkoutName,
  gitDescribe,
  hashFiles,
  obtainedImpl,
  pruneOtherBuilds,
  sourceFingerprint,
  type Obtained,
} from './checkout.js';
import { InputError, tail } from '../errors.js';
import { implSpec } from '../run/matrix-files.js';

const SERVY_BIN_ENV = 'SERVER_BENCH_SERVY_BIN';
const SERVY_CHECKOUT_ENV = 'SERVER_BENCH_SERVY_CHECKOUT';
/** Ports, prefix and the environment's shape come from matrix/impls.json, as every implementation's do. */
const SPEC = implSpec('servy');
/** A cold build took 2 min 08 s on 2 idle cores; a busy machine needs more. */
const BUILD_TIMEOUT_MS = 30 * 60_000;
const TARGET_DIR = 'cargo-target';

type Answer = { ok: true } | { ok: false; why: string };

const HOW_TO_GET = `give --impls servy@./path/to/servy-checkout (built per site with cargo), or set ${SERVY_CHECKOUT_ENV} to a checkout or ${SERVY_BIN_ENV} to a binary built for this site`;

/** The folder of `servy@<path>`: a cargo project with a servy binary (its Cargo.toml names it). */
export function parseServySpec(text: string, flag = '--impls'): { dir: string } {
  const dir = resolve(text.startsWith('~/') ? join(process.env.HOME ?? '', text.slice(2)) : text);
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new InputError(`${flag} servy@${text}: no such folder ${dir}`, 'give the folder of a servy checkout, e.g. servy@./servy');
  const toml = join(dir, 'Cargo.toml');
  if (!existsSync(toml))
    throw new InputError(
      `${flag} servy@${text}: ${dir} has no Cargo.toml`,
      'give the root folder of a servy checkout (git clone https://github.com/jnsgruk/servy)',
    );
  return { dir };
}

/**
 * servy takes no flags (it never looks at its arguments), so `--help` would start a server. Started
 * with an empty environment it stops at once, before binding any port, naming the one variable it
 * requires (config.rs: load_env(REDIRECTS_URL)). That answer is the check every servy binary passes
 * before it is cached or used: executable, starts, and is servy.
 */
export async function answersAsServy(bin: string): Promise<Answer> {
  try {
    const r = await execa(bin, [], { timeout: 10_000, reject: false, stdin: 'ignore', env: { PATH: process.env.PATH ?? '' }, extendEnv: false });
    if (r.timedOut) return { ok: false, why: `${bin} kept running without SERVY_REDIRECTS_URL (not servy?)` };
    const code = (r as { code?: string }).code;
    if (code === 'EACCES' || code === 'ENOENT' || code === 'ENOEXEC') return { ok: false, why: `${bin} is not an executable file` };
    if (r.exitCode !== 0 && /SERVY_REDIRECTS_URL/.test(String(r.stderr))) return { ok: true };
    return {
      ok: false,
      why: `${bin} without SERVY_REDIRECTS_URL exited ${r.exitCode ?? r.signal ?? '?'} without naming it (not servy?): ${tail(String(r.stderr), 1).trim().slice(0, 200)}`,
    };
  } catch (err) {
    const e = err as { code?: string; message?: string };
    return {
      ok: false,
      why: e.code === 'EACCES' || e.code === 'ENOENT' ? `${bin} is not an executable file` : `${bin} failed to start: ${e.message ?? String(err)}`,
    };
  }
}

/**
 * Every file under `dir` (relative paths, sorted), dotfiles included and symbolic links followed:
 * rust-embed embeds them all (rust-embed-utils walks with follow_links(true)).
 */
async function siteFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, depth: number): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      const kind = e.isSymbolicLink()
        ? await stat(p).then(
            (s) => (s.isDirectory() ? 'dir' : s.isFile() ? 'file' : null),
            () => null,
          )
        : e.isDirectory()
          ? 'dir'
          : e.isFile()
            ? 'file'
            : null;
      if (kind === 'dir' && depth < 64) await walk(p, depth + 1);
      else if (kind === 'file') out.push(relative(dir, p));
    }
  };
  await walk(dir, 0);
  return out.sort();
}

/**
 * The files whose bytes must appear in a binary built for `webroot`: index.html and up to seven
 * more, spread over the sorted list (not dotfiles, at most 4 MB each). include_bytes! stores each
 * embedded file verbatim, so a binary built for another site lacks at least one of them.
 */
export async function siteSample(webroot: string, count = 8): Promise<string[]> {
  const files = (await siteFiles(webroot)).filter((f) => !f.split('/').some((seg) => seg.startsWith('.')));
  const sized: string[] = [];
  for (const f of files) {
    const s = await stat(join(webroot, f));
    if (s.size > 0 && s.size <= 4 * 1024 * 1024) sized.push(f);
  }
  const picked = new Set<string>(sized.includes('index.html') ? ['index.html'] : []);
  const step = Math.max(1, Math.floor(sized.length / count));
  for (let i = 0; i < sized.length && picked.size < count; i += step) picked.add(sized[i] as string);
  return [...picked];
}

/** Does the binary carry the site? Checked on a sample (siteSample); the verification gate checks every path. */
export async function embedsSite(bin: string, webroot: string): Promise<Answer> {
  const image = await readFile(bin);
  for (const f of await siteSample(webroot)) {
    if (image.indexOf(await readFile(join(webroot, f))) === -1)
      return { ok: false, why: `${bin} does not embed ${f} of ${webroot}: it was built for another site (or another version of it)` };
  }
  return { ok: true };
}

/** The content of the site as servy embeds it: every file's relative path and bytes (siteFiles). */
export async function siteFingerprint(webroot: string): Promise<string> {
  return hashFiles(webroot, await siteFiles(webroot));
}

/** The files that make the binary: Rust sources outside tests/benches/examples, the manifests and the toolchain pins. */
export function rustSource(rel: string): boolean {
  if (rel.endsWith('.rs')) return !/^(tests|benches|examples)\//.test(rel);
  const base = basename(rel);
  return (
    base === 'Cargo.toml' ||
    base === 'Cargo.lock' ||
    base === 'rust-toolchain' ||
    base === 'rust-toolchain.toml' ||
    rel === '.cargo/config.toml' ||
    rel === '.cargo/config'
  );
}

const BuildRecordSchema = z.object({ seconds: z.number(), cold: z.boolean(), site: z.string(), builtAt: z.string() });
type BuildRecord = z.infer<typeof BuildRecordSchema>;

async function buildRecords(perCheckout: string): Promise<BuildRecord[]> {
  const out: BuildRecord[] = [];
  for (const e of await readdir(perCheckout).catch(() => [] as string[])) {
    try {
      const r = BuildRecordSchema.safeParse(JSON.parse(await readFile(join(perCheckout, e, 'build.json'), 'utf8')));
      if (r.success) out.push(r.data);
    } catch {
      // not a build folder
    }
  }
  return out.sort((a, b) => a.builtAt.localeCompare(b.builtAt));
}

/** What a build for another site costs: the last incremental build of this checkout, or the last cold one. */
export function rebuildCost(records: readonly BuildRecord[]): string {
  const incremental = records.filter((r) => !r.cold).at(-1);
  if (incremental)
    return `a build for another site costs about ${incremental.seconds.toFixed(0)} s (servy alone is recompiled; last measured ${incremental.builtAt.slice(0, 10)})`;
  const cold = records.filter((r) => r.cold).at(-1);
  return cold
    ? `a build for another site recompiles servy alone, less than the ${cold.seconds.toFixed(0)} s of the first build (which compiled every dependency)`
    : 'a build for another site recompiles servy alone';
}

/** Build servy from `dir` for `webroot` into the cache (or reuse that build): cargo, one target folder per checkout. */
export async function obtainServyCheckout(dir: string, webroot: string, cacheDir: string): Promise<Obtained> {
  const steps: string[] = [];
  const fp = await sourceFingerprint(dir, rustSource);
  const revision = (await gitDescribe(dir)) ?? `content ${fp.hash.slice(0, 12)}`;
  const perCheckout = checkoutCacheDir(cacheDir, dir);
  if (webroot === '') {
    // `server-bench prepare` knows no site; bench and verify build for theirs.
    steps.push(`servy embeds the site it serves: it is built for each site when bench or verify runs (cargo, in ${dir})`);
    return { bin: '', version: `${basename(dir)} ${revision} (checkout ${dir}; built per site)`, steps };
  }
  const site = await siteFingerprint(webroot);
  const version = `${basename(dir)} ${revision} (checkout ${dir}; built for site ${site.slice(0, 12)})`;
  const key = `servy-${fp.hash.slice(0, 16)}-site-${site.slice(0, 16)}`;
  const cached = join(perCheckout, key, 'bin', 'servy');
  if (existsSync(cached) && (await answersAsServy(cached)).ok) {
    steps.push(`cache: ${cached} (built from the same ${fp.files} source files for this site); ${rebuildCost(await buildRecords(perCheckout))}`);
    return { bin: cached, version, steps };
  }
  steps.push(`cache: no build of these ${fp.files} source files for site ${site.slice(0, 12)}`);
  const targetDir = join(perCheckout, TARGET_DIR);
  const cold = !existsSync(join(targetDir, 'release'));
  const started = Date.now();
  try {
    await mkdir(perCheckout, { recursive: true });
    const bin = await buildIntoCache(
      join(perCheckout, key),
      async (tmp) => {
        const opts = { cwd: dir, timeout: BUILD_TIMEOUT_MS, stdin: 'ignore' as const };
        // rust-embed reads SERVY_ASSETS_DIR inside a proc macro, where cargo's change tracking does
        // not see it: without this a build for a new site would reuse servy compiled for the last
        // one (and the site check below would refuse it). Dependencies stay compiled.
        if (!cold) await execa('cargo', ['clean', '--release', '--package', 'servy', '--target-dir', targetDir], opts);
        await execa('cargo', ['build', '--release', '--bin', 'servy', '--target-dir', targetDir], { ...opts, env: { SERVY_ASSETS_DIR: webroot } });
        await mkdir(join(tmp, 'bin'), { recursive: true });
        await copyFile(join(targetDir, 'release', 'servy'), join(tmp, 'bin', 'servy'));
        await chmod(join(tmp, 'bin', 'servy'), 0o755);
        const record: BuildRecord = { seconds: (Date.now() - started) / 1000, cold, site: webroot, builtAt: new Date().toISOString() };
        await writeFile(join(tmp, 'build.json'), `${JSON.stringify(record, null, 2)}\n`);
        return join('bin', 'servy');
      },
      // A second harness building the same checkout for another site at the same time would leave
      // its binary in the shared target folder: the site check catches that too.
      async (b) => {
        const a = await answersAsServy(b);
        return a.ok ? embedsSite(b, webroot) : a;
      },
    );
    await pruneOtherBuilds(perCheckout, (e) => e === TARGET_DIR || e.startsWith(`servy-${fp.hash.slice(0, 16)}-`));
    const seconds = (Date.now() - started) / 1000;
    steps.push(
      `cargo build --release --bin servy in ${dir} for ${webroot}: ${seconds.toFixed(1)} s (${cold ? 'cold: every dependency compiled; a build for another site recompiles servy alone' : 'servy alone recompiled, dependencies reused'}) → ${bin}`,
    );
    return { bin, version, steps };
  } catch (err) {
    const e = err as { code?: string; timedOut?: boolean; stderr?: string; message?: string };
    const cause =
      e.code === 'ENOENT'
        ? 'cargo is not installed (install Rust with rustup or apt-get install -y cargo)'
        : e.timedOut
          ? `cargo build timed out after ${BUILD_TIMEOUT_MS / 60_000} min`
          : `cargo build --release --bin servy failed: ${tail(e.stderr ?? e.message ?? String(err), 3)
              .replace(/\s+/g, ' ')
              .trim()
              .slice(0, 400)}`;
    steps.push(`cargo build: ${cause}`);
    return {
      unavailable: `${basename(dir)} (servy checkout ${dir}): ${cause}; fix the checkout so that SERVY_ASSETS_DIR=<site> cargo build --release --bin servy works there`,
      steps,
    };
  }
}

/** An explicit binary: used only when it answers as servy and embeds the site under test. */
export async function obtainServyBinary(value: string, webroot: string): Promise<Obtained> {
  const bin = resolve(value);
  const steps: string[] = [];
  const a = await answersAsServy(bin);
  if (!a.ok) {
    steps.push(`explicit binary: ${SERVY_BIN_ENV}=${value}: ${a.why}`);
    return { unavailable: `servy: ${SERVY_BIN_ENV}=${value} does not work (${a.why}); point it at a servy binary`, steps };
  }
  if (webroot !== '') {
    const s = await embedsSite(bin, webroot);
    if (!s.ok) {
      steps.push(`explicit binary: ${SERVY_BIN_ENV}=${bin}: ${s.why}`);
      return {
        unavailable: `servy: ${s.why}; build it with SERVY_ASSETS_DIR=${webroot}, or unset ${SERVY_BIN_ENV} and give --impls servy@./checkout (one build per site)`,
        steps,
      };
    }
  }
  steps.push(`explicit binary: ${SERVY_BIN_ENV}=${bin}${webroot !== '' ? ' (embeds this site)' : ''}`);
  return { bin, version: `servy (${bin})`, steps };
}

/** Plain `servy`: the explicit binary, else the checkout named by SERVER_BENCH_SERVY_CHECKOUT, else one line on how to provide one. */
export async function obtainServy(webroot: string, cacheDir: string, env: NodeJS.ProcessEnv = process.env): Promise<Obtained> {
  const binVar = env[SERVY_BIN_ENV];
  if (binVar !== undefined && binVar !== '') return obtainServyBinary(binVar, webroot);
  const checkout = env[SERVY_CHECKOUT_ENV];
  if (checkout !== undefined && checkout !== '') {
    try {
      const { dir } = parseServySpec(checkout, SERVY_CHECKOUT_ENV);
      return await obtainServyCheckout(dir, webroot, cacheDir);
    } catch (err) {
      const why = err instanceof InputError ? err.message : String(err);
      return { unavailable: `servy: ${why}; ${HOW_TO_GET}`, steps: [`checkout: ${why}`] };
    }
  }
  return {
    unavailable: `servy: no binary or checkout (${SERVY_BIN_ENV} and ${SERVY_CHECKOUT_ENV} are not set); ${HOW_TO_GET}`,
    steps: [`explicit binary: ${SERVY_BIN_ENV} is not set`, `checkout: ${SERVY_CHECKOUT_ENV} is not set`],
  };
}

/** tracing's LevelFilter (main.rs): off, error, warn, info, debug, trace; each request is one JSON line at info. */
function servyRecord(name: string, description: string | null, obtain: (ctx: ImplContext) => Promise<Obtained>): Impl {
  return obtainedImpl({
    name,
    description: description ?? SPEC.description,
    spec: SPEC,
    command: 'servy',
    logVariable: 'SERVY_LOG_LEVEL',
    movablePorts: true,
    obtain,
  });
}

/** Plain `servy` (in the default set: skipped with one line when neither variable is set). */
export const servy: Impl = servyRecord('servy', null, (ctx) => obtainServy(ctx.webroot, ctx.cacheDir));

/** `servy@./path`: built from the checkout for each site; named after its folder. */
export function servyCheckoutImpl(dir: string, taken: readonly string[]): Impl {
  return servyRecord(checkoutName(dir, taken), `servy built from the checkout ${dir}, one binary per site`, (ctx) =>
    obtainServyCheckout(dir, ctx.webroot, ctx.cacheDir),
  );
}
