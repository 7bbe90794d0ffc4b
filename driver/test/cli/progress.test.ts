// cli/progress.ts: the progress lines on stderr.
import { describe, expect, it } from 'vitest';
import { formatEvent } from '../../src/cli/progress.js';

describe('progress lines', () => {
  it('names the cell, its position, the phase and the time left', () => {
    expect(
      formatEvent({
        kind: 'phase',
        index: 1,
        total: 12,
        cellId: 'tsherve-1cpu-r1',
        phase: 'measure',
        detail: '30 s',
        elapsedSeconds: 75,
        remainingSeconds: 400,
      }),
    ).toBe('[2/12] tsherve-1cpu-r1 measure (30 s)  elapsed 1m15s, ~6m40s left');
    expect(formatEvent({ kind: 'skip', impl: '*', size: '16', reason: 'size 16 needs 17 CPUs' })).toBe(
      'skip every implementation at size 16: size 16 needs 17 CPUs',
    );
  });
});
