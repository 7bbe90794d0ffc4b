// Log-level parity between the servers compared (`--server-logs shipped|quiet`): what each mode
// means, the record of how each server actually logged in a run (run.json), and the report's
// warning when the servers compared did not log alike. Logging one line per request costs servy a
// third of its throughput (issue 16), so a table where some servers log and others do not compares
// logging, not serving. Each implementation says how it logs in each mode (Impl.logging).
import { z } from 'zod';
import { UsageError } from '../errors.js';

/**
 * shipped: every server with its own packaged defaults (gosherve and servy log each request at
 * info; nginx logs each request to an access log, as Debian's nginx.conf does; tsherve logs
 * requests only at debug). quiet: per-request logging off wherever a server has it.
 */
const SERVER_LOGS = ['shipped', 'quiet'] as const;
export const ServerLogsSchema = z.enum(SERVER_LOGS);
export type ServerLogs = z.infer<typeof ServerLogsSchema>;

/** quiet: every server does the same work per request, so the numbers compare serving, not logging. */
export const DEFAULT_SERVER_LOGS: ServerLogs = 'quiet';

/** How one server logged in a run: whether it wrote a line per request, and the setting that says so. */
export const RequestLoggingSchema = z.object({
  perRequest: z.boolean(),
  /** e.g. "GOSHERVE_LOG_LEVEL=error" or "access_log off". */
  setting: z.string(),
});
export type RequestLogging = z.infer<typeof RequestLoggingSchema>;

export function parseServerLogs(text: string | undefined, flag = '--server-logs'): ServerLogs {
  if (text === undefined) return DEFAULT_SERVER_LOGS;
  const r = ServerLogsSchema.safeParse(text);
  if (!r.success)
    throw new UsageError(`${flag}: unknown mode "${text}"`, "valid: shipped (each server's own defaults), quiet (per-request logging off in every server)");
  return r.data;
}

/** A level-variable server (gosherve, servy): info logs each request, error logs none. */
export function levelLogging(variable: string, mode: ServerLogs): { env: Record<string, string>; logging: RequestLogging } {
  const level = mode === 'quiet' ? 'error' : 'info';
  return { env: { [variable]: level }, logging: { perRequest: level === 'info', setting: `${variable}=${level}` } };
}

/** One line for a report header: the mode and, per server, its setting. */
export function describeServerLogs(
  mode: ServerLogs | undefined,
  logging: Readonly<Record<string, RequestLogging>> | undefined,
  impls: readonly string[],
): string {
  const m = mode ?? 'shipped';
  const per = impls.filter((i) => logging?.[i] !== undefined).map((i) => `${i} ${(logging as Record<string, RequestLogging>)[i]!.setting}`);
  const head = m === 'quiet' ? 'quiet (per-request logging off)' : "shipped (each server's own defaults)";
  return `server logs: ${head}${mode === undefined ? ' [not recorded: runs before --server-logs logged as shipped]' : ''}${per.length > 0 ? `: ${per.join(', ')}` : ''}`;
}

/**
 * The warning a report gives when the servers compared did not log alike: who logged every request
 * and who did not. Null when they agree, or when the run did not record it.
 */
export function loggingDiffers(logging: Readonly<Record<string, RequestLogging>> | undefined, impls: readonly string[]): string | null {
  if (logging === undefined) return null;
  const known = impls.filter((i) => logging[i] !== undefined);
  const loud = known.filter((i) => logging[i]!.perRequest);
  const quiet = known.filter((i) => !logging[i]!.perRequest);
  if (loud.length === 0 || quiet.length === 0) return null;
  return `the servers compared log differently: ${loud.join(', ')} wrote a line per request, ${quiet.join(', ')} did not; logging is part of their numbers (run with --server-logs quiet to compare serving alone)`;
}
