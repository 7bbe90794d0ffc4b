// Where a gosherve binary comes from, for any tag or a user's own checkout. A tag is looked for in
// order: an explicit binary (SERVER_BENCH_GOSHERVE_BIN…), the cache, `go install` from the module
// proxy, and otherwise one line naming every place tried and how to provide one. A checkout
// (`gosherve@./path`) is built with `go build` and cached by the content of its Go files. Builds go
// into a temporary folder and are renamed into the cache only after the binary answers --help.
import { existsSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { execa } from 'execa';
import type { Impl, ImplContext } from '../contracts.js';
import {
  answersHelp,
  buildIntoCache,
  checkoutCacheDir,
  checkoutName,
  gitDescribe,
  obtainedImpl,
  pruneOtherBuilds,
  sourceFingerprint,
  type Obtained,
} from './checkout.js';
import { InputError, tail, UsageError } from '../errors.js';
import { implSpec } from '../run/matrix-files.js';

const GOSHERVE_MODULE = 'github.com/jnsgruk/gosherve';

/** gosherve's own default log level (matrix/impls.json; one log line per request): what --server-logs shipped gives it. */
export const GOSHERVE_LOG_LEVEL: string = implSpec('gosherve').environment.GOSHERVE_LOG_LEVEL ?? 'info';

/** What `--impls gosherve@X` asked for: a tag (anything `go install …@X` takes) or a checkout folder. */
export type GosherveSpec = { kind: 'tag'; tag: string } | { kind: 'checkout'; dir: string };

/** `SERVER_BENCH_GOSHERVE_BIN_V0_3_7` for v0.3.7: the explicit binary of any tag. */
export function tagEnvVar(tag: string): string {
  return `SERVER_BENCH_GOSHERVE_BIN_${tag.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/** The binaries' place in the cache: `<cache>/gosherve/<tag>/bin/gosherve`. */
export function cachedTagBinary(cacheDir: string, tag: string): string {
  return join(cacheDir, 'gosherve', tag, 'bin', 'gosherve');
}

/** `v0.3.7`, `latest`, a commit: what `go install module@X` accepts; never a path. */
const TAG = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

/** Parse the part after `gosherve@`: a path (starts with `.`, `/` or `~`) or a version. */
export function parseGosherveSpec(text: string, flag = '--impls'): GosherveSpec {
  if (/^[./~]/.test(text)) {
    const dir = resolve(text.startsWith('~/') ? join(process.env.HOME ?? '', text.slice(2)) : text);
    if (!existsSync(dir) || !statSync(dir).isDirectory())
      throw new InputError(`${flag} gosherve@${text}: no such folder ${dir}`, 'give the folder of a gosherve checkout, e.g. gosherve@./gosherve');
    if (!existsSync(join(dir, 'go.mod')))
      throw new InputError(`${flag} gosherve@${text}: ${dir} has no go.mod`, 'give the root folder of a Go module (a gosherve checkout)');
    return { kind: 'checkout', dir };
  }
  if (!TAG.test(text))
    throw new UsageError(
      `${flag} gosherve@${text}: "${text}" is neither a version nor a path`,
      'use gosherve@v0.3.7 (a tag go install can get) or gosherve@./path/to/checkout',
    );
  return { kind: 'tag', tag: text };
}

// ---------------------------------------------------------------- a tag

/**
 * Find or build gosherve at `tag`. `envVars`: the explicit-binary variables for this tag, in order
 * (the default names keep their historic SERVER_BENCH_GOSHERVE_BIN / _OLD_BIN).
 */
export async function obtainTag(tag: string, envVars: readonly string[], cacheDir: string, env: NodeJS.ProcessEnv = process.env): Promise<Obtained> {
  const steps: string[] = [];
  for (const v of envVars) {
    const value = env[v];
    if (value === undefined || value === '') {
      steps.push(`explicit binary: ${v} is not set`);
      continue;
    }
    const bin = resolve(value);
    const answer = await answersHelp(bin);
    if (!answer.ok) {
      steps.push(`explicit binary: ${v}=${value}: ${answer.why}`);
      return { unavailable: `gosherve ${tag}: ${v}=${value} does not work (${answer.why}); point it at a gosherve ${tag} binary`, steps };
    }
    steps.push(`explicit binary: ${v}=${bin}`);
    return { bin, version: `${tag} (${bin})`, steps };
  }
  const cached = cachedTagBinary(cacheDir, tag);
  if (existsSync(cached)) {
    const answer = await answersHelp(cached);
    if (answer.ok) {
      steps.push(`cache: ${cached}`);
      return { bin: cached, version: tag, steps };
    }
    steps.push(`cache: ${cached} does not answer (${answer.why}); building it again`);
  } else steps.push(`cache: no ${cached}`);

  const installCmd = `go install ${GOSHERVE_MODULE}/cmd/gosherve@${tag}`;
  let cause: string;
  try {
    const bin = await buildIntoCache(
      join(cacheDir, 'gosherve', tag),
      async (tmp) => {
        await execa('go', ['install', `${GOSHERVE_MODULE}/cmd/gosherve@${tag}`], { env: { GOBIN: join(tmp, 'bin') }, timeout: 600_000 });
        return join('bin', 'gosherve');
      },
      answersHelp,
    );
    steps.push(`go install: ${installCmd} → ${bin}`);
    return { bin, version: `${tag} (go install)`, steps };
  } catch (err) {
    const e = err as { code?: string; timedOut?: boolean; stderr?: string; shortMessage?: string; message?: string };
    if (e.code === 'ENOENT') cause = 'go is not installed';
    else if (e.timedOut) cause = `${installCmd} timed out`;
    else if (/403|not available|Forbidden/i.test(e.stderr ?? ''))
      cause = `${installCmd}: the module proxy refuses it (${tail(e.stderr ?? '', 1).replace(/^\s+/, '')})`;
    else cause = `${installCmd} failed: ${tail(e.stderr ?? e.shortMessage ?? e.message ?? String(err), 1).replace(/^\s+/, '')}`;
    steps.push(`go install: ${cause}`);
  }
  const varsText = envVars.join(' / ');
  return {
    unavailable: `gosherve ${tag}: no binary (tried ${varsText}, the cache ${cached}, ${cause}); set ${envVars[0] ?? tagEnvVar(tag)} to a gosherve ${tag} binary, build that tag into ${cached}, or benchmark a checkout with --impls gosherve@./path`,
    steps,
  };
}

// ---------------------------------------------------------------- a checkout

/** The Go files that make the binary: sources (not tests), go.mod, go.sum, embedded assets are not tracked. */
function goSource(rel: string): boolean {
  return (rel.endsWith('.go') && !rel.endsWith('_test.go')) || rel === 'go.mod' || rel === 'go.sum' || rel.endsWith('/go.mod') || rel.endsWith('/go.sum');
}

/** Build `dir` with `go build` into the cache, keyed by its Go files; reuse the build while they are unchanged. */
export async function obtainCheckout(dir: string, cacheDir: string): Promise<Obtained> {
  const steps: string[] = [];
  const fp = await sourceFingerprint(dir, goSource);
  const describe = await gitDescribe(dir);
  const revision = describe ?? `content ${fp.hash.slice(0, 12)}`;
  const version = `${basename(dir)} ${revision} (checkout ${dir})`;
  const perCheckout = checkoutCacheDir(cacheDir, dir);
  const key = `go-${fp.hash.slice(0, 16)}`;
  const cached = join(perCheckout, key, 'bin', 'gosherve');
  if (existsSync(cached) && (await answersHelp(cached)).ok) {
    steps.push(`cache: ${cached} (built from the same ${fp.files} Go files)`);
    return { bin: cached, version, steps };
  }
  steps.push(`cache: no build of these ${fp.files} Go files`);
  const pkg = existsSync(join(dir, 'cmd', 'gosherve')) ? './cmd/gosherve' : '.';
  const started = Date.now();
  try {
    const bin = await buildIntoCache(
      join(perCheckout, key),
      async (tmp) => {
        // Not stripped: profiles need the symbols.
        await execa('go', ['build', '-o', join(tmp, 'bin', 'gosherve'), pkg], { cwd: dir, timeout: 600_000 });
        return join('bin', 'gosherve');
      },
      answersHelp,
    );
    await pruneOtherBuilds(perCheckout, key);
    steps.push(`go build ${pkg} in ${dir}: ${((Date.now() - started) / 1000).toFixed(1)} s → ${bin}`);
    return { bin, version, steps };
  } catch (err) {
    const e = err as { code?: string; timedOut?: boolean; stderr?: string; message?: string };
    const cause =
      e.code === 'ENOENT'
        ? 'go is not installed'
        : e.timedOut
          ? 'go build timed out'
          : `go build ${pkg} failed: ${tail(e.stderr ?? e.message ?? String(err), 2)
              .replace(/\s+/g, ' ')
              .trim()}`;
    steps.push(`go build: ${cause}`);
    return { unavailable: `${basename(dir)} (checkout ${dir}): ${cause}; fix the checkout so that go build ${pkg} works there`, steps };
  }
}

// ---------------------------------------------------------------- the implementation records

/**
 * gosherve found by `obtain`, with `specName`'s entry in matrix/impls.json (every gosherve speaks the
 * same contract). Levels debug, info, warn, error (pkg/logging of v0.3.3 and v0.3.5); requests are
 * logged at info. Its ports are fixed (no flag changes them).
 */
function gosherveRecord(name: string, description: string | null, specName: string, obtain: (ctx: ImplContext) => Promise<Obtained>): Impl {
  const spec = implSpec(specName);
  return obtainedImpl({
    name,
    description: description ?? spec.description,
    spec,
    command: 'gosherve',
    logVariable: 'GOSHERVE_LOG_LEVEL',
    movablePorts: false,
    obtain,
  });
}

/** A built-in gosherve name (gosherve, gosherve-old: their matrix entries) or `gosherve@<tag>`: found by obtainTag. */
export function gosherveTagImpl(name: string, tag: string, envVars: readonly string[], description: string | null = null): Impl {
  return gosherveRecord(name, description, name === 'gosherve-old' ? 'gosherve-old' : 'gosherve', (ctx) => obtainTag(tag, envVars, ctx.cacheDir));
}

/** `gosherve@./path`: built from the checkout; named after its folder, never after a release. */
export function gosherveCheckoutImpl(dir: string, taken: readonly string[]): Impl {
  const name = checkoutName(dir, taken);
  return gosherveRecord(name, `built from the checkout ${dir}`, 'gosherve', (ctx) => obtainCheckout(dir, ctx.cacheDir));
}

/** The Impl for `gosherve@<spec>`; `taken` are names already in use (a checkout's name avoids them). */
export function gosherveSpecImpl(spec: GosherveSpec, taken: readonly string[]): Impl {
  if (spec.kind === 'checkout') return gosherveCheckoutImpl(spec.dir, taken);
  return gosherveTagImpl(`gosherve@${spec.tag}`, spec.tag, [tagEnvVar(spec.tag)], `gosherve ${spec.tag} (go install or ${tagEnvVar(spec.tag)})`);
}
