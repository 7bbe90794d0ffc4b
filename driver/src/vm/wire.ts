// The host ↔ VM contract besides the cell itself (run/cellspec.ts): the VM's facts under
// /etc/server-bench (written by vm.nix, read by k6test), what `k6test --info` answers, and the
// outcome.json k6test leaves beside a cell for the driver to pull. Host and guest import this file.
import { z } from 'zod';
import { LoadgenSchema, SCHEMA_VERSION } from '../results/schema.js';

export const OUTCOME_FILE = 'outcome.json';

/** /etc/server-bench/size.json: the size this VM was built as, and which of its CPUs serve and load. */
export const VmSizeSchema = z.object({
  name: z.string().regex(/^[0-9]+$/),
  cpus: z.number().int().positive(),
  memoryMiB: z.number().int().positive(),
  vus: z.number().int().positive(),
  serverCpuList: z.array(z.number().int().nonnegative()),
  loadgenCpuList: z.array(z.number().int().nonnegative()),
  loadgen: LoadgenSchema.default('dedicated'),
});
export const VmImplSchema = z.object({
  name: z.string(),
  unit: z.string(),
  description: z.string().default(''),
  reference: z.boolean().default(false),
  sitePort: z.number().int().positive(),
  metricsPort: z.number().int().positive().nullable(),
  metricPrefix: z.string().nullable(),
});
export const VmPathsSchema = z.object({
  webroot: z.string(),
  mapUrl: z.string(),
  mapFetchesUrl: z.string(),
  mapFetchesResetUrl: z.string(),
  outDir: z.string(),
});
type VmSize = z.infer<typeof VmSizeSchema>;
export type VmImpl = z.infer<typeof VmImplSchema>;
type VmPaths = z.infer<typeof VmPathsSchema>;

export interface K6TestConfig {
  size: VmSize;
  impls: VmImpl[];
  paths: VmPaths;
}

/** What a k6test run leaves beside the cell files: the driver reads it after the SFTP pull. */
export const OutcomeSchema = z.object({
  schemaVersion: z.literal(SCHEMA_VERSION),
  cellId: z.string(),
  kind: z.enum(['done', 'skipped', 'failed']),
  reason: z.string().nullable(),
});
export type Outcome = z.infer<typeof OutcomeSchema>;

/** `k6test --info`: what the driver needs to know about the VM before running cells. */
export const InfoSchema = z.object({
  size: VmSizeSchema,
  impls: z.array(z.string()),
  outDir: z.string(),
  node: z.string(),
  engineVersion: z.string().nullable(),
  virt: z.string().nullable(),
  /** The site the VM serves (/etc/server-bench/site.json), when present. */
  site: z
    .object({
      files: z.number().int().nonnegative(),
      bytes: z.number().int().nonnegative(),
      aliases: z.number().int().nonnegative(),
      // What the generator was asked for (site.json from nix/gen-site.mjs); older images lack them.
      seed: z.number().int().optional(),
      targetBytes: z.number().int().positive().optional(),
    })
    .nullable()
    .default(null),
});
export type Info = z.infer<typeof InfoSchema>;
