// The machine's own apt sources, handed to mmdebstrap for the guest: /etc/apt/sources.list and
// /etc/apt/sources.list.d/*.list (one-line format) and *.sources (deb822), reduced to the binary
// entries of the guest's suite (bookworm, bookworm-updates, bookworm-security, …) and written as one
// deb822 file. No mirror is ever named in this repository: whatever this machine uses, the guest uses.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EnvironmentError } from '../../errors.js';

export interface AptSource {
  types: string[];
  uris: string[];
  suites: string[];
  components: string[];
  /** Other fields (Signed-By, Architectures, …) as written, deb822 names. */
  options: Record<string, string>;
  /** The file it came from, for messages. */
  origin: string;
}

/** `[ key=value key2=value ]` options of a one-line entry, mapped to their deb822 field names. */
const ONE_LINE_OPTIONS: Record<string, string> = {
  'signed-by': 'Signed-By',
  arch: 'Architectures',
  lang: 'Languages',
  target: 'Targets',
  trusted: 'Trusted',
  'check-valid-until': 'Check-Valid-Until',
};

export function parseOneLine(text: string, origin: string): AptSource[] {
  const out: AptSource[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) continue;
    const m = /^(deb|deb-src)\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)\s*(.*)$/.exec(line);
    if (!m) continue;
    const options: Record<string, string> = {};
    for (const opt of (m[2] ?? '').trim().split(/\s+/).filter(Boolean)) {
      const [k, v] = opt.split('=', 2);
      const field = k ? ONE_LINE_OPTIONS[k] : undefined;
      if (field && v !== undefined) options[field] = v.replace(/,/g, ' ');
    }
    out.push({
      types: [m[1] as string],
      uris: [m[3] as string],
      suites: [m[4] as string],
      components: (m[5] ?? '').split(/\s+/).filter(Boolean),
      options,
      origin,
    });
  }
  return out;
}

export function parseDeb822(text: string, origin: string): AptSource[] {
  const out: AptSource[] = [];
  // Paragraphs are separated by blank lines; '#' lines are comments; continuation lines start with space.
  for (const para of text.split(/\n[ \t]*\n/)) {
    const fields: Record<string, string> = {};
    let last: string | null = null;
    for (const raw of para.split('\n')) {
      if (raw.startsWith('#')) continue;
      if (/^\s/.test(raw) && last) {
        fields[last] = `${fields[last] ?? ''}\n${raw.trim() === '.' ? '' : raw.trim()}`;
        continue;
      }
      const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(raw);
      if (!m) continue;
      last = m[1] as string;
      fields[last] = (m[2] ?? '').trim();
    }
    const get = (k: string) => Object.entries(fields).find(([f]) => f.toLowerCase() === k.toLowerCase())?.[1];
    const words = (k: string) => (get(k) ?? '').split(/\s+/).filter(Boolean);
    if (!get('Types') || !get('URIs') || !get('Suites')) continue;
    if (/^(no|false)$/i.test(get('Enabled') ?? 'yes')) continue;
    const options: Record<string, string> = {};
    for (const [k, v] of Object.entries(fields)) if (!/^(types|uris|suites|components|enabled)$/i.test(k)) options[k] = v;
    out.push({ types: words('Types'), uris: words('URIs'), suites: words('Suites'), components: words('Components'), options, origin });
  }
  return out;
}

/** Binary entries for `suite` and its pockets (suite-updates, suite-security, …); others dropped. */
export function sourcesForSuite(all: AptSource[], suite: string): AptSource[] {
  const ours = (s: string) => s === suite || s.startsWith(`${suite}-`) || s.startsWith(`${suite}/`);
  return all
    .filter((s) => s.types.includes('deb'))
    .map((s) => ({ ...s, types: ['deb'], suites: s.suites.filter(ours) }))
    .filter((s) => s.suites.length > 0);
}

export function renderDeb822(sources: AptSource[]): string {
  return sources
    .map((s) => {
      const lines = [`Types: ${s.types.join(' ')}`, `URIs: ${s.uris.join(' ')}`, `Suites: ${s.suites.join(' ')}`];
      if (s.components.length > 0) lines.push(`Components: ${s.components.join(' ')}`);
      for (const [k, v] of Object.entries(s.options))
        lines.push(
          v.includes('\n')
            ? `${k}:${v
                .split('\n')
                .map((l, i) => (i === 0 ? (l ? ` ${l}` : '') : ` ${l || '.'}`))
                .join('\n')}`
            : `${k}: ${v}`,
        );
      return `${lines.join('\n')}\n`;
    })
    .join('\n');
}

/** Read this machine's sources (apt's own files) and keep the guest suite's; none is an error with the fix. */
export function machineSources(suite: string, etcApt = '/etc/apt'): { text: string; files: string[] } {
  const files: string[] = [];
  const all: AptSource[] = [];
  const main = join(etcApt, 'sources.list');
  if (existsSync(main)) {
    files.push(main);
    all.push(...parseOneLine(readFileSync(main, 'utf8'), main));
  }
  const dir = join(etcApt, 'sources.list.d');
  if (existsSync(dir)) {
    for (const f of readdirSync(dir).sort()) {
      const p = join(dir, f);
      if (f.endsWith('.list')) all.push(...parseOneLine(readFileSync(p, 'utf8'), p));
      else if (f.endsWith('.sources')) all.push(...parseDeb822(readFileSync(p, 'utf8'), p));
      else continue; // apt ignores other names too (.disabled, .save, …)
      files.push(p);
    }
  }
  const kept = sourcesForSuite(all, suite);
  if (kept.length === 0)
    throw new EnvironmentError(
      `no apt source of this machine serves "${suite}" (read: ${files.join(', ') || 'none'})`,
      `add a ${suite} entry to /etc/apt/sources.list.d/ (apt-get update must work), or set SERVER_BENCH_VM_SUITE to a suite this machine has`,
    );
  return { text: renderDeb822(kept), files };
}
