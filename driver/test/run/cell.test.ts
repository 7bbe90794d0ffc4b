// run/cell.ts: the warnings a measured cell gets.
import { describe, expect, it } from 'vitest';
import { cellWarnings } from '../../src/run/cell.js';

describe('cellWarnings', () => {
  const base = { utilisation: 0.5, loadgenCpus: [1], serverCpus: [0], memoryEnforced: true, memoryMiB: 256, failedChecks: 0, errors: 0 };
  it('is empty for a clean dedicated, enforced cell on a quiet host', () => {
    expect(cellWarnings(base)).toEqual([]);
  });
  it('flags a saturated generator at 90 %, shared cores, unenforced memory, failed checks and errors', () => {
    const codes = cellWarnings({ ...base, utilisation: 0.9, loadgenCpus: [0], memoryEnforced: false, failedChecks: 3, errors: 1 }).map((w) => w.code);
    expect(codes).toEqual(['loadgen-saturated', 'cores-shared', 'memory-not-enforced', 'failed-checks', 'errors']);
    expect(cellWarnings({ ...base, utilisation: 0.89 })).toEqual([]);
  });
  it('puts a busy host first, with the text it is given', () => {
    expect(cellWarnings({ ...base, hostBusy: 'the host was busy' })).toEqual([{ code: 'host-busy', message: 'the host was busy' }]);
    expect(cellWarnings({ ...base, hostBusy: null })).toEqual([]);
  });
});
