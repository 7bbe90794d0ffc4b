// CellSpec, the contract for one cell: which implementation at which size and repetition, whether
// the verification gate runs first, the engine and load generator placement, whether it is
// profiled, and every cell option
// (cell-options.ts). The loop makes one per cell; the local backend runs it in this process, the
// VM backend sends it as JSON to `k6test --spec -` in the guest, which validates it with this same
// schema (k6test's own flags are a second way to write one). Host and guest both import this file.
import { z } from 'zod';
import { InputError } from '../errors.js';
import { cellId, EngineNameSchema, LoadgenSchema, ProfileSettingsSchema, SCHEMA_VERSION, SizeSchema } from '../results/schema.js';
import { cellOptionsShape } from './cell-options.js';

export const CellSpecSchema = z.strictObject({
  schemaVersion: z.literal(SCHEMA_VERSION),
  impl: z.string().min(1),
  size: SizeSchema,
  rep: z.number().int().positive(),
  /** Position in the run's execution order, 0-based. */
  order: z.number().int().nonnegative(),
  /** Run the verification gate first (the first repetition of each implementation × size does). */
  verify: z.boolean(),
  engine: EngineNameSchema,
  loadgen: LoadgenSchema,
  /** Where a VM's k6test writes the cell (null: its default out folder); the local backend writes into the run folder. */
  out: z.string().nullable(),
  /** bench --profile: record this cell's server with perf at these settings; null for every other cell. */
  profile: ProfileSettingsSchema.pick({ hz: true, callGraph: true }).nullable(),
  ...cellOptionsShape(),
});
export type CellSpec = z.infer<typeof CellSpecSchema>;

export function specId(spec: Pick<CellSpec, 'impl' | 'size' | 'rep'>): string {
  return cellId(spec.impl, spec.size.name, spec.rep);
}

/** The VUs a cell runs: --vus when given, else its size's. */
export function specVus(spec: Pick<CellSpec, 'vusOverride' | 'size'>): number {
  return spec.vusOverride ?? spec.size.vus;
}

/** A spec as JSON text (a file, stdin) → a CellSpec; anything else is an InputError naming the first problem. */
export function parseCellSpec(text: string, where: string): CellSpec {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new InputError(`the cell spec from ${where} is not JSON`, 'k6test --spec takes the JSON the driver writes (run/cellspec.ts)');
  }
  const r = CellSpecSchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new InputError(
      `the cell spec from ${where} is invalid: ${issue?.message ?? 'bad shape'}${issue?.path.length ? ` at ${issue.path.join('.')}` : ''}`,
      'the driver and the VM must come from one revision; rebuild the VM',
    );
  }
  return r.data;
}
