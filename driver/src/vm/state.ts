// VMs started by `server-bench vm start --size N` outlive the command: their pid, SSH port, key
// and pinned host key are kept in a state file ($XDG_RUNTIME_DIR/server-bench/vm/<size>.json, else
// ~/.cache/server-bench/vm/<size>.json) that `vm exec`, `vm test` and `vm stop` read back.
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { EnvironmentError, UsageError } from '../errors.js';
import { jsonOrUndefined, writeJsonAtomic } from '../results/store.js';
import { publicKeyBlob } from './keys.js';
import { connect, type SshSession } from './ssh.js';

const VmStateSchema = z.object({
  size: z.string(),
  pid: z.number().int().positive(),
  port: z.number().int().positive(),
  /** The host port QEMU forwards to the guest's site port 8080 (a generator machine reaches the servers there: hosts serverAddress 127.0.0.1:PORT). */
  sitePort: z.number().int().positive().optional(),
  privateKeyFile: z.string(),
  /** The host key line the guest published at boot: pinned for every later connection. */
  hostKey: z.string(),
  tmpDir: z.string(),
  consoleLog: z.string(),
  emulated: z.boolean(),
  startedAt: z.string(),
});
export type VmState = z.infer<typeof VmStateSchema>;

export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.XDG_RUNTIME_DIR ? join(env.XDG_RUNTIME_DIR, 'server-bench', 'vm') : join(homedir(), '.cache', 'server-bench', 'vm');
}

function stateFile(size: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(stateDir(env), `${size}.json`);
}

export async function writeState(s: VmState): Promise<void> {
  await mkdir(stateDir(), { recursive: true, mode: 0o700 });
  await writeJsonAtomic(stateFile(s.size), VmStateSchema.parse(s));
}

export async function removeState(size: string): Promise<void> {
  await rm(stateFile(size), { force: true });
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The size to act on: --size, else the only VM that is running. */
export function pickSize(flag: string | undefined): string {
  if (flag !== undefined) return flag;
  const dir = stateDir();
  const running = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.json'))
        .map((f) => f.slice(0, -5))
    : [];
  if (running.length === 1) return running[0] as string;
  if (running.length === 0) throw new UsageError('no VM is running', 'start one with server-bench vm start --size N');
  throw new UsageError(`several VMs are running (sizes ${running.join(', ')})`, 'say which with --size N');
}

export async function readState(size: string): Promise<VmState> {
  const file = stateFile(size);
  if (!existsSync(file)) throw new UsageError(`no VM of size ${size} is running (no ${file})`, `start it with server-bench vm start --size ${size}`);
  const r = VmStateSchema.safeParse(jsonOrUndefined(await readFile(file, 'utf8')));
  if (!r.success) throw new EnvironmentError(`corrupt VM state file ${file}`, `stop the VM by hand and delete the file`);
  if (!alive(r.data.pid)) {
    await rm(r.data.tmpDir, { recursive: true, force: true });
    await removeState(size);
    throw new EnvironmentError(
      `the VM of size ${size} (pid ${r.data.pid}) is no longer running`,
      `start it again with server-bench vm start --size ${size} (its console: ${r.data.consoleLog})`,
    );
  }
  return r.data;
}

export async function connectState(s: VmState): Promise<SshSession> {
  return connect({ host: '127.0.0.1', port: s.port, privateKey: await readFile(s.privateKeyFile, 'utf8'), hostKey: publicKeyBlob(s.hostKey) });
}

export async function savePrivateKey(dir: string, key: string): Promise<string> {
  const file = join(dir, 'id_ed25519');
  await writeFile(file, key, { mode: 0o600 });
  return file;
}
