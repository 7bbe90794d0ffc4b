// Aliases that name a file of the site. gosherve since v0.3.3's successor v0.3.5, servy, tsherve
// and nginx's reference config serve files before redirects, so such an alias answers with the
// file: the gate checks it as a file, nginx's config leaves it out, and the load requests the file.
// (gosherve v0.3.3 looks up redirects first and answers it with a redirect: a finding on it.)
import { stat } from 'node:fs/promises';
import type { Redirect } from '../contracts.js';
import { fileForPath } from './verify.js';

/** Split `redirects` into the ones the site does not shadow and the URL paths of those it does. */
export async function splitShadowedAliases(webroot: string, redirects: readonly Redirect[]): Promise<{ redirects: Redirect[]; filePaths: string[] }> {
  const kept: Redirect[] = [];
  const filePaths: string[] = [];
  for (const r of redirects) {
    const file = await fileForPath(webroot, `/${r.alias}`);
    const isFile =
      file !== null &&
      (await stat(file).then(
        (s) => s.isFile(),
        () => false,
      ));
    if (isFile) filePaths.push(`/${r.alias}`);
    else kept.push(r);
  }
  return { redirects: kept, filePaths };
}
