// The Debian guest's own files, rendered from the data both guest flavours share: systemd units for
// every implementation and size (matrix/impls.json, matrix/sizes.json, matrix/guest.json), the
// /etc/server-bench/*.json files k6test reads, the boot-time size generator, k6test on PATH and the
// guest scripts of nix/guest/. Pure: data in, a list of files out (build.ts writes them).
import type { ImplSpec, VmSize } from '../../run/matrix-files.js';
import { formatCpuList } from '../../servers/cpus.js';
import { fillTemplate } from '../../run/matrix-files.js';
import { GUEST, mapUrls, type GuestSpec, type UnitValue } from './guest-spec.js';

/** Where the Debian guest keeps what the NixOS guest has in /nix/store. */
export const DEBIAN_LAYOUT = {
  /** GUEST_PAYLOAD (payload.ts) and production node_modules. */
  install: '/opt/server-bench',
  /** nix/gen-site.mjs output: webroot/, redirects.txt, site.json, nginx.conf. */
  site: '/opt/server-bench/site',
  /** One folder per matrix/impls.json unit.package, holding its unit.executable. */
  pkgs: '/opt/server-bench/pkgs',
  /** The guest scripts of nix/guest/. */
  libexec: '/usr/local/lib/server-bench',
  node: '/usr/local/bin/node',
  etc: '/etc/server-bench',
  /** Debian's name for sshd's unit (NixOS: sshd.service). */
  sshUnit: 'ssh.service',
  /** The kernel command line argument the runner sets and the generator reads. */
  sizeArg: 'server_bench.size',
} as const;

export type GuestFile =
  | { kind: 'file'; path: string; content: string; mode: number }
  | { kind: 'symlink'; path: string; target: string }
  | { kind: 'dir'; path: string; mode: number };

type Section = [string, UnitValue | undefined][];

function quoteArg(arg: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(arg) ? arg : `"${arg.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function renderValue(key: string, v: UnitValue): string[] {
  if (Array.isArray(v)) return v.map((item) => `${key}=${item}`);
  return [`${key}=${typeof v === 'boolean' ? (v ? 'true' : 'false') : String(v)}`];
}

/** A unit file from ordered sections; undefined values are left out. */
export function renderUnit(sections: Record<string, Section>): string {
  const out: string[] = [];
  for (const [name, entries] of Object.entries(sections)) {
    if (entries.length === 0) continue;
    out.push(`[${name}]`);
    for (const [k, v] of entries) if (v !== undefined) out.push(...renderValue(k, v));
    out.push('');
  }
  return out.join('\n');
}

const settings = (o: Record<string, UnitValue>): Section => Object.entries(o);
const env = (vars: Record<string, string>): Section => Object.entries(vars).map(([k, v]) => ['Environment', quoteArg(`${k}=${v}`)]);

/** systemd's CPU list: "0", "0-15", "16-19" as vm.nix writes them; a machine's (hosts/hostfiles.ts) may have gaps: "0,2,5-7". */
export function cpuRange(list: readonly number[]): string {
  if (list.length === 0) throw new Error('an empty CPU list');
  return formatCpuList(list);
}

export interface GuestFilesInput {
  /** The implementations this image carries (a subset of matrix/impls.json, in its order). */
  impls: readonly ImplSpec[];
  sizes: readonly VmSize[];
  /** nix/guest/bench-site.sh, bench-ssh-setup.sh (bodies, as writeShellApplication takes them) and redirect-map-server.mjs. */
  scripts: { benchSite: string; sshSetup: string; mapServer: string };
  /** Node flags from tsherve's shebang (servers/registry.ts shebangNodeFlags). */
  tsherveNodeFlags: readonly string[];
  guest?: GuestSpec;
  /** The servers' listen address (@host@): 127.0.0.1 in the VMs; 0.0.0.0 on a hosts-file machine whose load comes from another machine. */
  listenHost?: string;
}

/** The folder of a matrix/impls.json unit.package inside the Debian guest. */
export function packageDir(pkg: string): string {
  return `${DEBIAN_LAYOUT.pkgs}/${pkg}`;
}

/** Where the Debian guest keeps Bun (build.ts copies in the binary of the repository's pinned `bun` package). */
export const GUEST_BUN = `${DEBIAN_LAYOUT.pkgs}/tsherve-bun/bin/bun`;

/** writeShellApplication's prelude, so the scripts run under the same shell options as in NixOS. */
function shellScript(body: string): string {
  return `#!/bin/bash\nset -o errexit -o nounset -o pipefail\n\n${body.trimEnd()}\n`;
}

function serverUnit(impl: ImplSpec, size: VmSize, g: GuestSpec, listenHost = '127.0.0.1'): string {
  const values = {
    webroot: g.paths.webroot,
    mapUrl: mapUrls(g).mapUrl,
    host: listenHost,
    cpus: size.cpus,
    nginxConf: `${DEBIAN_LAYOUT.site}/nginx.conf`,
    sitePort: impl.sitePort,
    ...(impl.metricsPort === null ? {} : { metricsPort: impl.metricsPort }),
  };
  const command = [`${packageDir(impl.unit.package)}/${impl.unit.executable}`, ...impl.unit.args.map((a) => fillTemplate(a, values))];
  const environment = Object.fromEntries(Object.entries(impl.environment).map(([k, v]) => [k, fillTemplate(v, values)]));
  return renderUnit({
    Unit: [
      ['Description', `server-bench: ${impl.description}`],
      ['Requires', ['bench-site.service', 'bench-redirect-map.service']],
      ['After', ['bench-site.service', 'bench-redirect-map.service']],
    ],
    Service: [
      ...settings(g.hardening),
      ...settings(g.serverUnit),
      ['ExecStart', command.map(quoteArg).join(' ')],
      ['MemoryDenyWriteExecute', impl.unit.memoryDenyWriteExecute],
      ['AllowedCPUs', cpuRange(size.serverCpuList)],
      ['MemoryMax', `${size.memoryMiB}M`],
      // As vm.nix: the engine's nginx.conf keeps pid, error log and temp paths under this prefix.
      ['RuntimeDirectory', impl.name === 'nginx' ? (g.paths.nginxPrefix.split('/').pop() ?? undefined) : undefined],
      ...env(environment),
    ],
  });
}

function mapUnit(size: VmSize, g: GuestSpec): string {
  return renderUnit({
    Unit: [
      ['Description', `server-bench: the redirect map on ${mapUrls(g).mapUrl}`],
      ['Requires', 'bench-site.service'],
      ['After', 'bench-site.service'],
    ],
    Service: [
      ...settings(g.hardening),
      ...settings(g.mapUnit),
      ['ExecStart', `${DEBIAN_LAYOUT.node} ${DEBIAN_LAYOUT.libexec}/redirect-map-server.mjs`],
      // Stands in for a remote host: its work must not land on the server's cores.
      ['AllowedCPUs', cpuRange(size.loadgenCpuList)],
      ...env({ MAP_FILE: `${g.paths.mapDir}/redirects.txt`, MAP_HOST: g.mapServer.host, MAP_PORT: String(g.mapServer.port) }),
    ],
  });
}

/**
 * Runs before any unit is loaded: picks this boot's size from the kernel command line (the runner
 * sets it), links that size's units into the generator folder and its size.json into /run.
 */
function sizeGenerator(): string {
  const { etc, sizeArg } = DEBIAN_LAYOUT;
  return `#!/bin/sh
# server-bench: this boot's size (${sizeArg}=N on the kernel command line, set by the runner):
# link that size's units (server cores, memory) and its size.json. Units are loaded after this.
out=$1
size=
for arg in $(cat /proc/cmdline); do
  case $arg in ${sizeArg}=*) size=\${arg#${sizeArg}=} ;; esac
done
dir=${etc}/sizes/$size
if [ -z "$size" ] || [ ! -d "$dir" ]; then
  echo "server-bench: no size '$size' on the kernel command line (${sizeArg}=N; sizes: $(ls ${etc}/sizes | tr '\\n' ' '))" > /dev/kmsg
  exit 0
fi
for unit in "$dir"/units/*; do ln -sf "$unit" "$out/"; done
mkdir -p "$out/multi-user.target.wants"
ln -sf ../bench-redirect-map.service "$out/multi-user.target.wants/bench-redirect-map.service"
mkdir -p /run/server-bench
ln -sf "$dir/size.json" /run/server-bench/size.json
`;
}

/** Every file of the Debian guest that depends on this repository (the base image has the OS). */
export function renderGuestFiles(input: GuestFilesInput): GuestFile[] {
  const g = input.guest ?? GUEST;
  const L = DEBIAN_LAYOUT;
  const files: GuestFile[] = [];
  const file = (path: string, content: string, mode = 0o644) => files.push({ kind: 'file', path, content, mode });
  const link = (path: string, target: string) => files.push({ kind: 'symlink', path, target });

  // What k6test reads (the same shapes vm.nix writes).
  file(
    `${L.etc}/impls.json`,
    `${JSON.stringify(input.impls.map((i) => ({ name: i.name, unit: i.unit.name, description: i.description, reference: i.reference, sitePort: i.sitePort, metricsPort: i.metricsPort, metricPrefix: i.metricPrefix })))}\n`,
  );
  file(`${L.etc}/vm.json`, `${JSON.stringify({ webroot: g.paths.webroot, ...mapUrls(g), outDir: g.paths.outDir })}\n`);
  link(`${L.etc}/site.json`, `${L.site}/site.json`);
  link(`${L.etc}/size.json`, '/run/server-bench/size.json');
  for (const size of input.sizes) {
    const dir = `${L.etc}/sizes/${size.name}`;
    const { name, cpus, memoryMiB, vus, loadgenCpus, serverCpuList, loadgenCpuList, vmCores, vmMemoryMiB } = size;
    file(
      `${dir}/size.json`,
      `${JSON.stringify({ name, cpus, memoryMiB, vus, loadgenCpus, serverCpuList, loadgenCpuList, vmCores, vmMemoryMiB, loadgen: 'dedicated' })}\n`,
    );
    file(`${dir}/units/bench-redirect-map.service`, mapUnit(size, g));
    for (const impl of input.impls) file(`${dir}/units/${impl.unit.name}.service`, serverUnit(impl, size, g, input.listenHost));
  }
  file('/etc/systemd/system-generators/server-bench-size', sizeGenerator(), 0o755);

  // Units that do not depend on the size, enabled as `systemctl enable` would.
  file(
    '/etc/systemd/system/bench-ssh-setup.service',
    renderUnit({
      Unit: [
        ['Description', 'server-bench: install the per-run SSH key, publish the host key'],
        ['Before', L.sshUnit],
        ['RequiresMountsFor', g.paths.shared],
      ],
      Service: [
        ['Type', 'oneshot'],
        ['RemainAfterExit', true],
        ...env({ SHARED: g.paths.shared, HOST_KEY: g.paths.hostKey }),
        ['ExecStart', `${L.libexec}/bench-ssh-setup`],
      ],
      Install: [['WantedBy', L.sshUnit]],
    }),
  );
  link(`/etc/systemd/system/${L.sshUnit}.wants/bench-ssh-setup.service`, '/etc/systemd/system/bench-ssh-setup.service');
  file(
    '/etc/systemd/system/bench-site.service',
    renderUnit({
      // The image build already ran the script (build.ts): the site is on the guest disk, where
      // NixOS copies it from the store at boot. The unit stays for the contract (servers require it).
      Unit: [
        ['Description', 'server-bench: the site on the guest disk'],
        ['ConditionPathExists', `!${g.paths.webroot}`],
      ],
      Service: [
        ['Type', 'oneshot'],
        ['RemainAfterExit', true],
        ...env({ SITE: L.site, SITE_DIR: g.paths.webroot, MAP_DIR: g.paths.mapDir }),
        ['ExecStart', `${L.libexec}/bench-site`],
      ],
      Install: [['WantedBy', 'multi-user.target']],
    }),
  );
  link('/etc/systemd/system/multi-user.target.wants/bench-site.service', '/etc/systemd/system/bench-site.service');
  files.push({ kind: 'dir', path: g.paths.outDir.replace(/\/[^/]+$/, ''), mode: 0o755 });

  // The guest scripts, as writeShellApplication would run them.
  file(`${L.libexec}/bench-site`, shellScript(input.scripts.benchSite), 0o755);
  file(`${L.libexec}/bench-ssh-setup`, shellScript(input.scripts.sshSetup), 0o755);
  file(`${L.libexec}/redirect-map-server.mjs`, input.scripts.mapServer);

  // k6test on PATH; tsherve as its Nix package runs it (the shebang's Node flags).
  file('/usr/local/bin/k6test', `#!/bin/sh\nexec ${L.node} ${L.install}/dist/driver/src/guest/k6test-cli.js "$@"\n`, 0o755);
  for (const impl of input.impls) {
    if (impl.unit.package === 'tsherve') {
      file(
        `${packageDir('tsherve')}/${impl.unit.executable}`,
        `#!/bin/sh\nexec ${[L.node, ...input.tsherveNodeFlags, `${L.install}/dist/servers/tsherve/src/cli.js`].join(' ')} "$@"\n`,
        0o755,
      );
    } else if (impl.unit.package === 'tsherve-bun') {
      // As the local backend starts it: Bun running the compiled tree (no Node flags; Bun is the runtime).
      file(`${packageDir('tsherve-bun')}/${impl.unit.executable}`, `#!/bin/sh\nexec ${GUEST_BUN} ${L.install}/dist/servers/tsherve/src/cli.js "$@"\n`, 0o755);
    } else if (impl.unit.package === 'nginx') {
      link(`${packageDir('nginx')}/${impl.unit.executable}`, '/usr/sbin/nginx');
    }
    // Other packages (gosherve, Bun) are binaries build.ts copies in.
  }
  return files;
}
