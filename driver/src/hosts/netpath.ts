// The network path between a separate generator machine and the server machine, measured from the
// generator before a size's first cell against `k6test --net-probe` (guest/netprobe.ts) listening on
// the server's HTTP port: the round trip of a 5-byte line on one open TCP connection (bash's
// /dev/tcp, timed with $EPOCHREALTIME: 1 warm-up, then the median and minimum of N), and what one
// TCP stream carried from the server machine in a few seconds (read by wc -c until the server
// closes; slow start included, so a lower bound of the link). A cell whose bytes/s reach
// NETWORK_BOUND of that carried is marked network-bound: the link, not the server, may have set it.
import { PassThrough } from 'node:stream';
import { EnvironmentError } from '../errors.js';
import type { Warning } from '../results/schema.js';
import { shellQuote } from '../vm/ssh.js';
import { targetName } from './file.js';
import type { HostSession } from './remote.js';

/**
 * A cell at >= 80 % of the probe's single-stream rate is within reach of the link: many wrk
 * connections carry more than one stream can (the probe is a lower bound), and HTTP headers count
 * in wrk's bytes, so a link-limited run lands from about 80 % up; below that the server set it.
 */
const NETWORK_BOUND = 0.8;

export interface NetPath {
  /** Median round trip of the pings after the first, ms. */
  rttMs: number | null;
  rttMinMs: number | null;
  pings: number;
  /** Bytes/s the one stream carried from the server machine; null when it could not be read. */
  capacityBytesPerSecond: number | null;
  /** Why a part is null, for the progress line. */
  problem: string | null;
}

/** The bash script the generator runs: "rtt=T0 T1" per ping, then "zero=BYTES T0 T1". */
function netPathScript(host: string, port: number, pings: number, readTimeoutSeconds = 5): string {
  const h = shellQuote(host);
  return [
    'export LC_ALL=C',
    '[ -n "$EPOCHREALTIME" ] || { echo "problem=bash has no EPOCHREALTIME (bash 5 or later)"; exit 3; }',
    `exec 3<>/dev/tcp/${h}/${port} || { echo "problem=cannot connect to ${host}:${port}"; exit 4; }`,
    `for ((i=0; i<=${pings}; i++)); do t0=$EPOCHREALTIME; echo ping >&3; read -r -t ${readTimeoutSeconds} l <&3 || { echo "problem=no pong from ${host}:${port}"; break; }; t1=$EPOCHREALTIME; [ $i -gt 0 ] && echo "rtt=$t0 $t1"; done`,
    'exec 3>&-',
    `exec 4<>/dev/tcp/${h}/${port} || { echo "problem=cannot connect to ${host}:${port} again"; exit 4; }`,
    `t0=$EPOCHREALTIME; echo zero >&4; n=$(timeout 30 wc -c <&4); t1=$EPOCHREALTIME; echo "zero=$n $t0 $t1"`,
  ].join('\n');
}

const median = (xs: number[]): number | null => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

/** The script's output → the path; parts that are missing are null, with the script's problem line. */
export function parseNetPath(out: string): NetPath {
  const rtts: number[] = [];
  let capacity: number | null = null;
  let problem: string | null = null;
  for (const line of out.split('\n')) {
    const [k, v = ''] = [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)];
    const nums = v.trim().split(/\s+/).map(Number);
    if (k === 'rtt' && nums.length === 2 && nums.every(Number.isFinite)) rtts.push(((nums[1] as number) - (nums[0] as number)) * 1000);
    else if (k === 'zero' && nums.length === 3 && nums.every(Number.isFinite)) {
      const secs = (nums[2] as number) - (nums[1] as number);
      capacity = secs > 0 && (nums[0] as number) > 0 ? (nums[0] as number) / secs : null;
      if (capacity === null) problem ??= 'the stream carried nothing';
    } else if (k === 'problem') problem ??= v.trim();
  }
  return { rttMs: median(rtts), rttMinMs: rtts.length ? Math.min(...rtts) : null, pings: rtts.length, capacityBytesPerSecond: capacity, problem };
}

/** Run the probe on the generator machine against host:port (a --net-probe listener must be there). */
export async function probeFromGenerator(gen: HostSession, host: string, port: number, pings = 20): Promise<NetPath> {
  const r = await gen.exec(`bash -c ${shellQuote(netPathScript(host, port, pings))}`);
  const p = parseNetPath(r.stdout);
  if (r.code === 255) return { ...p, problem: p.problem ?? 'the generator machine dropped the connection' };
  if (r.code !== 0 && !p.problem) return { ...p, problem: `exit ${r.code}: ${r.stderr.trim().split('\n').slice(-1)[0] ?? ''}` };
  return p;
}

/** The network-bound warning for a run that carried `bytesPerSecond`, or null. */
export function networkBoundWarning(bytesPerSecond: number, capacityBytesPerSecond: number | null, threshold = NETWORK_BOUND): Warning | null {
  if (capacityBytesPerSecond === null || capacityBytesPerSecond <= 0) return null;
  const share = bytesPerSecond / capacityBytesPerSecond;
  if (share < threshold) return null;
  return {
    code: 'network-bound',
    message: `the load carried ${(bytesPerSecond / 1e6).toFixed(0)} MB/s, ${(share * 100).toFixed(0)} % of the ${(capacityBytesPerSecond / 1e6).toFixed(0)} MB/s the link carried before the run: the network, not the server, may have set this number`,
  };
}

/** What `k6test --net-probe` prints once it listens. */
const NET_PROBE_READY = /^listening (\d{1,5})$/m;

/**
 * `k6test --net-probe` on the server machine (its stdin kept open: closing it ends the listener),
 * resolved with the port once it listens; a one-line error when it does not.
 */
export async function startServerProbe(server: HostSession, lifetimeSeconds: number): Promise<{ port: number; stop(): Promise<void> }> {
  const input = new PassThrough();
  let out = '';
  let onReady: ((port: number) => void) | null = null;
  const ready = new Promise<number>((r) => (onReady = r));
  const run = server.exec(server.asRoot(`k6test --net-probe --seconds ${lifetimeSeconds}`), {
    stdin: input,
    onStdout: (c) => {
      out += c;
      const m = NET_PROBE_READY.exec(out);
      if (m) onReady?.(Number(m[1]));
    },
  });
  const port = await Promise.race([ready, run.then((r) => r)]);
  if (typeof port !== 'number') {
    throw new EnvironmentError(
      `${targetName(server.target)}: k6test --net-probe did not listen (exit ${port.code}): ${port.stderr.trim().split('\n').slice(-1)[0] || 'no output'}`,
      "is a server unit still on the site port? (systemctl stop 'bench-*'), or hosts provision again",
    );
  }
  return {
    port,
    async stop() {
      input.end();
      await run.catch(() => undefined);
    },
  };
}
