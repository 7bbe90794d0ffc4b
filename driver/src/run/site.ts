// The site a local run serves: the generated one, cached by seed and size (generated once into a
// temporary folder, then renamed into place), or the user's own folder and redirect map; either
// way its files, its map text and parsed redirects, and what run.json records about it.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Redirect } from '../contracts.js';
import { InputError } from '../errors.js';
import { parseRedirectMap } from '../../../shared/redirect-map.js';
import type { SiteInfo } from '../results/schema.js';
import { splitShadowedAliases } from '../site/shadowing.js';
import { generateSite, siteStats, SITEGEN_VERSION } from '../site/generate.js';
import { writeJsonAtomic } from '../results/store.js';

export interface PreparedSite {
  webroot: string;
  mapText: string;
  /** The map's redirects that every file-first server answers with a redirect (aliases naming a file are left out). */
  redirects: Redirect[];
  info: SiteInfo;
  /** What the user should know about their map, one line each (skipped lines, aliases that name files). */
  notes: string[];
}

/**
 * The generated site, cached by seed and size under the cache folder (generated once into a
 * temporary folder, then renamed into place, so an interrupted generation is never reused).
 */
async function prepareGeneratedSite(cacheDir: string, seed: number, targetBytes: number, signal?: AbortSignal): Promise<PreparedSite> {
  // The generator's version is in the name: a site made by older generator code is never reused.
  const dir = join(cacheDir, 'sites', `v${SITEGEN_VERSION}-seed${seed}-${targetBytes}`);
  const meta = join(dir, '.server-bench-site.json');
  if (!existsSync(meta)) {
    await mkdir(join(cacheDir, 'sites'), { recursive: true });
    const tmp = await mkdtemp(join(cacheDir, 'sites', `.tmp-seed${seed}-`));
    try {
      const site = await generateSite({ dir: join(tmp, 'site'), seed, targetBytes, ...(signal ? { signal } : {}) });
      await writeJsonAtomic(join(tmp, 'site', '.server-bench-site.json'), { files: site.files, bytes: site.bytes, redirectsText: site.redirectsText });
      // A folder without the marker is a leftover of an older layout; one with it may be in use.
      if (existsSync(dir) && !existsSync(meta)) await rm(dir, { recursive: true, force: true });
      await rename(join(tmp, 'site'), dir).catch((err: NodeJS.ErrnoException) => {
        // Another run generated the same site meanwhile: same seed and size, same bytes; use theirs.
        if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
      });
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }
  const m = JSON.parse(await readFile(meta, 'utf8')) as { files: number; bytes: number; redirectsText: string };
  const redirects = parseRedirectMap(m.redirectsText).redirects;
  return {
    webroot: dir,
    mapText: m.redirectsText,
    redirects,
    info: { kind: 'generated', seed, targetBytes, files: m.files, bytes: m.bytes, aliases: redirects.length },
    notes: [],
  };
}

async function prepareUserSite(webroot: string, redirectsFile: string | null): Promise<PreparedSite> {
  const mapText = redirectsFile ? await readFile(redirectsFile, 'utf8') : '';
  const parsed = parseRedirectMap(mapText);
  const { files, bytes } = await siteStats(webroot);
  if (files === 0) throw new InputError(`--webroot ${webroot} holds no files`, "pass the folder that holds your site's index.html");
  const notes: string[] = [];
  if (parsed.skipped.length > 0) {
    const first = parsed.skipped
      .slice(0, 3)
      .map((l) => `line ${l.line}: ${l.reason}`)
      .join('; ');
    notes.push(
      `warning: --redirects ${redirectsFile}: ${parsed.skipped.length} line(s) skipped, ${parsed.redirects.length} alias(es) read (${first}${parsed.skipped.length > 3 ? '; …' : ''})`,
    );
  }
  const split = await splitShadowedAliases(webroot, parsed.redirects);
  if (split.filePaths.length > 0) {
    notes.push(
      `warning: --redirects: ${split.filePaths.length} alias(es) name a file of the site (${split.filePaths.slice(0, 3).join(', ')}${split.filePaths.length > 3 ? ', …' : ''}); servers that serve files first answer them with the file, so they are checked and loaded as files (gosherve v0.3.3, which looks up redirects first, will differ)`,
    );
  }
  return {
    webroot,
    mapText,
    redirects: split.redirects,
    info: { kind: 'user', webroot, redirects: redirectsFile, files, bytes, aliases: parsed.redirects.length },
    notes,
  };
}

/** Which site a run serves: the generated one (seed, size) or the user's folder and map. */
export type SiteRequest = { kind: 'generated'; seed: number; targetBytes: number } | { kind: 'user'; webroot: string; redirects: string | null };

export function prepareSite(site: SiteRequest, cacheDir: string, signal?: AbortSignal): Promise<PreparedSite> {
  return site.kind === 'user' ? prepareUserSite(site.webroot, site.redirects) : prepareGeneratedSite(cacheDir, site.seed, site.targetBytes, signal);
}
