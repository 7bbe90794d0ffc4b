// The machine's apt sources as the guest gets them: one-line and deb822 files parsed, reduced to the
// guest suite's binary entries, written back as deb822 (what mmdebstrap pastes when MIRROR is a file).
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvironmentError } from '../../../src/errors.js';
import { machineSources, parseDeb822, parseOneLine, renderDeb822, sourcesForSuite } from '../../../src/vm/image/sources.js';

// Hosts are placeholders: these tests never reach a mirror.
const ONE_LINE = `# a comment
deb [arch=amd64 signed-by=/usr/share/keyrings/a.gpg] http://mirror.invalid/debian bookworm main contrib
deb-src http://mirror.invalid/debian bookworm main
deb http://mirror.invalid/debian-security bookworm-security main
deb https://vendor.invalid/apt cloud-sdk-bookworm main
`;
const DEB822 = `Types: deb
# http://mirror.invalid/archive/debian/20250520T000000Z
URIs: http://mirror.invalid/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb deb-src
URIs: http://mirror.invalid/debian-security
Suites: bookworm-security
Components: main

Types: deb
URIs: https://vendor.invalid/node_20.x
Suites: nodistro
Components: main

Types: deb
Enabled: no
URIs: http://mirror.invalid/debian
Suites: bookworm-backports
Components: main
`;

describe('apt sources for the guest', () => {
  it('parses one-line entries with options', () => {
    const s = parseOneLine(ONE_LINE, 'x.list');
    expect(s).toHaveLength(4);
    expect(s[0]).toMatchObject({
      types: ['deb'],
      uris: ['http://mirror.invalid/debian'],
      suites: ['bookworm'],
      components: ['main', 'contrib'],
      options: { Architectures: 'amd64', 'Signed-By': '/usr/share/keyrings/a.gpg' },
    });
  });

  it('parses deb822 paragraphs, skipping comments and disabled ones', () => {
    const s = parseDeb822(DEB822, 'x.sources');
    expect(s.map((e) => e.suites.join(' '))).toEqual(['bookworm bookworm-updates', 'bookworm-security', 'nodistro']);
    expect(s[0]?.options).toEqual({ 'Signed-By': '/usr/share/keyrings/debian-archive-keyring.gpg' });
  });

  it('keeps the suite and its pockets, binary only; drops other vendors', () => {
    const kept = sourcesForSuite([...parseOneLine(ONE_LINE, 'a'), ...parseDeb822(DEB822, 'b')], 'bookworm');
    expect(kept.map((e) => `${e.types.join(',')} ${e.uris[0]} ${e.suites.join(',')}`)).toEqual([
      'deb http://mirror.invalid/debian bookworm',
      'deb http://mirror.invalid/debian-security bookworm-security',
      'deb http://mirror.invalid/debian bookworm,bookworm-updates',
      'deb http://mirror.invalid/debian-security bookworm-security',
    ]);
  });

  it('renders deb822 that parses back to the same entries', () => {
    const kept = sourcesForSuite(parseDeb822(DEB822, 'b'), 'bookworm');
    const text = renderDeb822(kept);
    expect(text).toContain(
      'Types: deb\nURIs: http://mirror.invalid/debian\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n',
    );
    expect(parseDeb822(text, 'again').map(({ origin: _o, ...e }) => e)).toEqual(kept.map(({ origin: _o, ...e }) => e));
  });

  describe('machineSources on an /etc/apt tree', () => {
    let etc: string;
    beforeAll(async () => {
      etc = await mkdtemp(join(tmpdir(), 'apt-sources-test-'));
      await mkdir(join(etc, 'sources.list.d'));
      await writeFile(join(etc, 'sources.list.d', 'debian.sources'), DEB822);
      await writeFile(join(etc, 'sources.list.d', 'old.list.disabled'), 'deb http://mirror.invalid/x bookworm main\n');
    });
    afterAll(() => rm(etc, { recursive: true, force: true }));

    it('reads .sources and .list files only, without a sources.list', () => {
      const r = machineSources('bookworm', etc);
      expect(r.files).toEqual([join(etc, 'sources.list.d', 'debian.sources')]);
      expect(r.text).not.toContain('nodistro');
      expect(r.text).not.toContain('/x');
    });

    it('names the files read and the fix when no entry serves the suite', () => {
      expect(() => machineSources('trixie', etc)).toThrow(EnvironmentError);
      expect(() => machineSources('trixie', etc)).toThrow(/no apt source of this machine serves "trixie" \(read: .*debian\.sources\)/);
    });
  });
});
