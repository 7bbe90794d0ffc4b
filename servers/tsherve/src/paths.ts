// Turning a request target into a site path. The common request matches a site key as sent; only a
// miss is decoded and checked here, and anything that could leave the webroot is refused with a 4xx.

export type PathResult = { ok: true; path: string } | { ok: false; status: 400 | 404; reason: string };

/** Percent-decode and normalise a raw path ("/a/%20b/"), refusing NUL, bad encodings and "..". */
export function decodePath(raw: string): PathResult {
  if (raw.length === 0 || raw[0] !== '/') return { ok: false, status: 400, reason: 'path must start with /' };
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    return { ok: false, status: 400, reason: 'malformed percent-encoding' };
  }
  if (decoded.includes('\0')) return { ok: false, status: 400, reason: 'NUL byte in path' };
  if (decoded.includes('\\')) return { ok: false, status: 400, reason: 'backslash in path' };
  const segments = decoded.split('/');
  for (const seg of segments) {
    if (seg === '..') return { ok: false, status: 400, reason: 'path leaves the webroot' };
  }
  // Collapse "//" and "/./" so "/a//b" finds "/a/b"; keep a trailing slash.
  const out: string[] = [];
  for (const seg of segments) if (seg !== '' && seg !== '.') out.push(seg);
  const trailing = decoded.length > 1 && decoded.endsWith('/');
  return { ok: true, path: '/' + out.join('/') + (trailing && out.length > 0 ? '/' : '') };
}

/** gosherve's alias key: the path with leading and trailing slashes trimmed. */
export function aliasKey(path: string): string {
  let s = 0;
  let e = path.length;
  while (s < e && path.charCodeAt(s) === 47) s++;
  while (e > s && path.charCodeAt(e - 1) === 47) e--;
  return path.slice(s, e);
}
