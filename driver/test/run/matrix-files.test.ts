// matrix-files.ts: matrix/sizes.json and matrix/impls.json validated, the VM shape of a size, and
// placeholder filling. (driver/test/nix.test.ts checks the flake reads the same files to the same values.)
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { IMPL_NAMES, IMPLS, tsherve } from '../../src/servers/registry.js';
import { fillTemplate, IMPL_SPECS, implEnvironment, implSpec, ImplsFileSchema, MATRIX_SIZES, SizesFileSchema, vmSizeOf } from '../../src/run/matrix-files.js';
import { DEFAULT_SIZES } from '../../src/run/sizes.js';

const repo = join(import.meta.dirname, '..', '..', '..');
const readJson = async (rel: string): Promise<unknown> => JSON.parse(await readFile(join(repo, rel), 'utf8')) as unknown;

describe('matrix/sizes.json', () => {
  it('gives the original sizes, in order, as DEFAULT_SIZES', () => {
    expect(DEFAULT_SIZES).toBe(MATRIX_SIZES);
    expect(DEFAULT_SIZES).toEqual([
      { name: '1', cpus: 1, memoryMiB: 256, vus: 1 },
      { name: '2', cpus: 2, memoryMiB: 4096, vus: 10 },
      { name: '16', cpus: 16, memoryMiB: 16384, vus: 10 },
    ]);
  });

  it('derives each VM: k6 vCPUs after the server cores, memory for the OS and k6 on top', () => {
    expect(vmSizeOf('1')).toEqual({
      name: '1',
      cpus: 1,
      memoryMiB: 256,
      vus: 1,
      loadgenCpus: 1,
      diskSizeMiB: 2048,
      vmCores: 2,
      vmMemoryMiB: 896,
      serverCpuList: [0],
      loadgenCpuList: [1],
    });
    expect(vmSizeOf('2')).toMatchObject({ vmCores: 3, vmMemoryMiB: 4736, serverCpuList: [0, 1], loadgenCpuList: [2] });
    expect(vmSizeOf('16')).toMatchObject({ loadgenCpus: 4, vmCores: 20, vmMemoryMiB: 17792, loadgenCpuList: [16, 17, 18, 19] });
    expect(() => vmSizeOf('3')).toThrow(InputError);
    expect(() => vmSizeOf('3')).toThrow(/unknown size "3"/);
  });

  it('rejects duplicate names, a name that is not its cpus, unknown fields and missing guest data', async () => {
    const good = (await readJson('matrix/sizes.json')) as { guest: object; sizes: object[] };
    expect(SizesFileSchema.safeParse(good).success).toBe(true);
    const bad = [
      { ...good, sizes: [...good.sizes, good.sizes[0]] },
      { ...good, sizes: [{ name: '4', cpus: 2, memoryMiB: 1, vus: 1, loadgenCpus: 1 }] },
      { ...good, sizes: [{ name: '1', cpus: 1, memoryMiB: 256, vus: 1, loadgenCpus: 1, vmCores: 9 }] },
      { ...good, sizes: [{ name: '1', cpus: 1, memoryMiB: 256, vus: 1 }] },
      { sizes: good.sizes },
      { ...good, sizes: [] },
    ];
    for (const b of bad) expect(SizesFileSchema.safeParse(b).success, JSON.stringify(b).slice(0, 120)).toBe(false);
  });
});

describe('matrix/impls.json', () => {
  it('lists the registry in its interleaving order, and the registry takes its facts from it', () => {
    expect(IMPL_SPECS.map((s) => s.name)).toEqual(IMPL_NAMES);
    for (const impl of IMPLS) {
      const s = implSpec(impl.name);
      expect({ d: impl.description, r: impl.reference, p: impl.sitePort, m: impl.metricsPort, x: impl.metricPrefix }).toEqual({
        d: s.description,
        r: s.reference,
        p: s.sitePort,
        m: s.metricsPort,
        x: s.metricPrefix,
      });
      expect(s.unit.name).toBe(`bench-${s.name}`);
    }
    expect(() => implSpec('lighttpd')).toThrow(InputError);
  });

  it('fills placeholders, and refuses one without a value', () => {
    expect(fillTemplate('@webroot@/x:@cpus@', { webroot: '/w', cpus: 3 })).toBe('/w/x:3');
    expect(fillTemplate('no placeholders', {})).toBe('no placeholders');
    expect(() => fillTemplate('-c @nginxConf@', { webroot: '/w' })).toThrow(/no value for @nginxConf@/);
    // An implementation's own ports need no value from the caller.
    expect(implEnvironment(implSpec('tsherve'), { webroot: '/w', mapUrl: 'http://m/r', host: '127.0.0.1', cpus: 2 })).toEqual({
      TSHERVE_WEBROOT: '/w',
      TSHERVE_REDIRECT_MAP_URL: 'http://m/r',
      TSHERVE_HOST: '127.0.0.1',
      TSHERVE_PORT: '8080',
      TSHERVE_METRICS_PORT: '8081',
      TSHERVE_WORKERS: '2',
      TSHERVE_LOG_LEVEL: 'info',
    });
    expect(() => implEnvironment(implSpec('tsherve'), { webroot: '/w' })).toThrow(InputError);
  });

  it('is what the local backend launches tsherve with', () => {
    const launch = tsherve.launch({ webroot: '/w', mapUrl: 'http://127.0.0.1:1/m', host: '10.0.0.1', cpus: 0, cacheDir: '/c' } as never);
    expect(launch.env).toMatchObject({ TSHERVE_WEBROOT: '/w', TSHERVE_HOST: '10.0.0.1', TSHERVE_WORKERS: '1', TSHERVE_PORT: '8080' });
  });

  it('rejects unknown placeholders, mismatched metrics fields, a wrong unit name and duplicates', async () => {
    const good = (await readJson('matrix/impls.json')) as { impls: Record<string, unknown>[] };
    expect(ImplsFileSchema.safeParse(good).success).toBe(true);
    const first = good.impls[0] as { environment: object; unit: object };
    const variants: Record<string, unknown>[] = [
      { ...first, environment: { ...first.environment, X: '@bogus@' } },
      { ...first, unit: { ...first.unit, args: ['@nope@'] } },
      { ...first, metricsPort: null },
      { ...first, unit: { ...first.unit, name: 'bench-other' } },
      { ...first, extra: 1 },
    ];
    for (const v of variants) expect(ImplsFileSchema.safeParse({ impls: [v] }).success, JSON.stringify(v).slice(0, 160)).toBe(false);
    expect(ImplsFileSchema.safeParse({ impls: [first, first] }).success).toBe(false);
  });
});
