// Progress on stderr: one line per phase ("[2/12] gosherve-1cpu-r1 measure 30 s ..."), and while
// loading a live line rewritten with \r when stderr is a TTY (plain, sparse lines otherwise, so
// CI logs stay readable). Pure formatting in formatEvent; the writer only adds the TTY handling.
import type { BenchEvent } from '../run/events.js';
import { formatDuration } from './duration.js';

function fmtRate(n: number): string {
  return n >= 1000 ? `${(n / 1000).toFixed(1)}k` : n.toFixed(0);
}

/** The line for one event, or null for events that only update the live line. */
export function formatEvent(e: BenchEvent): string | null {
  switch (e.kind) {
    case 'info':
      return e.message;
    case 'skip':
      return `skip ${e.impl === '*' ? 'every implementation' : e.impl} at size ${e.size === '*' ? 'every size' : e.size}: ${e.reason}`;
    case 'run':
      return `run ${e.runDir}: ${e.cells} cell(s) to run${e.resumed > 0 ? `, ${e.resumed} already finished` : ''}`;
    case 'phase':
      return `[${e.index + 1}/${e.total}] ${e.cellId} ${e.phase}${e.detail ? ` (${e.detail})` : ''}  elapsed ${formatDuration(e.elapsedSeconds)}, ~${formatDuration(e.remainingSeconds)} left`;
    case 'live':
      return null;
    case 'cell-done': {
      const r = e.result;
      const cpu = r.resources.serverCpuSeconds !== null ? `, server CPU ${r.resources.serverCpuSeconds.toFixed(1)} s` : '';
      const warn = r.warnings.length > 0 ? `, warnings: ${r.warnings.map((w) => w.code).join(', ')}` : '';
      return `[${e.index + 1}/${e.total}] ${r.id} done: ${fmtRate(r.reqPerSec)} req/s, ${(r.bytesPerSec / 1e6).toFixed(0)} MB/s, p99 ${r.latencyMs.p99 === null ? '– (not measured)' : `${r.latencyMs.p99.toFixed(1)} ms`}${cpu}${r.mapFetches !== null ? `, map fetches ${r.mapFetches}` : ''}${warn}`;
    }
    case 'cell-skipped':
      return `[${e.index + 1}/${e.total}] ${e.cellId} skipped: ${e.reason}`;
  }
}

function formatLive(e: Extract<BenchEvent, { kind: 'live' }>): string {
  const reqs = e.requests !== undefined ? `, ${e.requests} requests` : '';
  return `[${e.index + 1}/${e.total}] ${e.cellId} ${e.phase} ${Math.min(e.elapsedSeconds, e.totalSeconds).toFixed(0)}/${e.totalSeconds.toFixed(0)} s${reqs}`;
}

/** A subscriber that writes events to `out` (stderr). */
export function progressWriter(out: NodeJS.WriteStream = process.stderr): (e: BenchEvent) => void {
  const tty = out.isTTY === true;
  let liveShown = false;
  let lastPlainLive = -Infinity;
  return (e) => {
    if (e.kind === 'live') {
      if (tty) {
        out.write(`\r\x1b[2K${formatLive(e)}`);
        liveShown = true;
      } else if (e.elapsedSeconds - lastPlainLive >= 10 || e.elapsedSeconds < lastPlainLive) {
        // Without a TTY a line every 10 s is enough to show it is alive.
        lastPlainLive = e.elapsedSeconds;
        out.write(`${formatLive(e)}\n`);
      }
      return;
    }
    const line = formatEvent(e);
    if (line === null) return;
    if (liveShown) {
      out.write('\r\x1b[2K');
      liveShown = false;
    }
    lastPlainLive = -Infinity;
    out.write(`${line}\n`);
  };
}
