// --backend hosts: the plan's cells run on the machines of a hosts file, one machine per size, the
// way the VM backend runs them in a VM: each cell is the same CellSpec sent as JSON to
// `k6test --spec -` over SSH, its folder pulled back over SFTP into the same reports. prepare checks
// every machine first (reachable with the pinned key, provisioned for its size and cores, k6test
// answering) and names everything missing at once; nothing is installed here (hosts provision does).
// Each machine's facts are measured on it and kept in run.json (machines). Ctrl-C interrupts
// k6test on the machine by its pid (it stops its server unit and generator itself) and waits for it
// to end; a machine that drops mid-cell fails that cell in one line and the run goes on.
// A size with a separate generator machine: k6test runs the cell with --relay-load and asks for each
// load run on stderr; the driver runs it on the generator machine (hosts/generator.ts) and answers
// on k6test's stdin (guest/load-relay.ts). The network path is measured before the size's first cell
// (hosts/netpath.ts) and a run near the link's capacity is marked network-bound.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BenchError, EnvironmentError, ExitCode, throwProblems } from '../errors.js';
import type { CellSpec } from '../run/cellspec.js';
import { specId } from '../run/cellspec.js';
import type { BenchEvents } from '../run/events.js';
import type { Backend, CellHooks, CellRun, Prepared, RunRecord } from '../run/loop.js';
import type { RunPlan } from '../run/plan.js';
import type { Machine, Size } from '../results/schema.js';
import { DEFAULT_SEED, DEFAULT_SITE_BYTES } from '../site/generate.js';
import { collectCell, execCell, vmLogging } from '../vm/backend.js';
import type { LoadRequest } from '../guest/load-relay.js';
import type { LoadResult } from '../contracts.js';
import { execRelayedCell, relayCommand } from './relay.js';
import { generatorEndpoint, generatorEngineVersion, runRemoteLoad } from './generator.js';
import { checkGenerator } from './generator-check.js';
import { networkBoundWarning, probeFromGenerator, startServerProbe, type NetPath } from './netpath.js';
import { guestEmulated } from '../vm/virt.js';
import type { Info } from '../vm/wire.js';
import { hostOf, targetName, type HostsFile, type HostSpec } from './file.js';
import { measureFacts, type HostFacts } from './facts.js';
import { hostInfo, probe, readiness } from './provision.js';
import { openHost, type HostSession } from './remote.js';

/**
 * Where k6test's pid is kept on the machine while a cell runs, with its start time (field 22 of
 * /proc/PID/stat): Ctrl-C and a reconnect signal it by that pid only while that start time still
 * matches, so a file left by a finished cell never signals another process that got its pid since.
 */
const K6TEST_PID_FILE = '/run/server-bench-k6test.pid';

/** The start time of process `pid` (a shell expression), read past its "(comm)" which may hold spaces. */
const startTimeOf = (pid: string) => `sed 's/^.*) //' /proc/${pid}/stat 2>/dev/null | cut -d' ' -f20`;

/** Record this shell's pid and start time in `pidFile` (exec keeps both for the command it runs). */
export function recordPid(pidFile: string = K6TEST_PID_FILE): string {
  return `echo "$$ $(${startTimeOf('$$')})" > ${pidFile}`;
}

/** The cell's command: k6test records its own pid (exec keeps it), then reads the CellSpec on stdin. */
const HOST_CELL_COMMAND = `${recordPid()}; exec k6test --spec -`;

/**
 * Signal the machine's k6test (if one runs: the pid file's pid, started when it says) and wait up to
 * `waitMs` for it to end: nothing of ours is left running there. The pid file is removed either way.
 */
export function stopRemoteK6test(waitMs: number, pidFile: string = K6TEST_PID_FILE): string {
  const tries = Math.max(1, Math.round(waitMs / 200));
  return [
    `set -- $(cat ${pidFile} 2>/dev/null); p=\${1:-}; st=\${2:-}; rm -f ${pidFile}`,
    '[ -n "$p" ] || exit 0',
    `[ -n "$st" ] && [ "$(${startTimeOf('$p')})" = "$st" ] || { echo gone; exit 0; }`,
    'kill -INT "$p" 2>/dev/null || { echo gone; exit 0; }',
    `i=0; while kill -0 "$p" 2>/dev/null && [ $i -lt ${tries} ]; do sleep 0.2; i=$((i+1)); done`,
    'if kill -0 "$p" 2>/dev/null; then kill -KILL "$p"; echo killed; else echo stopped; fi',
  ].join('\n');
}

/** A size's generator machine while its cells run. */
interface GeneratorState {
  session: HostSession | null;
  facts: HostFacts;
  engineVersion: string;
  path: NetPath;
}

function generatorRecord(h: HostSpec, g: GeneratorState): Machine['generator'] {
  const spec = h.generator;
  if (!spec) return null;
  const f = g.facts;
  return {
    target: targetName(spec.ssh),
    hostname: f.hostname,
    cpuModel: f.cpuModel,
    cores: f.cores,
    memoryBytes: f.memoryBytes,
    kernel: f.kernel,
    arch: f.arch,
    virt: f.virt,
    os: f.os.name,
    cpus: spec.cpus,
    serverAddress: spec.serverAddress,
    rttMs: g.path.rttMs,
    rttMinMs: g.path.rttMinMs,
    linkBytesPerSecond: g.path.capacityBytesPerSecond,
  };
}

function machineOf(h: HostSpec, f: HostFacts): Machine {
  return {
    target: targetName(h.ssh),
    hostname: f.hostname,
    cpuModel: f.cpuModel,
    cores: f.cores,
    memoryBytes: f.memoryBytes,
    kernel: f.kernel,
    arch: f.arch,
    virt: f.virt,
    os: f.os.name,
    serverCpus: h.serverCpus,
    generatorCpus: h.generatorCpus,
    generator: null,
  };
}

export interface HostsBackendOptions {
  /** Seconds to wait for k6test on the machine to stop after Ctrl-C before killing it. */
  stopWaitMs?: number;
}

export function hostsBackend(file: HostsFile, options: HostsBackendOptions = {}): Backend {
  let engine: 'wrk' | 'k6' = 'wrk';
  let names: string[] = [];
  const facts = new Map<string, HostFacts>();
  // The current size's machine.
  let host: HostSpec | null = null;
  let session: HostSession | null = null;
  let info: Info | null = null;
  let emulated = false;
  const stopWaitMs = options.stopWaitMs ?? 20_000;
  // The current size's generator machine, when it has one.
  let gen: GeneratorState | null = null;
  const genVersions = new Map<string, string>();

  /** The generator machine's tools, cores and reach to the server's address (one line each); its engine's version kept. */
  const prepareGenerator = async (g: NonNullable<HostSpec['generator']>, server: HostSession | null): Promise<string[]> => {
    const r = await checkGenerator(g, engine, server);
    if (r.engineVersion) genVersions.set(targetName(g.ssh), r.engineVersion);
    return r.missing;
  };

  const closeGenerator = () => {
    gen?.session?.close();
    gen = null;
  };

  const closeSession = () => {
    session?.close();
    session = null;
  };

  /** One load run of k6test's on the generator machine, marked network-bound near the link's capacity. */
  const relayLoad = async (req: LoadRequest, signal: AbortSignal): Promise<LoadResult> => {
    const g = gen as GeneratorState;
    const spec = (host as HostSpec).generator as NonNullable<HostSpec['generator']>;
    try {
      g.session ??= await openHost(spec.ssh);
      const result = await runRemoteLoad(g.session, req, {
        engine,
        engineVersion: g.engineVersion,
        cpus: spec.cpus,
        serverAddress: spec.serverAddress,
        signal,
      });
      const bound = networkBoundWarning(result.durationSeconds > 0 ? result.bytes / result.durationSeconds : 0, g.path.capacityBytesPerSecond);
      return { ...result, warnings: [...(result.warnings ?? []), ...(bound ? [bound] : [])] };
    } catch (err) {
      // A generator that dropped is reached again for the next run.
      g.session?.close();
      g.session = null;
      throw err;
    }
  };

  /** A fresh session to the current machine, a stale k6test there stopped first. */
  const reconnect = async (): Promise<HostSession> => {
    closeSession();
    const h = host as HostSpec;
    const s = await openHost(h.ssh);
    session = s;
    await s.exec(s.asRoot(stopRemoteK6test(stopWaitMs)));
    return s;
  };

  return {
    resumable: false,
    cellOverheadSeconds: 5,

    async prepare(p: RunPlan, emit: BenchEvents): Promise<Prepared> {
      engine = p.engine === 'k6' ? 'k6' : 'wrk';
      const problems: BenchError[] = [];
      const carried: string[][] = [];
      let site: Info['site'] = null;
      for (const size of p.sizes) {
        let h: HostSpec;
        try {
          h = hostOf(file, size.name);
        } catch (err) {
          problems.push(err as BenchError);
          continue;
        }
        const who = `size ${h.size} ${targetName(h.ssh)}`;
        let s: HostSession;
        try {
          s = await openHost(h.ssh);
        } catch (err) {
          problems.push(err as BenchError);
          continue;
        }
        try {
          const pr = await probe(s);
          const { missing, info: i } = await readiness(s, pr, h, engine, file.path);
          if (i) {
            carried.push(i.impls);
            site ??= i.site;
          }
          if (h.generator) missing.push(...(await prepareGenerator(h.generator, missing.length === 0 ? s : null)));
          if (missing.length > 0) problems.push(new EnvironmentError(`${who}: ${missing.join('; ')}`, `server-bench hosts check --hosts ${file.path}`));
          facts.set(h.size, pr.facts);
          emit({ kind: 'info', message: `${who}: ${pr.facts.hostname}, ${pr.facts.cpuModel}, ${pr.facts.cores} cores, virt ${pr.facts.virt ?? 'unknown'}` });
        } finally {
          s.close();
        }
      }
      throwProblems(problems);
      // The implementations: those asked for (each must be on every machine), else those every machine carries.
      const common = (carried[0] ?? []).filter((i) => carried.every((c) => c.includes(i)));
      if (p.vm.implsGiven) {
        const absent = p.impls.map((i) => i.name).filter((n) => !common.includes(n));
        if (absent.length > 0)
          throw new EnvironmentError(
            `the machines do not all carry ${absent.join(', ')} (they have ${common.join(', ')})`,
            'leave them out of --impls, or give the binary, rebuild the image (server-bench vm image build) and hosts provision again',
          );
        names = p.impls.map((i) => i.name);
      } else names = common;
      emulated = [...facts.values()].some((f) => guestEmulated(f.virt, false));
      return {
        impls: names,
        vetoes: [],
        engine,
        emulated,
        site: { kind: 'generated', seed: DEFAULT_SEED, targetBytes: DEFAULT_SITE_BYTES, files: 0, bytes: 0, aliases: 0, ...(site ?? {}) },
        versions: { go: null, engine: 'unknown', impls: {} },
        logging: vmLogging(names),
      };
    },

    async beginSize(size: Size, run: RunRecord): Promise<void> {
      host = hostOf(file, size.name);
      const s = await reconnect();
      const i = await hostInfo(s, engine);
      if (i.size.name !== size.name)
        throw new BenchError(
          `size ${size.name} ${targetName(host.ssh)}: k6test says size ${i.size.name}`,
          `server-bench hosts provision --hosts ${file.path}`,
          ExitCode.environment,
        );
      info = i;
      const f = facts.get(size.name) as HostFacts;
      const h = host;
      closeGenerator();
      if (h.generator) {
        const g = h.generator;
        const gs = await openHost(g.ssh);
        const gf = (await measureFacts(gs)).facts;
        // The path before any cell: k6test --net-probe on the site port, probed from the generator.
        // Not measured (nulls, said on the progress line) rather than no run: prepare already reached the address.
        let path: NetPath;
        try {
          const probe = await startServerProbe(s, 60);
          try {
            const { host: addr, port } = generatorEndpoint(g.serverAddress, probe.port);
            path = await probeFromGenerator(gs, addr, port);
          } finally {
            await probe.stop();
          }
        } catch (err) {
          path = { rttMs: null, rttMinMs: null, pings: 0, capacityBytesPerSecond: null, problem: err instanceof BenchError ? err.oneLine() : String(err) };
        }
        gen = { session: gs, facts: gf, engineVersion: genVersions.get(targetName(g.ssh)) ?? (await generatorEngineVersion(gs, engine)) ?? 'unknown', path };
        run.emit({
          kind: 'info',
          message: `size ${size.name}: load from ${targetName(g.ssh)} (${gf.hostname}) to ${g.serverAddress}: RTT ${path.rttMs === null ? 'not measured' : `${path.rttMs.toFixed(3)} ms median of ${path.pings}`}, link ${path.capacityBytesPerSecond === null ? 'not measured' : `${(path.capacityBytesPerSecond / 1e6).toFixed(0)} MB/s`}${path.problem ? ` (${path.problem})` : ''}`,
        });
      }
      const genState = gen as GeneratorState | null;
      await run.update((r) => {
        r.versions.engine = genState ? genState.engineVersion : (i.engineVersion ?? 'unknown');
        r.versions.node = i.node;
        r.versions.impls = {
          ...r.versions.impls,
          ...Object.fromEntries(i.impls.filter((n) => names.includes(n)).map((n) => [n, `unit bench-${n} on ${f.hostname}`])),
        };
        r.machines = { ...(r.machines ?? {}), [size.name]: { ...machineOf(h, f), generator: genState ? generatorRecord(h, genState) : null } };
        r.emulated = emulated;
      });
      run.emit({
        kind: 'info',
        message: `size ${size.name}: ${targetName(h.ssh)} (${f.hostname}) ready; server cores ${h.serverCpus.join(',')}, ${h.generator ? `load from ${targetName(h.generator.ssh)} cores ${h.generator.cpus.join(',')}` : `generator cores ${h.generatorCpus.join(',')}`}`,
      });
    },

    async runCell(spec: CellSpec, hooks: CellHooks): Promise<CellRun> {
      const h = host as HostSpec;
      const who = `size ${h.size} ${targetName(h.ssh)}`;
      const id = specId(spec);
      let s = session;
      if (s === null) {
        // The machine dropped during an earlier cell: one more try to reach it.
        try {
          s = await reconnect();
        } catch (err) {
          return { kind: 'failed', reason: err instanceof BenchError ? err.message : String(err) };
        }
      }
      const remoteOut = `${(info as Info).outDir.replace(/\/+$/, '')}/${id}`;
      hooks.onPhase('start', `k6test over SSH on ${h.ssh.host}`);
      // On a fresh connection: k6test there stopped by its pid, nothing said when the machine is gone.
      const stopThere = (timeoutMs?: number) =>
        openHost(h.ssh, timeoutMs).then(
          async (x) => {
            await x.exec(x.asRoot(stopRemoteK6test(stopWaitMs))).catch(() => undefined);
            x.close();
          },
          () => undefined,
        );
      // The SSH channel closes at once (vm/ssh.ts).
      const abort = () => void stopThere();
      hooks.signal?.addEventListener('abort', abort, { once: true });
      let r: Awaited<ReturnType<HostSession['exec']>>;
      try {
        const g = h.generator;
        r =
          g && gen
            ? await execRelayedCell(s, s.asRoot(`${recordPid()}; exec ${relayCommand(g.cpus)}`), spec, remoteOut, hooks, h.ssh.host, relayLoad)
            : await execCell(s, s.asRoot(HOST_CELL_COMMAND), spec, remoteOut, hooks, h.ssh.host);
      } catch (err) {
        closeSession();
        return { kind: 'failed', reason: `${who}: ${(err as Error).message}` };
      } finally {
        hooks.signal?.removeEventListener('abort', abort);
      }
      if (hooks.signal?.aborted) {
        // Wait until k6test there has stopped its server and generator.
        await stopThere(5_000);
        throw hooks.signal.reason;
      }
      if (r.code === 255 || r.code === null) {
        closeSession();
        return { kind: 'failed', reason: `${who}: the connection dropped during ${id}` };
      }
      try {
        return await collectCell(s, remoteOut, await mkdtemp(join(tmpdir(), 'server-bench-pull-')), spec, hooks, emulated, r);
      } finally {
        // The machine keeps nothing of the cell once it is here.
        await s.exec(s.asRoot(`rm -rf '${remoteOut.replace(/'/g, '')}'`)).catch(() => undefined);
      }
    },

    async endSize(): Promise<void> {
      // The last cell's pid file goes (nothing runs there now; stopRemoteK6test signals only a live k6test).
      await session?.exec(session.asRoot(stopRemoteK6test(stopWaitMs))).catch(() => undefined);
      closeSession();
      closeGenerator();
      host = null;
      info = null;
    },

    async close(): Promise<void> {
      closeSession();
      closeGenerator();
    },
  };
}
