// The load relay between k6test on a server machine and the driver, for a hosts-file size with a
// separate generator machine: k6test's engine asks for each load run with one marked JSON line on
// stderr and gets the LoadResult back as one marked JSON line on stdin (the SSH channel stays open
// for it); the driver runs wrk/k6 on the generator machine in between (hosts/generator.ts). Both
// sides import this wire, validated with zod.
import { z } from 'zod';
import type { LoadEngine, LoadOptions, LoadResult } from '../contracts.js';
import { BenchError, ExitCode } from '../errors.js';
import { EngineNameSchema, LatencySchema, WarningCodeSchema, type EngineName } from '../results/schema.js';

/** k6test → driver (stderr): run this load. */
export const LOAD_REQUEST_MARK = 'SERVER_BENCH_LOAD_REQUEST ';
/** driver → k6test (stdin): its result. */
export const LOAD_REPLY_MARK = 'SERVER_BENCH_LOAD_REPLY ';

export const LoadRequestSchema = z
  .object({
    id: z.number().int().nonnegative(),
    engine: EngineNameSchema,
    /** The server as k6test reaches it (http://127.0.0.1:8080): the driver points it at the server's address. */
    baseUrl: z.string().url(),
    targets: z.object({
      paths: z.array(z.string()),
      redirects: z.array(z.object({ alias: z.string().min(1), target: z.string() })),
    }),
    vus: z.number().int().positive(),
    connections: z.number().int().positive(),
    durationSeconds: z.number().positive(),
  })
  .strict();
export type LoadRequest = z.infer<typeof LoadRequestSchema>;

const LoadResultSchema = z.object({
  engine: EngineNameSchema,
  engineVersion: z.string(),
  durationSeconds: z.number().nonnegative(),
  requests: z.number().nonnegative(),
  bytes: z.number().nonnegative(),
  latencyMs: LatencySchema,
  statusCounts: z.record(z.string(), z.number()),
  failedChecks: z.number().nonnegative(),
  errors: z.number().nullable(),
  loadgenCpuSeconds: z.number().nullable(),
  raw: z.unknown(),
  warnings: z.array(z.object({ code: WarningCodeSchema, message: z.string() })).optional(),
});

const LoadReplySchema = z.discriminatedUnion('ok', [
  z.object({ id: z.number().int(), ok: z.literal(true), result: LoadResultSchema }),
  z.object({ id: z.number().int(), ok: z.literal(false), message: z.string(), fix: z.string() }),
]);
export type LoadReply = z.infer<typeof LoadReplySchema>;

/** The marked line's JSON, or null when the line is not one. */
export function markedJson(line: string, mark: string): unknown {
  const i = line.indexOf(mark);
  if (i < 0) return null;
  try {
    return JSON.parse(line.slice(i + mark.length)) as unknown;
  } catch {
    return null;
  }
}

/**
 * k6test's side: an engine whose runs go to the driver. `send` writes one line to the driver;
 * `receive` is given every later stdin line; `end` when stdin closes (the driver went away).
 */
export function loadRelay(name: EngineName, send: (line: string) => void): { engine: LoadEngine; receive(line: string): void; end(): void } {
  let next = 0;
  let ended = false;
  const pending = new Map<number, { resolve: (r: LoadResult) => void; reject: (e: Error) => void }>();
  const engine: LoadEngine = {
    name,
    async check() {
      return null;
    },
    async version() {
      return 'on the generator machine';
    },
    run(opts: LoadOptions): Promise<LoadResult> {
      if (ended) return Promise.reject(new BenchError('k6test: the driver closed the load relay', 'the run was stopped', ExitCode.interrupted));
      const id = next++;
      const req: LoadRequest = {
        id,
        engine: name,
        baseUrl: opts.baseUrl,
        targets: opts.targets,
        vus: opts.vus,
        connections: opts.connections,
        durationSeconds: opts.durationSeconds,
      };
      const started = Date.now();
      const ticker = setInterval(() => opts.onProgress?.({ elapsedSeconds: Math.round((Date.now() - started) / 100) / 10 }), 1_000);
      const done = new Promise<LoadResult>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        opts.signal?.addEventListener('abort', () => reject(opts.signal?.reason instanceof Error ? opts.signal.reason : new Error('interrupted')), {
          once: true,
        });
      });
      send(`${LOAD_REQUEST_MARK}${JSON.stringify(LoadRequestSchema.parse(req))}`);
      return done.finally(() => {
        clearInterval(ticker);
        pending.delete(id);
      });
    },
  };
  return {
    engine,
    receive(line) {
      const data = markedJson(line, LOAD_REPLY_MARK);
      if (data === null) return;
      const r = LoadReplySchema.safeParse(data);
      if (!r.success) return;
      const p = pending.get(r.data.id);
      if (!p) return;
      if (r.data.ok) p.resolve(r.data.result as LoadResult);
      else p.reject(new BenchError(r.data.message, r.data.fix, ExitCode.failure));
    },
    end() {
      ended = true;
      for (const p of pending.values())
        p.reject(new BenchError('k6test: the driver closed the load relay mid-run', 'the cell was not stored', ExitCode.interrupted));
      pending.clear();
    },
  };
}
