// `tsherve --runtime bun` started by Node (or `--runtime node` by Bun): run the same script with
// the same arguments and environment under the runtime the configuration names, as a child that
// gets the signals and whose exit code becomes this process's. The parent then only waits (Node 20
// cannot replace its own process image); launchers that care about the extra process (the harness,
// the Nix packages, the tsherve-bun executable) start the runtime directly instead.
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, realpathSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EnvironmentError } from './errors.js';
import { currentRuntime, type RuntimeName } from './runtime.js';

/** Node flags of the tsherve executable: the same as cli.ts's shebang (checked by a test). */
export const NODE_FLAGS = ['--max-semi-space-size=8'] as const;

/** Set in the relaunched process: a second relaunch means the executable was not the runtime asked for. */
const RELAUNCHED_ENV = 'TSHERVE_INTERNAL_RELAUNCHED';

/**
 * The first `node` on PATH that is not this process's own executable: `bun --bun` puts a `node`
 * that is Bun itself first on PATH, which would start Bun again.
 */
function nodeOnPath(): string {
  const self = realpathSync(process.execPath);
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, 'node');
    try {
      accessSync(candidate, constants.X_OK);
      if (realpathSync(candidate) !== self) return candidate;
    } catch {
      // not here
    }
  }
  return 'node';
}

/** The runtime's executable: Bun from this package's own dependency when installed, else from PATH. */
export function runtimeExecutable(name: RuntimeName): string {
  if (name === 'node') return nodeOnPath();
  // dist/servers/tsherve/src/relaunch.js → <package>/node_modules/.bin/bun
  const local = fileURLToPath(new URL('../../../../node_modules/.bin/bun', import.meta.url));
  return existsSync(local) ? local : 'bun';
}

/** Run `script` with `argv` under `name`; resolves never: this process exits as the child does. */
export function relaunch(name: RuntimeName, script: string, argv: readonly string[], fail: (err: unknown) => never): void {
  if (process.env[RELAUNCHED_ENV] !== undefined) {
    fail(new EnvironmentError(`${process.execPath} was started as ${name} but is ${currentRuntime()}`, `put the real ${name} first on PATH`));
  }
  const command = runtimeExecutable(name);
  const child = spawn(command, [...(name === 'node' ? NODE_FLAGS : []), script, ...argv], {
    stdio: 'inherit',
    env: { ...process.env, [RELAUNCHED_ENV]: name },
  });
  const forward = (signal: NodeJS.Signals) => (): void => void child.kill(signal);
  const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];
  const handlers = signals.map((s) => [s, forward(s)] as const);
  for (const [s, h] of handlers) process.on(s, h);
  child.once('error', (err: NodeJS.ErrnoException) =>
    fail(
      new EnvironmentError(
        `cannot start ${name} (${command}): ${err.code ?? err.message}`,
        name === 'bun' ? 'run npm ci (bun is a dev dependency) or put bun on PATH' : 'put node on PATH',
        { cause: err },
      ),
    ),
  );
  child.once('exit', (code, signal) => {
    for (const [s, h] of handlers) process.off(s, h);
    if (signal !== null)
      process.kill(process.pid, signal); // end as the child did
    else process.exit(code ?? 1);
  });
}
