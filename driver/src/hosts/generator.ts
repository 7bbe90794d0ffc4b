// A separate generator machine (hosts file `generator`): wrk or k6 runs there, over SSH, against the
// server machine's address. Nothing of ours is installed there: each run makes a mktemp folder,
// gets the targets and the engine's script over SFTP, runs the very command line the local engine
// builds (engines/wrk.ts wrkArgs, engines/k6.ts k6Args) pinned with taskset, reads the generator's
// CPU seconds from bash's `time` (user + system of the waited process, all its threads), parses the
// output with the local engine's parser and removes the folder. An abort kills every process
// whose command line names the folder (bounded wait, then SIGKILL): no wrk is left there.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoadResult } from '../contracts.js';
import { BenchError, EnvironmentError, ExitCode, tail } from '../errors.js';
import { targetsJsonText } from '../engines/common.js';
import { k6Args, k6ScriptPath } from '../engines/k6.js';
import { normaliseK6, parseK6Summary } from '../engines/k6summary.js';
import { normaliseWrk, parseWrkOutput, WRK_STATUS_CODES, wrkArgs, wrkLuaPath, wrkSeconds, wrkTargetsText, wrkThreads } from '../engines/wrk.js';
import type { LoadRequest } from '../guest/load-relay.js';
import type { EngineName } from '../results/schema.js';
import { shellQuote } from '../vm/ssh.js';
import { parseServerAddress, targetName } from './file.js';
import type { HostSession } from './remote.js';

/** The generator machine's half of a size: where it is, its cores, the server's address from there. */
interface GeneratorSpec {
  cpus: number[];
  serverAddress: string;
}

/** The server's base URL as the generator machine reaches it: the address's host, and its port when it has one. */
export function generatorBaseUrl(baseUrl: string, serverAddress: string): string {
  const a = parseServerAddress(serverAddress);
  if (!a) throw new BenchError(`server address "${serverAddress}" is not host or host:port`, 'fix generator.serverAddress in the hosts file', ExitCode.input);
  const u = new URL(baseUrl);
  return `http://${a.host}:${a.port ?? (u.port || '80')}`;
}

/** The server address's host and port as the generator reaches a server listening on `serverPort`. */
export function generatorEndpoint(serverAddress: string, serverPort: number): { host: string; port: number } {
  const a = parseServerAddress(serverAddress);
  if (!a) throw new BenchError(`server address "${serverAddress}" is not host or host:port`, 'fix generator.serverAddress in the hosts file', ExitCode.input);
  return { host: a.host.replace(/^\[|\]$/g, ''), port: a.port ?? serverPort };
}

/** The folders runs make there; the kill pattern below matches them and nothing that names it otherwise. */
const GEN_DIR_PREFIX = '/tmp/server-bench-gen-';
const CPU_MARK = 'SERVER_BENCH_CPU ';

/**
 * Stop every process whose command line names `dir`, wait up to `waitMs`, then SIGKILL what is
 * left. The pattern is bracketed ("[/]tmp/…") so it never matches this command's own shell.
 */
export function killGeneratorCommand(dir: string, waitMs = 5_000): string {
  const pat = `[/]${dir.slice(1)}`;
  const tries = Math.max(1, Math.round(waitMs / 200));
  return `p=${shellQuote(pat)}; pkill -INT -f "$p"; i=0; while pgrep -f "$p" >/dev/null && [ $i -lt ${tries} ]; do sleep 0.2; i=$((i+1)); done; if pgrep -f "$p" >/dev/null; then pkill -KILL -f "$p"; echo killed; else echo stopped; fi`;
}

/** The engine's version on the generator machine (`wrk -v` exits 1 after its banner), null when absent. */
export async function generatorEngineVersion(s: HostSession, engine: EngineName): Promise<string | null> {
  const r = await s.exec(engine === 'wrk' ? 'wrk -v 2>&1' : 'k6 version 2>&1');
  const m = engine === 'wrk' ? /^wrk\s+(\S+)/m.exec(r.stdout) : /k6 v?(\d+\.\d+\.\d+\S*)/.exec(r.stdout);
  return m?.[1] ?? null;
}

export interface RemoteLoadOptions extends GeneratorSpec {
  engine: EngineName;
  engineVersion: string;
  /** Seconds after the planned end before the run is killed there (wrk 30, k6 90 as locally). */
  graceSeconds?: number;
  signal?: AbortSignal;
  /** wrk: count every status code (the local engine's SERVER_BENCH_WRK_STATUS_CODES). */
  statusCodes?: boolean;
}

/** One load run on the generator machine; the result as the local engine's, its CPU seconds measured there. */
export async function runRemoteLoad(s: HostSession, req: LoadRequest, o: RemoteLoadOptions): Promise<LoadResult> {
  const who = `generator ${targetName(s.target)}`;
  if (o.signal?.aborted) throw new BenchError(`${who}: interrupted`, 'the run was cancelled', ExitCode.interrupted);
  const mk = await s.exec(`mktemp -d ${GEN_DIR_PREFIX}XXXXXXXX`);
  const dir = mk.stdout.trim();
  if (mk.code !== 0 || !/^\/tmp\/server-bench-gen-[A-Za-z0-9]+$/.test(dir))
    throw new EnvironmentError(`${who}: mktemp failed (exit ${mk.code}): ${tail(mk.stderr, 1) || 'no output'}`, 'the machine needs a writable /tmp');
  const staging = await mkdtemp(join(tmpdir(), 'server-bench-gen-'));
  // At most one kill there (an abort and the timeout may both ask).
  const kills: Promise<unknown>[] = [];
  const kill = () => {
    if (kills.length === 0) kills.push(s.exec(killGeneratorCommand(dir)).catch(() => undefined));
  };
  try {
    const baseUrl = generatorBaseUrl(req.baseUrl, o.serverAddress);
    const seconds = wrkSeconds(req.durationSeconds);
    let command: string;
    if (o.engine === 'wrk') {
      const threads = wrkThreads(req.connections, o.cpus);
      await writeFile(join(staging, 'wrk-targets.txt'), wrkTargetsText(req.targets));
      await s.pushFile(join(staging, 'wrk-targets.txt'), `${dir}/wrk-targets.txt`);
      await s.pushFile(wrkLuaPath(), `${dir}/wrk-targets.lua`);
      const args = wrkArgs({
        threads,
        connections: req.connections,
        seconds,
        script: `${dir}/wrk-targets.lua`,
        baseUrl,
        targetsFile: `${dir}/wrk-targets.txt`,
        statusCodes: o.statusCodes ?? WRK_STATUS_CODES,
      });
      command = `wrk ${args.map(shellQuote).join(' ')}`;
    } else {
      await writeFile(join(staging, 'targets.json'), targetsJsonText(baseUrl, req.targets));
      await s.pushFile(join(staging, 'targets.json'), `${dir}/targets.json`);
      await s.pushFile(k6ScriptPath(), `${dir}/script.js`);
      const args = k6Args({
        targetsFile: `${dir}/targets.json`,
        summaryDir: dir,
        vus: req.vus,
        durationSeconds: req.durationSeconds,
        script: `${dir}/script.js`,
      });
      // As k6Env locally: no K6_* from the login environment overrides the script's options.
      command = `unset $(compgen -e | grep '^K6_'); K6_NO_USAGE_REPORT=true k6 ${args.map(shellQuote).join(' ')}`;
    }
    const pinned = `taskset -c ${o.cpus.join(',')} ${command}`;
    const script = `cd ${dir} || exit 97; TIMEFORMAT='${CPU_MARK}%U %S'; time ${pinned}`;
    const grace = o.graceSeconds ?? (o.engine === 'wrk' ? 30 : 90);
    let timedOut = false;
    const timer = setTimeout(
      () => {
        timedOut = true;
        kill();
      },
      (seconds + grace) * 1000,
    );
    o.signal?.addEventListener('abort', kill, { once: true });
    let r: Awaited<ReturnType<HostSession['exec']>>;
    try {
      r = await s.exec(`bash -c ${shellQuote(script)}`);
    } finally {
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', kill);
    }
    await Promise.all(kills);
    const commandLine = `${targetName(s.target)}: ${pinned}`;
    if (o.signal?.aborted) throw new BenchError(`${who}: ${o.engine} was interrupted`, 'the run was cancelled', ExitCode.interrupted);
    if (r.code === 255 || r.code === null)
      throw new EnvironmentError(`${who}: the connection dropped during the ${o.engine} run`, 'check the generator machine and its network');
    if (timedOut) throw new EnvironmentError(`${who}: ${o.engine} did not stop on time (${seconds + grace} s)`, 'is the server hanging?');
    const cpuLine = r.stderr.split('\n').find((l) => l.startsWith(CPU_MARK));
    const [user, sys] = (cpuLine?.slice(CPU_MARK.length).trim().split(/\s+/) ?? []).map(Number);
    const cpuSeconds = user !== undefined && sys !== undefined && Number.isFinite(user) && Number.isFinite(sys) ? user + sys : null;
    const ok = o.engine === 'wrk' ? [0] : [0, 99];
    if (r.code === null || !ok.includes(r.code)) {
      const stderr = r.stderr
        .split('\n')
        .filter((l) => !l.startsWith(CPU_MARK))
        .join('\n');
      throw new EnvironmentError(
        `${who}: ${o.engine} exited with ${r.code === 127 ? '127 (not installed there)' : r.code}: ${tail(`${stderr}\n${r.stdout}`, 2) || 'no output'}`,
        `run it by hand there to see why: ${commandLine.slice(0, 160)}`,
      );
    }
    const noResponse = (res: LoadResult) => {
      // Verification passed on the server machine itself; nothing answering here means the server is not reachable at this address.
      if (res.requests === 0 && (res.errors ?? 0) > 0)
        throw new EnvironmentError(
          `${who}: no response from ${baseUrl} (${res.errors} socket errors): the server does not answer on the address the generator uses`,
          'the server must listen on every address (hosts provision again with the generator in the hosts file; nginx listens on 127.0.0.1 only, docs/hosts.md)',
        );
      return res;
    };
    if (o.engine === 'wrk') return noResponse(normaliseWrk(parseWrkOutput(r.stdout), { engineVersion: o.engineVersion, loadgenCpuSeconds: cpuSeconds }));
    const summary = await s.exec(`cat ${dir}/summary.json`);
    if (summary.code !== 0) throw new EnvironmentError(`${who}: k6 wrote no summary.json (${tail(r.stderr, 2) || 'no output'})`, 'check k6 there by hand');
    return noResponse(
      normaliseK6(parseK6Summary(summary.stdout), {
        engineVersion: o.engineVersion,
        loadgenCpuSeconds: cpuSeconds,
        raw: JSON.parse(summary.stdout) as unknown,
        fallbackDurationSeconds: req.durationSeconds,
      }),
    );
  } finally {
    await rm(staging, { recursive: true, force: true });
    await s.exec(`rm -rf ${dir}`).catch(() => undefined);
  }
}
