// The options every cell runs with, as one table: how each is parsed from its flag, what --help
// says, its shape in run.json's config (so --resume restores it and compare sees it) and in the
// CellSpec each cell receives (k6test's flags follow it too), and a check against the engine. Adding such an option is one entry
// here plus the code that acts on it (see ARCHITECTURE.md). Pure: zod and the parsers only, since
// schema.ts builds run.json's shape from this table.
import { z } from 'zod';
import { parseDuration } from '../cli/duration.js';
import { UsageError, type BenchError } from '../errors.js';
import { DEFAULT_SERVER_LOGS, parseServerLogs, ServerLogsSchema, type ServerLogs } from '../servers/serverlogs.js';

export type BackendName = 'local' | 'vm';

/** One command-line option: its flag, its --help line, and how its text becomes a value. */
export interface OptionSpec<T> {
  /** The flag without its dashes: `duration` is `--duration D`. */
  flag: string;
  /** The value's placeholder in --help (`D`, `N`, `LIST`); absent: a switch, true when given. */
  arg?: string;
  /** What --help says (per backend when they differ); `\n` continues on the next line. */
  help: string | ((backend: BackendName) => string);
  /** Backends that take it (default: both); the other one refuses it with a usage line. */
  backends?: readonly BackendName[];
  /** What the backends outside `backends` say to it (default: "--flag is not taken by --backend B"). */
  refusal?: { message: string; hint: string };
  /** The value when the flag is absent; a function when the backends differ. */
  default: T | ((backend: BackendName) => T);
  /** The flag's text → the value; throws a UsageError naming the flag. Switches have none. */
  parse?: (text: string) => T;
}

/** An option every cell runs with: recorded in run.json's config and sent in each CellSpec. */
export interface CellOption<T> extends OptionSpec<T> {
  /** The value's shape in run.json's config and in a CellSpec. */
  schema: z.ZodType<T>;
  /**
   * For an option added after the first runs were stored (laterCellOption): what those runs ran
   * with. Their run.json lacks the key (it stays optional there, so reports can say "not
   * recorded"); --resume and compare read it as this value.
   */
  before?: T;
  /** A check against the rest of the run, once the backend and engine are known: the problem, or null. */
  check?: (value: T, run: { backend: BackendName; engine: 'wrk' | 'k6' }) => BenchError | null;
}

/** An option every run.json has had since schema version 1 (required there). */
function cellOption<T>(o: CellOption<T> & { before?: never }): CellOption<T> & { before?: never } {
  return o;
}

/** An option added later: older run.json files lack it and ran with `before`. */
function laterCellOption<T>(o: CellOption<T> & { before: T }): CellOption<T> & { before: T } {
  return o;
}

/** "3" → 3; anything but a whole number ≥ 1 is a usage error naming the flag. */
export function positiveInt(text: string, flag: string): number {
  if (!/^[0-9]+$/.test(text.trim()) || Number(text) < 1) throw new UsageError(`${flag}: "${text}" is not a positive whole number`, `for example ${flag} 3`);
  return Number(text);
}

export const CELL_OPTIONS = {
  durationSeconds: cellOption<number>({
    flag: 'duration',
    arg: 'D',
    help: 'measured time per cell (default 30s; 2m, 1m30s, 500ms)',
    schema: z.number().positive(),
    default: 30,
    parse: (text) => {
      const s = parseDuration(text, '--duration');
      if (s <= 0) throw new UsageError('--duration must be longer than 0', 'for example --duration 30s');
      return s;
    },
  }),
  warmupSeconds: cellOption<number>({
    flag: 'warmup',
    arg: 'D',
    help: 'discarded warm-up before each measured run (default 5s)',
    schema: z.number().nonnegative(),
    default: 5,
    parse: (text) => parseDuration(text, '--warmup'),
  }),
  vusOverride: cellOption<number | null>({
    flag: 'vus',
    arg: 'N',
    help: "virtual users (default: the size's, 1 or 10)",
    schema: z.number().int().positive().nullable(),
    default: null,
    parse: (text) => positiveInt(text, '--vus'),
  }),
  connectionsOverride: laterCellOption<number | null>({
    flag: 'connections',
    arg: 'N',
    help: "wrk's connection count (default VUs × 6; lower it when wrk saturates its core)",
    // The VMs run k6, which opens up to 6 connections per VU (batchPerHost) whatever this says.
    backends: ['local'],
    schema: z.number().int().positive().nullable(),
    default: null,
    before: null,
    parse: (text) => positiveInt(text, '--connections'),
    check: (value, run) =>
      value !== null && run.engine === 'k6'
        ? new UsageError('--connections applies to wrk only: k6 opens up to 6 connections per VU (batchPerHost)', 'drop --connections, or add --engine wrk')
        : null,
  }),
  serverLogs: laterCellOption<ServerLogs>({
    flag: 'server-logs',
    arg: 'MODE',
    help: (b) =>
      b === 'vm'
        ? 'shipped (default, and the only mode: the VM units run every server as the flake\ndefines it; quiet runs locally only)'
        : "quiet (default: per-request logging off in every server, so all do the same\nwork) | shipped (each server's own defaults: gosherve, servy and nginx log\nevery request, tsherve does not); recorded in run.json and every report",
    schema: ServerLogsSchema,
    default: (b) => (b === 'vm' ? 'shipped' : DEFAULT_SERVER_LOGS),
    // Before --server-logs every server ran with its own defaults.
    before: 'shipped',
    parse: (text) => parseServerLogs(text),
    check: (value, run) =>
      run.backend === 'vm' && value !== 'shipped'
        ? new UsageError(
            `--backend vm: --server-logs ${value} is not available`,
            'the VM units run every server as the flake defines it (shipped); run --server-logs quiet with the local backend',
          )
        : null,
  }),
};

type CellOptions = typeof CELL_OPTIONS;
export type CellKey = keyof CellOptions;
/** The value of every cell option: a run's load settings, as run.json and a CellSpec carry them. */
export type CellValues = { [K in CellKey]: CellOptions[K] extends CellOption<infer T> ? T : never };

export const CELL_KEYS = Object.keys(CELL_OPTIONS) as CellKey[];

/** Options older run.json files may lack (laterCellOption). */
type LaterKey = { [K in CellKey]: CellOptions[K] extends { before: unknown } ? K : never }[CellKey];
/** The cell options as run.json's config holds them: a later option may be missing. */
export type StoredCellValues = Omit<CellValues, LaterKey> & Partial<Pick<CellValues, LaterKey>>;
type StoredShape = { [K in CellKey]: K extends LaterKey ? z.ZodOptional<z.ZodType<CellValues[K]>> : z.ZodType<CellValues[K]> };

/** The cell options' part of run.json's config: an option added later is optional there. */
export function storedCellOptionsShape(): StoredShape {
  return Object.fromEntries(
    CELL_KEYS.map((k) => [k, (CELL_OPTIONS[k] as CellOption<unknown>).before !== undefined ? CELL_OPTIONS[k].schema.optional() : CELL_OPTIONS[k].schema]),
  ) as StoredShape;
}

/** The cell options' part of a CellSpec: every one, always (a spec comes from one revision). */
export function cellOptionsShape(): { [K in CellKey]: z.ZodType<CellValues[K]> } {
  return Object.fromEntries(CELL_KEYS.map((k) => [k, CELL_OPTIONS[k].schema])) as { [K in CellKey]: z.ZodType<CellValues[K]> };
}

/** The cell options' values out of anything that carries them all (flag values, a plan, a spec). */
export function pickCellValues(from: CellValues): CellValues {
  return Object.fromEntries(CELL_KEYS.map((k) => [k, from[k]])) as CellValues;
}

/** The values a stored run ran with: a later option it lacks is its `before`. */
export function storedCellValues(config: StoredCellValues): CellValues {
  return Object.fromEntries(CELL_KEYS.map((k) => [k, config[k] !== undefined ? config[k] : (CELL_OPTIONS[k] as CellOption<unknown>).before])) as CellValues;
}

/** Every cell option at its default (k6test's flags, which name only what differs). */
export function defaultCellValues(backend: BackendName): CellValues {
  return Object.fromEntries(CELL_KEYS.map((k) => [k, optionDefault(CELL_OPTIONS[k] as OptionSpec<unknown>, backend)])) as CellValues;
}

export function optionDefault<T>(o: OptionSpec<T>, backend: BackendName): T {
  return typeof o.default === 'function' ? (o.default as (b: BackendName) => T)(backend) : o.default;
}
