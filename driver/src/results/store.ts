// The run store: creates `reports/<run-id>` (never reusing an existing folder), writes every file
// atomically (temporary file + rename, so a crash or Ctrl-C never leaves half a JSON), and reads a
// run back with zod validation that names the corrupt file. Shared by bench, --resume, the reports
// and the VM backend.
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { z } from 'zod';
import { InputError, UsageError } from '../errors.js';
import { cellDir, RAW_SUMMARY_FILE, RESULT_FILE, runFile, TEXT_SUMMARY_FILE, verificationFile } from './layout.js';
import { CellResultSchema, RunInfoSchema, VerificationSchema, type CellResult, type RunInfo, type Verification } from './schema.js';

let tmpCounter = 0;

/** Write `data` to `path` atomically: readers see the old file or the whole new one, never a part. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${++tmpCounter}`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

/** Create a run folder; refuses an existing one so a run never overwrites another. */
export async function createRunDir(dir: string): Promise<string> {
  await mkdir(dirname(dir), { recursive: true });
  try {
    await mkdir(dir); // not recursive: EEXIST is the point
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new UsageError(`run folder ${dir} already exists`, 'choose another --out, or continue it with --resume <run-id>');
    }
    throw err;
  }
  return dir;
}

export async function writeRunInfo(runDir: string, info: RunInfo): Promise<void> {
  await writeJsonAtomic(runFile(runDir), RunInfoSchema.parse(info));
}

/** Store one finished cell: raw summary, text summary, then result.json last (its presence marks the cell done). */
export async function writeCell(runDir: string, result: CellResult, textSummary: string | null = null): Promise<string> {
  const dir = cellDir(runDir, result.size.name, result.impl, result.rep);
  const parsed = CellResultSchema.parse(result);
  await writeJsonAtomic(join(dir, RAW_SUMMARY_FILE), parsed.raw ?? null);
  if (textSummary !== null) await writeFileAtomic(join(dir, TEXT_SUMMARY_FILE), textSummary);
  await writeJsonAtomic(join(dir, RESULT_FILE), parsed);
  return dir;
}

export async function writeVerification(runDir: string, v: Verification): Promise<string> {
  const path = verificationFile(runDir, v.size, v.impl);
  await writeJsonAtomic(path, VerificationSchema.parse(v));
  return path;
}

/** JSON.parse that gives undefined for text that is not JSON, so the schema check after it reports it as a typed error. */
export function jsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Read and validate one JSON file; any problem is an InputError naming the file. */
export async function readJson<S extends z.ZodType>(
  path: string,
  schema: S,
  what: string,
  corruptHint = 'delete the file to re-run that cell with --resume, or restore it',
): Promise<z.infer<S>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(`cannot read ${what} ${path}: ${code ?? String(err)}`, 'check the run folder path', { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new InputError(`corrupt ${what} ${path}: not valid JSON (${(err as Error).message.replace(/\s+/g, ' ').slice(0, 120)})`, corruptHint, { cause: err });
  }
  const r = schema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0];
    const where = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
    throw new InputError(`corrupt ${what} ${path}: ${issue?.message ?? 'invalid'}${where}`, corruptHint);
  }
  return r.data;
}

export async function readRunInfo(runDir: string): Promise<RunInfo> {
  // run.json describes the whole run: --resume cannot run without it, nor re-make it.
  return readJson(
    runFile(runDir),
    RunInfoSchema,
    'run file',
    'restore it from a copy or version control (the cells beside it are intact), or start a new run without --resume',
  );
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function listDir(path: string): Promise<string[]> {
  return readdir(path).catch(() => [] as string[]);
}

/** Every result.json path under the run folder. */
async function resultFiles(runDir: string): Promise<string[]> {
  const out: string[] = [];
  const base = join(runDir, 'cells');
  for (const size of await listDir(base)) {
    for (const impl of await listDir(join(base, size))) {
      for (const rep of await listDir(join(base, size, impl))) {
        const f = join(base, size, impl, rep, RESULT_FILE);
        if (await exists(f)) out.push(f);
      }
    }
  }
  return out.sort();
}

async function verificationFiles(runDir: string): Promise<string[]> {
  const out: string[] = [];
  const base = join(runDir, 'verify');
  for (const size of await listDir(base)) {
    for (const f of await listDir(join(base, size))) {
      if (f.endsWith('.json')) out.push(join(base, size, f));
    }
  }
  return out.sort();
}

export interface LoadedRun {
  dir: string;
  run: RunInfo;
  cells: CellResult[];
  verifications: Verification[];
}

/** Load a run with every file validated; the first corrupt file is named in an InputError. */
export async function loadRun(runDir: string): Promise<LoadedRun> {
  if (!(await exists(runFile(runDir)))) {
    throw new InputError(`${runDir} is not a run folder (no run.json)`, 'pass a folder under reports/ written by server-bench bench');
  }
  const run = await readRunInfo(runDir);
  const cells: CellResult[] = [];
  for (const f of await resultFiles(runDir)) cells.push(await readJson(f, CellResultSchema, 'cell result'));
  const verifications: Verification[] = [];
  for (const f of await verificationFiles(runDir)) verifications.push(await readJson(f, VerificationSchema, 'verification'));
  cells.sort((a, b) => a.order - b.order);
  return { dir: runDir, run, cells, verifications };
}

/** Results of the cells whose result.json exists and validates (for --resume). A corrupt one is an error, not a silent re-run. */
export async function storedResults(runDir: string): Promise<CellResult[]> {
  const out: CellResult[] = [];
  for (const f of await resultFiles(runDir)) out.push(await readJson(f, CellResultSchema, 'cell result'));
  return out;
}
