// matrix/guest.json as validated data: what every benchmark guest has in common (paths, the map
// server, the server and map units' settings, hardening). The NixOS guest reads the same file
// (nix/guest-paths.nix, vm.nix); the Debian image renders its units from it (units.ts).
import { z } from 'zod';
import guestFile from '../../../../matrix/guest.json' with { type: 'json' };
import { InputError } from '../../errors.js';

/** A systemd setting's value as the JSON holds it: lists are one line per item, as NixOS writes them. */
const UnitValueSchema = z.union([z.string(), z.number().int(), z.boolean(), z.array(z.string())]);
export type UnitValue = z.infer<typeof UnitValueSchema>;
const Settings = z.record(z.string().regex(/^[A-Z][A-Za-z]+$/), UnitValueSchema);

const AbsPath = z.string().regex(/^\/[^\s]*$/, 'an absolute path without spaces');

const GuestSpecSchema = z.object({
  paths: z
    .object({
      webroot: AbsPath,
      nginxPrefix: AbsPath,
      mapDir: AbsPath,
      outDir: AbsPath,
      shared: AbsPath,
      hostKey: AbsPath,
    })
    .strict(),
  mapServer: z.object({ host: z.string().min(1), port: z.number().int().positive() }).strict(),
  serverUnit: Settings,
  mapUnit: Settings,
  hardening: Settings,
});
export type GuestSpec = z.infer<typeof GuestSpecSchema>;

function parseGuestSpec(data: unknown): GuestSpec {
  const r = GuestSpecSchema.safeParse(data);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new InputError(
      `matrix/guest.json is invalid: ${issue?.message ?? 'bad shape'} at ${issue?.path.join('.') || '(top)'}`,
      'fix matrix/guest.json; vm.nix reads the same file',
    );
  }
  return r.data;
}

export const GUEST: GuestSpec = parseGuestSpec(guestFile);

/** The map server's URLs inside the guest (what /etc/server-bench/vm.json names). */
export function mapUrls(g: GuestSpec = GUEST): { mapUrl: string; mapFetchesUrl: string; mapFetchesResetUrl: string } {
  const base = `http://${g.mapServer.host}:${g.mapServer.port}`;
  return { mapUrl: `${base}/redirects.txt`, mapFetchesUrl: `${base}/fetches`, mapFetchesResetUrl: `${base}/fetches/reset` };
}
