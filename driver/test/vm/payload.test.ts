// The guest payload (vm/image/payload.ts): a tree copied with exactly GUEST_PAYLOAD runs k6test,
// and a tree without driver/assets (as the first hand-made Debian guest had) is refused by
// `k6test --info` with the missing file named, before any cell, instead of failing mid-cell.
import { mkdtemp, rm, symlink, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/errors.js';
import { InfoSchema } from '../../src/vm/wire.js';
import { copyPayload, GUEST_PAYLOAD } from '../../src/vm/image/payload.js';

const ROOT = join(dirname(new URL(import.meta.url).pathname), '..', '..', '..');
let work: string;
let opt: string;
let etc: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'vm-payload-test-'));
  opt = join(work, 'opt', 'server-bench');
  etc = join(work, 'etc');
  await copyPayload(ROOT, opt);
  await symlink(join(ROOT, 'node_modules'), join(opt, 'node_modules'));
  await mkdir(etc);
  await writeFile(
    join(etc, 'size.json'),
    JSON.stringify({
      name: '1',
      cpus: 1,
      memoryMiB: 256,
      vus: 1,
      loadgenCpus: 1,
      serverCpuList: [0],
      loadgenCpuList: [1],
      vmCores: 2,
      vmMemoryMiB: 896,
      loadgen: 'dedicated',
    }),
  );
  await writeFile(
    join(etc, 'impls.json'),
    JSON.stringify([
      { name: 'tsherve', unit: 'bench-tsherve', description: 'tsherve', reference: false, sitePort: 8080, metricsPort: 8081, metricPrefix: 'tsherve_' },
    ]),
  );
  await writeFile(
    join(etc, 'vm.json'),
    JSON.stringify({
      webroot: '/nonexistent',
      mapUrl: 'http://127.0.0.1:9/redirects.txt',
      mapFetchesUrl: 'http://127.0.0.1:9/fetches',
      mapFetchesResetUrl: 'http://127.0.0.1:9/fetches/reset',
      outDir: join(work, 'out'),
    }),
  );
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const info = (engine: string) =>
  execa(process.execPath, [join(opt, 'dist', 'driver', 'src', 'guest', 'k6test-cli.js'), '--info', '--engine', engine], {
    reject: false,
    cwd: work,
    env: { SERVER_BENCH_ETC: etc, SERVER_BENCH_WRK_SCRIPT: '', SERVER_BENCH_K6_SCRIPT: '' },
  });

describe('the guest payload', () => {
  it("lists the engines' run-time files beside the compiled tree", () => {
    expect(GUEST_PAYLOAD).toEqual(expect.arrayContaining(['dist', 'package.json', 'k6', 'driver/assets']));
  });

  it('runs k6test --info for both engines from a copied tree', async () => {
    for (const engine of ['wrk', 'k6']) {
      const r = await info(engine);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(InfoSchema.parse(JSON.parse(r.stdout)).size.name).toBe('1');
    }
  });

  it('k6test --info refuses a tree without driver/assets, naming wrk-targets.lua (not an internal error)', async () => {
    await rm(join(opt, 'driver', 'assets'), { recursive: true });
    const r = await info('wrk');
    expect(r.exitCode, r.stderr).toBe(ExitCode.environment);
    expect(r.stderr).toMatch(/cannot find driver\/assets\/wrk-targets\.lua/);
    expect(r.stderr).not.toMatch(/internal error/);
  });
});
