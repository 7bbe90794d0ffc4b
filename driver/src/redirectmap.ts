// Reading a redirect map the way gosherve does (split on spaces, exactly two fields), with blank
// lines and # comments skipped. Shared by target building, verification and the VM side.
import type { Redirect } from './contracts.js';

export interface ParsedRedirectMap {
  redirects: Redirect[];
  skipped: { line: number; text: string; reason: string }[];
}

export function parseRedirectMap(text: string): ParsedRedirectMap {
  const redirects: Redirect[] = [];
  const skipped: ParsedRedirectMap['skipped'] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const parts = line.split(/\s+/);
    if (parts.length !== 2) {
      skipped.push({ line: i + 1, text: line, reason: 'expected "alias target"' });
      return;
    }
    const alias = (parts[0] as string).replace(/^\/+|\/+$/g, '');
    const target = parts[1] as string;
    if (!/^https?:\/\//.test(target)) {
      skipped.push({ line: i + 1, text: line, reason: 'target is not an absolute http(s) URL' });
      return;
    }
    redirects.push({ alias, target });
  });
  return { redirects, skipped };
}
