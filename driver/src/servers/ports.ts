// Port checks before a server starts: gosherve's ports are fixed, so a port already in use would
// silently measure someone else's server. A busy port is an error naming the process that holds it
// (socket inode from /proc/net/tcp{,6} → pid via /proc/*/fd → comm and cmdline).
import { createServer } from 'node:net';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { EnvironmentError } from '../errors.js';

export interface PortHolder {
  port: number;
  /** Null when the socket was found but not its process (another user's, or another namespace). */
  pid: number | null;
  comm: string | null;
  cmdline: string | null;
}

const LISTEN = '0A';

/** Socket inodes listening on `port` (any address), from /proc/net/tcp and tcp6. */
async function listeningInodes(port: number): Promise<string[]> {
  const inodes: string[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      continue; // no IPv6 in this kernel
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const local = f[1] as string;
      const portHex = local.slice(local.lastIndexOf(':') + 1);
      if (parseInt(portHex, 16) === port && f[3] === LISTEN) inodes.push(f[9] as string);
    }
  }
  return inodes;
}

/** The process listening on `port`, or null when nothing listens there. */
export async function findListener(port: number): Promise<PortHolder | null> {
  const inodes = await listeningInodes(port);
  if (inodes.length === 0) return null;
  const wanted = new Set(inodes.map((i) => `socket:[${i}]`));
  const pids = (await readdir('/proc')).filter((d) => /^[0-9]+$/.test(d));
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = await readdir(`/proc/${pid}/fd`);
    } catch {
      continue; // gone, or not ours to read
    }
    for (const fd of fds) {
      let link: string;
      try {
        link = await readlink(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      if (!wanted.has(link)) continue;
      const comm = (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '')).trim() || null;
      const cmd = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0').filter(Boolean).join(' ') || null;
      return { port, pid: Number(pid), comm, cmdline: cmd };
    }
  }
  return { port, pid: null, comm: null, cmdline: null };
}

/** Can we bind `port` on `host` right now? (Catches listeners /proc cannot show us.) */
export function canBind(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

function describeHolder(h: PortHolder): string {
  if (h.pid === null) return `port ${h.port} is in use by a process we cannot see`;
  const cmd = h.cmdline && h.cmdline.length > 80 ? `${h.cmdline.slice(0, 77)}...` : h.cmdline;
  return `port ${h.port} is in use by ${h.comm ?? '?'} (pid ${h.pid}${cmd ? `: ${cmd}` : ''})`;
}

/** Throw an EnvironmentError naming the holder when any of `ports` is busy on 127.0.0.1 or 0.0.0.0. */
export async function assertPortsFree(ports: readonly number[]): Promise<void> {
  const problems: string[] = [];
  let firstPid: number | null = null;
  for (const port of ports) {
    const holder = await findListener(port);
    if (holder) {
      problems.push(describeHolder(holder));
      firstPid ??= holder.pid;
      continue;
    }
    if (!(await canBind(port, '0.0.0.0')) || !(await canBind(port, '127.0.0.1'))) {
      problems.push(`port ${port} is in use (its process is not visible from here)`);
    }
  }
  if (problems.length > 0) {
    const hint = `${firstPid !== null ? `stop it (kill ${firstPid}) or free the port, then run again` : 'free the port, then run again'}; or pass --port auto (servers other than gosherve move to a free pair)`;
    throw new EnvironmentError(problems.join('; '), hint);
  }
}

/** Wait until nothing listens on `ports` (a server just stopped), bounded by `timeoutMs`. */
export async function waitPortsFree(ports: readonly number[], timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 20; ; delay = Math.min(delay * 2, 250)) {
    let busy = false;
    for (const p of ports) if ((await listeningInodes(p)).length > 0) busy = true;
    if (!busy) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, delay));
  }
}
