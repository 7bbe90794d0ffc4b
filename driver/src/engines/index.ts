// Choosing a load engine: k6 when installed (the reference), else wrk; neither → an error that
// names the install command. An engine asked for by name must be installed.
import type { LoadEngine } from '../contracts.js';
import { EnvironmentError, UsageError } from '../errors.js';
import { K6_INSTALL_HINT, k6Engine } from './k6.js';
import { WRK_INSTALL_HINT, wrkEngine } from './wrk.js';

const ENGINES: Readonly<Record<'wrk' | 'k6', LoadEngine>> = { wrk: wrkEngine, k6: k6Engine };
export type EngineChoice = 'auto' | 'wrk' | 'k6';

export async function selectEngine(name: EngineChoice | string): Promise<LoadEngine> {
  if (name === 'auto') {
    if ((await k6Engine.check()) === null) return k6Engine;
    if ((await wrkEngine.check()) === null) return wrkEngine;
    throw new EnvironmentError('no load generator found: neither k6 nor wrk is installed', `${WRK_INSTALL_HINT}; or install k6: ${K6_INSTALL_HINT}`);
  }
  if (name !== 'wrk' && name !== 'k6') throw new UsageError(`--engine: unknown engine "${name}"`, 'use auto, wrk or k6');
  const engine = ENGINES[name];
  const problem = await engine.check();
  if (problem) throw new EnvironmentError(problem.replace(/:.*$/, ''), name === 'wrk' ? WRK_INSTALL_HINT : K6_INSTALL_HINT);
  return engine;
}
