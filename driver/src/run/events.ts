// The vocabulary a run speaks while it goes, whichever backend runs its cells: the events the loop
// emits for progress (progress.ts renders them; nothing here prints) and the error an interrupted
// run ends with.
import { basename } from 'node:path';
import type { CellPhase } from './cell.js';
import { BenchError, ExitCode } from '../errors.js';
import type { CellResult } from '../results/schema.js';

export type BenchEvent =
  | { kind: 'info'; message: string }
  | { kind: 'skip'; impl: string; size: string; reason: string }
  | { kind: 'run'; runDir: string; cells: number; resumed: number }
  | { kind: 'phase'; index: number; total: number; cellId: string; phase: CellPhase; detail?: string; elapsedSeconds: number; remainingSeconds: number }
  | { kind: 'live'; index: number; total: number; cellId: string; phase: 'warmup' | 'measure'; elapsedSeconds: number; totalSeconds: number; requests?: number }
  | { kind: 'cell-done'; index: number; total: number; result: CellResult }
  | { kind: 'cell-skipped'; index: number; total: number; cellId: string; reason: string };

export type BenchEvents = (e: BenchEvent) => void;

export class InterruptedError extends BenchError {
  override readonly name = 'InterruptedError';
  /** `resumable`: the backend can continue the run (local: --resume); the VM backend cannot yet. */
  constructor(runDir: string | null, resumable = true) {
    super(
      'interrupted',
      runDir === null
        ? ''
        : resumable
          ? `finished cells are kept in ${runDir}; continue with --resume ${basename(runDir)}`
          : `finished cells are kept in ${runDir} (server-bench report ${runDir} renders them); the VM backend has no --resume, so run the missing cells again`,
      ExitCode.interrupted,
    );
  }
}
