// What every command says about its command line before its own flags are read: node:util
// parseArgs's errors in our one-line wording (cause + fix, never Node's "argument is ambiguous"),
// a negative number given to a flag read as that flag's value (its own parser then names what is
// wrong with it), and --version.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../errors.js';

/**
 * `--duration -1` → `--duration=-1`: parseArgs would take "-1" for a flag and call the argument
 * ambiguous; given to the flag, its own parser says "-1" is not a duration.
 */
export function joinDashValues(argv: readonly string[], valueFlags: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const next = argv[i + 1];
    if (a === '--') {
      out.push(...argv.slice(i));
      break;
    }
    if (a.startsWith('--') && !a.includes('=') && valueFlags.has(a.slice(2)) && next !== undefined && /^-[0-9.]/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/** A parseArgs error → one usage line naming the flag and what to do; `command` as the user typed it ("bench", "vm start"). */
function argsError(err: unknown, command: string, flagArgs: Readonly<Record<string, string | undefined>> = {}): UsageError {
  const e = err as NodeJS.ErrnoException;
  const msg = e?.message ?? String(err);
  const help = `see server-bench ${command} --help`;
  const flag = /'(-{1,2}[^'\s]+)/.exec(msg)?.[1] ?? null;
  switch (e?.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return new UsageError(`${command}: unknown flag ${flag ?? msg}`, help);
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      if (flag === null) break;
      const name = flag.replace(/^-+/, '');
      const arg = flagArgs[name];
      if (/argument missing|ambiguous/.test(msg) && arg !== undefined)
        return new UsageError(`${command}: ${flag} needs a value`, `give it as ${flag} ${arg}; ${help}`);
      if (/does not take an argument/.test(msg)) return new UsageError(`${command}: ${flag} is a switch and takes no value`, `write ${flag} alone; ${help}`);
      return new UsageError(`${command}: ${flag} needs a value`, help);
    }
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL': {
      const what = /'([^']*)'/.exec(msg)?.[1];
      return new UsageError(`${command}: unexpected argument${what ? ` "${what}"` : ''}`, help);
    }
  }
  // Anything else parseArgs says: its first sentence, without Node's advice on dashes.
  return new UsageError(`${command}: ${msg.split(/\.\s/)[0]?.replace(/\s+/g, ' ').trim() ?? msg}`, help);
}

/**
 * node:util parseArgs for `command` (as the user typed it), its errors as argsError's usage line;
 * `flagArgs` names each value flag's argument (`{ out: 'FILE' }`) for "needs a value" hints.
 */
export function parseCommandArgs<T extends ParseArgsConfig>(
  command: string,
  config: T,
  flagArgs: Readonly<Record<string, string | undefined>> = {},
): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (err) {
    throw argsError(err, command, flagArgs);
  }
}

/** `server-bench --version`: the package's version and the Node it runs on. */
export function versionLine(root: string): string {
  let version = 'unknown';
  try {
    version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    // a copy without package.json: still say which Node
  }
  return `server-bench ${version} (node ${process.version})\n`;
}
