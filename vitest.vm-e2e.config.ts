import { defineConfig } from 'vitest/config';

// The real-VM suite (driver/test/vm/*.vm-e2e.ts): QEMU boots, minutes per test. Not part of
// `npm test`; .ci/vm-e2e runs it with this file.
export default defineConfig({
  test: {
    include: ['driver/test/vm/*.vm-e2e.ts'],
    testTimeout: 30 * 60_000,
    hookTimeout: 5 * 60_000,
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
    reporters: ['default'],
  },
});
