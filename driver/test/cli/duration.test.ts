import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../src/cli/duration.js';
import { ExitCode, UsageError } from '../../src/errors.js';

describe('parseDuration', () => {
  it.each([
    ['30s', 30],
    ['2m', 120],
    ['1m30s', 90],
    ['500ms', 0.5],
    ['1h', 3600],
    ['1.5s', 1.5],
    ['45', 45],
    [' 10s ', 10],
  ])('%s → %d s', (text, seconds) => {
    expect(parseDuration(text)).toBe(seconds);
  });

  it.each(['', 'abc', '30x', 's', '1m30', '-5s', '1 m', '30sec'])('rejects %j with a UsageError naming the flag', (text) => {
    let caught: unknown;
    try {
      parseDuration(text, '--warmup');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(UsageError);
    expect((caught as UsageError).exitCode).toBe(ExitCode.usage);
    expect((caught as UsageError).oneLine()).toMatch(/^--warmup: .*\(--warmup takes a duration like 30s/);
  });

  it('formats for progress lines', () => {
    expect(formatDuration(5)).toBe('5s');
    expect(formatDuration(95)).toBe('1m35s');
  });
});
