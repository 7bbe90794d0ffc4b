// The built command line as the end-to-end tests start it: where the repository and the CLI are,
// that it is built, and the one line a refused command prints.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { expect } from 'vitest';

export const ROOT = join(dirname(new URL(import.meta.url).pathname), '..', '..', '..');
export const CLI = join(ROOT, 'dist', 'driver', 'src', 'cli', 'main.js');

/** A suite that runs the CLI as a process says how to build it when it is missing. */
export function assertCliBuilt(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first (npm test does)`);
}

/** The one `server-bench: …` line of stderr (fails when there are none or several). */
export function oneLine(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l.startsWith('server-bench: '));
  expect(lines, stderr).toHaveLength(1);
  return lines[0] as string;
}
