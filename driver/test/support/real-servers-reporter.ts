// The suite's last lines: which cases against real third-party servers ran, or why not (a machine
// without gosherve or servy runs the whole suite without them; see real-servers.ts).
import type { Reporter, TestModule } from 'vitest/node';
import { REAL_GOSHERVE_TAG, REAL_SERVY_TAG, realGosherve, realServy } from './real-servers.js';

/** One line for the cases carrying `tag`: how many ran and against what, or why none did. */
function line(testModules: ReadonlyArray<TestModule>, tag: string, what: string, describe: string, howToRun: string): string {
  const counts = { passed: 0, failed: 0, skipped: 0, pending: 0 };
  for (const m of testModules) {
    for (const t of m.children.allTests()) {
      if (!t.fullName.includes(tag)) continue;
      counts[t.result().state] += 1;
    }
  }
  const total = counts.passed + counts.failed + counts.skipped + counts.pending;
  if (total === 0) return `${what} cases: none in this run`;
  if (counts.passed + counts.failed > 0)
    return `${what} cases: ${counts.passed + counts.failed} of ${total} ran (${counts.passed} passed, ${counts.failed} failed) against ${describe}`;
  return `${what} cases: 0 of ${total} ran: ${describe} (${howToRun})`;
}

export default class RealServersReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const gosherve = line(
      testModules,
      REAL_GOSHERVE_TAG,
      'real gosherve',
      realGosherve().describe,
      'set SERVER_BENCH_GOSHERVE_BIN and SERVER_BENCH_GOSHERVE_OLD_BIN to run them',
    );
    const servy = line(testModules, REAL_SERVY_TAG, 'real servy', realServy().describe, 'set SERVER_BENCH_SERVY_CHECKOUT to a servy checkout to run them');
    process.stdout.write(`\n${gosherve}\n${servy}\n`);
  }
}
