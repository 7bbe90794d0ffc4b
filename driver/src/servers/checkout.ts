// Building a server from a source checkout into the harness's cache: a fingerprint of the files
// that make the binary, a label for reports (git describe, or the fingerprint when the folder is not
// a git repository), and an atomic "build into a temporary folder, check it answers, rename into the
// cache" step, so nothing half-built is ever reused; and the Impl record of a server whose binary
// is found or built at prepare time. Shared by gosherve (tags and checkouts) and servy.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { execa } from 'execa';
import type { Impl, ImplContext } from '../contracts.js';
import { launchEnvironment } from './impl-ports.js';
import type { ImplSpec } from '../run/matrix-files.js';
import { DEFAULT_SERVER_LOGS, levelLogging } from './serverlogs.js';

/** The outcome of looking for a binary: every step tried, in order, for prepare's output. */
export type Obtained = { bin: string; version: string; steps: string[] } | { unavailable: string; steps: string[] };

/** Folders that never hold sources of the binary (and can be huge). */
const SKIPPED_DIRS = new Set(['.git', 'node_modules', 'target', 'testdata', '.direnv', 'result']);

/**
 * sha256 over the relative path and content of every file `include` accepts, in sorted order: the
 * same sources give the same fingerprint wherever the checkout lives.
 */
export async function sourceFingerprint(dir: string, include: (relPath: string) => boolean): Promise<{ hash: string; files: number }> {
  const files: string[] = [];
  const walk = async (d: string): Promise<void> => {
    const entries = await readdir(d, { withFileTypes: true });
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        if (!SKIPPED_DIRS.has(e.name)) await walk(p);
      } else if (e.isFile() && include(relative(dir, p))) files.push(relative(dir, p));
    }
  };
  await walk(dir);
  files.sort();
  return { hash: await hashFiles(dir, files), files: files.length };
}

/** sha256 (hex) over each of `files` (relative to `dir`, in the order given): its path, then its bytes. */
export async function hashFiles(dir: string, files: readonly string[]): Promise<string> {
  const h = createHash('sha256');
  for (const f of files) {
    h.update(f);
    h.update('\0');
    h.update(await readFile(join(dir, f)));
    h.update('\0');
  }
  return h.digest('hex');
}

/** `git describe --always --dirty --tags` of the checkout, or null when it is not a git work tree. */
export async function gitDescribe(dir: string): Promise<string | null> {
  try {
    const r = await execa('git', ['-C', dir, 'describe', '--always', '--dirty', '--tags'], { timeout: 10_000, reject: false });
    return r.exitCode === 0 && r.stdout.trim() !== '' ? r.stdout.trim() : null;
  } catch {
    return null;
  }
}

/** Where the builds of the checkout at `dir` are kept: one folder per checkout under `<cache>/checkouts`. */
export function checkoutCacheDir(cacheDir: string, dir: string): string {
  return join(cacheDir, 'checkouts', `${basename(dir).replace(/[^A-Za-z0-9._-]/g, '-')}-${createHash('sha256').update(dir).digest('hex').slice(0, 8)}`);
}

/** A name for an implementation built from `dir`: the folder's name, safe for paths and cell ids. */
export function checkoutName(dir: string, taken: readonly string[]): string {
  const base =
    basename(dir)
      .replace(/[^A-Za-z0-9._-]/g, '-')
      .replace(/^[.-]+/, '') || 'checkout';
  return taken.includes(base) ? `${base}-checkout` : base;
}

/** Does `bin --help` exit 0 within 10 s? The check every binary passes before it is cached or used. */
export async function answersHelp(bin: string): Promise<{ ok: true } | { ok: false; why: string }> {
  try {
    const r = await execa(bin, ['--help'], { timeout: 10_000, reject: false, stdin: 'ignore', env: { PATH: process.env.PATH ?? '' }, extendEnv: false });
    if (r.timedOut) return { ok: false, why: `${bin} --help did not finish in 10 s` };
    const code = (r as { code?: string }).code;
    if (code === 'EACCES' || code === 'ENOENT' || code === 'ENOEXEC') return { ok: false, why: `${bin} is not an executable file` };
    if (r.exitCode !== 0) return { ok: false, why: `${bin} --help exited ${r.exitCode ?? r.signal ?? '?'}` };
    return { ok: true };
  } catch (err) {
    const e = err as { code?: string; message?: string };
    return {
      ok: false,
      why: e.code === 'EACCES' || e.code === 'ENOENT' ? `${bin} is not an executable file` : `${bin} --help failed: ${e.message ?? String(err)}`,
    };
  }
}

/**
 * Build into a fresh temporary folder next to `finalDir`, check the result with `check`, then rename
 * the folder into place. `build(tmp)` returns the binary's path relative to its folder. A failed
 * build or check removes the temporary folder and rethrows; the cache keeps only finished builds.
 */
export async function buildIntoCache(
  finalDir: string,
  build: (tmpDir: string) => Promise<string>,
  check: (bin: string) => Promise<{ ok: true } | { ok: false; why: string }>,
): Promise<string> {
  const parent = join(finalDir, '..');
  await mkdir(parent, { recursive: true });
  const tmp = await mkdtemp(join(parent, `.tmp-${basename(finalDir)}-`));
  try {
    const rel = await build(tmp);
    const answer = await check(join(tmp, rel));
    if (!answer.ok) throw new Error(`the build does not answer: ${answer.why}`);
    if (existsSync(finalDir)) await rm(finalDir, { recursive: true, force: true });
    await rename(tmp, finalDir);
    return join(finalDir, rel);
  } finally {
    await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
  }
}

/**
 * Remove every build of a checkout but `keep` (an edited checkout would otherwise grow the cache
 * forever). `keep` is the one entry to keep, or a test of which entries to keep (servy keeps one
 * build per site and its cargo target folder).
 */
export async function pruneOtherBuilds(checkoutCacheDir: string, keep: string | ((entry: string) => boolean)): Promise<void> {
  const kept = typeof keep === 'string' ? (e: string) => e === keep : keep;
  const entries = await readdir(checkoutCacheDir).catch(() => [] as string[]);
  for (const e of entries) if (!kept(e) && !e.startsWith('.tmp-')) await rm(join(checkoutCacheDir, e), { recursive: true, force: true }).catch(() => undefined);
}

/**
 * An Impl whose binary `obtain` finds at prepare time, with the ports, metric prefix and launch
 * environment of `spec` (matrix/impls.json), and `logVariable` at the level --server-logs asks for.
 * Before prepare (only tests that compare environments launch then) the command is `command` on PATH.
 */
export function obtainedImpl(o: {
  name: string;
  description: string;
  spec: ImplSpec;
  command: string;
  logVariable: string;
  movablePorts: boolean;
  obtain: (ctx: ImplContext) => Promise<Obtained>;
}): Impl {
  let bin: string | null = null;
  return {
    name: o.name,
    description: o.description,
    reference: false,
    sitePort: o.spec.sitePort,
    metricsPort: o.spec.metricsPort,
    metricPrefix: o.spec.metricPrefix,
    movablePorts: o.movablePorts,
    async prepare(ctx) {
      const r = await o.obtain(ctx);
      if ('unavailable' in r) return { unavailable: r.unavailable, steps: r.steps };
      bin = r.bin;
      return { version: r.version, steps: r.steps };
    },
    logging: (mode) => levelLogging(o.logVariable, mode).logging,
    launch(ctx) {
      const env = { ...launchEnvironment(o.spec, ctx), ...levelLogging(o.logVariable, ctx.serverLogs ?? DEFAULT_SERVER_LOGS).env };
      return { command: bin ?? o.command, args: [], env };
    },
  };
}
