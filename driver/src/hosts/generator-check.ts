// What a separate generator machine needs before a cell can use it, one line each (hosts check and
// bench's prepare): reachable with its pinned key, bash (the runs and probes are bash scripts),
// taskset, the engine, its cores, and the server's address reachable from it (the server machine's
// `k6test --net-probe` answering a ping through that address).
import { BenchError } from '../errors.js';
import type { EngineName } from '../results/schema.js';
import { shellQuote } from '../vm/ssh.js';
import { measureFacts, type HostFacts } from './facts.js';
import { parseServerAddress, targetName, type HostSpec } from './file.js';
import { generatorEndpoint, generatorEngineVersion } from './generator.js';
import { startServerProbe } from './netpath.js';
import { openHost, type HostSession } from './remote.js';

type Generator = NonNullable<HostSpec['generator']>;

const INSTALL: Record<string, string> = { bash: 'bash', taskset: 'util-linux', wrk: 'wrk', k6: 'k6 (its own package)', timeout: 'coreutils', pkill: 'procps' };

/** The generator machine's tools, cores and facts; missing lines (each "generator USER@HOST:PORT: …"). */
export async function inspectGenerator(s: HostSession, g: Generator, engine: EngineName | null): Promise<{ facts: HostFacts | null; missing: string[] }> {
  const who = `generator ${targetName(g.ssh)}`;
  const { facts } = await measureFacts(s);
  const base = ['bash', 'taskset', 'timeout', 'pkill'];
  const r = await s.exec(`for t in ${[...base, 'wrk', 'k6'].join(' ')}; do command -v "$t" >/dev/null 2>&1 && echo "tool=$t"; done`);
  const have = new Set(
    r.stdout
      .split('\n')
      .filter((l) => l.startsWith('tool='))
      .map((l) => l.slice(5)),
  );
  const missing: string[] = [];
  const absent = base.filter((t) => !have.has(t));
  if (engine ? !have.has(engine) : !have.has('wrk') && !have.has('k6')) absent.push(engine ?? 'wrk');
  if (absent.length > 0) missing.push(`${who}: missing ${absent.join(', ')} (install ${[...new Set(absent.map((t) => INSTALL[t] ?? t))].join(', ')})`);
  const beyond = g.cpus.filter((c) => c >= facts.cores);
  if (beyond.length > 0) missing.push(`${who}: core(s) ${beyond.join(', ')} do not exist (${facts.cores} online): fix generator.cpus`);
  if (!parseServerAddress(g.serverAddress)) missing.push(`${who}: serverAddress "${g.serverAddress}" is not host or host:port`);
  return { facts, missing };
}

/**
 * Whether the generator reaches the server's address: the server machine's `k6test --net-probe`
 * listens on the site port and the generator sends it one ping through serverAddress. Null when it
 * answers, else the line saying what did not.
 */
async function serverReachable(server: HostSession, gen: HostSession, g: Generator): Promise<string | null> {
  const who = `generator ${targetName(g.ssh)}`;
  let probe: Awaited<ReturnType<typeof startServerProbe>>;
  try {
    probe = await startServerProbe(server, 30);
  } catch (err) {
    return `${who}: cannot test the server address: ${err instanceof BenchError ? err.oneLine() : String(err)}`;
  }
  try {
    const { host, port } = generatorEndpoint(g.serverAddress, probe.port);
    const why = await pingFromGenerator(gen, host, port);
    return why === null
      ? null
      : `${who}: the server address ${host}:${port} is not reachable from it (${why}): fix generator.serverAddress, or open the port (the server listens on ${probe.port})`;
  } finally {
    await probe.stop();
  }
}

/** One ping from the generator machine to a net-probe listener at host:port: null when it answers, else why not. */
export async function pingFromGenerator(gen: HostSession, host: string, port: number): Promise<string | null> {
  const script = `exec 3<>/dev/tcp/${shellQuote(host)}/${port} || exit 4; echo ping >&3; read -r -t 3 l <&3 && [ "$l" = pong ] || { echo "no answer"; exit 5; }`;
  const r = await gen.exec(`timeout 8 bash -c ${shellQuote(script)} 2>&1`);
  if (r.code === 0) return null;
  if (r.code === 124) return 'no answer within 8 s';
  return (r.stdout.trim().split('\n').slice(-1)[0] || `exit ${r.code}`).replace(/^bash: (line \d+: )?/, '').replace(/^connect: /, '');
}

/**
 * The lines for one size's generator machine (empty: ready), and its engine's version when it has
 * it; `server` is the size's machine when that one is ready (the address is tried from the generator then).
 */
export async function checkGenerator(
  g: Generator,
  engine: EngineName | null,
  server: HostSession | null,
): Promise<{ missing: string[]; engineVersion: string | null }> {
  let s: HostSession;
  try {
    s = await openHost(g.ssh);
  } catch (err) {
    return { missing: [`generator ${err instanceof BenchError ? err.oneLine() : String(err)}`], engineVersion: null };
  }
  try {
    const { missing } = await inspectGenerator(s, g, engine);
    if (missing.length > 0) return { missing, engineVersion: null };
    const engineVersion = engine ? await generatorEngineVersion(s, engine) : null;
    if (server) {
      const unreachable = await serverReachable(server, s, g);
      if (unreachable) missing.push(unreachable);
    }
    return { missing, engineVersion };
  } catch (err) {
    return { missing: [`generator ${targetName(g.ssh)}: ${err instanceof BenchError ? err.oneLine() : String(err)}`], engineVersion: null };
  } finally {
    s.close();
  }
}
