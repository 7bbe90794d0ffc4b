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
    ['0', 0],
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

  it('formats as the flags take it', () => {
    expect(formatDuration(5)).toBe('5s');
    expect(formatDuration(95)).toBe('1m35s');
    expect(formatDuration(60)).toBe('1m');
    expect(formatDuration(3600)).toBe('1h');
    expect(formatDuration(3690)).toBe('1h1m30s');
    for (const s of [5, 60, 95, 3690]) expect(parseDuration(formatDuration(s))).toBe(s);
  });

  it('a bare number has no unit (tsherve counts milliseconds, wrk seconds): refused, naming both readings', () => {
    expect(() => parseDuration('45', '--duration')).toThrow(UsageError);
    try {
      parseDuration('45', '--duration');
    } catch (err) {
      expect((err as UsageError).oneLine()).toBe('--duration: "45" has no unit (write 45s for seconds or 45ms for milliseconds)');
    }
    expect(() => parseDuration('-5s', '--warmup')).toThrow(/"-5s" is negative/);
  });
});
