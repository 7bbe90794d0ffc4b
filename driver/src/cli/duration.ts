// Durations as the CLI accepts them ("30s", "2m", "1m30s", "500ms", "1h") → seconds.
// One parser so `--duration`, `--warmup` and k6test agree on what a duration is.
import { UsageError } from '../errors.js';

const UNIT_SECONDS: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001 };
const PART = /([0-9]+(?:\.[0-9]+)?)(ms|h|m|s)/y;

/** Parse a duration such as "30s", "2m", "1m30s" or "500ms" into seconds; `flag` names the flag in errors. */
export function parseDuration(text: string, flag = '--duration'): number {
  const s = text.trim();
  const hint = `${flag} takes a duration like 30s, 2m, 1m30s or 500ms`;
  if (s === '') throw new UsageError(`${flag}: empty duration`, hint);
  // A bare number means seconds, as wrk and k6 users expect.
  if (/^[0-9]+(\.[0-9]+)?$/.test(s)) return Number(s);
  let total = 0;
  let pos = 0;
  while (pos < s.length) {
    PART.lastIndex = pos;
    const m = PART.exec(s);
    if (!m) throw new UsageError(`${flag}: bad duration "${text}"`, hint);
    total += Number(m[1]) * (UNIT_SECONDS[m[2] as string] as number);
    pos = PART.lastIndex;
  }
  return Math.round(total * 1000) / 1000;
}

/** "1m30s" style, for progress lines. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}
