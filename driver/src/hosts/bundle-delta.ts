// What `hosts provision` sends of the bundle: only the files and links that differ from what the
// machine already has under the bundle's folders, and what it has there that the bundle does not
// (removed). The bundle's side is a manifest made once per image from its unpacked tree (sha256 and
// mode of each file, each link's target, each folder); the machine's side is one listing made there
// by find and sha256sum. A bare machine gets everything; a machine provisioned with an older bundle
// gets the files a code change touched; the Debian guest, which carries the same /opt, almost nothing.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

const EntrySchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('file'),
    path: z.string(),
    mode: z.number().int(),
    size: z.number().int().nonnegative(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
  }),
  z.object({ kind: z.literal('link'), path: z.string(), target: z.string() }),
  z.object({ kind: z.literal('dir'), path: z.string() }),
]);
export const BundleManifestSchema = z.object({ roots: z.array(z.string()), entries: z.array(EntrySchema) });
type BundleEntry = z.infer<typeof EntrySchema>;
export type BundleManifest = z.infer<typeof BundleManifestSchema>;

async function sha256Of(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** The manifest of `tree`'s `roots` (relative paths such as opt/node), entries under their relative path. */
export async function manifestOf(tree: string, roots: readonly string[]): Promise<BundleManifest> {
  const entries: BundleEntry[] = [];
  const walk = async (rel: string): Promise<void> => {
    const abs = join(tree, rel);
    const st = await lstat(abs);
    if (st.isSymbolicLink()) entries.push({ kind: 'link', path: rel, target: await readlink(abs) });
    else if (st.isDirectory()) {
      entries.push({ kind: 'dir', path: rel });
      for (const name of (await readdir(abs)).sort()) await walk(`${rel}/${name}`);
    } else if (st.isFile()) entries.push({ kind: 'file', path: rel, mode: st.mode & 0o7777, size: st.size, sha256: await sha256Of(abs) });
  };
  for (const r of roots) await walk(r);
  return { roots: [...roots], entries };
}

/**
 * The machine's listing of `roots` (relative to `base`, /), for parseListing: "f MODE PATH" per file,
 * "l PATH<TAB>TARGET" per link, "d PATH" per folder, then sha256sum's "HASH  PATH" lines prefixed "h ".
 */
export function listingScript(roots: readonly string[], base = '/'): string {
  const rs = roots.join(' ');
  return [
    `cd '${base.replace(/'/g, `'\\''`)}'`,
    `for r in ${rs}; do [ -e "$r" ] || [ -L "$r" ] || continue; find "$r" -type f -printf 'f %m %p\\n' -o -type l -printf 'l %p\\t%l\\n' -o -type d -printf 'd %p\\n'; done`,
    `for r in ${rs}; do [ -d "$r" ] && find "$r" -type f -print0; done | xargs -0 -r sha256sum | sed 's/^/h /'`,
  ].join('\n');
}

export interface RemoteEntry {
  kind: 'file' | 'link' | 'dir';
  mode?: number;
  sha256?: string;
  target?: string;
}

/** The listing's lines → path → what is there. A line it cannot read leaves that path's file unhashed (so it is sent). */
export function parseListing(text: string): Map<string, RemoteEntry> {
  const out = new Map<string, RemoteEntry>();
  const hashes: [string, string][] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('f ')) {
      const m = /^f ([0-7]+) (.+)$/.exec(line);
      if (m) out.set(m[2] as string, { kind: 'file', mode: parseInt(m[1] as string, 8) });
    } else if (line.startsWith('l ')) {
      const tab = line.indexOf('\t');
      if (tab > 2) out.set(line.slice(2, tab), { kind: 'link', target: line.slice(tab + 1) });
    } else if (line.startsWith('d ')) out.set(line.slice(2), { kind: 'dir' });
    else if (line.startsWith('h ')) {
      // sha256sum escapes a name with a backslash or newline by a leading "\": such a file stays unhashed.
      const m = /^h ([0-9a-f]{64}) [ *](.+)$/.exec(line);
      if (m) hashes.push([m[2] as string, m[1] as string]);
    }
  }
  for (const [path, hash] of hashes) {
    const e = out.get(path);
    if (e?.kind === 'file') e.sha256 = hash;
  }
  return out;
}

export interface DeltaPlan {
  /** Files and links to send (relative paths), in manifest order. */
  send: string[];
  /** Bytes of the files among them (uncompressed). */
  sendBytes: number;
  /** What the machine has under the roots that the bundle does not (or has as another kind): removed first, deepest first. */
  remove: string[];
  /** Files and links in the bundle. */
  total: number;
}

/** Pure: the manifest against the machine's listing. */
export function planDelta(manifest: BundleManifest, remote: ReadonlyMap<string, RemoteEntry>): DeltaPlan {
  const send: string[] = [];
  const remove: string[] = [];
  let sendBytes = 0;
  let total = 0;
  const wanted = new Map(manifest.entries.map((e) => [e.path, e]));
  for (const [path, r] of remote) {
    const e = wanted.get(path);
    if (!e || e.kind !== r.kind) remove.push(path);
    else if (e.kind === 'link' && e.target !== r.target) remove.push(path);
  }
  for (const e of manifest.entries) {
    if (e.kind === 'dir') continue;
    total++;
    const r = remote.get(e.path);
    const same = r?.kind === e.kind && (e.kind === 'link' ? r.target === e.target : r.sha256 === e.sha256 && r.mode === e.mode);
    if (same) continue;
    send.push(e.path);
    if (e.kind === 'file') sendBytes += e.size;
  }
  // A path removed is never inside another removed one's folder twice: drop those whose parent goes too.
  const removed = new Set(remove);
  const pruned = remove.filter((p) => !p.split('/').some((_, i, parts) => i > 0 && removed.has(parts.slice(0, i).join('/'))));
  pruned.sort((a, b) => b.split('/').length - a.split('/').length || a.localeCompare(b));
  return { send, sendBytes, remove: pruned, total };
}
