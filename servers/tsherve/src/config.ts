// tsherve's configuration: environment variables TSHERVE_*, and command-line flags of the same
// names (`--port` for TSHERVE_PORT) that win over them. Every problem is one line naming the setting.
import { accessSync, constants, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { LEVELS, type Level } from './log.js';

export interface Config {
  webroot: string | null;
  redirectMapUrl: string;
  host: string;
  port: number;
  metricsPort: number;
  logLevel: Level;
  workers: number;
  maxSiteBytes: number;
  mapTimeoutMs: number;
  mapMaxBytes: number;
  refreshIntervalMs: number;
  periodicRefreshMs: number; // 0 = off
  confineSymlinks: boolean;
}

export class ConfigError extends Error {
  constructor(readonly setting: string, problem: string) {
    super(`${setting}: ${problem}`);
  }
}

interface Setting {
  env: string;
  flag: string;
  def: string | null;
  help: string;
}

export const SETTINGS: readonly Setting[] = [
  { env: 'TSHERVE_WEBROOT', flag: 'webroot', def: null, help: 'directory to serve (unset: redirects only)' },
  { env: 'TSHERVE_REDIRECT_MAP_URL', flag: 'redirect-map-url', def: null, help: 'URL of the redirect map (required)' },
  { env: 'TSHERVE_HOST', flag: 'host', def: '127.0.0.1', help: 'address to listen on' },
  { env: 'TSHERVE_PORT', flag: 'port', def: '8080', help: 'site port (0 = any free port)' },
  { env: 'TSHERVE_METRICS_PORT', flag: 'metrics-port', def: '8081', help: 'Prometheus metrics port (0 = any free port)' },
  { env: 'TSHERVE_LOG_LEVEL', flag: 'log-level', def: 'info', help: 'debug | info | warn | error (requests are logged at debug)' },
  { env: 'TSHERVE_WORKERS', flag: 'workers', def: null, help: 'worker processes (default: the CPUs this process may run on)' },
  { env: 'TSHERVE_MAX_SITE_BYTES', flag: 'max-site-bytes', def: '1GiB', help: 'refuse a site larger than this (bytes, or with KiB/MiB/GiB)' },
  { env: 'TSHERVE_MAP_TIMEOUT', flag: 'map-timeout', def: '3s', help: 'timeout of one redirect map fetch (ms, s)' },
  { env: 'TSHERVE_MAP_MAX_BYTES', flag: 'map-max-bytes', def: '1MiB', help: 'largest redirect map accepted' },
  { env: 'TSHERVE_REFRESH_INTERVAL', flag: 'refresh-interval', def: '1s', help: 'at most one map refresh on a miss per interval' },
  { env: 'TSHERVE_PERIODIC_REFRESH', flag: 'periodic-refresh', def: '0', help: 'also refresh the map every interval (0 = off)' },
  { env: 'TSHERVE_CONFINE_SYMLINKS', flag: 'confine-symlinks', def: 'false', help: 'skip symlinks that point outside the webroot (true/false)' },
];

export function helpText(): string {
  const rows = SETTINGS.map((s) => `  --${s.flag.padEnd(18)} ${s.env.padEnd(26)} ${s.help}${s.def !== null ? ` [${s.def}]` : ''}`);
  return [
    'tsherve: serve a static site and short-link redirects, with Prometheus metrics on a second port.',
    '',
    'usage: tsherve [--flag value ...]   (flags win over the environment variables of the same names)',
    '',
    ...rows,
    '  --help                                               show this text',
    '',
  ].join('\n');
}

/** Merge environment and argv into raw strings; flags win. Throws ConfigError for unknown flags. */
export function rawSettings(env: NodeJS.ProcessEnv, argv: readonly string[]): Map<string, string> {
  const raw = new Map<string, string>();
  for (const s of SETTINGS) {
    const v = env[s.env];
    if (v !== undefined && v !== '') raw.set(s.env, v);
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('--')) throw new ConfigError(arg, 'unexpected argument (flags look like --port 8080; see --help)');
    const eq = arg.indexOf('=');
    const name = (eq === -1 ? arg.slice(2) : arg.slice(2, eq)).toLowerCase();
    const setting = SETTINGS.find((s) => s.flag === name || s.env.toLowerCase() === name);
    if (!setting) throw new ConfigError(arg, 'unknown flag (see --help)');
    let value: string | undefined;
    if (eq !== -1) value = arg.slice(eq + 1);
    else {
      value = argv[i + 1];
      i++;
    }
    if (value === undefined) throw new ConfigError(`--${setting.flag}`, 'needs a value');
    raw.set(setting.env, value);
  }
  return raw;
}

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1000, kib: 1024, m: 1024 ** 2, mb: 1e6, mib: 1024 ** 2, g: 1024 ** 3, gb: 1e9, gib: 1024 ** 3 };

export function parseBytes(setting: string, text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = m ? SIZE_UNITS[(m[2] ?? '').toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new ConfigError(setting, `"${text}" is not a size (use bytes, or a number with KiB, MiB or GiB)`);
  return Math.floor(Number(m[1]) * unit);
}

export function parseMs(setting: string, text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$/.exec(text);
  if (!m) throw new ConfigError(setting, `"${text}" is not a duration (use e.g. 500ms, 3s, 1m)`);
  const n = Number(m[1]);
  const unit = m[2] ?? 'ms';
  return Math.round(unit === 'ms' ? n : unit === 's' ? n * 1000 : n * 60_000);
}

function parsePort(setting: string, text: string): number {
  if (!/^\d+$/.test(text) || Number(text) > 65535) throw new ConfigError(setting, `"${text}" is not a port (0-65535)`);
  return Number(text);
}

function parseBool(setting: string, text: string): boolean {
  const t = text.toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(t)) return true;
  if (['0', 'false', 'no', 'off'].includes(t)) return false;
  throw new ConfigError(setting, `"${text}" is not true or false`);
}

function checkWebroot(text: string): string {
  const dir = resolve(text);
  let st;
  try {
    st = statSync(dir);
  } catch {
    throw new ConfigError('TSHERVE_WEBROOT', `"${text}" does not exist (point it at the site's directory)`);
  }
  if (!st.isDirectory()) throw new ConfigError('TSHERVE_WEBROOT', `"${text}" is a file, not a directory`);
  try {
    accessSync(dir, constants.R_OK | constants.X_OK);
  } catch {
    throw new ConfigError('TSHERVE_WEBROOT', `"${text}" is not readable by this user`);
  }
  return dir;
}

function checkUrl(text: string): string {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new ConfigError('TSHERVE_REDIRECT_MAP_URL', `"${text}" is not a URL (expected e.g. https://example.com/redirects.txt)`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ConfigError('TSHERVE_REDIRECT_MAP_URL', `"${text}" is not an http(s) URL`);
  return u.toString();
}

export function parseConfig(env: NodeJS.ProcessEnv, argv: readonly string[]): Config {
  const raw = rawSettings(env, argv);
  const get = (name: string): string | null => raw.get(name) ?? SETTINGS.find((s) => s.env === name)?.def ?? null;
  const mapUrl = get('TSHERVE_REDIRECT_MAP_URL');
  if (mapUrl === null) throw new ConfigError('TSHERVE_REDIRECT_MAP_URL', 'is required (the URL of the redirect map)');
  const level = get('TSHERVE_LOG_LEVEL') as string;
  if (!(LEVELS as readonly string[]).includes(level)) throw new ConfigError('TSHERVE_LOG_LEVEL', `"${level}" is not one of ${LEVELS.join(', ')}`);
  const workersText = get('TSHERVE_WORKERS');
  let workers = availableParallelism();
  if (workersText !== null) {
    if (!/^\d+$/.test(workersText) || Number(workersText) < 1 || Number(workersText) > 1024) throw new ConfigError('TSHERVE_WORKERS', `"${workersText}" is not a worker count (1-1024)`);
    workers = Number(workersText);
  }
  const webroot = get('TSHERVE_WEBROOT');
  const host = get('TSHERVE_HOST') as string;
  if (host.trim() === '') throw new ConfigError('TSHERVE_HOST', 'is empty');
  const positive = (name: string, v: number): number => {
    if (!(v > 0)) throw new ConfigError(name, 'must be greater than 0');
    return v;
  };
  return {
    webroot: webroot === null ? null : checkWebroot(webroot),
    redirectMapUrl: checkUrl(mapUrl),
    host,
    port: parsePort('TSHERVE_PORT', get('TSHERVE_PORT') as string),
    metricsPort: parsePort('TSHERVE_METRICS_PORT', get('TSHERVE_METRICS_PORT') as string),
    logLevel: level as Level,
    workers,
    maxSiteBytes: positive('TSHERVE_MAX_SITE_BYTES', parseBytes('TSHERVE_MAX_SITE_BYTES', get('TSHERVE_MAX_SITE_BYTES') as string)),
    mapTimeoutMs: positive('TSHERVE_MAP_TIMEOUT', parseMs('TSHERVE_MAP_TIMEOUT', get('TSHERVE_MAP_TIMEOUT') as string)),
    mapMaxBytes: positive('TSHERVE_MAP_MAX_BYTES', parseBytes('TSHERVE_MAP_MAX_BYTES', get('TSHERVE_MAP_MAX_BYTES') as string)),
    refreshIntervalMs: parseMs('TSHERVE_REFRESH_INTERVAL', get('TSHERVE_REFRESH_INTERVAL') as string),
    periodicRefreshMs: parseMs('TSHERVE_PERIODIC_REFRESH', get('TSHERVE_PERIODIC_REFRESH') as string),
    confineSymlinks: parseBool('TSHERVE_CONFINE_SYMLINKS', get('TSHERVE_CONFINE_SYMLINKS') as string),
  };
}
