// The driver's end of the load relay (guest/load-relay.ts): one cell sent to `k6test --spec -
// --relay-load CPUS` with its stdin kept open; each load request k6test writes on stderr is run by
// `runLoad` (on the generator machine) and answered on that stdin, a failure as a one-line reply
// that fails the cell there. Stdin closes when k6test ends, after every answer is written.
import { PassThrough } from 'node:stream';
import type { LoadResult } from '../contracts.js';
import { BenchError, ExitCode } from '../errors.js';
import { LOAD_REPLY_MARK, LOAD_REQUEST_MARK, LoadRequestSchema, markedJson, type LoadReply, type LoadRequest } from '../guest/load-relay.js';
import type { CellSpec } from '../run/cellspec.js';
import type { CellHooks } from '../run/loop.js';
import { execCell } from '../vm/backend.js';
import type { SshSession } from '../vm/ssh.js';

/** k6test's command with the load relayed to the generator machine's `cpus`. */
export function relayCommand(cpus: readonly number[]): string {
  return `k6test --spec - --relay-load ${cpus.join(',')}`;
}

async function answer(line: string, runLoad: () => (req: LoadRequest) => Promise<LoadResult>): Promise<LoadReply> {
  const parsed = LoadRequestSchema.safeParse(markedJson(line, LOAD_REQUEST_MARK));
  if (!parsed.success)
    return { id: -1, ok: false, message: 'the driver could not read the load request', fix: 'provision the machine from the same revision as the driver' };
  try {
    return { id: parsed.data.id, ok: true, result: await runLoad()(parsed.data) };
  } catch (err) {
    const e = err instanceof BenchError ? err : null;
    return { id: parsed.data.id, ok: false, message: e ? e.message : String(err), fix: e ? e.hint : 'check the generator machine' };
  }
}

export async function execRelayedCell(
  session: SshSession,
  command: string,
  spec: CellSpec,
  remoteOut: string,
  hooks: CellHooks,
  label: string,
  /** Runs one load; `signal` aborts when the cell is interrupted or k6test has ended (nobody waits for it then). */
  runLoad: (req: LoadRequest, signal: AbortSignal) => Promise<LoadResult>,
): ReturnType<typeof execCell> {
  const input = new PassThrough();
  const replies: Promise<void>[] = [];
  const ended = new AbortController();
  const signal = hooks.signal ? AbortSignal.any([hooks.signal, ended.signal]) : ended.signal;
  try {
    return await execCell(session, command, spec, remoteOut, hooks, label, {
      input,
      take: (l) => {
        if (!l.includes(LOAD_REQUEST_MARK)) return false;
        replies.push(answer(l, () => (req) => runLoad(req, signal)).then((reply) => void input.write(`${LOAD_REPLY_MARK}${JSON.stringify(reply)}\n`)));
        return true;
      },
    });
  } finally {
    ended.abort(new BenchError('k6test ended', 'nothing to do', ExitCode.interrupted));
    await Promise.all(replies);
    input.end();
  }
}
