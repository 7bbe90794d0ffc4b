// The offline checks of the Nix half (flake.nix, flake.lock, vm.nix, nix/*): every .nix file parses,
// the size and implementation data both sides read from matrix/*.json evaluate to the same values,
// the lock is complete and carries the pinned revisions, the guest's scripts and map server work,
// and the npm fixed-output hash still matches the lock. No nixpkgs is reachable here, so nothing is
// built or evaluated against it (nix/README.md says what was verified how).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { vmSizeOf } from '../src/run/matrix-files.js';
import { DEFAULT_SIZES } from '../src/run/sizes.js';

const run = promisify(execFile);
const repo = join(import.meta.dirname, '..', '..');

// Every fetch Nix might try dies on loopback (nix.md §6).
const nixEnv = {
  ...process.env,
  http_proxy: 'http://127.0.0.1:9',
  https_proxy: 'http://127.0.0.1:9',
  all_proxy: 'http://127.0.0.1:9',
};
const noSubstituters = ['--option', 'substituters', ''];

async function nixEval(expr: string, cwd = repo): Promise<unknown> {
  const { stdout } = await run('nix-instantiate', ['--eval', '--strict', '--json', ...noSubstituters, '-E', expr], {
    cwd,
    env: nixEnv,
    timeout: 30_000,
  });
  return JSON.parse(stdout) as unknown;
}

async function nixFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (['node_modules', 'dist', '.git', 'reports', 'test-artifacts'].includes(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await nixFiles(path)));
    else if (entry.name.endsWith('.nix')) out.push(path);
  }
  return out;
}

const scratch: string[] = [];
const children: ChildProcess[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'sb-nix-'));
  scratch.push(d);
  return d;
}
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const d of scratch) await rm(d, { recursive: true, force: true });
});

describe('nix files', () => {
  it('every .nix file in the repository parses', async () => {
    const files = await nixFiles(repo);
    const names = files.map((f) => relative(repo, f)).sort();
    // The ones this half of the project must have; others may be added.
    for (const must of ['flake.nix', 'vm.nix', 'nix/sizes.nix', 'nix/impls.nix', 'nix/packages.nix']) expect(names).toContain(must);
    const failures: string[] = [];
    for (const f of files) {
      await run('nix-instantiate', ['--parse', ...noSubstituters, f], { env: nixEnv, timeout: 30_000 }).catch((e: { stderr?: string }) => {
        failures.push(`${relative(repo, f)}: ${(e.stderr ?? String(e)).trim()}`);
      });
    }
    expect(failures).toEqual([]);
  });
});

// matrix/sizes.json and matrix/impls.json are the single source: nix/sizes.nix and nix/impls.nix read
// them with builtins.fromJSON, driver/src/run/matrix-files.ts imports them. Both sides are evaluated and
// compared, and neither may spell the values itself.
describe('the single source (matrix/*.json)', () => {
  it('is what both sides read, and neither side writes the values itself', async () => {
    for (const [nix, json] of [
      ['nix/sizes.nix', 'matrix/sizes.json'],
      ['nix/impls.nix', 'matrix/impls.json'],
    ] as const) {
      const text = await readFile(join(repo, nix), 'utf8');
      expect(text, nix).toContain(`builtins.fromJSON (builtins.readFile ../${json})`);
    }
    const ts = await readFile(join(repo, 'driver/src/run/matrix-files.ts'), 'utf8');
    expect(ts).toContain("from '../../../matrix/sizes.json' with { type: 'json' }");
    expect(ts).toContain("from '../../../matrix/impls.json' with { type: 'json' }");
    // No second copy of a size's numbers or an implementation's environment.
    const sizesNix = await readFile(join(repo, 'nix/sizes.nix'), 'utf8');
    for (const n of ['16384', '4096', '384', '2048']) expect(sizesNix).not.toContain(n);
    const implsNix = await readFile(join(repo, 'nix/impls.nix'), 'utf8');
    for (const v of ['GOSHERVE_', 'TSHERVE_', '8080', 'gosherve_']) expect(implsNix).not.toContain(v);
    for (const f of ['driver/src/run/sizes.ts', 'driver/src/servers/registry.ts']) {
      const text = await readFile(join(repo, f), 'utf8');
      expect(text, f).not.toMatch(/memoryMiB: \d|(TSHERVE|GOSHERVE)_[A-Z_]+: (['"`]|String\()|metricPrefix: '/);
    }
  });

  it('is copied into the build as it is (the built CLI and k6test read dist/matrix/)', async () => {
    for (const f of ['sizes.json', 'impls.json']) {
      // tsc re-indents the copy; the data must be the same.
      const built = JSON.parse(await readFile(join(repo, 'dist', 'matrix', f), 'utf8')) as unknown;
      expect(built, f).toEqual(JSON.parse(await readFile(join(repo, 'matrix', f), 'utf8')));
    }
    // The Nix source filter keeps the folder, or the Nix build could not compile.
    expect(await readFile(join(repo, 'nix/packages.nix'), 'utf8')).toMatch(/keep = \[[^\]]*"matrix"/);
  });

  it('a change to the JSON is a change to the Nix side (nothing cached or copied)', async () => {
    const d = await tempDir();
    await mkdir(join(d, 'matrix'));
    await mkdir(join(d, 'nix'));
    for (const f of ['nix/sizes.nix', 'nix/impls.nix']) await writeFile(join(d, f), await readFile(join(repo, f)));
    const sizes = JSON.parse(await readFile(join(repo, 'matrix/sizes.json'), 'utf8')) as { guest: { osMemoryMiB: number }; sizes: unknown[] };
    sizes.guest.osMemoryMiB = 500;
    sizes.sizes.push({ name: '4', cpus: 4, memoryMiB: 1024, vus: 3, loadgenCpus: 2 });
    await writeFile(join(d, 'matrix/sizes.json'), JSON.stringify(sizes));
    const impls = JSON.parse(await readFile(join(repo, 'matrix/impls.json'), 'utf8')) as { impls: { name: string; environment: Record<string, string> }[] };
    const ts = impls.impls.find((i) => i.name === 'tsherve');
    if (!ts) throw new Error('no tsherve in matrix/impls.json');
    ts.environment.TSHERVE_EXTRA = '@host@:@cpus@';
    await writeFile(join(d, 'matrix/impls.json'), JSON.stringify(impls));
    const four = (await nixEval('(import ./nix/sizes.nix)."4"', d)) as NixSize;
    expect(four).toMatchObject({ cpus: 4, vmCores: 6, vmMemoryMiB: 1024 + 500 + 2 * 256, loadgenCpuList: [4, 5] });
    const env = (await nixEval(`(${implsExpr('4')}).tsherve.environment.TSHERVE_EXTRA`, d)) as string;
    expect(env).toBe('127.0.0.1:4');

    // A placeholder the VM has no value for stops the evaluation with the entry and the text.
    ts.environment.TSHERVE_EXTRA = '@metricsPort@';
    const nginx = impls.impls.find((i) => i.name === 'nginx');
    if (!nginx) throw new Error('no nginx in matrix/impls.json');
    nginx.environment.NGINX_METRICS = '@metricsPort@';
    await writeFile(join(d, 'matrix/impls.json'), JSON.stringify(impls));
    await expect(nixEval(`(${implsExpr('1')}).nginx.environment`, d)).rejects.toThrow(/nginx: "@metricsPort@" keeps a placeholder/);
  });
});

interface NixSize {
  name: string;
  cpus: number;
  memoryMiB: number;
  vus: number;
  loadgenCpus: number;
  vmCores: number;
  vmMemoryMiB: number;
  diskSizeMiB: number;
  serverCpuList: number[];
  loadgenCpuList: number[];
}

describe('nix/sizes.nix', () => {
  it('evaluates to the original sizes, the same records as vmSizeOf in driver/src/run/matrix-files.ts', async () => {
    const sizes = (await nixEval('import ./nix/sizes.nix')) as Record<string, NixSize>;
    const table = Object.values(sizes)
      .sort((a, b) => a.cpus - b.cpus)
      .map(({ name, cpus, memoryMiB, vus }) => ({ name, cpus, memoryMiB, vus }));
    expect(table).toEqual([
      { name: '1', cpus: 1, memoryMiB: 256, vus: 1 },
      { name: '2', cpus: 2, memoryMiB: 4096, vus: 10 },
      { name: '16', cpus: 16, memoryMiB: 16384, vus: 10 },
    ]);
    expect(table).toEqual(DEFAULT_SIZES.map(({ name, cpus, memoryMiB, vus }) => ({ name, cpus, memoryMiB, vus })));
    for (const [key, s] of Object.entries(sizes)) expect(key).toBe(s.name);
    // Every derived field too: one arithmetic, written in Nix and in TypeScript, same answers.
    expect(Object.keys(sizes).sort()).toEqual(DEFAULT_SIZES.map((s) => s.name).sort());
    for (const s of DEFAULT_SIZES) expect(sizes[s.name], `size ${s.name}`).toEqual(vmSizeOf(s.name));
  });

  it('gives k6 its own vCPUs after the server cores, and the VM room beyond the server', async () => {
    const sizes = (await nixEval('import ./nix/sizes.nix')) as Record<string, NixSize>;
    expect(Object.fromEntries(Object.values(sizes).map((s) => [s.name, s.loadgenCpus]))).toEqual({ '1': 1, '2': 1, '16': 4 });
    expect(Object.fromEntries(Object.values(sizes).map((s) => [s.name, s.vmMemoryMiB]))).toEqual({ '1': 896, '2': 4736, '16': 17792 });
    for (const s of Object.values(sizes)) {
      expect(s.vmCores).toBe(s.cpus + s.loadgenCpus);
      expect(s.serverCpuList).toEqual(Array.from({ length: s.cpus }, (_, i) => i));
      expect(s.loadgenCpuList).toEqual(Array.from({ length: s.loadgenCpus }, (_, i) => s.cpus + i));
      expect(s.vmMemoryMiB).toBeGreaterThan(s.memoryMiB);
      expect(s.diskSizeMiB).toBeGreaterThanOrEqual(1024);
    }
  });
});

interface NixImpl {
  name: string;
  description: string;
  unit: string;
  reference: boolean;
  command: string[];
  environment: Record<string, string>;
  sitePort: number;
  metricsPort: number | null;
  metricPrefix: string | null;
  memoryDenyWriteExecute: boolean;
}

const implsExpr = (size: string) => `import ./nix/impls.nix {
    packages = { tsherve = "/pkg/tsherve"; tsherve-bun = "/pkg/tsherve-bun"; gosherve = "/pkg/gosherve"; gosherve-old = "/pkg/gosherve-old"; servy = "/pkg/servy"; nginx = "/pkg/nginx"; };
    size = (import ./nix/sizes.nix)."${size}";
    webroot = "/var/lib/bench-site";
    mapUrl = "http://127.0.0.1:8090/redirects.txt";
    nginxConf = "/pkg/site/nginx.conf";
  }`;

describe('nix/impls.nix', () => {
  it('describes the same implementations, ports and metric prefixes as the engine', async () => {
    const { IMPLS } = await import('../src/servers/registry.js');
    const impls = (await nixEval(implsExpr('2'))) as Record<string, NixImpl>;
    const pick = (i: Omit<NixImpl, 'unit' | 'command' | 'environment' | 'memoryDenyWriteExecute'>) => ({
      name: i.name,
      description: i.description,
      reference: i.reference,
      sitePort: i.sitePort,
      metricsPort: i.metricsPort,
      metricPrefix: i.metricPrefix,
    });
    const fromNix = Object.values(impls)
      .map(pick)
      .sort((a, b) => a.name.localeCompare(b.name));
    const fromEngine = IMPLS.map(pick).sort((a, b) => a.name.localeCompare(b.name));
    expect(fromNix).toEqual(fromEngine);
    for (const i of Object.values(impls)) expect(i.unit).toBe(`bench-${i.name}`);
  });

  it('configures each unit as the local backend does, sized by the VM', async () => {
    const { GOSHERVE_LOG_LEVEL } = await import('../src/servers/gosherve.js');
    const { IMPLS } = await import('../src/servers/registry.js');
    const two = (await nixEval(implsExpr('2'))) as Record<string, NixImpl>;
    const sixteen = (await nixEval(implsExpr('16'))) as Record<string, NixImpl>;
    expect(two.tsherve?.environment.TSHERVE_WORKERS).toBe('2');
    expect(sixteen.tsherve?.environment.TSHERVE_WORKERS).toBe('16');
    expect(two.tsherve?.environment.TSHERVE_REDIRECT_MAP_URL).toBe('http://127.0.0.1:8090/redirects.txt');
    expect(two.tsherve?.command).toEqual(['/pkg/tsherve/bin/tsherve']);
    // Node's JIT needs writable+executable pages; Go and nginx do not.
    expect(two.tsherve?.memoryDenyWriteExecute).toBe(false);
    // tsherve-bun: the same settings under Bun, from its own executable; JavaScriptCore's JIT needs W+X too.
    expect(two['tsherve-bun']?.command).toEqual(['/pkg/tsherve-bun/bin/tsherve-bun']);
    expect(two['tsherve-bun']?.environment).toEqual({ ...two.tsherve?.environment, TSHERVE_RUNTIME: 'bun' });
    expect(two['tsherve-bun']?.memoryDenyWriteExecute).toBe(false);
    expect(two.gosherve?.memoryDenyWriteExecute).toBe(true);
    for (const g of ['gosherve', 'gosherve-old'] as const) {
      expect(two[g]?.environment).toEqual({
        GOSHERVE_WEBROOT: '/var/lib/bench-site',
        GOSHERVE_REDIRECT_MAP_URL: 'http://127.0.0.1:8090/redirects.txt',
        GOSHERVE_LOG_LEVEL,
      });
    }
    expect(GOSHERVE_LOG_LEVEL).toBe('info');
    expect(two.gosherve?.command).toEqual(['/pkg/gosherve/bin/gosherve']);
    expect(two['gosherve-old']?.command).toEqual(['/pkg/gosherve-old/bin/gosherve']);
    expect(two.nginx?.command).toEqual(['/pkg/nginx/bin/nginx', '-e', 'stderr', '-c', '/pkg/site/nginx.conf']);
    // The whole environment equals the local launch's for the same webroot, map, host and cores
    // (nginx gets none: its configuration file carries everything). The VMs run the servers as
    // shipped (--server-logs shipped), so the local launch is asked for that mode.
    for (const impl of IMPLS) {
      const local = impl.launch({
        webroot: '/var/lib/bench-site',
        mapUrl: 'http://127.0.0.1:8090/redirects.txt',
        host: '127.0.0.1',
        cpus: 2,
        cacheDir: '/c',
        workDir: await tempDir(),
        serverLogs: 'shipped',
      } as never);
      expect(two[impl.name]?.environment, impl.name).toEqual(local.env);
    }
    // servy embeds the site (flake.nix builds it for the generated one) and runs as shipped, as the VMs' gosherve does.
    expect(two.servy?.command).toEqual(['/pkg/servy/bin/servy']);
    expect(two.servy?.environment).toEqual({
      SERVY_REDIRECTS_URL: 'http://127.0.0.1:8090/redirects.txt',
      SERVY_HOST: '127.0.0.1',
      SERVY_PORT: '8080',
      SERVY_METRICS_PORT: '8081',
      SERVY_LOG_LEVEL: 'info',
    });
    expect(two.servy?.memoryDenyWriteExecute).toBe(true);
  });
});

// The pins (nix.md §3, §4): nixpkgs nixos-unstable 3e3afe51, gosherve v0.3.5 and v0.3.3 by commit.
const PINS = {
  nixpkgs: {
    owner: 'NixOS',
    repo: 'nixpkgs',
    rev: '3e3afe5174c561dee0df6f2c2b2236990146329f',
    narHash: 'sha256-frdhQvPbmDYaScPFiCnfdh3B/Vh81Uuoo0w5TkWmmjU=',
    lastModified: 1749285348,
  },
  gosherve: {
    owner: 'jnsgruk',
    repo: 'gosherve',
    rev: 'c5647476a8c6bcdf703ef685809ad06007774b6f',
    narHash: 'sha256-QP72Re/Cor+4xvGSY+Ef0ZZIIY63IzWtR3tIpAhtLQ8=',
    lastModified: 1732823725,
  },
  'gosherve-old': {
    owner: 'jnsgruk',
    repo: 'gosherve',
    rev: '72618c30800dbc9954b028380543f0f860da87cf',
    narHash: 'sha256-QQoEhqA7pG9j0B1lP5ZgHrjgbyhZ6QBCLkkVfOCwFkc=',
    lastModified: 1722887404,
  },
  servy: {
    owner: 'jnsgruk',
    repo: 'servy',
    rev: '7511efd7b3b41917569f04ebd8b06cec66faabdf',
    // `nix hash path` of `git archive` of that commit (the same method gives gosherve's pinned hash).
    narHash: 'sha256-TcSRKpLsdDnDBqNqw6Pu3Dbro8dfaFNxZwNZr3Es5C4=',
    lastModified: 1749638397,
  },
} as const;

interface LockNode {
  inputs?: Record<string, string | string[]>;
  locked?: Record<string, unknown>;
  original?: Record<string, unknown>;
}
interface Lock {
  version: number;
  root: string;
  nodes: Record<string, LockNode>;
}

describe('flake.lock', () => {
  it('is a complete version 7 lock whose references all resolve', async () => {
    const lock = JSON.parse(await readFile(join(repo, 'flake.lock'), 'utf8')) as Lock;
    expect(lock.version).toBe(7);
    const root = lock.nodes[lock.root];
    expect(root?.inputs).toBeDefined();
    expect(Object.keys(root?.inputs ?? {}).sort()).toEqual(['gosherve', 'gosherve-old', 'nixpkgs', 'servy']);

    // A reference is a node name, or a path of input names from the root ("follows").
    const resolve = (ref: string | string[]): LockNode | undefined => {
      if (typeof ref === 'string') return lock.nodes[ref];
      let node: LockNode | undefined = root;
      for (const name of ref) {
        const next: string | string[] | undefined = node?.inputs?.[name];
        node = next === undefined ? undefined : resolve(next);
      }
      return node;
    };
    const problems: string[] = [];
    for (const [name, node] of Object.entries(lock.nodes)) {
      for (const [input, ref] of Object.entries(node.inputs ?? {})) {
        if (!resolve(ref)) problems.push(`${name}.inputs.${input} → ${JSON.stringify(ref)} does not resolve`);
      }
      if (name === lock.root) continue;
      for (const field of ['lastModified', 'narHash', 'owner', 'repo', 'rev', 'type']) {
        if (node.locked?.[field] === undefined) problems.push(`${name}.locked.${field} missing`);
      }
      if (!node.original) problems.push(`${name}.original missing`);
      if (node.locked?.type !== 'github') problems.push(`${name}.locked.type is not github`);
      if (!/^[0-9a-f]{40}$/.test(String(node.locked?.rev))) problems.push(`${name}.locked.rev is not a commit`);
      if (!/^sha256-[A-Za-z0-9+/]{43}=$/.test(String(node.locked?.narHash))) problems.push(`${name}.locked.narHash is not an SRI sha256`);
    }
    // Every node is reachable from the root (no stale nodes).
    const seen = new Set<string>([lock.root]);
    const walk = (name: string): void => {
      for (const ref of Object.values(lock.nodes[name]?.inputs ?? {})) {
        if (typeof ref === 'string' && !seen.has(ref)) {
          seen.add(ref);
          walk(ref);
        }
      }
    };
    walk(lock.root);
    for (const name of Object.keys(lock.nodes)) if (!seen.has(name)) problems.push(`${name} is not reachable from the root`);
    expect(problems).toEqual([]);
  });

  it('carries the pinned revisions and hashes, and gosherve follows our nixpkgs', async () => {
    const lock = JSON.parse(await readFile(join(repo, 'flake.lock'), 'utf8')) as Lock;
    for (const [name, pin] of Object.entries(PINS)) {
      expect(lock.nodes[name]?.locked).toEqual({ ...pin, type: 'github' });
    }
    expect(lock.nodes.nixpkgs?.original).toEqual({ owner: 'NixOS', repo: 'nixpkgs', ref: 'nixos-unstable', type: 'github' });
    for (const name of ['gosherve', 'gosherve-old', 'servy'] as const) {
      expect(lock.nodes[name]?.original).toEqual({ owner: 'jnsgruk', repo: PINS[name].repo, rev: PINS[name].rev, type: 'github' });
      expect(lock.nodes[name]?.inputs).toEqual({ nixpkgs: ['nixpkgs'] });
    }
  });

  it('agrees with the inputs flake.nix declares', async () => {
    const flake = await readFile(join(repo, 'flake.nix'), 'utf8');
    expect(flake).toContain('nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable"');
    expect(flake).toContain(`url = "github:jnsgruk/gosherve/${PINS.gosherve.rev}"`);
    expect(flake).toContain(`url = "github:jnsgruk/gosherve/${PINS['gosherve-old'].rev}"`);
    expect(flake).toContain(`url = "github:jnsgruk/servy/${PINS.servy.rev}"`);
    expect(flake.match(/inputs\.nixpkgs\.follows = "nixpkgs";/g)).toHaveLength(3);
    // The VMs' servy is built for the generated site: SERVY_ASSETS_DIR overridden in its env, no check phase.
    expect(flake).toContain('SERVY_ASSETS_DIR = "${site}/webroot";');
    expect(flake).toContain('doCheck = false;');
    // Each app is a shell file of its own.
    for (const app of ['bench', 'benchvm-test', 'benchvm-exec']) {
      expect(flake).toContain(`mkApp system "${app}"`);
      expect((await stat(join(repo, 'nix', 'apps', `${app}.sh`))).isFile()).toBe(true);
    }
  });
});

describe('guest scripts', () => {
  const shellFiles = [
    'nix/apps/bench.sh',
    'nix/apps/benchvm-test.sh',
    'nix/apps/benchvm-exec.sh',
    'nix/guest/bench-site.sh',
    'nix/guest/bench-ssh-setup.sh',
    'scripts/npm-deps-hash.sh',
    'scripts/check-nix.sh',
  ];

  it('are valid bash', async () => {
    for (const f of shellFiles) await run('bash', ['-n', join(repo, f)]);
  });

  // writeShellApplication runs shellcheck on each script at build time and fails on any warning;
  // no Nix build runs here, so check them the same way (with its prelude; apps get their one line).
  it('pass shellcheck as writeShellApplication runs it', async () => {
    const d = await tempDir();
    const problems: string[] = [];
    for (const f of shellFiles) {
      const body = await readFile(join(repo, f), 'utf8');
      const isApp = f.startsWith('nix/apps/');
      const script = f.startsWith('scripts/')
        ? body
        : `#!/nix/store/0000-bash/bin/bash\nset -o errexit\nset -o nounset\nset -o pipefail\n\n${isApp ? `export SERVER_BENCH_VM_DRVS='{"1":{"drv":"/nix/store/0000-vm.drv","program":"bin/run-bench-1-vm"}}'\n` : ''}${body}`;
      const path = join(d, f.replaceAll('/', '_'));
      await writeFile(path, script);
      await run('shellcheck', [path]).catch((e: { stdout?: string; message: string }) => problems.push(`${f}: ${(e.stdout ?? e.message).trim()}`));
    }
    expect(problems).toEqual([]);
  });

  it('bench-ssh-setup installs the per-run key and publishes a fresh host key', async () => {
    const d = await tempDir();
    const shared = join(d, 'shared');
    await mkdir(shared);
    const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTheTestOnly0000000000000000000 run-key';
    await writeFile(join(shared, 'authorized_keys'), `${key}\n`);
    const env = { ...process.env, SHARED: shared, HOST_KEY: join(d, 'etc', 'ssh_host_ed25519_key'), SSH_DIR: join(d, 'root-ssh') };
    await run('bash', ['-euo', 'pipefail', join(repo, 'nix/guest/bench-ssh-setup.sh')], { env, timeout: 20_000 });
    expect(await readFile(join(d, 'root-ssh', 'authorized_keys'), 'utf8')).toBe(`${key}\n`);
    expect((await stat(join(d, 'root-ssh', 'authorized_keys'))).mode & 0o777).toBe(0o600);
    const published = await readFile(join(shared, 'host_ed25519_key.pub'), 'utf8');
    expect(published).toMatch(/^ssh-ed25519 AAAA/);
    expect(published).toBe(await readFile(join(d, 'etc', 'ssh_host_ed25519_key.pub'), 'utf8'));
    // A second boot with the same disk keeps the key (the driver pins it).
    await run('bash', ['-euo', 'pipefail', join(repo, 'nix/guest/bench-ssh-setup.sh')], { env, timeout: 20_000 });
    expect(await readFile(join(shared, 'host_ed25519_key.pub'), 'utf8')).toBe(published);
  });

  it('the redirect map server serves the map and counts fetches', async () => {
    const d = await tempDir();
    const map = 'gh https://example.org/gh\n';
    await writeFile(join(d, 'redirects.txt'), map);
    const child = spawn(process.execPath, [join(repo, 'nix/guest/redirect-map-server.mjs')], {
      env: { ...process.env, MAP_FILE: join(d, 'redirects.txt'), MAP_HOST: '127.0.0.1', MAP_PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    const base = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('map server did not start within 10 s')), 10_000);
      let out = '';
      child.stdout?.on('data', (b: Buffer) => {
        out += b.toString();
        const m = /at (http:\/\/127\.0\.0\.1:\d+)\/redirects\.txt/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1] as string);
        }
      });
      child.once('exit', (code) => reject(new Error(`map server exited with ${code}`)));
    });
    const first = await fetch(`${base}/redirects.txt?cachebust=1`);
    expect(first.status).toBe(200);
    expect(await first.text()).toBe(map);
    await (await fetch(`${base}/redirects.txt`)).text();
    expect(await (await fetch(`${base}/fetches`)).json()).toEqual({ fetches: 2 });
    expect(await (await fetch(`${base}/fetches/reset`, { method: 'POST' })).json()).toEqual({ fetches: 0 });
    expect((await fetch(`${base}/other`)).status).toBe(404);
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    expect(code).toBe(0);
  });

  it('the site build step makes the site, its map and an nginx.conf that nginx accepts; bench-site copies it', async () => {
    const d = await tempDir();
    const out = join(d, 'site');
    const prefix = join(d, 'nginx');
    await mkdir(prefix);
    const webroot = join(d, 'var', 'bench-site');
    // Built JavaScript (npm test builds it first), as packages.site uses it.
    await run(process.execPath, [join(repo, 'nix/gen-site.mjs'), repo, out, webroot, prefix], { timeout: 60_000 });
    expect((await stat(join(out, 'webroot', 'index.html'))).size).toBeGreaterThan(0);
    const site = JSON.parse(await readFile(join(out, 'site.json'), 'utf8')) as { files: number; redirects: { alias: string }[] };
    expect(site.files).toBeGreaterThan(100);
    const map = await readFile(join(out, 'redirects.txt'), 'utf8');
    for (const r of site.redirects) expect(map).toContain(`${r.alias} `);

    await run('bash', ['-euo', 'pipefail', join(repo, 'nix/guest/bench-site.sh')], {
      env: { ...process.env, SITE: out, SITE_DIR: webroot, MAP_DIR: join(d, 'var', 'bench-map') },
      timeout: 60_000,
    });
    expect(await readFile(join(webroot, 'index.html'))).toEqual(await readFile(join(out, 'webroot', 'index.html')));
    expect(await readFile(join(d, 'var', 'bench-map', 'redirects.txt'), 'utf8')).toBe(map);

    const conf = await readFile(join(out, 'nginx.conf'), 'utf8');
    expect(conf).toContain(webroot);
    expect(conf).toMatch(/worker_processes 1;/);
    expect(conf).toMatch(/access_log off;/);
    expect(conf).toMatch(/sendfile on;/);
    const { stderr } = await run('/usr/sbin/nginx', ['-t', '-e', 'stderr', '-p', prefix, '-c', join(out, 'nginx.conf')], { timeout: 20_000 });
    expect(stderr).toMatch(/test is successful/);
  });
});

describe('npm dependencies for Nix', () => {
  // nix/packages.nix evaluated with stand-ins for nixpkgs (lazily: only the fixed-output
  // derivation's attributes are forced), so its shape is checked without nixpkgs.
  it('the fixed-output derivation has CA certificates for npm ci, and the committed hash', async () => {
    const expr = `let
      stub = name: { outPath = "/stub/\${name}"; inherit name; };
      lib = {
        importJSON = f: builtins.fromJSON (builtins.readFile f);
        fileset = { toSource = a: a.root; unions = l: l; };
        fetchers.proxyImpureEnvVars = [ "http_proxy" "https_proxy" ];
        cleanSourceWith = a: a.src;
        getExe = p: "\${p}/bin/\${p.name}";
        makeBinPath = l: builtins.concatStringsSep ":" (map (p: "\${p}/bin") l);
      };
      ours = import ./nix/packages.nix {
        inherit lib;
        stdenvNoCC.mkDerivation = a: a;
        runCommand = name: attrs: script: attrs // { inherit name script; };
        makeWrapper = stub "makeWrapper"; cacert = stub "cacert"; nodejs = stub "nodejs"; bun = stub "bun";
        typescript = stub "typescript"; k6 = stub "k6"; util-linux = stub "util-linux";
        guestWebroot = "/w"; guestNginxPrefix = "/p";
      };
      d = ours.npmDeps;
    in {
      inputs = map (p: p.name) d.nativeBuildInputs;
      inherit (d) outputHash outputHashMode outputHashAlgo impureEnvVars buildPhase dontFixup;
    }`;
    const fod = (await nixEval(expr)) as {
      inputs: string[];
      outputHash: string;
      outputHashMode: string;
      outputHashAlgo: string;
      impureEnvVars: string[];
      buildPhase: string;
      dontFixup: boolean;
    };
    // stdenv sets NIX_SSL_CERT_FILE=/no-cert-file.crt; cacert's setup hook replaces it (nix/README.md).
    expect(fod.inputs).toEqual(['nodejs', 'cacert']);
    const committed = JSON.parse(await readFile(join(repo, 'nix/npm-deps.json'), 'utf8')) as { hash: string };
    expect(fod).toMatchObject({ outputHash: committed.hash, outputHashMode: 'recursive', outputHashAlgo: 'sha256', dontFixup: true });
    expect(fod.impureEnvVars).toEqual(['http_proxy', 'https_proxy']);
    expect(fod.buildPhase).toMatch(/npm ci --omit=dev --ignore-scripts/);
    expect(fod.buildPhase).not.toMatch(/strict-ssl|NODE_TLS_REJECT_UNAUTHORIZED/);
    // The flake hands nixpkgs' cacert in (a missing argument fails evaluation, not the build).
    const flake = await readFile(join(repo, 'flake.nix'), 'utf8');
    const call = /import \.\/nix\/packages\.nix \{\s*inherit \(pkgs\)([^;]*);/.exec(flake);
    expect(call?.[1]?.split(/\s+/).filter(Boolean)).toContain('cacert');
  });

  it('package-lock.json carries no registry URLs', async () => {
    const lock = await readFile(join(repo, 'package-lock.json'), 'utf8');
    expect(lock).not.toMatch(/"resolved":/);
  });

  // Needs the npm registry (CI has it): fails when the committed hash no longer matches the lock.
  it('nix/npm-deps.json matches package-lock.json (scripts/npm-deps-hash.sh --check)', async () => {
    const { stdout } = await run(join(repo, 'scripts/npm-deps-hash.sh'), ['--check'], { cwd: repo, timeout: 110_000 }).catch(
      (e: { stderr?: string; stdout?: string }) => {
        throw new Error(`npm-deps-hash --check failed: ${(e.stderr ?? '').trim() || String(e)}`);
      },
    );
    expect(stdout).toMatch(/matches package-lock\.json \(sha256-/);
  }, 120_000);
});

describe('scripts/check-nix.sh (the same offline checks for CI and by hand)', () => {
  it('passes here, and says plainly whether nixfmt ran', async () => {
    const { stdout } = await run(join(repo, 'scripts/check-nix.sh'), [], { cwd: repo, timeout: 60_000 });
    expect(stdout).toMatch(/^check-nix: parse: \d+ files$/m);
    expect(stdout).toMatch(/^check-nix: evaluate: 4 pure files$/m);
    expect(stdout).toMatch(/^check-nix: nixfmt: (SKIPPED \(not installed|\d+ files formatted)/m);
    expect(stdout).toMatch(/^check-nix: ok$/m);
  });

  it('fails on a file that does not parse and on a matrix file a pure file cannot read', async () => {
    const d = await tempDir();
    for (const dir of ['scripts', 'nix', 'matrix']) await mkdir(join(d, dir));
    for (const f of [
      'scripts/check-nix.sh',
      'flake.nix',
      'vm.nix',
      'nix/sizes.nix',
      'nix/impls.nix',
      'nix/guest-paths.nix',
      'nix/vm-drvs.nix',
      'nix/packages.nix',
      'matrix/impls.json',
    ]) {
      await writeFile(join(d, f), await readFile(join(repo, f)), { mode: f.endsWith('.sh') ? 0o755 : 0o644 });
    }
    await writeFile(join(d, 'matrix/sizes.json'), '{ "guest": {}, "sizes": [ { "name": "1" } ] }');
    await writeFile(join(d, 'nix/broken.nix'), '{ a = ; }');
    const r = await run(join(d, 'scripts/check-nix.sh'), [], { cwd: d, timeout: 60_000 }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code?: number; stderr?: string }) => ({ code: e.code, stderr: e.stderr ?? '' }),
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/check-nix: nix\/broken\.nix does not parse/);
    expect(r.stderr).toMatch(/check-nix: nix\/sizes\.nix does not evaluate/);
    const usage = await run(join(d, 'scripts/check-nix.sh'), ['--bogus'], { cwd: d }).catch((e: { code?: number }) => e.code);
    expect(usage).toBe(2);
  });
});

describe('nix/guest-paths.nix', () => {
  it('evaluates, and is the only place the guest webroot and nginx prefix are written', async () => {
    expect(await nixEval('import ./nix/guest-paths.nix')).toEqual({ webroot: '/var/lib/bench-site', nginxPrefix: '/run/bench-nginx' });
    // vm.nix and the hosts module take them from nix/bench-units.nix.
    for (const f of ['flake.nix', 'nix/bench-units.nix']) {
      const text = await readFile(join(repo, f), 'utf8');
      expect(text, f).toMatch(/import \.\/(nix\/)?guest-paths\.nix/);
      expect(text, f).not.toMatch(/"\/var\/lib\/bench-site"|"\/run\/bench-nginx"/);
    }
  });
});

describe("tsherve's Node flags", () => {
  it('are the same in its shebang, the harness launch and the Nix executables', async () => {
    const { shebangNodeFlags, tsherve } = await import('../src/servers/registry.js');
    const shebang = (await readFile(join(repo, 'servers', 'tsherve', 'src', 'cli.ts'), 'utf8')).split('\n', 1)[0] ?? '';
    const flags = shebangNodeFlags(shebang);
    expect(flags).toEqual(['--max-semi-space-size=8']);
    const nix = await readFile(join(repo, 'nix', 'packages.nix'), 'utf8');
    expect(/tsherveNodeFlags = "([^"]*)";/.exec(nix)?.[1]?.split(' ')).toEqual(flags);
    // Both tsherve executables (in server-bench and the tsherve package) pass them.
    expect(nix.match(/--add-flags "\$\{tsherveNodeFlags\} [^"]*servers\/tsherve\/src\/cli\.js"/g)).toHaveLength(2);
    const launch = tsherve.launch({ webroot: '/w', mapUrl: 'http://127.0.0.1:1/m', host: '127.0.0.1', cpus: 1, cacheDir: '/c' } as never);
    expect(launch.args.slice(0, flags.length)).toEqual(flags);
    expect(launch.args.at(-1)).toMatch(/dist\/servers\/tsherve\/src\/cli\.js$/);
  });

  it('are read from a shebang only when it is env -S node with flags', async () => {
    const { shebangNodeFlags } = await import('../src/servers/registry.js');
    expect(shebangNodeFlags('#!/usr/bin/env -S node --a=1 --b')).toEqual(['--a=1', '--b']);
    expect(shebangNodeFlags('#!/usr/bin/env node')).toEqual([]);
    expect(shebangNodeFlags('#!/usr/bin/env -S node')).toEqual([]);
    expect(shebangNodeFlags('// not a shebang')).toEqual([]);
    expect(shebangNodeFlags('#!/usr/bin/env -S node script.js')).toEqual([]);
  });
});
