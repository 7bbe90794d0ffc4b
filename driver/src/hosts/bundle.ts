// The bundle a Debian/Ubuntu machine gets from `hosts provision`: exactly what the Debian guest
// image carries under /opt (Node from npm's package in /opt/node; the project's compiled tree, its
// production node_modules, the generated site and the implementations' executables in
// /opt/server-bench), read out of the cached image (vm/image/build.ts ensureDebianImage, built when
// missing or stale) with debugfs, no mount and no root needed for that, and packed once per image
// as one tar.gz beside it, so the machine needs no internet and gets the same bytes the guest runs;
// the unpacked tree and a manifest of it stay there too, for sending a machine only what it lacks.
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { CommandError, EnvironmentError, tail } from '../errors.js';
import { defaultCacheDir, repoRoot, shebangNodeFlags } from '../servers/registry.js';
import { IMPL_SPECS, type ImplSpec } from '../run/matrix-files.js';
import { ensureDebianImage, type DebianImage } from '../vm/image/build.js';
import type { GuestFilesInput } from '../vm/image/units.js';
import { BundleManifestSchema, manifestOf, type BundleManifest } from './bundle-delta.js';

/** The image's folders the bundle holds (the rest of the guest's files are rendered per machine: hostfiles.ts). */
const BUNDLE_PATHS = ['/opt/server-bench', '/opt/node'] as const;
/** tar's flags for files that land root-owned on the machine, whoever packed them here. */
export const TAR_AS_ROOT = ['--owner=0', '--group=0', '--numeric-owner'] as const;
/** The same, relative to / (as tar and the machine's listing name them). */
export const BUNDLE_ROOTS = BUNDLE_PATHS.map((p) => p.slice(1));

export interface HostBundle {
  /** The image key: the same on the machine = the bundle is current. */
  key: string;
  tarball: string;
  /** The tarball unpacked (its roots under it), and the manifest of every entry in it. */
  tree: string;
  manifest: BundleManifest;
  bytes: number;
  image: DebianImage;
  /** The implementations the image carries (gosherve only when a binary was given when it was built). */
  impls: ImplSpec[];
}

async function tool(cmd: string, args: string[], hint: string): Promise<string> {
  const r = await execa(cmd, args, { reject: false, stdin: 'ignore', all: true, timeout: 600_000 });
  if (r.exitCode !== 0)
    throw new CommandError(`${cmd} ${args.slice(0, 3).join(' ')}`, r.exitCode ?? null, r.signal ?? null, tail(String(r.all ?? ''), 3), hint);
  return String(r.stdout ?? '');
}

/** The cached image's bundle, packed when this image has none yet. */
export async function hostBundle(o: { log: (line: string) => void; cacheDir?: string; signal?: AbortSignal }): Promise<HostBundle> {
  const image = await ensureDebianImage({ root: repoRoot(), cacheDir: o.cacheDir ?? defaultCacheDir(), log: o.log, ...(o.signal ? { signal: o.signal } : {}) });
  const tarball = join(image.dir, 'host-bundle.tar.gz');
  const tree = join(image.dir, 'host-bundle-tree');
  const manifestFile = join(image.dir, 'host-bundle-manifest.json');
  if (!existsSync(tarball) || !existsSync(tree) || !existsSync(manifestFile)) {
    const which = await execa('sh', ['-c', 'command -v debugfs'], { reject: false });
    if (which.exitCode !== 0) throw new EnvironmentError('reading the bundle out of the Debian image needs debugfs', 'apt-get install -y e2fsprogs');
    o.log(`hosts: packing the bundle (${BUNDLE_PATHS.join(', ')}) out of ${image.rootImage}`);
    const tmp = await mkdtemp(join(image.dir, 'tmp-bundle-'));
    try {
      const staged = join(tmp, 'tree');
      for (const p of BUNDLE_PATHS) {
        const parent = join(staged, p.split('/').slice(0, -1).join('/'));
        await tool('mkdir', ['-p', parent], 'mkdir failed');
        // debugfs's rdump: the folder with its modes and symlinks, straight from the ext4 image.
        await tool('debugfs', ['-R', `rdump ${p} ${parent}`, image.rootImage], `debugfs could not read ${p} from ${image.rootImage}`);
        if (!existsSync(join(staged, p))) throw new EnvironmentError(`the Debian image has no ${p}`, 'rebuild it: server-bench vm image build --force');
      }
      const out = join(tmp, 'bundle.tar.gz');
      await tool('tar', ['-C', staged, ...TAR_AS_ROOT, '-czf', out, ...BUNDLE_ROOTS], 'tar failed (disk full?)');
      // The unpacked tree and its manifest stay beside the tarball: provision sends only what a machine lacks (bundle-delta.ts).
      const manifest = await manifestOf(staged, BUNDLE_ROOTS);
      await writeFile(join(tmp, 'manifest.json'), JSON.stringify(manifest));
      await rm(tree, { recursive: true, force: true });
      await rename(staged, tree);
      await rename(join(tmp, 'manifest.json'), manifestFile);
      await rename(out, tarball);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }
  const bytes = statSync(tarball).size;
  const manifest = BundleManifestSchema.parse(JSON.parse(await readFile(manifestFile, 'utf8')));
  return { key: image.manifest.key, tarball, tree, manifest, bytes, image, impls: IMPL_SPECS.filter((s) => image.manifest.impls.includes(s.name)) };
}

/** The guest scripts and tsherve's Node flags, as the image build reads them (build.ts imageInputs). */
export async function guestScripts(root = repoRoot()): Promise<Pick<GuestFilesInput, 'scripts' | 'tsherveNodeFlags'>> {
  const read = (rel: string) => readFile(join(root, rel), 'utf8');
  const scripts = {
    benchSite: await read('nix/guest/bench-site.sh'),
    sshSetup: await read('nix/guest/bench-ssh-setup.sh'),
    mapServer: await read('nix/guest/redirect-map-server.mjs'),
  };
  const cli = await readFile(join(root, 'dist', 'servers', 'tsherve', 'src', 'cli.js'), 'utf8').catch(() => '');
  return { scripts, tsherveNodeFlags: shebangNodeFlags(cli.split('\n', 1)[0] ?? '') };
}
