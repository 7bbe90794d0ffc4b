// Words the reports share so each says the same thing the same way: what a ratio is relative to
// (named once, in the heading, not after every ratio), and the load each size ran with in the
// engine's own terms (wrk opens connections; k6 runs virtual users).
import type { Results } from './results.js';

/** "gosherve", or "gosherve at 1 vCPU, nginx at 2 vCPU" when the sizes' references differ. */
export function referencesOf(results: Results): string {
  const refs = results.comparisons.filter((c) => c.reference !== null);
  const names = [...new Set(refs.map((c) => c.reference as string))];
  if (names.length === 0) return 'none';
  if (names.length === 1) return names[0] as string;
  return refs.map((c) => `${c.reference as string} at ${c.size} vCPU`).join(', ');
}

/** The load of a size: "6 connections" under wrk (VUs × 6 unless --connections), "1 VU" under k6. */
export function loadLabel(results: Results, vus: number): string {
  const config = results.run.config;
  if (config.engine === 'wrk') {
    const connections = config.connectionsOverride ?? vus * 6;
    return `${connections} connection${connections === 1 ? '' : 's'}`;
  }
  return `${vus} VU${vus === 1 ? '' : 's'}`;
}
