// One SSH session to a machine of the hosts file: the identity file read, the host key pinned
// (vm/ssh.ts refuses any other), and every way of not getting in said in one line with the fix.
// Commands that need root run as the user when it is root, else through `sudo -n` (never a password prompt).
import { readFile } from 'node:fs/promises';
import { BenchError, EnvironmentError, ExitCode, InputError } from '../errors.js';
import { connect, HostKeyError, shellQuote, type SshSession } from '../vm/ssh.js';
import { targetName, type SshTargetSpec } from './file.js';

class HostUnreachableError extends BenchError {
  override readonly name = 'HostUnreachableError';
}

export interface HostSession extends SshSession {
  target: SshTargetSpec;
  /** `command` as root: as is for root, else `sudo -n sh -c '…'`. */
  asRoot(command: string): string;
}

/** One line for a failed connection: wrong host key, refused login, or no answer. */
function connectProblem(t: SshTargetSpec, err: unknown): BenchError {
  const where = targetName(t);
  if (err instanceof HostKeyError)
    return new HostUnreachableError(
      `${where}: the host key is not the pinned one`,
      'refusing to connect; if the machine was reinstalled, put its new /etc/ssh/ssh_host_*_key.pub line in the hosts file',
      ExitCode.failure,
    );
  const e = err as NodeJS.ErrnoException & { level?: string };
  const msg = e?.message ?? String(err);
  if (e?.level === 'client-authentication' || /authentication methods failed/i.test(msg)) {
    return new HostUnreachableError(
      `${where}: login refused for ${t.user} with ${t.identityFile}`,
      `add the key's public half to ~${t.user}/.ssh/authorized_keys on the machine, or fix ssh.user / ssh.identityFile`,
      ExitCode.environment,
    );
  }
  const code = e?.code ? `${e.code}` : msg;
  return new HostUnreachableError(
    `${where}: unreachable (${code})`,
    'check ssh.host and ssh.port, that sshd runs there and that nothing blocks the port',
    ExitCode.environment,
  );
}

export async function openHost(t: SshTargetSpec, timeoutMs = 10_000): Promise<HostSession> {
  let privateKey: string;
  try {
    privateKey = await readFile(t.identityFile, 'utf8');
  } catch (err) {
    throw new InputError(
      `${targetName(t)}: cannot read the identity file ${t.identityFile} (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
      'fix ssh.identityFile in the hosts file',
    );
  }
  let s: SshSession;
  try {
    s = await connect({ host: t.host, port: t.port, privateKey, hostKey: t.hostKey, username: t.user }, timeoutMs);
  } catch (err) {
    if (err instanceof Error && /privateKey|Cannot parse|Unsupported key|Malformed/i.test(err.message) && !(err instanceof HostKeyError)) {
      throw new InputError(
        `${targetName(t)}: ${t.identityFile} is not a private key ssh2 can use (${err.message})`,
        'give an unencrypted OpenSSH ed25519, ECDSA or RSA private key',
      );
    }
    throw connectProblem(t, err);
  }
  return {
    ...s,
    target: t,
    asRoot: (command) => (t.user === 'root' ? command : `sudo -n sh -c ${shellQuote(command)}`),
  };
}

/** Run a command and require exit 0; the error names the machine, the command and its last stderr line. */
export async function mustRun(h: HostSession, command: string, what: string, opts: { stdin?: string; signal?: AbortSignal } = {}): Promise<string> {
  const r = await h.exec(command, opts);
  if (r.code !== 0) {
    const last = r.stderr.trim().split('\n').slice(-1)[0] || r.stdout.trim().split('\n').slice(-1)[0] || `exit ${r.code ?? r.signal}`;
    throw new EnvironmentError(
      `${targetName(h.target)}: ${what} failed: ${last}`,
      r.code === 255 ? 'the connection dropped; check the machine' : `run it by hand there to see why: ${command.slice(0, 120)}`,
    );
  }
  return r.stdout;
}
