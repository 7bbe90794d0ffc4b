import { defineConfig } from 'vitest/config';

// Tests use real processes and sockets; give them room, and run files in parallel
// only as far as two cores allow.
export default defineConfig({
  test: {
    include: ['servers/**/test/**/*.test.ts', 'driver/test/**/*.test.ts', 'shared/**/*.test.ts', 'test/**/*.test.ts'],
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
