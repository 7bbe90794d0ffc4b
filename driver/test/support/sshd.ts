// A real OpenSSH sshd for tests: `sshd -D -e -f <config>` on 127.0.0.1 with a throwaway host key
// and a throwaway client key, logging in as the current user with keys only; SFTP through Debian's
// sftp-server. Stopped by its pid. Needs openssh-server (/usr/sbin/sshd) and its privsep folder.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { freePort } from './site-servers.js';

const SSHD = '/usr/sbin/sshd';
const SFTP_SERVER = '/usr/lib/openssh/sftp-server';

export interface TestSshd {
  port: number;
  dir: string;
  user: string;
  /** The client's private key file (authorized). */
  identityFile: string;
  /** The host's public key line (host_ed25519.pub). */
  hostKeyLine: string;
  /** A second key pair, not authorized, and a second host key line (not this sshd's). */
  otherIdentityFile: string;
  otherHostKeyLine: string;
  stop(): Promise<void>;
}

/** Why a real sshd cannot run here, or null. */
export function sshdMissing(): string | null {
  if (!existsSync(SSHD)) return `${SSHD} is missing (apt-get install -y openssh-server)`;
  if (!existsSync(SFTP_SERVER)) return `${SFTP_SERVER} is missing (apt-get install -y openssh-sftp-server)`;
  return null;
}

async function keygen(file: string): Promise<void> {
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'server-bench-test', '-f', file], { stdin: 'ignore' });
}

/** Resolves when sshd's banner arrives on the port (bounded by `timeoutMs`). */
async function banner(port: number, timeoutMs: number, child: ResultPromise): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 200 && Date.now() < deadline; i++) {
    if (child.exitCode !== null) throw new Error(`sshd exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = netConnect(port, '127.0.0.1');
      s.setTimeout(1_000);
      s.once('data', (b) => {
        s.destroy();
        resolve(b.toString().startsWith('SSH-'));
      });
      s.once('error', () => resolve(false));
      s.once('timeout', () => {
        s.destroy();
        resolve(false);
      });
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sshd did not answer on 127.0.0.1:${port} within ${timeoutMs} ms`);
}

export async function startSshd(): Promise<TestSshd> {
  const dir = await mkdtemp(join(tmpdir(), 'server-bench-sshd-'));
  const port = await freePort();
  for (const k of ['host_ed25519', 'client_ed25519', 'other_ed25519', 'otherhost_ed25519']) await keygen(join(dir, k));
  await writeFile(join(dir, 'authorized_keys'), await readFile(join(dir, 'client_ed25519.pub'), 'utf8'), { mode: 0o600 });
  const config = [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${join(dir, 'host_ed25519')}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin prohibit-password',
    'StrictModes no',
    'UsePAM no',
    'LogLevel ERROR',
    `Subsystem sftp ${SFTP_SERVER}`,
  ].join('\n');
  await writeFile(join(dir, 'sshd_config'), `${config}\n`);
  // sshd's privilege separation folder (Debian's unit creates it; here nothing does).
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 }).catch(() => undefined);
  const child = execa(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config')], { reject: false, stdin: 'ignore', all: true });
  try {
    await banner(port, 10_000, child);
  } catch (err) {
    child.kill('SIGTERM');
    const r = await child;
    await rm(dir, { recursive: true, force: true });
    throw new Error(`${(err as Error).message}: ${String(r.all ?? '').slice(-400)}`, { cause: err });
  }
  return {
    port,
    dir,
    user: userInfo().username,
    identityFile: join(dir, 'client_ed25519'),
    hostKeyLine: (await readFile(join(dir, 'host_ed25519.pub'), 'utf8')).trim(),
    otherIdentityFile: join(dir, 'other_ed25519'),
    otherHostKeyLine: (await readFile(join(dir, 'otherhost_ed25519.pub'), 'utf8')).trim(),
    async stop() {
      if (child.pid !== undefined && child.exitCode === null) child.kill('SIGTERM');
      await child;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
