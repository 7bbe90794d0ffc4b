// Where a run's files live. One place owns the folder layout, so the engine that writes,
// the reports that read, `--resume` and the VM backend's SFTP pulls all agree.
//
// reports/<run-id>/run.json                                 RunInfo
// reports/<run-id>/cells/<size>cpu/<impl>/r<rep>/result.json CellResult
// reports/<run-id>/cells/<size>cpu/<impl>/r<rep>/summary.json the engine's raw summary
// reports/<run-id>/cells/<size>cpu/<impl>/r<rep>/summary.txt  k6-style text summary
// reports/<run-id>/cells/<size>cpu/<impl>/r<rep>/profile.proto, profile.folded  bench --profile
// reports/<run-id>/verify/<size>cpu/<impl>.json               Verification
// reports/<run-id>/results.json, report.md, report.html        derived by the reports
// reports/index.html                                          every run, newest first
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const RUN_FILE = 'run.json';
export const RESULTS_FILE = 'results.json';
export const RESULT_FILE = 'result.json';
export const RAW_SUMMARY_FILE = 'summary.json';
export const TEXT_SUMMARY_FILE = 'summary.txt';
/** bench --profile: gzipped pprof (go tool pprof, Parca, pprof.me) and folded stacks (flame-graph tools). */
export const PROFILE_FILE = 'profile.proto';
export const FOLDED_FILE = 'profile.folded';

export function runFile(runDir: string): string {
  return join(runDir, RUN_FILE);
}

export function cellDir(runDir: string, size: string, impl: string, rep: number): string {
  return join(runDir, 'cells', `${size}cpu`, impl, `r${rep}`);
}

export function verificationFile(runDir: string, size: string, impl: string): string {
  return join(runDir, 'verify', `${size}cpu`, `${impl}.json`);
}

/** A new run id: sortable UTC timestamp, e.g. 20261127-003742. */
export function newRunId(now: Date = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${now.getUTCFullYear()}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}-${p(now.getUTCHours())}${p(now.getUTCMinutes())}${p(now.getUTCSeconds())}`;
}

/**
 * The folder of a new run under `reportsDir`: named by its start time, with "-2", "-3", … when a run
 * started in the same second already has that name (two runs at once, or a script running them back to back).
 */
export function newRunDir(reportsDir: string, now: Date = new Date()): string {
  const id = newRunId(now);
  for (let n = 1; n < 1000; n++) {
    const dir = join(reportsDir, n === 1 ? id : `${id}-${n}`);
    if (!existsSync(dir)) return dir;
  }
  return join(reportsDir, `${id}-${process.pid}`);
}
