// Test helpers: a real map server, a real tsherve process on ephemeral ports, raw HTTP requests.
// Tests run the built CLI; `npm test` builds first (pretest), and ensureBuilt() rebuilds when a
// source is newer than dist, so `npx vitest run servers/tsherve` alone also tests current code.
//
// One suite, both runtimes: tsherve runs under RUNTIME, which is TSHERVE_TEST_RUNTIME or else the
// runtime running the tests, so `npm run test:tsherve:bun` (vitest itself under Bun) runs every
// test, in-process ones included, against Bun. Requests go over raw sockets (net), so the request
// target is sent byte for byte and no HTTP client of either runtime normalises it.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';
import { runtimeExecutable } from '../src/relaunch.js';
import { currentRuntime, RUNTIMES, type RuntimeName } from '../src/runtime.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const CLI = join(REPO, 'dist/servers/tsherve/src/cli.js');
export const CLI_BUN = join(REPO, 'dist/servers/tsherve/src/cli-bun.js');

function testRuntime(): RuntimeName {
  const given = process.env.TSHERVE_TEST_RUNTIME;
  if (given === undefined || given === '') return currentRuntime();
  if (!(RUNTIMES as readonly string[]).includes(given)) throw new Error(`TSHERVE_TEST_RUNTIME=${given}: expected one of ${RUNTIMES.join(', ')}`);
  return given as RuntimeName;
}

/** The runtime the tsherve processes of this suite run on. */
export const RUNTIME: RuntimeName = testRuntime();

/** The executable of a runtime: this process's own when it is that runtime. */
export function executableOf(runtime: RuntimeName): string {
  return runtime === currentRuntime() ? process.execPath : runtimeExecutable(runtime);
}

/** tsherve's command line under RUNTIME (env TSHERVE_RUNTIME is left to the caller). */
function command(args: string[]): [string, string[]] {
  return [executableOf(RUNTIME), [CLI, ...args]];
}

/** tsherve's sources: its own folder and the shared grammar module, the one file it imports from outside. */
function newestSource(): number {
  const dir = join(REPO, 'servers/tsherve/src');
  return Math.max(...readdirSync(dir).map((f) => statSync(join(dir, f)).mtimeMs), statSync(join(REPO, 'shared/redirect-map.ts')).mtimeMs);
}

function builtAt(): number {
  try {
    return statSync(CLI).mtimeMs;
  } catch {
    return 0;
  }
}

/** Build with tsc when dist is missing or older than the sources; one test file builds at a time. */
function ensureBuilt(): void {
  if (builtAt() >= newestSource()) return;
  const lock = join(tmpdir(), 'tsherve-test-build.lock');
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`waited 120 s for ${lock}; remove it if no build is running`);
      execFileSync('sleep', ['0.2']);
    }
  }
  try {
    if (builtAt() >= newestSource()) return;
    // tsc exits non-zero when other areas have type errors but still emits; check the result instead.
    try {
      execFileSync(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', join(REPO, 'tsconfig.build.json')], { cwd: REPO, stdio: 'ignore' });
    } catch {
      /* judged below */
    }
    if (builtAt() < newestSource()) throw new Error(`building ${CLI} failed: run npx tsc -p tsconfig.build.json`);
  } finally {
    rmdirSync(lock);
  }
}
ensureBuilt();

export interface MapSource {
  url: string;
  fetches: number;
  text: string;
  delayMs: number;
  status: number;
  close(): Promise<void>;
}

export async function startMapSource(text: string): Promise<MapSource> {
  const state = { fetches: 0, text, delayMs: 0, status: 200 };
  const server: Server = createServer((req, res) => {
    state.fetches++;
    const answer = (): void => {
      res.writeHead(state.status, { 'Content-Type': 'text/plain' });
      res.end(state.text);
    };
    if (state.delayMs > 0) setTimeout(answer, state.delayMs);
    else answer();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}/redirects.txt`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  }) as unknown as MapSource;
}

export interface Tsherve {
  proc: ChildProcess;
  port: number;
  metricsPort: number;
  base: string;
  /** The pid in the "listening" line: proc's own, or its child's when it relaunched under another runtime. */
  servingPid: number;
  stdout: () => string;
  stderr: () => string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface StartOptions {
  /** Executable and arguments; default: the CLI under RUNTIME with `args`. */
  cmdline?: [string, string[]];
  /** The runtime the "listening" line must name; default RUNTIME. */
  runtime?: RuntimeName;
}

export async function startTsherve(env: Record<string, string>, args: string[] = [], opts: StartOptions = {}): Promise<Tsherve> {
  const [cmd, cmdArgs] = opts.cmdline ?? command(args);
  const expected = opts.runtime ?? RUNTIME;
  const proc = spawn(cmd, cmdArgs, {
    env: { PATH: process.env.PATH ?? '', TSHERVE_PORT: '0', TSHERVE_METRICS_PORT: '0', TSHERVE_WORKERS: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  const ports = await new Promise<{ port: number; metricsPort: number; pid: number }>((resolveP, reject) => {
    const timer = setTimeout(() => reject(new Error(`tsherve did not start: ${err}${out}`)), 15_000);
    const onData = (): void => {
      for (const line of out.split('\n')) {
        if (!line.includes('"listening"')) continue;
        const j = JSON.parse(line) as { port: number; metricsPort: number; pid: number; runtime: string };
        clearTimeout(timer);
        proc.stdout!.off('data', onData);
        // Every test checks it ran against the runtime it means to.
        if (j.runtime !== expected) reject(new Error(`tsherve runs on ${j.runtime}, expected ${expected}: ${line}`));
        else resolveP(j);
        return;
      }
    };
    proc.stdout!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`tsherve exited ${code}: ${err}`));
    });
  });
  return {
    proc,
    port: ports.port,
    metricsPort: ports.metricsPort,
    servingPid: ports.pid,
    base: `http://127.0.0.1:${ports.port}`,
    stdout: () => out,
    stderr: () => err,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      const t = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}

/** Run the CLI expecting it to exit; returns code and output. */
export function runTsherve(
  env: Record<string, string>,
  args: string[] = [],
  timeoutMs = 20_000,
  cmdline: [string, string[]] = command(args),
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolveP) => {
    const proc = spawn(cmdline[0], cmdline[1], {
      env: { PATH: process.env.PATH ?? '', TSHERVE_PORT: '0', TSHERVE_METRICS_PORT: '0', TSHERVE_WORKERS: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.on('exit', (code) => {
      clearTimeout(t);
      resolveP({ code, stdout, stderr });
    });
  });
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** The response bytes of one request on a fresh connection, parsed: status line, headers, body. */
function parseResponse(raw: Buffer, head: boolean): RawResponse {
  const end = raw.indexOf('\r\n\r\n');
  if (end === -1) throw new Error(`no complete response head: ${JSON.stringify(raw.toString('latin1').slice(0, 200))}`);
  const [statusLine, ...lines] = raw.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1] ?? NaN);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  let body = raw.subarray(end + 4);
  if (head) return { status, headers, body };
  if (headers['transfer-encoding'] === 'chunked') {
    const parts: Buffer[] = [];
    for (let at = 0; ;) {
      const eol = body.indexOf('\r\n', at);
      const size = parseInt(body.subarray(at, eol).toString('latin1'), 16);
      if (!(size > 0)) break;
      parts.push(body.subarray(eol + 2, eol + 2 + size));
      at = eol + 2 + size + 2;
    }
    body = Buffer.concat(parts);
  } else if (headers['content-length'] !== undefined) body = body.subarray(0, Number(headers['content-length']));
  return { status, headers, body };
}

/**
 * One request on its own connection (Connection: close), over a raw socket: the request target is
 * sent exactly as given, which no client library of Node or Bun guarantees.
 */
export function get(base: string, path: string, opts: { method?: string; headers?: Record<string, string> } = {}): Promise<RawResponse> {
  const u = new URL(base);
  const method = opts.method ?? 'GET';
  const head = [`${method} ${path} HTTP/1.1`, `Host: ${u.host}`, 'Connection: close', ...Object.entries(opts.headers ?? {}).map(([k, v]) => `${k}: ${v}`)].join(
    '\r\n',
  );
  return new Promise((resolveP, reject) => {
    const chunks: Buffer[] = [];
    const sock = connect(Number(u.port), u.hostname, () => sock.write(`${head}\r\n\r\n`));
    const timer = setTimeout(() => sock.destroy(new Error(`no answer to ${method} ${path} within 15 s`)), 15_000);
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    sock.on('close', () => {
      clearTimeout(timer);
      try {
        resolveP(parseResponse(Buffer.concat(chunks), method === 'HEAD'));
      } catch (err) {
        reject(err);
      }
    });
  });
}

export async function metrics(port: number): Promise<string> {
  const r = await get(`http://127.0.0.1:${port}`, '/metrics');
  return r.body.toString();
}

/** Value of one sample line in Prometheus text, e.g. metricValue(text, 'tsherve_response_status{status="200"}'). */
export function metricValue(text: string, sample: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(sample + ' ')) return Number(line.slice(sample.length + 1));
  }
  return undefined;
}

/** A small site with awkward names, a 404 page, a nested index and a secret next to the root. */
// Each site holds an 8 MiB file: remove a test file's sites when it ends (the hook is registered
// while the test file imports this module).
const sites: string[] = [];
afterAll(() => {
  for (const dir of sites.splice(0)) rmSync(dir, { recursive: true, force: true });
});

export function makeSite(): { root: string; parent: string } {
  const parent = mkdtempSync(join(tmpdir(), 'tsherve-test-'));
  sites.push(parent);
  const root = join(parent, 'www');
  mkdirSync(join(root, 'posts', 'hello'), { recursive: true });
  mkdirSync(join(root, 'assets'), { recursive: true });
  writeFileSync(join(root, 'index.html'), '<h1>home</h1>');
  writeFileSync(join(root, 'posts', 'hello', 'index.html'), '<h1>hello</h1>');
  writeFileSync(join(root, 'assets', 'site.css'), 'body{}');
  writeFileSync(join(root, 'assets', 'app.js'), 'console.log(1)');
  writeFileSync(join(root, 'assets', 'my file.txt'), 'spaces');
  writeFileSync(join(root, 'assets', 'café.txt'), 'accent');
  writeFileSync(join(root, 'assets', '100%.txt'), 'percent');
  writeFileSync(join(root, 'assets', 'a%20b.txt'), 'literal');
  writeFileSync(join(root, 'assets', 'a&b+c.txt'), 'delims');
  writeFileSync(join(root, 'assets', 'a:b*c.txt'), 'pattern'); // ":" and "*" are route patterns to Bun's router
  writeFileSync(join(root, 'assets', '.hidden'), 'dotfile');
  writeFileSync(join(root, 'big.bin'), Buffer.alloc(8 * 1024 * 1024, 7));
  writeFileSync(join(root, '404.html'), '<h1>custom 404</h1>');
  writeFileSync(join(parent, 'secret.txt'), 'TOP-SECRET');
  return { root, parent };
}

/** State and parent of a process from /proc/<pid>/stat; null when it is gone. */
function procState(pid: number): { state: string; ppid: number } | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name may hold spaces and parentheses: the fields start after the last ")".
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: f[0] ?? '?', ppid: Number(f[1]) };
}

/** Live children of a process, from /proc (no procps needed). */
export function childPids(parent: number): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => {
      const st = procState(pid);
      return st !== null && st.ppid === parent && st.state !== 'Z';
    })
    .sort((a, b) => a - b);
}

/** Resident bytes of one process (VmRSS in /proc/<pid>/status); null when it is gone. */
export function rssBytes(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** The worker ids named by the request lines of a debug log. */
export function workersInLog(stdout: string): Set<number> {
  return new Set(
    stdout
      .split('\n')
      .filter((l) => l.includes('"msg":"request"'))
      .map((l) => (JSON.parse(l) as { worker: number }).worker),
  );
}

/**
 * Start downloading /big.bin (8 MiB) over a raw socket, send tsherve SIGTERM 300 ms in, then read
 * the rest a second later (the socket paused until then, so most of the file waits in tsherve);
 * resolves with the body bytes received.
 */
export function downloadAcrossSigterm(ts: Tsherve): Promise<number> {
  return new Promise<number>((resolveP, reject) => {
    const chunks: Buffer[] = [];
    const sock = connect(ts.port, '127.0.0.1', () => sock.write('GET /big.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
    sock.once('data', () => {
      sock.pause();
      setTimeout(() => {
        ts.proc.kill('SIGTERM');
        setTimeout(() => sock.resume(), 1_000);
      }, 300);
    });
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('error', reject);
    sock.on('close', () => {
      const raw = Buffer.concat(chunks);
      const end = raw.indexOf('\r\n\r\n');
      resolveP(end === -1 ? 0 : raw.length - end - 4);
    });
  });
}

/** Every file under root, full paths (statSync: symlinks are followed). */
export function filesUnder(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const full = join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else out.push(full);
    }
  };
  walk(root);
  return out;
}
