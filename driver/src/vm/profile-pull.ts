// bench --profile --backend vm: a profiled cell pulled from the guest carries profile.proto and
// profile.folded beside its result.json (the guest's recorder, profile/recorder.ts, wrote them);
// they go into the run's cell folder, where the reports read them as they read a local profile.
import { existsSync } from 'node:fs';
import { copyFile, mkdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { BenchError, ExitCode } from '../errors.js';
import { FOLDED_FILE, PROFILE_FILE } from '../results/layout.js';
import type { ProfileInfo } from '../results/schema.js';

/** The profile files a result names, checked to be the two plain names the recorder writes. */
export function profileFileNames(info: Pick<ProfileInfo, 'files'>): string[] {
  const names = [info.files.pprof, info.files.folded];
  for (const n of names) {
    if (n !== basename(n) || (n !== PROFILE_FILE && n !== FOLDED_FILE)) {
      throw new BenchError(
        `the VM's result names a profile file "${n}"`,
        `the guest writes ${PROFILE_FILE} and ${FOLDED_FILE}; rebuild the VM from the same revision as the driver`,
        ExitCode.failure,
      );
    }
  }
  return names;
}

/**
 * Copy a pulled cell's profile files from `from` (the staging cell folder) into `to` (the run's);
 * returns the names that did not come back (the cell is kept; the caller warns).
 */
export async function importProfileFiles(from: string, to: string, info: Pick<ProfileInfo, 'files'>): Promise<string[]> {
  const names = profileFileNames(info);
  const missing = names.filter((n) => !existsSync(join(from, n)));
  await mkdir(to, { recursive: true });
  for (const n of names) if (!missing.includes(n)) await copyFile(join(from, n), join(to, n));
  return missing;
}
