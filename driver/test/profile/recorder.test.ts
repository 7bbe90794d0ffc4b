// profile/recorder.ts: the warnings a profiled repetition gets.
import { describe, expect, it } from 'vitest';
import { profileWarnings } from '../../src/profile/recorder.js';

describe('profile warnings', () => {
  it('names modules without symbols with their share, stacks cut short, and too few samples', () => {
    const w = profileWarnings(
      {
        samples: 1000,
        hz: 99,
        truncatedSamples: 770,
        unresolved: [
          { module: '/usr/sbin/nginx', samples: 110 },
          { module: '/lib/x.so', samples: 5 },
        ],
      },
      'nginx',
    );
    expect(w.map((x) => x.code)).toEqual(['profile', 'profile']);
    expect(w[0]!.message).toBe(
      "nginx's profile lacks function names for /usr/sbin/nginx (11 % of samples): the profile is written, those frames appear as [module]; the binary is stripped: install its debug symbols or build it with a symbol table",
    );
    expect(w[1]!.message).toMatch(/stop early in 77 % of samples/);
    const node = profileWarnings({ samples: 150, hz: 99, truncatedSamples: 0, unresolved: [{ module: '//anon', samples: 60 }] }, 'tsherve');
    expect(node[0]!.message).toMatch(/JIT or anonymous code \(\/\/anon\) \(40 % of samples\).*--perf-basic-prof/);
    expect(node[1]!.message).toMatch(/only 150 samples at 99 Hz/);
    expect(profileWarnings({ samples: 5000, hz: 99, truncatedSamples: 10, unresolved: [] }, 'gosherve')).toEqual([]);
  });
});
