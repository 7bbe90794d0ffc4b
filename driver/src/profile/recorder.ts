// bench --profile, one cell: attach perf to the server's processes for the measured window only,
// then fold the recording and write the cell's profile.proto (gzipped pprof) and profile.folded,
// and say in result.json how it was taken and what could not be named. cell.ts calls start() right
// before the measured run and finish() after it; everything else about profiling lives here.
import { join } from 'node:path';
import type { ServerHandle } from '../contracts.js';
import { BenchError, ExitCode } from '../errors.js';
import { FOLDED_FILE, PROFILE_FILE } from '../results/layout.js';
import type { ProfileInfo, Warning } from '../results/schema.js';
import { writeFileAtomic } from '../results/store.js';
import { renderFolded } from './folded.js';
import { foldPerfData, removePerfMaps, startPerfRecord, type CallGraph } from './perf.js';
import { renderPprof } from './pprof.js';

export interface ProfileSettings {
  hz: number;
  callGraph: CallGraph;
  /** The perf binary (default: perf on PATH). */
  perf?: string;
}

/**
 * 99 Hz: a 30 s cell on one busy core gives ~3,000 samples, enough for every function above ~1 %
 * to show within a few tenths of a percent, and perf costs well under 1 % of a core (measured: see
 * README). 999 Hz resolves finer detail at ten times the interrupts and file size.
 */
export const DEFAULT_PROFILE_HZ = 99;

interface CellRecording {
  /** Stop sampling (idempotent; also right after a failed measured run). */
  stop(): Promise<void>;
  /** Fold, write the cell's profile files into `dir` and describe them for result.json. */
  finish(dir: string, window: { startedAt: Date; durationSeconds: number }): Promise<{ info: ProfileInfo; warnings: Warning[] }>;
}

export interface CellProfiler {
  settings: ProfileSettings;
  /** Attach to the running server's processes; resolves once samples are being taken. */
  start(server: ServerHandle, scratchDir: string): Promise<CellRecording>;
}

function pct(share: number): string {
  return `${(share * 100).toFixed(share < 0.1 ? 1 : 0)} %`;
}

/** A module name a reader recognises: V8's perf maps are "JIT code", anonymous memory likewise. */
function moduleLabel(module: string): string {
  if (/\/perf-\d+\.map/.test(module)) return 'JavaScript JIT code (V8 perf map)';
  if (module === '//anon' || module.startsWith('[anon')) return 'JIT or anonymous code (//anon)';
  return module;
}

/**
 * Warnings about what the profile cannot show: modules without symbols (named, with their share),
 * stacks that stop early (no frame pointers), and profiles too small to say much. Pure.
 */
export function profileWarnings(info: Pick<ProfileInfo, 'samples' | 'unresolved' | 'truncatedSamples' | 'hz'>, impl: string): Warning[] {
  const out: Warning[] = [];
  if (info.samples === 0) {
    out.push({ code: 'profile', message: `the profile of ${impl} holds no samples: the server used no CPU while it was recorded` });
    return out;
  }
  const missing = info.unresolved.filter((u) => u.samples / info.samples >= 0.01);
  if (missing.length > 0) {
    const list = missing.map((u) => `${moduleLabel(u.module)} (${pct(u.samples / info.samples)} of samples)`).join(', ');
    const jit = missing.some((u) => /perf-\d+\.map|\/\/anon|^\[anon/.test(u.module));
    out.push({
      code: 'profile',
      message: `${impl}'s profile lacks function names for ${list}: the profile is written, those frames appear as [module]; ${jit ? 'a Node server needs --perf-basic-prof for JIT names' : 'the binary is stripped: install its debug symbols or build it with a symbol table'}`,
    });
  }
  const cut = info.truncatedSamples / info.samples;
  if (cut >= 0.05) {
    out.push({
      code: 'profile',
      message: `${impl}'s call stacks stop early in ${pct(cut)} of samples (code built without frame pointers): callers above that code are missing from its profile`,
    });
  }
  if (info.samples < 200) {
    out.push({
      code: 'profile',
      message: `${impl}'s profile holds only ${info.samples} samples at ${info.hz} Hz: shares below ~5 % are noise (use a longer --duration)`,
    });
  }
  return out;
}

export function perfProfiler(settings: ProfileSettings): CellProfiler {
  return {
    settings,
    async start(server, scratchDir) {
      if (!server.pids)
        throw new BenchError(`--profile: this backend cannot list ${server.impl}'s processes`, 'profile with the local backend', ExitCode.usage);
      const pids = await server.pids();
      const dataFile = join(scratchDir, 'perf.data');
      const recording = await startPerfRecord({
        pids,
        hz: settings.hz,
        callGraph: settings.callGraph,
        dataFile,
        ...(settings.perf ? { perf: settings.perf } : {}),
      });
      return {
        stop: () => recording.stop(),
        async finish(dir, window) {
          await recording.stop();
          let folded;
          try {
            folded = await foldPerfData(dataFile, settings.perf);
          } finally {
            await removePerfMaps(pids);
          }
          await removePerfMaps(folded.pids);
          await writeFileAtomic(join(dir, FOLDED_FILE), renderFolded(folded.stacks));
          await writeFileAtomic(
            join(dir, PROFILE_FILE),
            renderPprof(folded.stacks, {
              hz: settings.hz,
              startedAt: window.startedAt,
              durationSeconds: window.durationSeconds,
              ...(folded.samples > 0 ? { periodNs: folded.periodNs / folded.samples } : {}),
              comments: [`server-bench --profile: ${server.impl}, perf record -e cpu-clock -F ${settings.hz} --call-graph ${settings.callGraph}`],
            }),
          );
          const info: ProfileInfo = {
            tool: 'perf',
            event: 'cpu-clock',
            hz: settings.hz,
            callGraph: settings.callGraph,
            samples: folded.samples,
            pids: [...new Set([...pids, ...folded.pids])].sort((a, b) => a - b),
            files: { pprof: PROFILE_FILE, folded: FOLDED_FILE },
            unresolved: folded.unresolved,
            truncatedSamples: folded.truncated,
          };
          return { info, warnings: profileWarnings(info, server.impl) };
        },
      };
    },
  };
}
