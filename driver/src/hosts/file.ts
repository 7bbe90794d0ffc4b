// The hosts file of `--backend hosts` (JSON, validated with zod): per size name, the machine the
// cells of that size run on — its SSH target with a pinned host key, the cores its server units
// may use and the cores the load generator runs on, and optionally a separate generator machine.
// Only what is needed to reach and partition a machine is in the file; what the machine IS (CPU
// model, cores, memory, kernel, virtualisation) is measured on it (hosts/facts.ts), never taken
// from here. Every problem is one line naming the key and the fix.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { InputError } from '../errors.js';
import { MATRIX_SIZES } from '../run/matrix-files.js';

/** An OpenSSH key type as it opens a public key or a known_hosts entry's key field. */
const KEY_TYPE = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com)$/;

/**
 * The key blob of a pinned host key: a public key line ("ssh-ed25519 AAAA… comment", as in
 * /etc/ssh/ssh_host_ed25519_key.pub) or a known_hosts entry ("[host]:port ssh-ed25519 AAAA…",
 * hashed host names too). Null when neither.
 */
export function hostKeyBlob(line: string): { type: string; blob: Buffer } | null {
  const parts = line.trim().split(/\s+/);
  for (let i = 0; i + 1 < parts.length; i++) {
    const type = parts[i] as string;
    const b64 = parts[i + 1] as string;
    if (!KEY_TYPE.test(type) || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) continue;
    const blob = Buffer.from(b64, 'base64');
    // The blob opens with its own type name (RFC 4253 §6.6): a line whose halves disagree is not a key.
    const n = blob.length >= 4 ? blob.readUInt32BE(0) : -1;
    if (n <= 0 || blob.length < 4 + n || blob.subarray(4, 4 + n).toString('latin1') !== type) return null;
    return { type, blob };
  }
  return null;
}

/** `host`, `host:port`, `[v6]` or `[v6]:port` → its parts; null when it is none of them. */
export function parseServerAddress(s: string): { host: string; port: number | null } | null {
  const v6 = /^\[([0-9A-Fa-f:.]+)\](?::(\d{1,5}))?$/.exec(s);
  const plain = /^([A-Za-z0-9._-]+)(?::(\d{1,5}))?$/.exec(s);
  const m = v6 ?? plain;
  if (!m) return null;
  const port = m[2] === undefined ? null : Number(m[2]);
  if (port !== null && (port < 1 || port > 65535)) return null;
  return { host: v6 ? `[${m[1]}]` : (m[1] as string), port };
}

const CpuList = z.array(z.number().int().nonnegative()).min(1);

const SshSchema = z
  .object({
    user: z.string().regex(/^[a-z_][a-z0-9_.-]*$/i, 'a user name'),
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535).default(22),
    identityFile: z.string().min(1),
    hostKey: z.string().refine((s) => hostKeyBlob(s) !== null, 'not a public key line ("ssh-ed25519 AAAA…") or a known_hosts entry'),
  })
  .strict();

const GeneratorSchema = z
  .object({
    ssh: SshSchema,
    /** The generator machine's cores for wrk/k6. */
    cpus: CpuList,
    /** The server's address as the generator reaches it (default: the server's ssh.host). */
    serverAddress: z
      .string()
      .refine((s) => parseServerAddress(s) !== null, 'not host or host:port')
      .optional(),
  })
  .strict();

const HostSchema = z
  .object({
    ssh: SshSchema,
    /** The cores the server units get (AllowedCPUs=): as many as the size has vCPUs. */
    serverCpus: CpuList,
    /** The cores the load generator gets on this machine (the VMs' dedicated placement). */
    generatorCpus: CpuList,
    generator: GeneratorSchema.optional(),
  })
  .strict();

const HostsFileSchema = z
  .object({
    $comment: z.string().optional(),
    hosts: z.record(z.string(), HostSchema),
  })
  .strict();

type SshEntry = z.infer<typeof SshSchema>;

/** A resolved SSH target: the identity file's path made absolute, the host key as its blob. */
export interface SshTargetSpec {
  user: string;
  host: string;
  port: number;
  identityFile: string;
  hostKeyLine: string;
  hostKey: Buffer;
}

export interface HostSpec {
  size: string;
  ssh: SshTargetSpec;
  serverCpus: number[];
  generatorCpus: number[];
  generator: { ssh: SshTargetSpec; cpus: number[]; serverAddress: string } | null;
}

export interface HostsFile {
  path: string;
  hosts: HostSpec[];
}

/** What to do about a problem at a key, by the key's last part. */
const FIXES: Record<string, string> = {
  user: 'the user to log in as (root, or one with passwordless sudo)',
  host: "the machine's address or name",
  port: "sshd's port, 1-65535 (default 22)",
  identityFile: 'the private key file to log in with (absolute, ~/…, or relative to the hosts file)',
  hostKey: 'paste the line of /etc/ssh/ssh_host_ed25519_key.pub from the machine, or its known_hosts entry (ssh-keyscan -t ed25519 HOST)',
  serverCpus: 'a list of core numbers, e.g. [0], as many as the size has vCPUs',
  generatorCpus: 'a list of core numbers the load generator gets, e.g. [1], not among serverCpus',
  cpus: "a list of the generator machine's core numbers, e.g. [0, 1]",
  serverAddress:
    "the server machine's address as the generator machine reaches it: host, or host:port when the site port is forwarded (NAT, QEMU hostfwd); [v6] or [v6]:port",
  hosts: 'an object from size name ("1", "2", "16") to a host entry',
};

function fixFor(path: (string | number | symbol)[]): string {
  for (let i = path.length - 1; i >= 0; i--) {
    const k = path[i];
    if (typeof k === 'string' && FIXES[k]) return FIXES[k] as string;
  }
  return 'see the hosts file example in docs/hosts.md';
}

function expandPath(p: string, base: string): string {
  const home = p === '~' || p.startsWith('~/') ? homedir() + p.slice(1) : p;
  return isAbsolute(home) ? home : resolve(base, home);
}

function resolveSsh(s: SshEntry, base: string): SshTargetSpec {
  const key = hostKeyBlob(s.hostKey) as { blob: Buffer };
  return { user: s.user, host: s.host, port: s.port, identityFile: expandPath(s.identityFile, base), hostKeyLine: s.hostKey.trim(), hostKey: key.blob };
}

/** `user@host:port`, for messages. */
export function targetName(t: Pick<SshTargetSpec, 'user' | 'host' | 'port'>): string {
  return `${t.user}@${t.host.includes(':') ? `[${t.host}]` : t.host}:${t.port}`;
}

/** The file's text → the hosts, checked against the size table; every problem one line. */
export function parseHostsFile(text: string, path: string): HostsFile {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new InputError(
      `${path}: not JSON (${(err as Error).message.split('\n')[0]})`,
      'the hosts file is JSON: {"hosts": {"1": {"ssh": {…}, "serverCpus": [0], "generatorCpus": [1]}}}',
    );
  }
  const r = HostsFileSchema.safeParse(data);
  if (!r.success) {
    const issue = r.error.issues[0] as z.core.$ZodIssue;
    const key = issue.path.map(String).join('.') || '(top)';
    const msg = issue.code === 'unrecognized_keys' ? `unknown key ${issue.keys.map((k) => `"${k}"`).join(', ')}` : issue.message;
    const fix =
      issue.code === 'unrecognized_keys'
        ? 'keys: ssh {user, host, port, identityFile, hostKey}, serverCpus, generatorCpus, generator {ssh, cpus, serverAddress}'
        : fixFor(issue.path);
    throw new InputError(`${path}: ${key}: ${msg}`, fix);
  }
  const base = dirname(resolve(path));
  const hosts: HostSpec[] = [];
  for (const [size, h] of Object.entries(r.data.hosts)) {
    const known = MATRIX_SIZES.find((s) => s.name === size);
    if (!known) throw new InputError(`${path}: hosts.${size}: not a size`, `sizes: ${MATRIX_SIZES.map((s) => s.name).join(', ')} (matrix/sizes.json)`);
    if (h.serverCpus.length !== known.cpus)
      throw new InputError(
        `${path}: hosts.${size}.serverCpus: ${h.serverCpus.length} core(s) for size ${size}`,
        `list exactly ${known.cpus} core number(s): size ${size} means ${known.cpus} server vCPU(s)`,
      );
    const dup = (l: number[]) => l.find((c, i) => l.indexOf(c) !== i);
    for (const [k, l] of [
      ['serverCpus', h.serverCpus],
      ['generatorCpus', h.generatorCpus],
    ] as const) {
      if (dup(l) !== undefined) throw new InputError(`${path}: hosts.${size}.${k}: core ${dup(l)} listed twice`, 'list each core once');
    }
    const shared = h.generatorCpus.filter((c) => h.serverCpus.includes(c));
    if (shared.length > 0)
      throw new InputError(
        `${path}: hosts.${size}.generatorCpus: core(s) ${shared.join(', ')} are the server's too`,
        'give the load generator cores of its own (the dedicated placement the VMs use)',
      );
    hosts.push({
      size,
      ssh: resolveSsh(h.ssh, base),
      serverCpus: [...h.serverCpus].sort((a, b) => a - b),
      generatorCpus: [...h.generatorCpus].sort((a, b) => a - b),
      generator: h.generator
        ? {
            ssh: resolveSsh(h.generator.ssh, base),
            cpus: [...h.generator.cpus].sort((a, b) => a - b),
            serverAddress: h.generator.serverAddress ?? (h.ssh.host.includes(':') ? `[${h.ssh.host}]` : h.ssh.host),
          }
        : null,
    });
  }
  if (hosts.length === 0) throw new InputError(`${path}: hosts: no host`, FIXES.hosts as string);
  return { path, hosts };
}

export function readHostsFile(path: string): HostsFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new InputError(
      `--hosts ${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
      'give the path of a hosts file (docs/hosts.md)',
    );
  }
  return parseHostsFile(text, path);
}

/** The host of one size, or a one-line error naming the sizes the file has. */
export function hostOf(file: HostsFile, size: string): HostSpec {
  const h = file.hosts.find((x) => x.size === size);
  if (!h) throw new InputError(`${file.path}: no host for size ${size}`, `add hosts."${size}", or run --sizes ${file.hosts.map((x) => x.size).join(',')}`);
  return h;
}
