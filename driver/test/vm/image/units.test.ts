// The Debian guest's files rendered from matrix/*.json: every size × implementation unit carries
// the shared hardening and server settings, the size's CPUs and memory and the filled environment;
// the /etc/server-bench files parse with k6test's own schemas; the shell files pass sh -n.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { VmImplSchema, VmPathsSchema, VmSizeSchema } from '../../../src/vm/wire.js';
import { IMPL_SPECS, MATRIX_SIZES, vmSizeOf } from '../../../src/run/matrix-files.js';
import { GUEST } from '../../../src/vm/image/guest-spec.js';
import { cpuRange, GUEST_BUN, renderGuestFiles, renderUnit, type GuestFile } from '../../../src/vm/image/units.js';

const sizes = MATRIX_SIZES.map((s) => vmSizeOf(s.name));
const files = renderGuestFiles({
  impls: IMPL_SPECS,
  sizes,
  scripts: { benchSite: 'echo site', sshSetup: 'echo ssh', mapServer: '// map' },
  tsherveNodeFlags: ['--max-semi-space-size=8'],
});
const byPath = new Map(files.map((f) => [f.path, f]));
const text = (path: string) => {
  const f = byPath.get(path);
  if (f?.kind !== 'file') throw new Error(`${path} is not a rendered file`);
  return f.content;
};

/** Key=value lines of a unit file, all values per key (repeated keys are lists). */
function parseUnit(t: string): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const line of t.split('\n')) {
    const kv = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (kv) m.set(kv[1] as string, [...(m.get(kv[1] as string) ?? []), kv[2] as string]);
  }
  return m;
}

describe('Debian guest units from matrix/*.json', () => {
  it('renders systemd values as NixOS does: booleans, numbers, one line per list item, empty strings', () => {
    expect(
      renderUnit({
        Service: [
          ['A', true],
          ['B', 15],
          ['C', ['x', 'y']],
          ['D', ''],
          ['E', undefined],
        ],
      }),
    ).toBe('[Service]\nA=true\nB=15\nC=x\nC=y\nD=\n');
    expect(cpuRange([0])).toBe('0');
    expect(cpuRange([16, 17, 18, 19])).toBe('16-19');
  });

  for (const size of sizes) {
    for (const impl of IMPL_SPECS) {
      it(`bench-${impl.name} for size ${size.name}: shared settings, the size's limits, its command and environment`, () => {
        const u = parseUnit(text(`/etc/server-bench/sizes/${size.name}/units/${impl.unit.name}.service`));
        for (const [k, v] of Object.entries({ ...GUEST.hardening, ...GUEST.serverUnit })) {
          expect(u.get(k), k).toEqual(Array.isArray(v) ? v : [typeof v === 'boolean' ? String(v) : String(v)]);
        }
        expect(u.get('AllowedCPUs')).toEqual([cpuRange(size.serverCpuList)]);
        expect(u.get('MemoryMax')).toEqual([`${size.memoryMiB}M`]);
        expect(u.get('MemoryDenyWriteExecute')).toEqual([String(impl.unit.memoryDenyWriteExecute)]);
        expect(u.get('Requires')).toEqual(['bench-site.service', 'bench-redirect-map.service']);
        expect(u.get('ExecStart')?.[0]).toMatch(new RegExp(`^/opt/server-bench/pkgs/${impl.unit.package}/${impl.unit.executable}( |$)`));
        const envs = new Map((u.get('Environment') ?? []).map((e) => e.split('=', 2) as [string, string]));
        expect([...envs.keys()].sort()).toEqual(Object.keys(impl.environment).sort());
        for (const v of envs.values()) expect(v).not.toMatch(/@[a-zA-Z]+@/);
        if (envs.has('TSHERVE_WORKERS')) expect(envs.get('TSHERVE_WORKERS')).toBe(String(size.cpus));
        if (impl.name === 'nginx') {
          expect(u.get('ExecStart')?.[0]).toContain('-c /opt/server-bench/site/nginx.conf');
          expect(u.get('RuntimeDirectory')).toEqual([GUEST.paths.nginxPrefix.split('/').pop()]);
        }
      });
    }
    it(`bench-redirect-map for size ${size.name} runs on the load generator's vCPUs`, () => {
      const u = parseUnit(text(`/etc/server-bench/sizes/${size.name}/units/bench-redirect-map.service`));
      expect(u.get('AllowedCPUs')).toEqual([cpuRange(size.loadgenCpuList)]);
      for (const [k, v] of Object.entries(GUEST.mapUnit)) expect(u.get(k), k).toEqual([String(v)]);
      expect(u.get('Environment')).toContain(`MAP_PORT=${GUEST.mapServer.port}`);
    });
  }

  it('writes the /etc/server-bench files k6test reads, valid under its own schemas', () => {
    for (const size of sizes) {
      const j = VmSizeSchema.parse(JSON.parse(text(`/etc/server-bench/sizes/${size.name}/size.json`)));
      expect(j).toMatchObject({
        name: size.name,
        cpus: size.cpus,
        memoryMiB: size.memoryMiB,
        serverCpuList: size.serverCpuList,
        loadgenCpuList: size.loadgenCpuList,
      });
    }
    const impls = z.array(VmImplSchema).parse(JSON.parse(text('/etc/server-bench/impls.json')));
    expect(impls.map((i) => i.name)).toEqual(IMPL_SPECS.map((i) => i.name));
    expect(VmPathsSchema.parse(JSON.parse(text('/etc/server-bench/vm.json')))).toEqual({
      webroot: GUEST.paths.webroot,
      mapUrl: `http://127.0.0.1:${GUEST.mapServer.port}/redirects.txt`,
      mapFetchesUrl: `http://127.0.0.1:${GUEST.mapServer.port}/fetches`,
      mapFetchesResetUrl: `http://127.0.0.1:${GUEST.mapServer.port}/fetches/reset`,
      outDir: GUEST.paths.outDir,
    });
    expect(byPath.get('/etc/server-bench/size.json')).toEqual({ kind: 'symlink', path: '/etc/server-bench/size.json', target: '/run/server-bench/size.json' });
  });

  it('carries only the implementations it is given', () => {
    const some = renderGuestFiles({
      impls: IMPL_SPECS.filter((i) => i.name === 'tsherve' || i.name === 'nginx'),
      sizes,
      scripts: { benchSite: '', sshSetup: '', mapServer: '' },
      tsherveNodeFlags: [],
    });
    expect(some.some((f) => f.path.includes('gosherve'))).toBe(false);
    expect(
      JSON.parse((some.find((f) => f.path === '/etc/server-bench/impls.json') as Extract<GuestFile, { kind: 'file' }>).content).map(
        (i: { name: string }) => i.name,
      ),
    ).toEqual(['tsherve', 'nginx']);
  });

  it('its shell files are valid sh/bash (sh -n), k6test and tsherve exec Node', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'guest-units-test-'));
    try {
      for (const f of files) {
        if (f.kind !== 'file' || !f.content.startsWith('#!/bin/')) continue;
        const p = join(dir, f.path.replace(/\//g, '_'));
        await writeFile(p, f.content);
        execFileSync(f.content.startsWith('#!/bin/bash') ? 'bash' : 'sh', ['-n', p]);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    expect(text('/usr/local/bin/k6test')).toContain('/opt/server-bench/dist/driver/src/guest/k6test-cli.js "$@"');
    expect(text('/opt/server-bench/pkgs/tsherve/bin/tsherve')).toContain('node --max-semi-space-size=8 /opt/server-bench/dist/servers/tsherve/src/cli.js');
    // tsherve-bun: the same tree under the Bun binary build.ts copies to GUEST_BUN, without Node's flags.
    expect(text('/opt/server-bench/pkgs/tsherve-bun/bin/tsherve-bun')).toBe(
      `#!/bin/sh\nexec ${GUEST_BUN} /opt/server-bench/dist/servers/tsherve/src/cli.js "$@"\n`,
    );
    expect(GUEST_BUN).toBe('/opt/server-bench/pkgs/tsherve-bun/bin/bun');
  });
});
