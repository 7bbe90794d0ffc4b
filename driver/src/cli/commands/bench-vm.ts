// `server-bench bench --backend vm` as a module of its own, for callers that import the VM
// backend's command directly (its test suites do): the one bench command (bench.ts), with
// --backend vm unless the arguments say otherwise. No flags or help of its own.
import { main as benchMain } from './bench.js';

export { vmLogging } from '../../vm/backend.js';

export function main(argv: string[]): Promise<number> {
  const named = argv.some((a) => a === '--backend' || a.startsWith('--backend='));
  return benchMain(named ? argv : ['--backend', 'vm', ...argv]);
}
