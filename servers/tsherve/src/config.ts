// tsherve's configuration: environment variables TSHERVE_*, and command-line flags of the same
// names (`--port` for TSHERVE_PORT) that win over them. Every value passes its typed parser; the
// first problem becomes one line naming the setting (UsageError, exit 2) before anything listens.
// No zod here, unlike the driver: loading zod costs a server process ~12 MB of resident memory
// (measured), and these parsers are plain text → value functions that zod added nothing to.
import { accessSync, constants, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { UsageError } from './errors.js';
import { LEVELS, type Level } from './log.js';
import { currentRuntime, RUNTIMES, type RuntimeName } from './runtime.js';

const WORKER_MODES = ['processes', 'threads'] as const;
type WorkerMode = (typeof WORKER_MODES)[number];

export interface Config {
  /** Absolute path of the site; null = redirects only (as gosherve without GOSHERVE_WEBROOT). */
  webroot: string | null;
  redirectMapUrl: string;
  host: string;
  port: number;
  metricsPort: number;
  logLevel: Level;
  workers: number;
  /** processes: node:cluster, a site copy each; threads: worker threads sharing one copy. */
  workerMode: WorkerMode;
  maxSiteBytes: number;
  mapTimeoutMs: number;
  mapMaxBytes: number;
  refreshIntervalMs: number;
  /** 0 = off. */
  periodicRefreshMs: number;
  confineSymlinks: boolean;
  /** The JavaScript runtime that serves (runtime.ts); default: the one running this process. */
  runtime: RuntimeName;
}

/** A bad setting: `TSHERVE_PORT: "abc" is not a port (0-65535)`; exit code 2. */
class ConfigError extends UsageError {
  constructor(
    readonly setting: string,
    problem: string,
    hint = '',
  ) {
    super(`${setting}: ${problem}`, hint);
  }
}

/** A value parser: text in, typed value out; it throws a ValueProblem, whose message follows "NAME: ". */
type ValueParser<T> = (text: string) => T;

class ValueProblem extends Error {}

function fail(message: string): never {
  throw new ValueProblem(message);
}

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1000,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1e6,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1e9,
  gib: 1024 ** 3,
};

const bytes: ValueParser<number> = (text: string) => {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = m ? SIZE_UNITS[(m[2] ?? '').toLowerCase()] : undefined;
  if (!m || unit === undefined) return fail(`"${text}" is not a size (bytes, or a number with KiB, MiB or GiB)`);
  const n = Math.floor(Number(m[1]) * unit);
  if (n <= 0) return fail(`"${text}" must be greater than 0`);
  return n;
};

const duration =
  (allowZero: boolean): ValueParser<number> =>
  (text: string) => {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$/.exec(text);
    if (!m) return fail(`"${text}" is not a duration (e.g. 500ms, 3s, 1m; a bare number is milliseconds)`);
    const n = Number(m[1]);
    const unit = m[2] ?? 'ms';
    const ms = Math.round(unit === 'ms' ? n : unit === 's' ? n * 1000 : n * 60_000);
    if (!allowZero && ms <= 0) return fail(`"${text}" must be greater than 0`);
    return ms;
  };

const port: ValueParser<number> = (text: string) => {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) return fail(`"${text}" is not a port (0-65535)`);
  return Number(text);
};

const bool: ValueParser<boolean> = (text: string) => {
  const t = text.toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(t)) return true;
  if (['0', 'false', 'no', 'off'].includes(t)) return false;
  return fail(`"${text}" is not true or false`);
};

const level: ValueParser<Level> = (text: string) => {
  if (!(LEVELS as readonly string[]).includes(text)) return fail(`"${text}" is not one of ${LEVELS.join(', ')}`);
  return text as Level;
};

const workers: ValueParser<number> = (text: string) => {
  if (!/^\d{1,4}$/.test(text) || Number(text) < 1 || Number(text) > 1024) return fail(`"${text}" is not a worker count (1-1024)`);
  return Number(text);
};

const workerMode: ValueParser<WorkerMode> = (text: string) => {
  if (!(WORKER_MODES as readonly string[]).includes(text)) return fail(`"${text}" is not one of ${WORKER_MODES.join(', ')}`);
  return text as WorkerMode;
};

const runtime: ValueParser<RuntimeName> = (text: string) => {
  if (!(RUNTIMES as readonly string[]).includes(text)) return fail(`"${text}" is not one of ${RUNTIMES.join(', ')}`);
  return text as RuntimeName;
};

const host: ValueParser<string> = (text: string) => {
  if (text.trim() === '' || /\s/.test(text)) return fail(`"${text}" is not a host name or address`);
  return text;
};

const mapUrl: ValueParser<string> = (text: string) => {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return fail(`"${text}" is not a URL (expected e.g. https://example.com/redirects.txt)`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return fail(`"${text}" is not an http(s) URL`);
  return text;
};

const webroot: ValueParser<string> = (text: string) => {
  const dir = resolve(text);
  let st;
  try {
    st = statSync(dir);
  } catch {
    return fail(`"${text}" does not exist (point it at the site's directory)`);
  }
  if (!st.isDirectory()) return fail(`"${text}" is a file, not a directory`);
  try {
    accessSync(dir, constants.R_OK | constants.X_OK);
  } catch {
    return fail(`"${text}" is not readable by this user`);
  }
  return dir;
};

interface Setting {
  key: keyof Config;
  env: string;
  flag: string;
  /** Default as text (parsed like any value); null = none. */
  def: string | null;
  help: string;
  parse: ValueParser<unknown>;
}

/** Every setting: one list feeds parsing, --help and the README's table. */
export const SETTINGS: readonly Setting[] = [
  { key: 'webroot', env: 'TSHERVE_WEBROOT', flag: 'webroot', def: null, help: 'directory to serve (unset: redirects only)', parse: webroot },
  {
    key: 'redirectMapUrl',
    env: 'TSHERVE_REDIRECT_MAP_URL',
    flag: 'redirect-map-url',
    def: null,
    help: 'http(s) URL of the redirect map (required)',
    parse: mapUrl,
  },
  { key: 'host', env: 'TSHERVE_HOST', flag: 'host', def: '127.0.0.1', help: 'address both ports listen on', parse: host },
  { key: 'port', env: 'TSHERVE_PORT', flag: 'port', def: '8080', help: 'site port (0 = any free port; see the "listening" log line)', parse: port },
  { key: 'metricsPort', env: 'TSHERVE_METRICS_PORT', flag: 'metrics-port', def: '8081', help: 'Prometheus metrics port (0 = any free port)', parse: port },
  {
    key: 'logLevel',
    env: 'TSHERVE_LOG_LEVEL',
    flag: 'log-level',
    def: 'info',
    help: 'debug | info | warn | error (requests are logged at debug only)',
    parse: level,
  },
  {
    key: 'workers',
    env: 'TSHERVE_WORKERS',
    flag: 'workers',
    def: null,
    help: 'worker processes (default: the CPUs this process may run on; 1 = no cluster)',
    parse: workers,
  },
  {
    key: 'workerMode',
    env: 'TSHERVE_WORKER_MODE',
    flag: 'worker-mode',
    def: 'processes',
    help: 'processes (isolated, a site copy each) | threads (one shared site copy; Node only)',
    parse: workerMode,
  },
  {
    key: 'maxSiteBytes',
    env: 'TSHERVE_MAX_SITE_BYTES',
    flag: 'max-site-bytes',
    def: '1GiB',
    help: 'refuse to start with a site larger than this',
    parse: bytes,
  },
  { key: 'mapTimeoutMs', env: 'TSHERVE_MAP_TIMEOUT', flag: 'map-timeout', def: '3s', help: 'timeout of one redirect map fetch', parse: duration(false) },
  { key: 'mapMaxBytes', env: 'TSHERVE_MAP_MAX_BYTES', flag: 'map-max-bytes', def: '1MiB', help: 'largest redirect map accepted', parse: bytes },
  {
    key: 'refreshIntervalMs',
    env: 'TSHERVE_REFRESH_INTERVAL',
    flag: 'refresh-interval',
    def: '1s',
    help: 'at most one map refresh on a miss per interval (0 = no limit)',
    parse: duration(true),
  },
  {
    key: 'periodicRefreshMs',
    env: 'TSHERVE_PERIODIC_REFRESH',
    flag: 'periodic-refresh',
    def: '0',
    help: 'also refresh the map this often (0 = off)',
    parse: duration(true),
  },
  {
    key: 'confineSymlinks',
    env: 'TSHERVE_CONFINE_SYMLINKS',
    flag: 'confine-symlinks',
    def: 'false',
    help: 'skip symlinks whose target is outside the webroot',
    parse: bool,
  },
  {
    key: 'runtime',
    env: 'TSHERVE_RUNTIME',
    flag: 'runtime',
    def: null,
    help: 'node | bun (default: the runtime running tsherve: node for tsherve, bun for tsherve-bun)',
    parse: runtime,
  },
];

export function helpText(): string {
  const rows = SETTINGS.map((s) => `  --${s.flag.padEnd(18)} ${s.env.padEnd(26)} ${s.help}${s.def !== null ? ` [${s.def}]` : ''}`);
  return [
    'tsherve: serve a static site and short-link redirects, with Prometheus metrics on a second port.',
    '',
    'usage: tsherve [--flag value | --flag=value ...]',
    'Every flag has an environment variable of the same name; a flag wins over its variable.',
    'Sizes: bytes or 512KiB, 1MiB, 1GiB. Durations: 500ms, 3s, 1m (a bare number is milliseconds).',
    '',
    ...rows,
    `  --${'help'.padEnd(18)} ${''.padEnd(26)} show this text`,
    '',
    'Logs are JSON lines on stdout; once both ports listen, a line with "msg":"listening" gives them.',
    'Invalid settings: one line on stderr, exit 2. Start-up failures: exit 3 (site or map), 4 (port).',
    '',
  ].join('\n');
}

/** Merge environment and argv into raw strings keyed by env name; flags win. */
function rawSettings(env: NodeJS.ProcessEnv, argv: readonly string[]): Map<string, string> {
  const raw = new Map<string, string>();
  for (const s of SETTINGS) {
    const v = env[s.env];
    if (v !== undefined && v !== '') raw.set(s.env, v);
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('--')) throw new ConfigError(arg, 'unexpected argument', 'flags look like --port 8080; see --help');
    const eq = arg.indexOf('=');
    const name = (eq === -1 ? arg.slice(2) : arg.slice(2, eq)).toLowerCase();
    const setting = SETTINGS.find((s) => s.flag === name || s.env.toLowerCase() === name);
    if (!setting) throw new ConfigError(eq === -1 ? arg : arg.slice(0, eq), 'unknown flag', 'see --help');
    let value: string | undefined;
    if (eq !== -1) value = arg.slice(eq + 1);
    else {
      value = argv[i + 1];
      i++;
    }
    if (value === undefined) throw new ConfigError(`--${setting.flag}`, 'needs a value', `e.g. --${setting.flag}=…`);
    raw.set(setting.env, value);
  }
  return raw;
}

/** Environment + flags → Config, or ConfigError naming the first bad setting (in SETTINGS order). */
export function parseConfig(env: NodeJS.ProcessEnv, argv: readonly string[]): Config {
  const raw = rawSettings(env, argv);
  const out: Record<string, unknown> = { webroot: null, workers: availableParallelism(), runtime: currentRuntime() };
  for (const s of SETTINGS) {
    const text = raw.get(s.env) ?? s.def;
    if (text === null) {
      if (s.key === 'redirectMapUrl') throw new ConfigError(s.env, 'is required', 'the http(s) URL of the redirect map');
      continue;
    }
    try {
      out[s.key] = s.parse(text);
    } catch (err) {
      if (err instanceof ValueProblem) throw new ConfigError(s.env, err.message);
      throw err;
    }
  }
  const config = out as unknown as Config;
  // Bun copies a Blob sent to a worker thread (measured: +100 MB per thread for a 100 MB site), so
  // threads there would cost what processes cost, with less isolation.
  if (config.runtime === 'bun' && config.workerMode === 'threads') {
    throw new ConfigError(
      'TSHERVE_WORKER_MODE',
      '"threads" is not available with TSHERVE_RUNTIME=bun',
      "Bun's threads cannot share the site's bytes; use processes (the default)",
    );
  }
  return config;
}
