import { describe, expect, it } from 'vitest';
import type { RunInfo } from '../../src/results/schema.js';
import { resumeDrift, resumeWarning, schedulingText } from '../../src/run/resume-check.js';

const run = {
  runId: 'r1',
  config: { reps: 3 },
  git: { revision: 'aaaaaaaaaaaaaaaa', dirty: false },
  versions: { node: 'v20.1.0', go: 'go1.22', engine: 'wrk 4.1', impls: { tsherve: '0.1.0', nginx: '1.22.1' } },
} as unknown as RunInfo;
const same = { git: run.git, versions: run.versions };

describe('resumeDrift', () => {
  it('is empty when nothing changed', () => {
    expect(resumeDrift(run, same)).toEqual([]);
  });
  it('names the git revision, a dirty tree, tool and implementation versions that changed', () => {
    const drift = resumeDrift(run, {
      git: { revision: 'bbbbbbbbbbbbbbbb', dirty: true },
      versions: { node: 'v22.0.0', go: 'go1.22', engine: 'wrk 4.1', impls: { tsherve: '0.2.0', nginx: '1.22.1', servy: '1' } },
    });
    expect(drift).toEqual(['git aaaaaaaaaaaa → bbbbbbbbbbbb (dirty)', 'node v20.1.0 → v22.0.0', 'tsherve 0.1.0 → 0.2.0']);
    expect(resumeWarning('r1', drift)).toMatch(/^warning: --resume r1: git aaaaaaaaaaaa → bbbbbbbbbbbb \(dirty\), node .* since the run began/);
  });
});

describe('schedulingText', () => {
  it('says interleaved for a run never resumed, and what a resume broke otherwise', () => {
    expect(schedulingText(run)).toBe('3 repetition(s) interleaved');
    const resumed = { ...run, resumes: [{ at: 'x', cellsBefore: 2, changed: ['node v20 → v22'] }] } as RunInfo;
    expect(schedulingText(resumed)).toBe(
      '3 repetition(s) interleaved, resumed 1 time(s): the cells run after a resume are not interleaved with those before it (changed in between: node v20 → v22)',
    );
  });
});
