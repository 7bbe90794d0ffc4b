// What the reports show of a run's profiles, built from each profiled cell's profile.folded (the
// source of truth, re-read on every `server-bench report`): top functions by self and total time,
// the pruned call tree for the flame graph, and the measured cost of profiling (the profiled
// repetition against the same cell's unprofiled ones). summarizeProfile is pure; loadProfiles reads.
import { readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { z } from 'zod';
import { cellDir } from '../results/layout.js';
import type { CellResult } from '../results/schema.js';
import { median } from '../results/stats.js';
import { parseFolded, type FoldedStack } from './folded.js';
import { topFunctions } from './top.js';
import { buildFlameTree, FlameNodeSchema } from './tree.js';

const TOP_N = 10;

const TopEntrySchema = z.object({
  name: z.string(),
  kind: z.enum(['kernel', 'js', 'native', 'unknown']),
  samples: z.number().int().nonnegative(),
  share: z.number().min(0).max(1),
});

export const ProfileSummarySchema = z.object({
  impl: z.string(),
  size: z.string(),
  rep: z.number().int().positive(),
  hz: z.number().int().positive(),
  callGraph: z.enum(['fp', 'dwarf']),
  samples: z.number().int().nonnegative(),
  /** Relative to the run folder. */
  files: z.object({ pprof: z.string(), folded: z.string() }),
  top: z.object({ self: z.array(TopEntrySchema), total: z.array(TopEntrySchema) }),
  tree: FlameNodeSchema,
  /** The profiled repetition against the median of the same cell's unprofiled ones. */
  overhead: z.object({
    reqPerSec: z.number().nonnegative(),
    unprofiledReqPerSec: z.number().nonnegative().nullable(),
    /** 1 − profiled / unprofiled median: 0.02 = 2 % fewer req/s while profiled; null without unprofiled repetitions. */
    slowdown: z.number().nullable(),
    cpuMicrosPerRequest: z.number().nonnegative().nullable(),
    unprofiledCpuMicrosPerRequest: z.number().nonnegative().nullable(),
  }),
});
export type ProfileSummary = z.infer<typeof ProfileSummarySchema>;

function cpuMicros(r: CellResult): number | null {
  const cpu = r.resources.serverCpuSeconds;
  return cpu === null || r.requests === 0 ? null : (cpu * 1e6) / r.requests;
}

function summarizeProfile(
  profiled: CellResult,
  stacks: readonly FoldedStack[],
  unprofiled: readonly CellResult[],
  files: ProfileSummary['files'],
): ProfileSummary {
  const info = profiled.profile;
  if (!info) throw new Error(`${profiled.id} was not profiled`);
  const top = topFunctions(stacks, TOP_N);
  const base = unprofiled.length > 0 ? median(unprofiled.map((r) => r.reqPerSec)) : null;
  const baseCpu = unprofiled.map(cpuMicros).filter((x): x is number => x !== null);
  return {
    impl: profiled.impl,
    size: profiled.size.name,
    rep: profiled.rep,
    hz: info.hz,
    callGraph: info.callGraph,
    samples: top.samples,
    files,
    top: { self: top.self, total: top.total },
    tree: buildFlameTree(stacks),
    overhead: {
      reqPerSec: profiled.reqPerSec,
      unprofiledReqPerSec: base,
      slowdown: base !== null && base > 0 ? 1 - profiled.reqPerSec / base : null,
      cpuMicrosPerRequest: cpuMicros(profiled),
      unprofiledCpuMicrosPerRequest: baseCpu.length > 0 ? median(baseCpu) : null,
    },
  };
}

/**
 * Summaries of every profiled repetition in a run folder, in cell order. A profile whose folded
 * file is missing or unreadable is named in `problems` instead (the run still renders).
 */
export async function loadProfiles(
  runDir: string,
  cells: readonly CellResult[],
): Promise<{ profiles: ProfileSummary[]; problems: { impl: string; size: string; rep: number; message: string }[] }> {
  const profiles: ProfileSummary[] = [];
  const problems: { impl: string; size: string; rep: number; message: string }[] = [];
  for (const c of cells) {
    if (!c.profile) continue;
    const dir = cellDir(runDir, c.size.name, c.impl, c.rep);
    const folded = join(dir, c.profile.files.folded);
    let text: string;
    try {
      text = await readFile(folded, 'utf8');
    } catch (err) {
      problems.push({
        impl: c.impl,
        size: c.size.name,
        rep: c.rep,
        message: `its profile ${relative(runDir, folded)} cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)}): no flame graph or top functions for it`,
      });
      continue;
    }
    const unprofiled = cells.filter((x) => !x.profile && x.impl === c.impl && x.size.name === c.size.name);
    profiles.push(
      summarizeProfile(c, parseFolded(text), unprofiled, { pprof: relative(runDir, join(dir, c.profile.files.pprof)), folded: relative(runDir, folded) }),
    );
  }
  return { profiles, problems };
}
