// A second file descriptor for a listening socket, without native code: Node has no dup(), but a
// descriptor received over an IPC channel (SCM_RIGHTS) is a new one. A short-lived child inherits
// the socket as its fd 4 and sends it straight back; the handle that arrives owns a descriptor of
// its own, so each worker thread can listen on — and later close — its own copy of one socket
// (closing a shared descriptor number from one thread would close it for all, and could close an
// unrelated file that reused the number). Relies on Node passing raw TCP handles over IPC
// ("net.Native"), which Node's own cluster module uses.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** A raw TCP handle (what net.Server keeps in _handle): net.Server.listen(handle) adopts it. */
export interface ListenHandle {
  readonly fd: number;
  close(callback?: () => void): void;
}

const CHILD = fileURLToPath(new URL('./listen-dup-child.js', import.meta.url));
const DUP_TIMEOUT_MS = 10_000;

function isListenHandle(h: unknown): h is ListenHandle {
  return (
    typeof h === 'object' &&
    h !== null &&
    typeof (h as { fd?: unknown }).fd === 'number' &&
    (h as { fd: number }).fd >= 0 &&
    typeof (h as { close?: unknown }).close === 'function'
  );
}

/** A new descriptor for the listening socket `fd` of this process, wrapped in a raw handle nobody polls yet. */
export function dupListener(fd: number, timeoutMs = DUP_TIMEOUT_MS): Promise<ListenHandle> {
  return new Promise((resolve, reject) => {
    const child = fork(CHILD, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc', fd], execArgv: [] });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the descriptor helper (${CHILD}) did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    // The IPC channel delivers in order and closes after the last message: a channel that closes
    // first means the child died or sent nothing ('exit' could overtake a message still in the pipe).
    child.once('disconnect', () => {
      clearTimeout(timer);
      reject(new Error(`the descriptor helper (${CHILD}) closed its channel without sending the socket (exit code ${child.exitCode ?? 'unknown'})`));
    });
    child.once('message', (m: unknown, handle: unknown) => {
      clearTimeout(timer);
      if ((m as { type?: unknown } | null)?.type !== 'tsherve:listen-handle' || !isListenHandle(handle)) {
        child.kill('SIGKILL');
        reject(new Error('the descriptor helper sent no socket'));
        return;
      }
      resolve(handle);
    });
  });
}
