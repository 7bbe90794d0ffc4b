// Build step of packages.site: run the engine's own site generator and nginx renderer (compiled
// JavaScript from packages.server-bench) so the VM serves exactly what the local backend serves.
// Usage: node gen-site.mjs <server-bench lib dir> <out dir> <guest webroot> <guest nginx prefix> [<site bytes>]
// Output: <out>/webroot/, <out>/redirects.txt, <out>/site.json, <out>/nginx.conf
// (site bytes: the Debian image's SERVER_BENCH_VM_SITE_SIZE for quick runs; default the engine's.)
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [lib, out, guestWebroot, guestPrefix, bytesArg] = process.argv.slice(2);
if (!lib || !out || !guestWebroot || !guestPrefix || (bytesArg !== undefined && !/^[1-9][0-9]*$/.test(bytesArg))) {
  console.error('usage: node gen-site.mjs <server-bench lib dir> <out dir> <guest webroot> <guest nginx prefix> [<site bytes>]');
  process.exit(2);
}
const load = (rel) => import(pathToFileURL(join(lib, 'dist', 'driver', 'src', rel)).href);
const sitegen = await load('site/generate.js');
const nginx = await load('servers/nginx.js');
for (const [mod, name] of [
  [sitegen, 'generateSite'],
  [sitegen, 'renderRedirectMap'],
  [nginx, 'renderNginxConfig'],
]) {
  if (typeof mod[name] !== 'function') {
    console.error(`gen-site: the engine no longer exports ${name}(); update nix/gen-site.mjs to its new API`);
    process.exit(1);
  }
}

await mkdir(out, { recursive: true });
const seed = sitegen.DEFAULT_SEED ?? 1;
const targetBytes = bytesArg ? Number(bytesArg) : (sitegen.DEFAULT_SITE_BYTES ?? 40_000_000);
const site = await sitegen.generateSite({ dir: join(out, 'webroot'), seed, targetBytes });
await writeFile(join(out, 'redirects.txt'), site.redirectsText ?? sitegen.renderRedirectMap(site.redirects));
await writeFile(
  join(out, 'site.json'),
  JSON.stringify({ seed, targetBytes, files: site.files, bytes: site.bytes, expectedPaths: site.expectedPaths, redirects: site.redirects }, null, 2) + '\n',
);
await writeFile(
  join(out, 'nginx.conf'),
  nginx.renderNginxConfig({ webroot: guestWebroot, redirects: site.redirects, port: 8080, host: '127.0.0.1', prefixDir: guestPrefix }),
);
console.log(`gen-site: ${site.files} files, ${site.bytes} bytes, ${site.redirects.length} redirects`);
