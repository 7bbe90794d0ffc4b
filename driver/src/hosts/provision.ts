// `server-bench hosts check` and `hosts provision` for Debian/Ubuntu machines. check says per
// machine, in one line, what is missing before a cell can run there (reach, root, systemd, tools,
// the bundle, the units of its size with its cores, k6test answering for that size); provision
// puts what is missing there: the Debian guest's bundle (hosts/bundle.ts) over SFTP and the
// machine's own files (hosts/hostfiles.ts), units enabled. Idempotent: what is already there with
// the same key is not sent again. Nothing is installed from the internet on the machine.
import { mkdtemp, mkdir, rm, symlink, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { z } from 'zod';
import { BenchError, EnvironmentError, ExitCode } from '../errors.js';
import { GUEST } from '../vm/image/guest-spec.js';
import type { GuestFile } from '../vm/image/units.js';
import { shellQuote } from '../vm/ssh.js';
import { InfoSchema, type Info } from '../vm/wire.js';
import { BUNDLE_ROOTS, hostBundle, guestScripts, TAR_AS_ROOT, type HostBundle } from './bundle.js';
import { listingScript, parseListing, planDelta } from './bundle-delta.js';
import { checkGenerator } from './generator-check.js';
import { describeFacts, measureFacts, type HostFacts } from './facts.js';
import { targetName, type HostSpec } from './file.js';
import { BUNDLE_KEY_FILE, filesKey, PROVISIONED_FILE, renderHostFiles, serverUnits } from './hostfiles.js';
import { mustRun, openHost, type HostSession } from './remote.js';

const ProvisionedSchema = z.object({
  size: z.string(),
  serverCpus: z.array(z.number().int()),
  generatorCpus: z.array(z.number().int()),
  bundleKey: z.string(),
  filesKey: z.string(),
  impls: z.array(z.string()),
  provisionedAt: z.string(),
});
type Provisioned = z.infer<typeof ProvisionedSchema>;

const TOOLS = ['systemctl', 'journalctl', 'taskset', 'tar', 'wrk', 'k6', 'nginx', 'sudo'] as const;

/** What one probe of a machine found (one exec, no root needed except to read nothing private). */
export interface Probe {
  facts: HostFacts;
  root: boolean;
  tools: Set<string>;
  provisioned: Provisioned | null;
  bundleKey: string | null;
}

const PROBE_SCRIPT = [
  `for t in ${TOOLS.join(' ')}; do command -v "$t" >/dev/null 2>&1 || [ -x "/usr/sbin/$t" ] || [ -x "/sbin/$t" ] && echo "tool=$t"; done`,
  `[ "$(id -u)" = 0 ] && echo root=yes || { sudo -n true 2>/dev/null && echo root=sudo; }`,
  `echo "provisioned=$(tr -d '\\n' < ${PROVISIONED_FILE} 2>/dev/null)"`,
  `echo "bundle=$(cat ${BUNDLE_KEY_FILE} 2>/dev/null)"`,
].join('\n');

export async function probe(h: HostSession): Promise<Probe> {
  const { facts } = await measureFacts(h);
  const r = await h.exec(PROBE_SCRIPT);
  const lines = r.stdout.split('\n');
  const val = (k: string) =>
    lines
      .find((l) => l.startsWith(`${k}=`))
      ?.slice(k.length + 1)
      .trim() ?? '';
  let provisioned: Provisioned | null;
  try {
    provisioned = ProvisionedSchema.parse(JSON.parse(val('provisioned')));
  } catch {
    provisioned = null;
  }
  return {
    facts,
    root: val('root') !== '',
    tools: new Set(lines.filter((l) => l.startsWith('tool=')).map((l) => l.slice(5))),
    provisioned,
    bundleKey: val('bundle') || null,
  };
}

/**
 * What stops this machine from running cells, or (forProvision) from being provisioned by us:
 * one line each. NixOS machines are provisioned by their own configuration (nixosModules.server-bench).
 */
function blockers(p: Probe, h: HostSpec, forProvision = false): string[] {
  const out: string[] = [];
  if (!p.root) out.push(`${h.ssh.user} is not root and has no passwordless sudo (log in as root, or allow sudo -n)`);
  if (p.facts.init !== 'systemd') out.push(`not run by systemd (PID 1 is ${p.facts.init || 'unknown'}); the servers run as systemd units`);
  if (forProvision) {
    if (p.facts.os.id === 'nixos') out.push("NixOS: import the flake's nixosModules.server-bench and nixos-rebuild instead (docs/hosts.md)");
    else if (!['debian', 'ubuntu'].includes(p.facts.os.id)) out.push(`${p.facts.os.name} is not Debian or Ubuntu`);
    if (p.facts.arch !== 'x86_64') out.push(`${p.facts.arch}: the bundle's Node is x86_64`);
  }
  const beyond = [...h.serverCpus, ...h.generatorCpus].filter((c) => c >= p.facts.cores);
  if (beyond.length > 0) out.push(`core(s) ${beyond.join(', ')} do not exist (${p.facts.cores} online): fix serverCpus/generatorCpus`);
  const base = ['systemctl', 'journalctl', 'taskset', 'tar'].filter((t) => !p.tools.has(t));
  // With a separate generator machine the load runs there (hosts/generator-check.ts checks it).
  if (!h.generator && !p.tools.has('wrk') && !p.tools.has('k6')) base.push('wrk');
  if (base.length > 0)
    out.push(
      `missing ${base.join(', ')} (apt-get install -y ${[...new Set(base.map((t) => (t === 'taskset' ? 'util-linux' : t === 'journalctl' || t === 'systemctl' ? 'systemd' : t)))].join(' ')})`,
    );
  return out;
}

/**
 * Whether a cell can run on the machine now: the blockers, the engine, what provisioning left
 * (Debian/Ubuntu: provisioned.json for this size and cores, the bundle, the units; NixOS: the
 * module's files), and k6test answering for this size with the file's cores. The answer when it does.
 */
export async function readiness(
  s: HostSession,
  p: Probe,
  h: HostSpec,
  engine: 'wrk' | 'k6' | null,
  file = 'FILE',
): Promise<{ missing: string[]; info: Info | null }> {
  const missing = blockers(p, h);
  if (engine && !h.generator && !p.tools.has(engine)) missing.push(`no ${engine} (install it, or bench --engine ${engine === 'wrk' ? 'k6' : 'wrk'})`);
  if (p.facts.os.id !== 'nixos') {
    const prov = p.provisioned;
    if (!prov || !p.bundleKey) missing.push(`not provisioned (server-bench hosts provision --hosts ${file})`);
    else {
      if (prov.size !== h.size || prov.serverCpus.join() !== h.serverCpus.join() || prov.generatorCpus.join() !== h.generatorCpus.join()) {
        missing.push(
          `provisioned as size ${prov.size} with cores ${prov.serverCpus.join(',')}/${prov.generatorCpus.join(',')}, the file says size ${h.size} with ${h.serverCpus.join(',')}/${h.generatorCpus.join(',')} (hosts provision again)`,
        );
      }
      if (prov.bundleKey !== p.bundleKey) missing.push('the bundle is not the one provisioned (hosts provision again)');
      const units = await s.exec(
        `for u in ${prov.impls.map((i) => `bench-${i}.service`).join(' ')} bench-site.service bench-redirect-map.service; do [ -f /etc/systemd/system/$u ] || echo "$u"; done`,
      );
      const absent = units.stdout.split('\n').filter(Boolean);
      if (absent.length > 0) missing.push(`unit(s) ${absent.join(', ')} missing (hosts provision again)`);
    }
  }
  if (missing.length > 0) return { missing, info: null };
  const nixHint =
    p.facts.os.id === 'nixos'
      ? "set serverBench.host in the machine's configuration (nixosModules.server-bench) and nixos-rebuild switch"
      : 'hosts provision again';
  const info = await hostInfo(s, engine ?? (p.tools.has('wrk') ? 'wrk' : 'k6')).catch((err: unknown) =>
    err instanceof BenchError ? err.message : String(err),
  );
  if (typeof info === 'string') return { missing: [p.facts.os.id === 'nixos' ? `${info} (${nixHint})` : info], info: null };
  if (info.size.name !== h.size) missing.push(`k6test says size ${info.size.name} (${nixHint})`);
  else if (info.size.serverCpuList.join() !== h.serverCpus.join() || info.size.loadgenCpuList.join() !== h.generatorCpus.join()) {
    missing.push(
      `k6test says cores ${info.size.serverCpuList.join(',')}/${info.size.loadgenCpuList.join(',')}, the file ${h.serverCpus.join(',')}/${h.generatorCpus.join(',')} (${nixHint})`,
    );
  }
  return { missing, info: missing.length === 0 ? info : null };
}

export interface HostStatus {
  host: HostSpec;
  facts: HostFacts | null;
  /** Empty: ready for cells. */
  missing: string[];
}

/** One line per machine: `size 1 root@h:22 (facts): ready` or `…: missing: a; b`. */
export function statusLine(s: HostStatus): string {
  const head = `size ${s.host.size} ${targetName(s.host.ssh)}`;
  const facts = s.facts ? ` (${describeFacts(s.facts)})` : '';
  return s.missing.length === 0 ? `${head}${facts}: ready` : `${head}${facts}: missing: ${s.missing.join('; ')}`;
}

/** The k6test --info answer on a provisioned machine; a one-line error when it does not answer. */
export async function hostInfo(h: HostSession, engine: 'wrk' | 'k6'): Promise<Info> {
  const r = await h.exec(h.asRoot(`k6test --info --engine ${engine}`));
  try {
    return InfoSchema.parse(JSON.parse(r.stdout));
  } catch {
    throw new EnvironmentError(
      `${targetName(h.target)}: k6test --info failed (exit ${r.code}): ${r.stderr.trim().split('\n').slice(-1)[0] || r.stdout.slice(0, 120) || 'no output'}`,
      'server-bench hosts provision --hosts FILE',
    );
  }
}

export async function checkHost(h: HostSpec, engine: 'wrk' | 'k6' | null, file = 'FILE'): Promise<HostStatus> {
  let s: HostSession;
  try {
    s = await openHost(h.ssh);
  } catch (err) {
    return { host: h, facts: null, missing: [err instanceof BenchError ? err.oneLine() : String(err)] };
  }
  try {
    const p = await probe(s);
    const { missing } = await readiness(s, p, h, engine, file);
    // The generator machine too; the server's address is tried from it once the server machine is ready.
    if (h.generator) missing.push(...(await checkGenerator(h.generator, engine, missing.length === 0 ? s : null)).missing);
    return { host: h, facts: p.facts, missing };
  } catch (err) {
    return { host: h, facts: null, missing: [err instanceof BenchError ? err.oneLine() : String(err)] };
  } finally {
    s.close();
  }
}

/** Write rendered files under `root` (a local staging tree) for tar. */
async function stageFiles(root: string, files: readonly GuestFile[]): Promise<void> {
  for (const f of files) {
    const p = join(root, f.path);
    await mkdir(dirname(p), { recursive: true });
    if (f.kind === 'dir') await mkdir(p, { recursive: true, mode: f.mode });
    else if (f.kind === 'symlink') await symlink(f.target, p);
    else {
      await writeFile(p, f.content);
      await chmod(p, f.mode);
    }
  }
}

async function upload(s: HostSession, localTar: string, name: string): Promise<string> {
  const remote = `/var/tmp/${name}`;
  try {
    await s.pushFile(localTar, remote);
  } catch (err) {
    throw new EnvironmentError(
      `${targetName(s.target)}: uploading ${name} over SFTP failed (${(err as Error).message})`,
      'the machine needs the sftp subsystem in sshd_config and room in /var/tmp',
    );
  }
  return remote;
}

/**
 * The bundle onto the machine: only the files and links that differ from what it has under the
 * bundle's folders (bundle-delta.ts), what it has there beyond the bundle removed; a bare machine
 * gets the packed tarball whole. The servers stop first; the site is copied afresh from the new
 * bundle. Says what went: "299 of 2,768 files differed, 1.6 MB; 1 removed" or "everything, 40.9 MB packed".
 */
async function sendBundle(s: HostSession, bundle: HostBundle, units: string[], log: (line: string) => void, who: string): Promise<string> {
  const listing = await s.exec(s.asRoot(listingScript(BUNDLE_ROOTS)));
  if (listing.code !== 0)
    throw new EnvironmentError(
      `${who}: listing ${BUNDLE_ROOTS.map((r) => `/${r}`).join(', ')} failed: ${listing.stderr.trim().split('\n').slice(-1)[0] ?? ''}`,
      'the machine needs find, xargs and sha256sum (coreutils, findutils)',
    );
  const plan = planDelta(bundle.manifest, parseListing(listing.stdout));
  const whole = plan.send.length === plan.total;
  const stop = `systemctl stop ${units.join(' ')} bench-redirect-map.service 2>/dev/null || true`;
  const after = [`echo ${bundle.key} > ${BUNDLE_KEY_FILE}`, `rm -rf ${GUEST.paths.webroot} ${GUEST.paths.mapDir}`];
  if (whole) {
    log(`${who}: sending the bundle (${(bundle.bytes / 1e6).toFixed(1)} MB) over SFTP`);
    const remote = await upload(s, bundle.tarball, `server-bench-bundle-${bundle.key.slice(0, 16)}.tar.gz`);
    const script = [
      'set -e',
      stop,
      'rm -rf /opt/server-bench /opt/node',
      `tar -xzf ${shellQuote(remote)} -C / --no-same-owner`,
      ...after,
      `rm -f ${shellQuote(remote)}`,
    ];
    await mustRun(s, s.asRoot(script.join('\n')), 'unpacking the bundle');
    return `everything, ${(bundle.bytes / 1e6).toFixed(1)} MB packed`;
  }
  log(`${who}: sending ${plan.send.length} of ${plan.total} bundle files (${(plan.sendBytes / 1e6).toFixed(1)} MB), removing ${plan.remove.length}`);
  const tmp = await mkdtemp(join(tmpdir(), 'server-bench-delta-'));
  try {
    // NUL-separated path lists: what tar packs here, what goes there, the folders that must be there.
    const nulList = (paths: readonly string[], prefix = '') => paths.map((p) => `${prefix}${p}\0`).join('');
    const list = join(tmp, 'send.list');
    const removeList = join(tmp, 'remove.list');
    const dirList = join(tmp, 'dirs.list');
    await writeFile(list, nulList(plan.send));
    await writeFile(removeList, nulList(plan.remove, '/'));
    await writeFile(
      dirList,
      nulList(
        bundle.manifest.entries.filter((e) => e.kind === 'dir').map((e) => e.path),
        '/',
      ),
    );
    const tar = join(tmp, 'delta.tar.gz');
    await execa('tar', ['-C', bundle.tree, ...TAR_AS_ROOT, '--no-recursion', '--null', '-T', list, '-czf', tar], {
      stdin: 'ignore',
    });
    const remote = await upload(s, tar, `server-bench-delta-${bundle.key.slice(0, 16)}.tar.gz`);
    const remoteRemove = await upload(s, removeList, `server-bench-delta-${bundle.key.slice(0, 16)}.remove`);
    const remoteDirs = await upload(s, dirList, `server-bench-delta-${bundle.key.slice(0, 16)}.dirs`);
    const script = [
      'set -e',
      stop,
      `xargs -0 -r rm -rf -- < ${shellQuote(remoteRemove)}`,
      // Folders first (a file's parent may be new), then the files and links over what was there.
      `xargs -0 -r mkdir -p -- < ${shellQuote(remoteDirs)}`,
      `tar -xzf ${shellQuote(remote)} -C / --no-same-owner --no-overwrite-dir`,
      ...after,
      `rm -f ${shellQuote(remote)} ${shellQuote(remoteRemove)} ${shellQuote(remoteDirs)}`,
    ];
    await mustRun(s, s.asRoot(script.join('\n')), 'unpacking the bundle');
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return `${plan.send.length.toLocaleString('en-US')} of ${plan.total.toLocaleString('en-US')} files differed, ${(plan.sendBytes / 1e6).toFixed(1)} MB; ${plan.remove.length} removed`;
}

export interface ProvisionResult {
  host: HostSpec;
  line: string;
  changed: boolean;
}

async function provisionHost(h: HostSpec, bundle: HostBundle, log: (line: string) => void): Promise<ProvisionResult> {
  const s = await openHost(h.ssh);
  const who = `size ${h.size} ${targetName(h.ssh)}`;
  try {
    const p = await probe(s);
    const blocked = blockers(p, h, true);
    if (blocked.length > 0) throw new EnvironmentError(`${who}: cannot provision: ${blocked.join('; ')}`, 'fix the machine, then run hosts provision again');
    const impls = bundle.impls.filter((i) => i.name !== 'nginx' || p.tools.has('nginx'));
    const files = renderHostFiles({ impls, host: h, ...(await guestScripts()) });
    const fkey = filesKey(files);
    const done: string[] = [];
    const units = serverUnits(impls);
    const prov = p.provisioned;
    const bundleSame = p.bundleKey === bundle.key;
    const filesSame = bundleSame && prov?.filesKey === fkey && prov.size === h.size;
    if (!bundleSame) {
      const started = Date.now();
      const sent = await sendBundle(s, bundle, units, log, who);
      done.push(`bundle ${bundle.key.slice(0, 12)} sent (${sent} in ${((Date.now() - started) / 1000).toFixed(0)} s)`);
    }
    if (!filesSame) {
      const tmp = await mkdtemp(join(tmpdir(), 'server-bench-hostfiles-'));
      try {
        await stageFiles(join(tmp, 'tree'), files);
        const tar = join(tmp, 'files.tar.gz');
        await execa('tar', ['-C', join(tmp, 'tree'), ...TAR_AS_ROOT, '-czf', tar, '.'], { stdin: 'ignore' });
        const remote = await upload(s, tar, 'server-bench-files.tar.gz');
        const links = files.filter((f) => f.kind !== 'dir').map((f) => shellQuote(f.path));
        const record: Provisioned = {
          size: h.size,
          serverCpus: h.serverCpus,
          generatorCpus: h.generatorCpus,
          bundleKey: bundle.key,
          filesKey: fkey,
          impls: impls.map((i) => i.name),
          provisionedAt: new Date().toISOString(),
        };
        const script = [
          'set -e',
          // Units of another size or an implementation no longer carried: removed first.
          `systemctl stop ${units.join(' ')} 2>/dev/null || true`,
          'for f in /etc/systemd/system/bench-*.service; do case $f in */bench-ssh-setup.service) ;; *) rm -f "$f" ;; esac; done',
          // Files and links replaced whole (the Debian guest's /etc/server-bench/size.json is a link into /run).
          `rm -f ${links.join(' ')}`,
          `tar -xzf ${shellQuote(remote)} -C / --no-same-owner --no-overwrite-dir`,
          `rm -f ${shellQuote(remote)}`,
          `printf '%s\\n' ${shellQuote(JSON.stringify(record))} > ${PROVISIONED_FILE}`,
          'systemctl daemon-reload',
          'systemctl enable bench-site.service bench-redirect-map.service >/dev/null 2>&1 || true',
        ].join('\n');
        await mustRun(s, s.asRoot(script), 'installing the units');
        done.push(`${files.length} files and units for size ${h.size} (server cores ${h.serverCpus.join(',')}, generator ${h.generatorCpus.join(',')})`);
      } finally {
        await rm(tmp, { recursive: true, force: true });
      }
    }
    // The site on the machine's disk and the redirect map up (the servers start per cell).
    await mustRun(
      s,
      s.asRoot(`systemctl start bench-site.service && systemctl ${done.length > 0 ? 'restart' : 'start'} bench-redirect-map.service`),
      'starting bench-site and the redirect map',
    );
    const info = await hostInfo(s, p.tools.has('wrk') ? 'wrk' : 'k6');
    if (info.size.name !== h.size)
      throw new BenchError(
        `${who}: k6test says size ${info.size.name} after provisioning`,
        'report this: the rendered size.json did not take',
        ExitCode.failure,
      );
    const changed = done.length > 0;
    return {
      host: h,
      changed,
      line: `${who}: ${changed ? `provisioned: ${done.join('; ')}` : 'already provisioned (nothing sent)'}; k6test answers (${info.impls.join(', ')})`,
    };
  } finally {
    s.close();
  }
}

/** Provision every machine (the bundle is packed once); one line each. */
export async function provisionHosts(hosts: readonly HostSpec[], log: (line: string) => void, signal?: AbortSignal): Promise<ProvisionResult[]> {
  const bundle = await hostBundle({ log, ...(signal ? { signal } : {}) });
  const out: ProvisionResult[] = [];
  for (const h of hosts) out.push(await provisionHost(h, bundle, log));
  return out;
}
