// A metrics scrape across workers (processes or threads alike): ask each for its snapshot, wait
// for every answer or SCRAPE_TIMEOUT_MS, merge with the coordinator's own runtime figures. The
// message shapes are plain data and are checked field by field where they arrive.
import { isInt, isObject } from './checks.js';
import type { Logger } from './log.js';
import { mergeSnapshots, parseSnapshot, type ProcessMonitor, type Snapshot } from './metrics.js';

/** How long a scrape waits for the workers; a worker that has not answered by then is left out. */
const SCRAPE_TIMEOUT_MS = 2_000;

/** Worker → coordinator messages. */
export type WorkerMessage =
  | { type: 'tsherve:ready'; port: number }
  | { type: 'tsherve:fatal'; line: string; exitCode: number }
  | { type: 'tsherve:metrics'; id: number; snapshot: Snapshot | null };

/** Coordinator → worker: "send your snapshot, answering with this id", or "drain and exit". */
export type CoordinatorMessage = { type: 'tsherve:scrape'; id: number } | { type: 'tsherve:shutdown' };

export function parseWorkerMessage(raw: unknown): WorkerMessage | null {
  if (!isObject(raw)) return null;
  switch (raw.type) {
    case 'tsherve:ready':
      return isInt(raw.port, 1, 65535) ? { type: raw.type, port: raw.port } : null;
    case 'tsherve:fatal':
      return typeof raw.line === 'string' && isInt(raw.exitCode, 0, 255) ? { type: raw.type, line: raw.line, exitCode: raw.exitCode } : null;
    case 'tsherve:metrics':
      return isInt(raw.id, 0, Number.MAX_SAFE_INTEGER) ? { type: raw.type, id: raw.id, snapshot: parseSnapshot(raw.snapshot) } : null;
    default:
      return null;
  }
}

export function parseCoordinatorMessage(raw: unknown): CoordinatorMessage | null {
  if (!isObject(raw)) return null;
  if (raw.type === 'tsherve:scrape') return isInt(raw.id, 0, Number.MAX_SAFE_INTEGER) ? { type: raw.type, id: raw.id } : null;
  if (raw.type === 'tsherve:shutdown') return { type: raw.type };
  return null;
}

/** A worker as the scraper sees it: an id and a way to send it a message. */
export interface ScrapeTarget {
  id: number;
  send(message: CoordinatorMessage): void;
}

interface Pending {
  expected: Set<number>;
  got: Snapshot[];
  done: () => void;
}

export class Scraper {
  private next = 0;
  private readonly pending = new Map<number, Pending>();

  constructor(
    private readonly monitor: ProcessMonitor,
    private readonly log: Logger,
  ) {}

  /** Every target's snapshot (those answering in time), merged with this process's figures. */
  scrape(targets: readonly ScrapeTarget[]): Promise<Snapshot> {
    return new Promise((resolveScrape) => {
      const id = this.next++;
      const p: Pending = { expected: new Set(targets.map((t) => t.id)), got: [], done: () => {} };
      const timer = setTimeout(() => p.done(), SCRAPE_TIMEOUT_MS);
      p.done = () => {
        clearTimeout(timer);
        this.pending.delete(id);
        if (p.expected.size > 0) this.log.warn('workers did not answer a metrics scrape in time', { missing: p.expected.size, timeoutMs: SCRAPE_TIMEOUT_MS });
        resolveScrape(mergeSnapshots(p.got, [this.monitor.sample()]));
      };
      this.pending.set(id, p);
      if (targets.length === 0) return p.done();
      for (const t of targets) t.send({ type: 'tsherve:scrape', id });
    });
  }

  /** A worker's answer. */
  answer(workerId: number, m: Extract<WorkerMessage, { type: 'tsherve:metrics' }>): void {
    const p = this.pending.get(m.id);
    if (p === undefined) return; // answered after its scrape timed out
    p.expected.delete(workerId);
    if (m.snapshot !== null) p.got.push(m.snapshot);
    if (p.expected.size === 0) p.done();
  }

  /** A worker is gone: scrapes in flight stop waiting for it. */
  forget(workerId: number): void {
    for (const p of [...this.pending.values()]) if (p.expected.delete(workerId) && p.expected.size === 0) p.done();
  }
}
