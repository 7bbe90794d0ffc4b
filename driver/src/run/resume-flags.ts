// --resume finishes a run with the settings it was started with: a flag that would change them
// (--reps 5 on a 3-repetition run) is refused, every difference named in one line, instead of being
// silently ignored. A flag that only repeats the stored value is fine, and so are the flags that do
// not change what is measured (--json, --port): those apply to the resumed invocation.
import { formatDuration } from '../cli/duration.js';
import { UsageError } from '../errors.js';
import { CELL_KEYS, CELL_OPTIONS } from './cell-options.js';
import type { RawFlags } from './options.js';
import type { RunSettings } from './plan.js';

/** Each setting as its flag's name → a comparable text (what the message shows). */
function settingTexts(s: RunSettings): Record<string, string> {
  const out: Record<string, string> = {
    impls: s.implSpecs.join(','),
    sizes: s.sizes.map((z) => z.name).join(','),
    reps: String(s.reps),
    engine: s.engine,
    loadgen: s.loadgen,
    webroot: s.site.kind === 'user' ? s.site.webroot : 'the generated site',
    redirects: s.site.kind === 'user' ? (s.site.redirects ?? 'none') : 'the generated map',
    'site-size': s.site.kind === 'generated' ? `${s.site.targetBytes} bytes` : 'your own site',
    seed: s.site.kind === 'generated' ? String(s.site.seed) : 'your own site',
    profile: s.profile !== null ? 'on' : 'off',
    'profile-hz': s.profile !== null ? String(s.profile.hz) : 'off',
    'profile-call-graph': s.profile !== null ? s.profile.callGraph : 'off',
    'profile-in-stats': s.profile !== null ? String(s.profile.inStats) : 'off',
  };
  if (s.reference !== null) out.reference = s.reference;
  for (const k of CELL_KEYS) {
    const value: unknown = s.cell[k];
    out[CELL_OPTIONS[k].flag] = k === 'durationSeconds' || k === 'warmupSeconds' ? formatDuration(value as number) : value === null ? 'default' : String(value);
  }
  return out;
}

/**
 * The flags given beside --resume that would change the stored run's settings → one usage error
 * naming each (what was asked, what the run has), or null when there is none.
 */
export function resumeConflicts(runId: string, raw: RawFlags, given: RunSettings, stored: RunSettings): UsageError | null {
  const asked = settingTexts(given);
  const has = settingTexts(stored);
  const diffs: string[] = [];
  for (const [flag, text] of Object.entries(raw.text)) {
    if (text === undefined || !(flag in asked)) continue;
    // auto picks an engine; the run already has the one it picked.
    if (flag === 'engine' && text === 'auto') continue;
    if (asked[flag] !== has[flag]) diffs.push(`--${flag} ${typeof text === 'string' ? text : ''}`.trimEnd() + ` (the run has ${has[flag] ?? 'none'})`);
  }
  if (diffs.length === 0) return null;
  return new UsageError(
    `--resume ${runId}: ${diffs.join(', ')}: a resumed run keeps the settings it started with`,
    'leave those flags out to finish the run as it was started, or start a new run with them',
  );
}
