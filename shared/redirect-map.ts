// The redirect map's grammar, gosherve's: one line = "alias target", split on single spaces into
// exactly two parts; blank lines and # comments skipped. The one parser of the repository: tsherve
// serves what it reads, and the harness verifies every server against the same aliases. Pure, and
// it imports nothing, so the server and the harness can both depend on it without depending on
// each other.

/** One short link: the alias has no leading or trailing "/", the target is an absolute http(s) URL. */
interface Redirect {
  alias: string;
  target: string;
}

export interface SkippedLine {
  line: number; // 1-based
  text: string;
  reason: string;
}

export interface ParsedRedirectMap {
  redirects: Redirect[];
  skipped: SkippedLine[];
}

/**
 * Only lines every implementation serves become redirects: a line gosherve ignores (not exactly two
 * single-space-separated parts) or would never match (alias with a leading/trailing "/", since it
 * trims those from the request path) or that servy/tsherve reject (target not an absolute http(s)
 * URL) is listed in `skipped` with the reason, so the verification gate never expects it.
 */
export function parseRedirectMap(text: string): ParsedRedirectMap {
  // Go's map assignment and JS's Map.set both keep the last definition of an alias.
  const byAlias = new Map<string, { target: string; line: number; text: string }>();
  const skipped: SkippedLine[] = [];
  text.split('\n').forEach((raw, i) => {
    // A map saved on Windows ends its lines in \r; gosherve would keep it in the target, which
    // then fails as a URL everywhere, so reading it as intended is the useful choice.
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const skip = (reason: string): void => void skipped.push({ line: i + 1, text: line, reason });
    if (line.trim() === '' || line.trimStart().startsWith('#')) return;
    const parts = line.split(' ');
    if (parts.length !== 2 || parts[0] === '' || parts[1] === '') {
      return skip(`expected "alias target" separated by one space, got ${parts.filter((p) => p !== '').length} field(s) in ${parts.length} part(s)`);
    }
    const [alias, target] = parts as [string, string];
    if (alias.startsWith('/') || alias.endsWith('/'))
      return skip(`alias "${alias}" starts or ends with "/": gosherve trims those from the request path, so it never matches`);
    // eslint-disable-next-line no-control-regex -- control characters are what this rejects
    if (/[\s\u0000-\u001f\u007f]/.test(alias + target)) return skip('contains a tab or control character');
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      return skip(`target "${target}" is not an absolute URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return skip(`target "${target}" is not http(s)`);
    const earlier = byAlias.get(alias);
    if (earlier) skipped.push({ line: earlier.line, text: earlier.text, reason: `alias "${alias}" is defined again on line ${i + 1}, which wins` });
    byAlias.delete(alias); // keep map order = order of the winning lines
    byAlias.set(alias, { target, line: i + 1, text: line });
  });
  skipped.sort((a, b) => a.line - b.line);
  const redirects: Redirect[] = [...byAlias].map(([alias, { target }]) => ({ alias, target }));
  return { redirects, skipped };
}
