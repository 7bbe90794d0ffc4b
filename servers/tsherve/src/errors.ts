// tsherve's typed errors: what went wrong and what to do about it, printed as one line
// (`tsherve: <message> (<hint>)`) with a distinct exit code. tsherve's own, so the server does not
// depend on the harness that measures it.

export const ExitCode = {
  ok: 0,
  usage: 2, // an invalid setting
  input: 3, // the site or the redirect map cannot be loaded
  environment: 4, // a port cannot be bound
  failure: 5, // anything else (a worker that died during start-up without saying why)
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

class TsherveError extends Error {
  override readonly name: string = 'TsherveError';
  constructor(
    message: string,
    readonly hint: string,
    readonly exitCode: ExitCodeValue = ExitCode.failure,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** The one line the CLI prints after "tsherve: ". */
  oneLine(): string {
    return this.hint ? `${this.message} (${this.hint})` : this.message;
  }
}

export class UsageError extends TsherveError {
  override readonly name: string = 'UsageError';
  constructor(message: string, hint: string) {
    super(message, hint, ExitCode.usage);
  }
}

export class InputError extends TsherveError {
  override readonly name = 'InputError';
  constructor(message: string, hint: string, options?: { cause?: unknown }) {
    super(message, hint, ExitCode.input, options);
  }
}

export class EnvironmentError extends TsherveError {
  override readonly name = 'EnvironmentError';
  constructor(message: string, hint: string, options?: { cause?: unknown }) {
    super(message, hint, ExitCode.environment, options);
  }
}

/** Any thrown value as one line: a TsherveError's message and hint, else the error's message. */
export function errorLine(err: unknown): string {
  if (err instanceof TsherveError) return err.oneLine();
  return err instanceof Error ? err.message : String(err);
}

/** The exit code a thrown value calls for: a TsherveError's own, else failure. */
export function errorExitCode(err: unknown): ExitCodeValue {
  return err instanceof TsherveError ? err.exitCode : ExitCode.failure;
}
