// What a port answers, whatever the runtime: the shared request handling (handler.ts, the metrics
// port) decides an Answer, and the runtime's adapter (runtime-node.ts, runtime-bun.ts) writes it.

/** `B`: how the runtime holds a file's bytes (a Buffer on Node, a Blob on Bun). */
export interface Answer<B> {
  readonly status: number;
  /** name, value, name, value, … (Node's writeHead takes the list as it is). */
  readonly headers: readonly string[];
  /** null: headers only (HEAD, 304, 301, 416). */
  readonly body: B | Uint8Array | null;
  /**
   * Made once and given for many requests (a file's 200, HEAD and 304 answers, the fixed error
   * answers): an adapter may keep a ready-made native form of it. Never mutated.
   */
  readonly fixed: boolean;
}

/** The request headers a file answer depends on; undefined = absent. */
export interface FileHeaders {
  ifNoneMatch: string | undefined;
  ifModifiedSince: string | undefined;
  range: string | undefined;
  ifRange: string | undefined;
}

/** Fills `out` from the runtime's own request object: each adapter reads headers its cheapest way. */
export type HeaderReader<N> = (req: N, out: FileHeaders) => FileHeaders;

/**
 * A port's request handling, runtime-neutral. The adapter calls answer() with its native request,
 * the method and the request target as sent (path and query: "/a%20b?x=1"), writes what comes
 * back (now, or when the promise settles), then calls done() with the status it wrote and the
 * performance.now() taken when the request arrived.
 */
export interface App<B> {
  answer<N>(req: N, method: string, url: string, read: HeaderReader<N>): Answer<B> | Promise<Answer<B>>;
  /** After the answer was handed to the socket: status counts, the duration histogram, the debug log. */
  done(method: string, url: string, status: number, t0: number): void;
  /**
   * Request paths, exactly as sent (without the query), that answer() would look up in a table
   * (a site's files): an adapter with a router of its own may route them natively and call the
   * route instead, skipping answer()'s parsing and lookup. The same answers, counted the same way.
   */
  readonly routes?: ReadonlyMap<string, Route<B>>;
  /** done() logs the request target (log level debug): an adapter routing natively must then pass the full target, query included. */
  readonly logsRequests: boolean;
}

/** One table entry of App.routes: answers any method, as answer() would for its path. */
export interface Route<B> {
  answer<N>(req: N, method: string, read: HeaderReader<N>): Answer<B>;
}

export function isPending<B>(a: Answer<B> | Promise<Answer<B>>): a is Promise<Answer<B>> {
  return (a as { then?: unknown }).then !== undefined;
}

/** A plain-text answer (error pages, the metrics text). */
export function textAnswer(
  status: number,
  text: string,
  contentType = 'text/plain; charset=utf-8',
  fixed = false,
  extraHeaders: readonly string[] = [],
): Answer<never> {
  const body = Buffer.from(text);
  return { status, headers: [...extraHeaders, 'Content-Type', contentType, 'Content-Length', String(body.length)], body, fixed };
}
