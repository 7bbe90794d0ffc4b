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
  if (s.startsWith('-')) throw new UsageError(`${flag}: "${text}" is negative`, hint);
  // A bare number has no unit, and units differ (tsherve's settings count milliseconds, wrk's and
  // k6's seconds): only 0 needs none. Say which was meant.
  if (/^[0-9]+(\.[0-9]+)?$/.test(s)) {
    if (Number(s) === 0) return 0;
    throw new UsageError(`${flag}: "${text}" has no unit`, `write ${s}s for seconds or ${s}ms for milliseconds`);
  }
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

/** "1m30s", "1m", "5s": the form the flags take, for progress lines and headers. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  if (h > 0) return `${h}h${m > 0 ? `${m}m` : ''}${rest > 0 ? `${rest}s` : ''}`;
  return m > 0 ? `${m}m${rest > 0 ? `${rest}s` : ''}` : `${s}s`;
}
