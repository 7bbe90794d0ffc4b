// Typed, actionable errors. Every error a user can cause carries what went wrong and what to do
// about it; the CLI prints `server-bench: <message> (<hint>)` on one line and exits with `exitCode`.

export const ExitCode = {
  ok: 0,
  regression: 1, // `compare` found a regression beyond the threshold
  usage: 2, // bad flag, unknown impl/size, bad duration
  input: 3, // missing webroot, corrupt summary, broken redirect map
  environment: 4, // missing tool (wrk, k6, go), busy port, no KVM
  failure: 5, // a cell, VM or process failed
  interrupted: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export class BenchError extends Error {
  override readonly name: string = 'BenchError';
  constructor(
    message: string,
    readonly hint: string,
    readonly exitCode: ExitCodeValue = ExitCode.failure,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** The one line the CLI prints. */
  oneLine(): string {
    return this.hint ? `${this.message} (${this.hint})` : this.message;
  }
}

export class UsageError extends BenchError {
  override readonly name = 'UsageError';
  constructor(message: string, hint: string) {
    super(message, hint, ExitCode.usage);
  }
}

export class InputError extends BenchError {
  override readonly name = 'InputError';
  constructor(message: string, hint: string, options?: { cause?: unknown }) {
    super(message, hint, ExitCode.input, options);
  }
}

export class EnvironmentError extends BenchError {
  override readonly name = 'EnvironmentError';
  constructor(message: string, hint: string, options?: { cause?: unknown }) {
    super(message, hint, ExitCode.environment, options);
  }
}

/** Several problems found at once: one line, the exit code of the first. */
export class ProblemsError extends BenchError {
  override readonly name = 'ProblemsError';
  constructor(readonly problems: BenchError[]) {
    super(
      problems.map((p) => p.message).join('; '),
      problems
        .map((p) => p.hint)
        .filter((h, i, a) => h && a.indexOf(h) === i)
        .join('; '),
      (problems[0]?.exitCode ?? ExitCode.usage) as ExitCodeValue,
    );
  }
}

/** Throw what was collected: nothing, the one problem as it is, or several as one ProblemsError. */
export function throwProblems(problems: readonly BenchError[]): void {
  if (problems.length === 1) throw problems[0];
  if (problems.length > 1) throw new ProblemsError([...problems]);
}

/** Run `fn`; a BenchError it throws (several, for a ProblemsError) joins `problems` and `fallback` is returned. */
export function collect<T>(problems: BenchError[], fn: () => T, fallback: T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ProblemsError) problems.push(...err.problems);
    else if (err instanceof BenchError) problems.push(err);
    else throw err;
    return fallback;
  }
}

/** An external command failed: carries the command, exit code with a meaning, and a stderr tail. */
export class CommandError extends BenchError {
  override readonly name = 'CommandError';
  constructor(
    readonly command: string,
    readonly code: number | null,
    readonly signal: string | null,
    readonly stderrTail: string,
    hint: string,
  ) {
    super(`${command} ${describeExit(code, signal)}${stderrTail ? `: ${stderrTail}` : ''}`, hint, ExitCode.failure);
  }
}

function describeExit(code: number | null, signal: string | null): string {
  if (signal) return `was killed by ${signal}`;
  if (code === 127) return 'was not found (exit 127)';
  if (code === 137) return 'was killed (exit 137, out of memory?)';
  return `exited with code ${code ?? 'unknown'}`;
}

/** Last `lines` non-empty lines of a process's output, for error messages. */
export function tail(text: string, lines = 5): string {
  return text
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.length > 0)
    .slice(-lines)
    .join(' | ');
}

/** Any thrown value as one line: a BenchError's message and hint, else the error's message. */
export function errorLine(err: unknown): string {
  if (err instanceof BenchError) return err.oneLine();
  return err instanceof Error ? err.message : String(err);
}

/** How every command ends on an error: one line on stderr, the error's own exit code. */
export function reportError(err: unknown): ExitCodeValue {
  if (err instanceof BenchError) {
    process.stderr.write(`server-bench: ${err.oneLine()}\n`);
    return err.exitCode;
  }
  process.stderr.write(`server-bench: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
  return ExitCode.failure;
}
