// `server-bench vm image build`: the Debian guest image, built from Debian packages and npm only,
// cached under $SERVER_BENCH_CACHE/vm/debian and keyed by a hash of its inputs, in two layers:
//   base-<key>   mmdebstrap rootfs (packages, kernel, Node), keyed by the distribution, this machine's
//                apt sources, the package list and recipe.ts: rebuilt rarely (minutes).
//   image-<key>  base + this repository (GUEST_PAYLOAD, production node_modules, the generated site,
//                units.ts' files, gosherve when a binary is given, Bun from npm) as one ext4 disk, keyed by all of
//                it: rebuilt on every change of the code (tens of seconds).
// The kernel and initramfs sit beside the disk for -kernel/-initrd. Needs root (mmdebstrap, owners).
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, copyFile, lstat, mkdir, mkdtemp, readdir, readFile, readlink, realpath, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { execa } from 'execa';
import { z } from 'zod';
import { parseBytes } from '../../run/options.js';
import { CommandError, EnvironmentError, tail } from '../../errors.js';
import { DEFAULT_SITE_BYTES } from '../../site/generate.js';
import { defaultCacheDir, GOSHERVE_TAGS, implByName, shebangNodeFlags } from '../../servers/registry.js';
import { cachedTagBinary } from '../../servers/gosherve.js';
import { IMPL_SPECS, MATRIX_SIZES, vmSizeOf, type ImplSpec } from '../../run/matrix-files.js';
import { writeJsonAtomic } from '../../results/store.js';
import { GUEST } from './guest-spec.js';
import { copyPayload, GUEST_PAYLOAD } from './payload.js';
import {
  aptAcquireOptions,
  BASE_REMOVE,
  baseFiles,
  DPKG_OPTIONS,
  earlyFiles,
  GUEST_NODE_PACKAGE,
  guestDistro,
  guestPackages,
  type GuestDistro,
} from './recipe.js';
import { machineSources } from './sources.js';
import { DEBIAN_LAYOUT, GUEST_BUN, packageDir, renderGuestFiles, type GuestFile } from './units.js';

/** Bump when the build steps change in a way the hashed inputs do not show. */
const BASE_FORMAT = 1;
const IMAGE_FORMAT = 1;

export const ImageManifestSchema = z.object({
  key: z.string(),
  baseKey: z.string(),
  createdAt: z.string(),
  distro: z.object({ id: z.string(), suite: z.string(), kernelPackage: z.string() }),
  node: z.string(),
  kernel: z.string(),
  /** Implementations the image carries (gosherve only with a binary). */
  impls: z.array(z.string()),
  /** What was left out and why (e.g. no gosherve binary). */
  missing: z.array(z.object({ impl: z.string(), reason: z.string() })),
  sizes: z.array(z.string()),
  /** The generated site's target size: the engine's default, or SERVER_BENCH_VM_SITE_SIZE. */
  siteTargetBytes: z.number().int().positive(),
  diskBytes: z.number().int().positive(),
  buildSeconds: z.object({ base: z.number().nullable(), image: z.number() }),
});
export type ImageManifest = z.infer<typeof ImageManifestSchema>;

export interface DebianImage {
  dir: string;
  rootImage: string;
  kernel: string;
  initrd: string;
  manifest: ImageManifest;
  /** True when nothing had to be built. */
  cached: boolean;
}

export interface BuildOptions {
  root: string;
  cacheDir?: string;
  /** Rebuild both layers even when cached. */
  force?: boolean;
  log: (line: string) => void;
  signal?: AbortSignal;
}

function imagesDir(cacheDir = defaultCacheDir()): string {
  return join(cacheDir, 'vm', 'debian');
}

// ---------------------------------------------------------------- hashing the inputs

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Hash of a file tree: every path, its kind, mode bits that matter and content (sorted, so stable). */
async function hashTree(dir: string): Promise<string> {
  const h = createHash('sha256');
  const walk = async (d: string): Promise<void> => {
    for (const name of (await readdir(d)).sort()) {
      const p = join(d, name);
      const s = await lstat(p);
      const rel = relative(dir, p);
      if (s.isSymbolicLink()) h.update(`l ${rel} ${await readlink(p)}\n`);
      else if (s.isDirectory()) {
        h.update(`d ${rel}\n`);
        await walk(p);
      } else if (s.isFile()) h.update(`f ${rel} ${s.mode & 0o111 ? 'x' : '-'} ${sha256(await readFile(p))}\n`);
    }
  };
  const s = await stat(dir);
  if (s.isFile()) return sha256(await readFile(dir));
  await walk(dir);
  return h.digest('hex');
}

const short = (key: string) => key.slice(0, 16);

// ---------------------------------------------------------------- running tools

async function run(
  cmd: string,
  args: string[],
  o: { signal?: AbortSignal; cwd?: string; env?: Record<string, string>; log?: string; hint: string; timeoutMs?: number },
): Promise<string> {
  const r = await execa(cmd, args, {
    reject: false,
    stdin: 'ignore',
    all: true,
    ...(o.cwd ? { cwd: o.cwd } : {}),
    ...(o.env ? { env: o.env } : {}),
    ...(o.signal ? { cancelSignal: o.signal } : {}),
    timeout: o.timeoutMs ?? 1_800_000,
  });
  if (o.log) await writeFile(o.log, String(r.all ?? ''), { flag: 'a' });
  if (o.signal?.aborted) throw o.signal.reason instanceof Error ? o.signal.reason : new Error('interrupted');
  if (r.exitCode !== 0)
    throw new CommandError(`${cmd} ${args.slice(0, 3).join(' ')}…`, r.exitCode ?? null, r.signal ?? null, tail(String(r.all ?? ''), 4), o.hint);
  return String(r.stdout ?? '');
}

async function requireTools(): Promise<void> {
  if (process.getuid?.() !== 0)
    throw new EnvironmentError(
      'building the Debian guest image needs root (mmdebstrap in root mode, files owned by root in the disk)',
      'run server-bench vm image build as root (sudo), once; later runs use the cached image',
    );
  const missing: string[] = [];
  for (const [tool, pkg] of [
    ['mmdebstrap', 'mmdebstrap'],
    ['mkfs.ext4', 'e2fsprogs'],
    ['qemu-img', 'qemu-utils'],
    ['qemu-system-x86_64', 'qemu-system-x86'],
  ] as const) {
    const r = await execa('sh', ['-c', `command -v ${tool}`], { reject: false });
    if (r.exitCode !== 0) missing.push(pkg);
  }
  if (missing.length > 0)
    throw new EnvironmentError(
      `the Debian guest image needs ${missing.join(', ')}`,
      `apt-get install -y --no-install-recommends ${[...new Set(missing)].join(' ')}`,
    );
}

async function writeGuestFiles(rootfs: string, files: GuestFile[]): Promise<void> {
  for (const f of files) {
    const p = join(rootfs, f.path);
    await mkdir(dirname(p), { recursive: true });
    if (f.kind === 'dir') await mkdir(p, { recursive: true, mode: f.mode });
    else if (f.kind === 'symlink') {
      await rm(p, { force: true });
      await symlink(f.target, p);
    } else {
      await writeFile(p, f.content);
      await chmod(p, f.mode);
    }
  }
}

// ---------------------------------------------------------------- base layer

interface BaseInputs {
  distro: GuestDistro;
  packages: string[];
  sources: string;
  aptOptions: string;
  key: string;
}

async function baseInputs(): Promise<BaseInputs> {
  const distro = guestDistro();
  const packages = guestPackages(distro);
  const sources = machineSources(distro.suite).text;
  const dump = await execa('apt-config', ['dump'], { reject: false, stdin: 'ignore' });
  const aptOptions = aptAcquireOptions(String(dump.stdout ?? ''));
  const key = sha256(
    JSON.stringify({
      BASE_FORMAT,
      distro,
      packages,
      sources,
      aptOptions,
      node: GUEST_NODE_PACKAGE,
      early: earlyFiles(),
      base: baseFiles(),
      remove: BASE_REMOVE,
      dpkg: DPKG_OPTIONS,
    }),
  );
  return { distro, packages, sources, aptOptions, key };
}

async function buildBase(inputs: BaseInputs, dir: string, o: BuildOptions): Promise<number> {
  const started = Date.now();
  const tmp = await mkdtemp(join(dirname(dir), 'tmp-base-'));
  try {
    const rootfs = join(tmp, 'rootfs');
    const log = join(tmp, 'build.log');
    const sourcesFile = join(tmp, 'guest.sources');
    await writeFile(sourcesFile, inputs.sources);
    const aptOpts = join(tmp, 'apt-options.conf');
    await writeFile(aptOpts, inputs.aptOptions);
    const debs = join(dirname(dir), 'debs');
    const early = join(tmp, 'early');
    await writeGuestFiles(early, earlyFiles());
    o.log(`vm image: base: mmdebstrap ${inputs.distro.suite} (minbase + ${inputs.packages.length} packages) with this machine's apt sources…`);
    const args = [
      '--variant=minbase',
      '--mode=root',
      '--format=directory',
      `--include=${inputs.packages.join(',')}`,
      ...(inputs.aptOptions ? [`--aptopt=${aptOpts}`] : []),
      // Documentation and translations are dead weight in a benchmark guest.
      ...['/usr/share/doc/*', '/usr/share/man/*', '/usr/share/info/*', '/usr/share/locale/*'].map((p) => `--dpkgopt=path-exclude=${p}`),
      '--dpkgopt=path-include=/usr/share/doc/*/copyright',
      ...DPKG_OPTIONS.map((opt) => `--dpkgopt=${opt}`),
      `--essential-hook=sync-in ${early} /`,
      // Packages downloaded once are kept beside the layers (mmdebstrap's sync-in/sync-out recipe),
      // so a base rebuilt for a recipe change installs without downloading again.
      '--skip=essential/unlink',
      `--setup-hook=mkdir -p "${debs}" "$1/var/cache/apt/archives/"`,
      `--setup-hook=sync-in ${debs} /var/cache/apt/archives/`,
      `--customize-hook=rm -rf "${debs}" && mkdir -p "${debs}"`,
      `--customize-hook=sync-out /var/cache/apt/archives ${debs}`,
      inputs.distro.suite,
      rootfs,
      sourcesFile,
    ];
    await run('mmdebstrap', args, { log, hint: `see ${log}; apt-get update must work on this machine`, ...(o.signal ? { signal: o.signal } : {}) });
    o.log(`vm image: base: packages in ${Math.round((Date.now() - started) / 1000)} s; Node from npm (${GUEST_NODE_PACKAGE})…`);
    const pack = join(tmp, 'node');
    await mkdir(pack);
    const tgz =
      (
        await run('npm', ['pack', '--silent', '--prefer-offline', GUEST_NODE_PACKAGE, '--pack-destination', pack], {
          cwd: pack,
          log,
          hint: 'npm must reach its registry (npm config get registry)',
          ...(o.signal ? { signal: o.signal } : {}),
        })
      )
        .trim()
        .split('\n')
        .pop() ?? '';
    await run('tar', ['-xzf', join(pack, tgz), '-C', pack, 'package/bin/node'], { log, hint: `the ${GUEST_NODE_PACKAGE} package has no bin/node` });
    await mkdir(join(rootfs, 'opt', 'node', 'bin'), { recursive: true });
    await copyFile(join(pack, 'package', 'bin', 'node'), join(rootfs, 'opt', 'node', 'bin', 'node'));
    await chmod(join(rootfs, 'opt', 'node', 'bin', 'node'), 0o755);
    await writeGuestFiles(rootfs, [...baseFiles(), { kind: 'symlink', path: DEBIAN_LAYOUT.node, target: '/opt/node/bin/node' }]);
    await run('sh', ['-c', `cd "$1" && rm -rf ${BASE_REMOVE.map((p) => `.${p}`).join(' ')}`, 'sh', rootfs], { hint: 'cleaning the base failed' });
    const boot = await readdir(join(rootfs, 'boot'));
    const vmlinuz = boot.find((f) => f.startsWith('vmlinuz-'));
    const initrd = boot.find((f) => f.startsWith('initrd.img-'));
    if (!vmlinuz || !initrd) throw new EnvironmentError(`the base has no kernel or initramfs in /boot (${boot.join(', ')})`, `see ${log}`);
    await copyFile(join(rootfs, 'boot', vmlinuz), join(tmp, 'vmlinuz'));
    await copyFile(join(rootfs, 'boot', initrd), join(tmp, 'initrd.img'));
    for (const f of ['early', 'node', 'guest.sources', 'apt-options.conf']) await rm(join(tmp, f), { recursive: true, force: true });
    const seconds = (Date.now() - started) / 1000;
    await writeJsonAtomic(join(tmp, 'base.json'), {
      key: inputs.key,
      distro: inputs.distro,
      packages: inputs.packages,
      node: GUEST_NODE_PACKAGE,
      kernel: vmlinuz.replace(/^vmlinuz-/, ''),
      seconds,
    });
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
    return seconds;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- image layer

interface Gosherve {
  impl: string;
  bin: string | null;
  reason: string;
}

/**
 * The gosherve binary the local backend would run, without building one: the first of its variables
 * that is set (SERVER_BENCH_GOSHERVE_BIN, ...), else the cache's `gosherve/<tag>/bin/gosherve`.
 */
export async function findGosherve(spec: Pick<ImplSpec, 'name'>, cacheDir: string, env: NodeJS.ProcessEnv = process.env): Promise<Gosherve> {
  const known = GOSHERVE_TAGS[spec.name as keyof typeof GOSHERVE_TAGS];
  if (!known) return { impl: spec.name, bin: null, reason: `${spec.name} is not a gosherve release server-bench knows` };
  const set = known.envVars.find((v) => (env[v] ?? '') !== '');
  const bin = set ? resolve(env[set] as string) : cachedTagBinary(cacheDir, known.tag);
  try {
    const s = await stat(bin);
    if (s.isFile() && s.mode & 0o111) return { impl: spec.name, bin, reason: '' };
  } catch {
    // not there
  }
  const where = set ? `${set}=${env[set] ?? ''} is not an executable file` : `no binary at ${bin} and none of ${known.envVars.join(', ')} is set`;
  return { impl: spec.name, bin: null, reason: `${where} (server-bench prepare --impls ${spec.name} builds it into the cache), then rebuild the image` };
}

/** Bun as the local backend runs tsherve-bun: the repository's pinned `bun` package (npm ci), else `bun` on PATH. A glibc x86-64 Linux binary, copied in as is. */
async function findBun(): Promise<Gosherve> {
  const command = implByName('tsherve-bun').launch({ webroot: '/', mapUrl: 'http://127.0.0.1/', cacheDir: '', cpus: 1, host: '127.0.0.1' }).command;
  const found = command.includes('/') ? command : (await execa('sh', ['-c', `command -v ${command}`], { reject: false })).stdout.trim();
  try {
    const bin = await realpath(found);
    const s = await stat(bin);
    if (s.isFile() && s.mode & 0o111) return { impl: 'tsherve-bun', bin, reason: '' };
  } catch {
    // not there
  }
  return {
    impl: 'tsherve-bun',
    bin: null,
    reason: 'no Bun: npm ci installs the pinned bun package (node_modules/.bin/bun), or put bun on PATH; then rebuild the image',
  };
}

interface ImageInputs {
  key: string;
  siteBytes: number;
  impls: ImplSpec[];
  missing: { impl: string; reason: string }[];
  /** Binaries copied in as they are: guest path -> host path (gosherve, Bun). */
  binaries: Map<string, string>;
  files: GuestFile[];
}

async function imageInputs(o: BuildOptions, baseKey: string, cacheDir: string): Promise<ImageInputs> {
  const read = (rel: string) => readFile(join(o.root, rel), 'utf8');
  const scripts = {
    benchSite: await read('nix/guest/bench-site.sh'),
    sshSetup: await read('nix/guest/bench-ssh-setup.sh'),
    mapServer: await read('nix/guest/redirect-map-server.mjs'),
  };
  const impls: ImplSpec[] = [];
  const missing: { impl: string; reason: string }[] = [];
  const binaries = new Map<string, string>();
  for (const spec of IMPL_SPECS) {
    // servy (one cargo build per site) is not in the Debian guest yet: said once, not carried.
    if (spec.unit.package === 'servy') {
      missing.push({ impl: spec.name, reason: `${spec.name} is not in the Debian guest image yet (the NixOS VMs carry it)` });
      continue;
    }
    if (spec.unit.package.startsWith('gosherve')) {
      const g = await findGosherve(spec, cacheDir);
      if (!g.bin) {
        missing.push({ impl: spec.name, reason: g.reason });
        continue;
      }
      binaries.set(join(packageDir(spec.unit.package), spec.unit.executable), g.bin);
    }
    if (spec.unit.package === 'tsherve-bun') {
      const bun = await findBun();
      if (!bun.bin) {
        missing.push({ impl: spec.name, reason: bun.reason });
        continue;
      }
      binaries.set(GUEST_BUN, bun.bin);
    }
    impls.push(spec);
  }
  const cli = await readFile(join(o.root, 'dist', 'servers', 'tsherve', 'src', 'cli.js'), 'utf8').catch(() => '');
  const files = renderGuestFiles({
    impls,
    sizes: MATRIX_SIZES.map((s) => vmSizeOf(s.name)),
    scripts,
    tsherveNodeFlags: shebangNodeFlags(cli.split('\n', 1)[0] ?? ''),
  });
  const parts: Record<string, string> = {};
  for (const rel of [...GUEST_PAYLOAD, 'package-lock.json', 'nix/gen-site.mjs']) {
    if (!existsSync(join(o.root, rel)))
      throw new EnvironmentError(`${rel} is missing in ${o.root}`, rel === 'dist' ? 'run npm run build first' : 'restore it from git');
    parts[rel] = await hashTree(join(o.root, rel));
  }
  for (const [dest, bin] of binaries) parts[`bin:${dest}`] = sha256(await readFile(bin));
  // A smaller site for quick runs and CI (crawling and verifying ~700 paths under TCG takes minutes).
  const sizeVar = process.env.SERVER_BENCH_VM_SITE_SIZE;
  const siteBytes = sizeVar ? parseBytes(sizeVar, 'SERVER_BENCH_VM_SITE_SIZE') : DEFAULT_SITE_BYTES;
  const key = sha256(JSON.stringify({ IMAGE_FORMAT, baseKey, parts, files, siteBytes }));
  return { key, siteBytes, impls, missing, binaries, files };
}

async function buildImage(inputs: ImageInputs, base: string, dir: string, o: BuildOptions, baseSeconds: number | null): Promise<ImageManifest> {
  const started = Date.now();
  const tmp = await mkdtemp(join(dirname(dir), 'tmp-image-'));
  const sig = o.signal ? { signal: o.signal } : {};
  try {
    const rootfs = join(tmp, 'rootfs');
    const log = join(tmp, 'build.log');
    await run('cp', ['-a', '--reflink=auto', join(base, 'rootfs'), rootfs], { hint: 'copying the base failed (disk full?)', ...sig });
    const install = join(rootfs, DEBIAN_LAYOUT.install);
    await copyPayload(o.root, install);
    await copyFile(join(o.root, 'package-lock.json'), join(install, 'package-lock.json'));
    o.log('vm image: production node_modules (npm ci --omit=dev)…');
    await run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], {
      cwd: install,
      log,
      hint: 'npm must reach its registry (npm config get registry)',
      ...sig,
    });
    o.log(
      `vm image: the ${inputs.siteBytes === DEFAULT_SITE_BYTES ? 'default ' : ''}site of ${(inputs.siteBytes / 1e6).toFixed(0)} MB (nix/gen-site.mjs, the engine's generator)…`,
    );
    await run(
      process.execPath,
      [join(o.root, 'nix', 'gen-site.mjs'), install, join(rootfs, DEBIAN_LAYOUT.site), GUEST.paths.webroot, GUEST.paths.nginxPrefix, String(inputs.siteBytes)],
      { log, hint: `see ${log}`, ...sig },
    );
    for (const [guestPath, bin] of inputs.binaries) {
      const dest = join(rootfs, guestPath);
      await mkdir(dirname(dest), { recursive: true });
      await copyFile(bin, dest);
      await chmod(dest, 0o755);
    }
    await writeGuestFiles(rootfs, inputs.files);
    // bench-site.service's own script, run now instead of at every (slow, emulated) boot.
    await run('bash', [join(rootfs, DEBIAN_LAYOUT.libexec, 'bench-site')], {
      env: {
        ...(process.env as Record<string, string>),
        SITE: join(rootfs, DEBIAN_LAYOUT.site),
        SITE_DIR: join(rootfs, GUEST.paths.webroot),
        MAP_DIR: join(rootfs, GUEST.paths.mapDir),
      },
      log,
      hint: `see ${log}`,
    });
    // The disk: what the tree uses plus the size table's room for the run (site copy, journal, results).
    const used = Number((await run('du', ['-sb', rootfs], { hint: 'du failed' })).split(/\s+/)[0]);
    const room = Math.max(...MATRIX_SIZES.map((s) => vmSizeOf(s.name).diskSizeMiB));
    const mib = Math.ceil((used * 1.15) / 2 ** 20) + room;
    o.log(`vm image: ext4 disk of ${mib} MiB (${Math.round(used / 2 ** 20)} MiB used) with mkfs.ext4 -d…`);
    const disk = join(tmp, 'root.img');
    await run('mkfs.ext4', ['-q', '-F', '-L', 'server-bench', '-E', 'root_owner=0:0', '-d', rootfs, disk, `${mib}M`], { log, hint: `see ${log}`, ...sig });
    await rm(rootfs, { recursive: true, force: true });
    for (const f of ['vmlinuz', 'initrd.img']) await copyFile(join(base, f), join(tmp, f));
    const baseInfo = z
      .object({ kernel: z.string(), distro: ImageManifestSchema.shape.distro })
      .parse(JSON.parse(await readFile(join(base, 'base.json'), 'utf8')));
    const manifest: ImageManifest = {
      key: inputs.key,
      baseKey: JSON.parse(await readFile(join(base, 'base.json'), 'utf8')).key as string,
      createdAt: new Date().toISOString(),
      distro: baseInfo.distro,
      node: GUEST_NODE_PACKAGE,
      kernel: baseInfo.kernel,
      impls: inputs.impls.map((i) => i.name),
      missing: inputs.missing,
      sizes: MATRIX_SIZES.map((s) => s.name),
      siteTargetBytes: inputs.siteBytes,
      diskBytes: mib * 2 ** 20,
      buildSeconds: { base: baseSeconds, image: (Date.now() - started) / 1000 },
    };
    await writeJsonAtomic(join(tmp, 'manifest.json'), manifest);
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
    return manifest;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Old layers go once a new one is in place (a VM still running from one keeps its open file). */
async function prune(root: string, keep: Set<string>, log: (l: string) => void): Promise<void> {
  for (const name of await readdir(root)) {
    if (keep.has(name)) continue;
    if (/^(base|image)-[0-9a-f]{16}$/.test(name) || /^tmp-(base|image)-/.test(name)) {
      await rm(join(root, name), { recursive: true, force: true });
      log(`vm image: removed the old ${name}`);
    }
  }
}

async function loadImage(dir: string, cached: boolean): Promise<DebianImage> {
  const manifest = ImageManifestSchema.parse(JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')));
  return { dir, rootImage: join(dir, 'root.img'), kernel: join(dir, 'vmlinuz'), initrd: join(dir, 'initrd.img'), manifest, cached };
}

/** The cached image for the current inputs, building what is missing or stale. */
export async function ensureDebianImage(o: BuildOptions): Promise<DebianImage> {
  const cacheDir = o.cacheDir ?? defaultCacheDir();
  const root = imagesDir(cacheDir);
  await mkdir(root, { recursive: true });
  const base = await baseInputs();
  const baseDir = join(root, `base-${short(base.key)}`);
  const img = await imageInputs(o, base.key, cacheDir);
  const imageDir = join(root, `image-${short(img.key)}`);
  if (!o.force && existsSync(join(imageDir, 'manifest.json')) && existsSync(join(baseDir, 'base.json'))) {
    o.log(`vm image: cached ${imageDir}`);
    return loadImage(imageDir, true);
  }
  await requireTools();
  let baseSeconds: number | null = null;
  if (o.force || !existsSync(join(baseDir, 'base.json'))) {
    baseSeconds = await buildBase(base, baseDir, o);
    o.log(`vm image: base built in ${Math.round(baseSeconds)} s (${baseDir})`);
  } else {
    o.log(`vm image: base cached (${baseDir})`);
  }
  const manifest = await buildImage(img, baseDir, imageDir, o, baseSeconds);
  o.log(
    `vm image: built in ${Math.round(manifest.buildSeconds.image)} s: ${imageDir} (${manifest.impls.join(', ')}${manifest.missing.length ? `; without ${manifest.missing.map((m) => m.impl).join(', ')}` : ''})`,
  );
  await prune(root, new Set([`base-${short(base.key)}`, `image-${short(img.key)}`]), o.log);
  return loadImage(imageDir, false);
}
