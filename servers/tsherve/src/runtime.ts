// The one interface between tsherve and the JavaScript runtime it runs on (TSHERVE_RUNTIME): how
// a file's bytes are held, how a port listens, answers and shuts down. One small adapter per
// runtime implements it (runtime-node.ts: node:http; runtime-bun.ts: Bun.serve); everything else
// (configuration, site, routing, redirects, metrics, logging, workers) is shared.
import type { App } from './answer.js';
import type { ListenHandle } from './listen-dup.js';

export const RUNTIMES = ['node', 'bun'] as const;
export type RuntimeName = (typeof RUNTIMES)[number];

/** How long shutdown lets in-flight responses finish before closing what is left. */
export const DRAIN_MS = 10_000;

/** The runtime this process runs on. */
export function currentRuntime(): RuntimeName {
  return process.versions.bun !== undefined ? 'bun' : 'node';
}

/**
 * Where a port listens: an address (`setting` names the variable to change when it is taken;
 * `reusePort`: other worker processes bind it too, on runtimes whose portSharing is 'reuse-port'),
 * or a listening handle to adopt (a Node worker thread's own descriptor of the shared socket).
 */
export type ListenTarget = { port: number; host: string; setting: string; reusePort?: boolean } | { handle: ListenHandle };

export interface Listener {
  port: number;
  /** Stop accepting, let in-flight responses finish (a slow reader's download too) for up to DRAIN_MS, close the rest. */
  close(): Promise<void>;
}

/** `B`: the runtime's form of a file's bytes. */
export interface HttpRuntime<B> {
  readonly name: RuntimeName;
  /**
   * How worker processes share the site port: 'cluster' = the node:cluster primary owns the socket
   * and hands connections out; 'reuse-port' = each worker binds the port itself (SO_REUSEPORT) and
   * the kernel spreads connections, so with port 0 the first worker's port is given to the rest.
   */
  readonly portSharing: 'cluster' | 'reuse-port';
  /** A file's bytes as this runtime answers them fastest, made once at load. */
  toBody(bytes: Buffer): B;
  /** Part of a body for a 206 answer, without copying. */
  slice(body: B, start: number, endExclusive: number): B;
  /** Serve `app` on `target`; a port that cannot be bound is an EnvironmentError naming the setting. */
  listen(app: App<B>, target: ListenTarget): Promise<Listener>;
}

/** The adapter for `name`, loaded only when used (Node never loads the Bun adapter, nor Bun Node's). */
export async function loadRuntime(name: RuntimeName): Promise<HttpRuntime<unknown>> {
  if (name === 'bun') return (await import('./runtime-bun.js')).bunRuntime as HttpRuntime<unknown>;
  return (await import('./runtime-node.js')).nodeRuntime as HttpRuntime<unknown>;
}
