// GET and HEAD once more when the connection closed before any answer came (undici's
// UND_ERR_SOCKET, ECONNRESET, EPIPE). A server may close an idle keep-alive connection at the moment
// the client reuses it, and then the client may retry an idempotent request on a new connection
// (RFC 9112 section 9.3.1). Seen under TCG, where a stalled guest CPU stretches the client's pause
// past tsherve's keepAliveTimeout: the crawl of a real VM bench failed with UND_ERR_SOCKET. Any other
// failure, a timeout included, and a second close are the caller's error as before.

const CLOSED = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE']);

function closedBeforeAnswer(err: unknown): boolean {
  const e = err as { name?: string; cause?: { code?: string } } | null;
  return e?.name === 'TypeError' && CLOSED.has(e.cause?.code ?? '');
}

export async function fetchIdempotent(url: string | URL, init: RequestInit & { method?: 'GET' | 'HEAD' } = {}): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (err) {
    if (!closedBeforeAnswer(err) || init.signal?.aborted) throw err;
    return fetch(url, init);
  }
}
