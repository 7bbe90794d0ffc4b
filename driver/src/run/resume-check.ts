// What a resumed run tells its reader: the cells run after --resume are not interleaved with the
// ones before it, and the code or the tools may have changed in between. Pure: the stored run and
// today's facts in, the differences out (loop.ts warns with them and records them in run.json).
import type { RunInfo } from '../results/schema.js';

export interface ResumeFacts {
  git: RunInfo['git'];
  versions: RunInfo['versions'];
}

const gitLabel = (g: RunInfo['git']) => `${g.revision?.slice(0, 12) ?? 'unknown'}${g.dirty ? ' (dirty)' : ''}`;

/** Each fact that differs between the run's start and now, as "what: then → now". */
export function resumeDrift(run: RunInfo, now: ResumeFacts): string[] {
  const out: string[] = [];
  if (run.git.revision !== now.git.revision || run.git.dirty !== now.git.dirty) out.push(`git ${gitLabel(run.git)} → ${gitLabel(now.git)}`);
  if (run.versions.node !== now.versions.node) out.push(`node ${run.versions.node} → ${now.versions.node}`);
  if (run.versions.go !== now.versions.go) out.push(`go ${run.versions.go ?? 'none'} → ${now.versions.go ?? 'none'}`);
  if (run.versions.engine !== now.versions.engine) out.push(`engine ${run.versions.engine} → ${now.versions.engine}`);
  for (const [impl, then] of Object.entries(run.versions.impls)) {
    const v = now.versions.impls[impl];
    if (v !== undefined && v !== then) out.push(`${impl} ${then} → ${v}`);
  }
  return out;
}

/** The warning a resume with differences prints (one line). */
export function resumeWarning(runId: string, drift: string[]): string {
  return `warning: --resume ${runId}: ${drift.join(', ')} since the run began: its cells before and after this resume measured different things (start a new run to compare like with like)`;
}

/** The reports' wording for how the repetitions were scheduled. */
export function schedulingText(run: RunInfo): string {
  const resumes = run.resumes ?? [];
  if (resumes.length === 0) return `${run.config.reps} repetition(s) interleaved`;
  const changed = resumes.flatMap((r) => r.changed);
  return (
    `${run.config.reps} repetition(s) interleaved, resumed ${resumes.length} time(s): the cells run after a resume are not interleaved with those before it` +
    (changed.length > 0 ? ` (changed in between: ${changed.join('; ')})` : '')
  );
}
