// The suite's last line: which cases against real third-party servers ran, or why not (a machine
// without gosherve runs the whole suite without them; see real-servers.ts).
import type { Reporter, TestModule } from 'vitest/node';
import { REAL_GOSHERVE_TAG, realGosherve } from './real-servers.js';

export default class RealServersReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const counts = { passed: 0, failed: 0, skipped: 0, pending: 0 };
    for (const m of testModules) {
      for (const t of m.children.allTests()) {
        if (!t.fullName.includes(REAL_GOSHERVE_TAG)) continue;
        counts[t.result().state] += 1;
      }
    }
    const real = realGosherve();
    const total = counts.passed + counts.failed + counts.skipped + counts.pending;
    const line =
      total === 0
        ? 'real gosherve cases: none in this run'
        : counts.passed + counts.failed > 0
          ? `real gosherve cases: ${counts.passed + counts.failed} of ${total} ran (${counts.passed} passed, ${counts.failed} failed) against ${real.describe}`
          : `real gosherve cases: 0 of ${total} ran: ${real.describe} (set SERVER_BENCH_GOSHERVE_BIN and SERVER_BENCH_GOSHERVE_OLD_BIN to run them)`;
    process.stdout.write(`\n${line}\n`);
  }
}
