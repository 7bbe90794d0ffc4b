// SSH to a benchmark VM with ssh2: connect with the per-run key, pin the host key the guest
// published (any other key is refused), wait for SSH with exponential backoff and an overall
// timeout, run commands with streamed output (and input on stdin), pull folders over SFTP, and
// always close.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import ssh2, { type SFTPWrapper } from 'ssh2';

const { Client } = ssh2; // CommonJS: named imports do not resolve under Node's ESM loader
import { BenchError, EnvironmentError, ExitCode } from '../errors.js';

/** One argument for a POSIX shell command line: as is when it is plainly safe, else single-quoted. */
export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_./:=,@-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

export class HostKeyError extends BenchError {
  override readonly name = 'HostKeyError';
  constructor(where: string) {
    super(
      `the VM's host key changed: ${where} presented a key other than the one it published`,
      'refusing to connect; a stale or foreign machine may be listening on that port (stop it, then start the VM again)',
      ExitCode.failure,
    );
  }
}

export interface SshTarget {
  host: string;
  port: number;
  privateKey: string;
  /** The pinned host key blob (publicKeyBlob of host_ed25519_key.pub). */
  hostKey: Buffer;
  /** Default root (the VMs); the hosts backend logs in as the hosts file says. */
  username?: string;
}

export interface SshSession {
  /**
   * Run a command; `stdin`, when given, is written to it and closed (else its stdin stays open); a
   * stream is piped in and closes the command's stdin when it ends (a conversation: the hosts
   * backend's load relay answers k6test on it).
   */
  exec(
    command: string,
    opts?: { stdin?: string | NodeJS.ReadableStream; onStdout?: (chunk: string) => void; onStderr?: (chunk: string) => void; signal?: AbortSignal },
  ): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>;
  /** Download a remote folder recursively into `localDir`; returns the files written. */
  pullDir(remoteDir: string, localDir: string): Promise<string[]>;
  /** Upload one file over SFTP (the hosts backend's provisioning). */
  pushFile(localFile: string, remoteFile: string): Promise<void>;
  close(): void;
}

/** One connection attempt; resolves when authenticated. */
export function connect(t: SshTarget, timeoutMs = 10_000): Promise<SshSession> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    let hostKeyRefused = false;
    let settled = false;
    client.once('ready', () => {
      settled = true;
      resolve(session(client));
    });
    // `on`, not `once`: one failed attempt can emit two errors (a forward that accepts and then
    // resets gives "read ECONNRESET", then "Connection lost before handshake"), and an error
    // emitted with no listener kills the driver, leaving its VM running. Later errors of a live
    // session end it; its exec calls then see the connection close.
    client.on('error', (err) => {
      client.end();
      if (settled) return;
      settled = true;
      reject(hostKeyRefused ? new HostKeyError(`${t.host}:${t.port}`) : err);
    });
    client.connect({
      host: t.host,
      port: t.port,
      username: t.username ?? 'root',
      privateKey: t.privateKey,
      readyTimeout: timeoutMs,
      hostVerifier: (key: Buffer) => {
        const ok = Buffer.compare(key, t.hostKey) === 0;
        if (!ok) hostKeyRefused = true;
        return ok;
      },
      keepaliveInterval: 5_000,
      keepaliveCountMax: 6,
    });
  });
}

function session(client: InstanceType<typeof Client>): SshSession {
  let sftp: Promise<SFTPWrapper> | null = null;
  const getSftp = () => {
    sftp ??= new Promise((resolve, reject) => client.sftp((err, s) => (err ? reject(err) : resolve(s))));
    return sftp;
  };
  return {
    exec(command, opts = {}) {
      return new Promise((resolve, reject) => {
        let closedConn = false;
        const onConnClose = () => {
          closedConn = true;
        };
        client.once('close', onConnClose);
        client.exec(command, (err, stream) => {
          if (err) {
            reject(err);
            return;
          }
          let stdout = '';
          let stderr = '';
          const abort = () => {
            stream.signal('INT');
            stream.close();
          };
          opts.signal?.addEventListener('abort', abort, { once: true });
          stream.on('data', (b: Buffer) => {
            const s = b.toString('utf8');
            stdout += s;
            opts.onStdout?.(s);
          });
          stream.stderr.on('data', (b: Buffer) => {
            const s = b.toString('utf8');
            stderr += s;
            opts.onStderr?.(s);
          });
          if (typeof opts.stdin === 'string') stream.end(opts.stdin);
          else if (opts.stdin !== undefined) opts.stdin.pipe(stream);
          stream.on('close', (code: number | null | undefined, signal: string | null | undefined) => {
            opts.signal?.removeEventListener('abort', abort);
            // A conversation's later writes go nowhere once the command has ended.
            if (opts.stdin !== undefined && typeof opts.stdin !== 'string') opts.stdin.unpipe(stream);
            client.removeListener('close', onConnClose);
            // A connection that dropped (poweroff) has no exit status: report it as 255, like ssh(1).
            resolve({ code: code ?? (closedConn ? 255 : null), signal: signal ?? null, stdout, stderr });
          });
        });
      });
    },
    async pullDir(remoteDir, localDir) {
      const s = await getSftp();
      const files: string[] = [];
      const walk = async (remote: string, local: string, depth: number): Promise<void> => {
        if (depth > 16) return;
        await mkdir(local, { recursive: true });
        const list = await new Promise<{ filename: string; attrs: { isDirectory(): boolean; isFile(): boolean } }[]>((res, rej) =>
          s.readdir(remote, (err, l) => (err ? rej(err) : res(l as never))),
        );
        for (const e of list) {
          const r = `${remote}/${e.filename}`;
          const l = join(local, e.filename);
          if (e.attrs.isDirectory()) await walk(r, l, depth + 1);
          else if (e.attrs.isFile()) {
            await new Promise<void>((res, rej) => s.fastGet(r, l, (err) => (err ? rej(err) : res())));
            files.push(l);
          }
        }
      };
      await walk(remoteDir.replace(/\/+$/, ''), localDir, 0);
      return files;
    },
    async pushFile(localFile, remoteFile) {
      const s = await getSftp();
      await new Promise<void>((res, rej) => s.fastPut(localFile, remoteFile, (err) => (err ? rej(err) : res())));
    },
    close() {
      client.end();
    },
  };
}

/**
 * Retry connect with exponential backoff (250 ms doubling to 4 s) until it succeeds, the host key
 * is refused (never retried), `stillAlive` says the VM died, or `timeoutMs` passes.
 */
export async function waitForSsh(
  target: () => SshTarget | null,
  opts: { timeoutMs: number; stillAlive: () => string | null; consoleTail: () => string; signal?: AbortSignal },
): Promise<SshSession> {
  const deadline = Date.now() + opts.timeoutMs;
  let last = 'no host key published yet';
  for (let delay = 250, attempt = 0; attempt < 10_000; attempt++, delay = Math.min(delay * 2, 4_000)) {
    if (opts.signal?.aborted) throw opts.signal.reason instanceof Error ? opts.signal.reason : new Error('interrupted');
    const dead = opts.stillAlive();
    if (dead)
      throw new BenchError(
        `the VM ${dead} during boot: ${opts.consoleTail() || 'no console output'}`,
        'see the console log named in the progress lines',
        ExitCode.failure,
      );
    const t = target();
    if (t) {
      try {
        return await connect(t, Math.max(1_000, Math.min(10_000, deadline - Date.now())));
      } catch (err) {
        if (err instanceof HostKeyError) throw err;
        last = (err as Error).message;
      }
    }
    if (Date.now() + delay > deadline) break;
    await new Promise((r) => setTimeout(r, delay));
  }
  throw new EnvironmentError(
    `SSH to the VM did not come up within ${Math.round(opts.timeoutMs / 1000)} s (last: ${last}); console: ${opts.consoleTail() || 'no output'}`,
    'a slow host needs a longer --ssh-timeout; under TCG boots take minutes',
  );
}
