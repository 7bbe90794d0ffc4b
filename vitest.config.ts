import { configDefaults, defineConfig } from 'vitest/config';

// The runtime tsherve's suites run it on (servers/tsherve/test/helpers.ts: TSHERVE_TEST_RUNTIME, else
// the runtime running vitest). *.node.test.ts holds tests of Node-only behaviour (worker threads):
// selected for Node, left out for Bun, so the Bun suite neither runs nor reports them as skipped.
const tsherveRuntime = process.env.TSHERVE_TEST_RUNTIME || (process.versions.bun !== undefined ? 'bun' : 'node');

// Tests use real processes and sockets; give them room, and run files in parallel
// only as far as two cores allow.
export default defineConfig({
  test: {
    include: ['servers/**/test/**/*.test.ts', 'driver/test/**/*.test.ts', 'shared/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: [...configDefaults.exclude, ...(tsherveRuntime === 'node' ? [] : ['**/*.node.test.ts'])],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    // Several suites own the fixed ports 8080/8081 (gosherve cannot change them): files run one at a time.
    fileParallelism: false,
    // The last line says which cases against real gosherve binaries ran, or why not.
    reporters: ['default', './driver/test/support/real-servers-reporter.ts'],
  },
});
