// matrix/sizes.json and matrix/impls.json as validated data: the one place machine sizes and the
// implementations' shared facts (ports, metric prefixes, environment, VM unit) are written. The
// flake reads the same files (nix/sizes.nix, nix/impls.nix: builtins.fromJSON); driver/test/nix.test.ts
// evaluates both sides and compares. Validated here, where the files enter TypeScript.
import { z } from 'zod';
import implsFile from '../../../matrix/impls.json' with { type: 'json' };
import sizesFile from '../../../matrix/sizes.json' with { type: 'json' };
import { InputError } from '../errors.js';
import { SizeSchema, type Size } from '../results/schema.js';

function parseMatrixFile<T extends z.ZodType>(file: string, schema: T, data: unknown): z.infer<T> {
  const r = schema.safeParse(data);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new InputError(
      `${file} is invalid: ${issue?.message ?? 'bad shape'} at ${issue?.path.join('.') || '(top)'}`,
      `fix ${file}; nix/ reads the same file`,
    );
  }
  return r.data;
}

// ---------------------------------------------------------------- sizes

export const SizesFileSchema = z.object({
  guest: z.object({
    // The guest OS (kernel, systemd, journald, sshd, the map server) beside the server's memory.
    osMemoryMiB: z.number().int().positive(),
    // k6's memory per load-generator vCPU.
    loadgenMemoryMiBPerCpu: z.number().int().positive(),
    // Root disk (sparse): the site copy, the journal and k6test's output.
    diskSizeMiB: z.number().int().min(1024),
  }),
  sizes: z
    .array(SizeSchema.extend({ loadgenCpus: z.number().int().positive() }).strict())
    .min(1)
    .refine((s) => new Set(s.map((x) => x.name)).size === s.length, 'size names must be unique')
    .refine((s) => s.every((x) => x.name === String(x.cpus)), 'a size is named by its vCPU count (name = cpus)'),
});

const sizes = parseMatrixFile('matrix/sizes.json', SizesFileSchema, sizesFile);

/** The sizes in file order, as the harness uses them (server cores, memory, VUs). */
export const MATRIX_SIZES: readonly Size[] = sizes.sizes.map(({ name, cpus, memoryMiB, vus }) => ({ name, cpus, memoryMiB, vus }));

/** A size as a VM runs it: what nix/sizes.nix evaluates to, and what a guest's size.json is made from. */
export interface VmSize extends Size {
  /** k6's own vCPUs (after the server's). */
  loadgenCpus: number;
  diskSizeMiB: number;
  vmCores: number;
  vmMemoryMiB: number;
  /** The server unit's CPUs (systemd AllowedCPUs=): 0..cpus-1. */
  serverCpuList: number[];
  loadgenCpuList: number[];
}

/** The VM shape of a size; the same arithmetic as nix/sizes.nix (compared in driver/test/nix.test.ts). */
export function vmSizeOf(name: string): VmSize {
  const s = sizes.sizes.find((x) => x.name === name);
  if (!s) throw new InputError(`unknown size "${name}"`, `matrix/sizes.json has ${sizes.sizes.map((x) => x.name).join(', ')}`);
  const g = sizes.guest;
  return {
    ...s,
    diskSizeMiB: g.diskSizeMiB,
    vmCores: s.cpus + s.loadgenCpus,
    vmMemoryMiB: s.memoryMiB + g.osMemoryMiB + s.loadgenCpus * g.loadgenMemoryMiBPerCpu,
    serverCpuList: Array.from({ length: s.cpus }, (_, i) => i),
    loadgenCpuList: Array.from({ length: s.loadgenCpus }, (_, i) => s.cpus + i),
  };
}

// ---------------------------------------------------------------- implementations

/**
 * Placeholders an implementation's environment and unit arguments may hold, filled by whoever starts
 * it: the local backend (impls.ts), the flake (nix/impls.nix) and a guest image builder.
 */
const PLACEHOLDERS = ['webroot', 'mapUrl', 'host', 'cpus', 'sitePort', 'metricsPort', 'nginxConf'] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];

const Template = z.string().refine((s) => [...s.matchAll(/@([A-Za-z]+)@/g)].every((m) => (PLACEHOLDERS as readonly string[]).includes(m[1] ?? '')), {
  message: `unknown placeholder; known: ${PLACEHOLDERS.map((p) => `@${p}@`).join(' ')}`,
});

const ImplSpecSchema = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9-]*$/),
    description: z.string().min(1),
    reference: z.boolean(),
    sitePort: z.number().int().positive(),
    metricsPort: z.number().int().positive().nullable(),
    metricPrefix: z.string().min(1).nullable(),
    environment: z.record(z.string().regex(/^[A-Z][A-Z0-9_]*$/), Template),
    unit: z
      .object({
        /** The systemd unit in a VM (started by k6test). */
        name: z.string().regex(/^bench-[a-z0-9-]+$/),
        /** Which package provides the executable (a key the VM build maps to a path). */
        package: z.string().min(1),
        /** The executable, relative to the package. */
        executable: z.string().regex(/^[^/]/),
        args: z.array(Template),
        /** systemd MemoryDenyWriteExecute=; false where a JIT needs writable code pages (Node). */
        memoryDenyWriteExecute: z.boolean(),
      })
      .strict(),
  })
  .strict()
  .refine((i) => (i.metricsPort === null) === (i.metricPrefix === null), 'metricsPort and metricPrefix are both set or both null')
  .refine((i) => i.unit.name === `bench-${i.name}`, 'unit.name must be bench-<name>');

export const ImplsFileSchema = z.object({
  impls: z
    .array(ImplSpecSchema)
    .min(1)
    .refine((a) => new Set(a.map((i) => i.name)).size === a.length, 'implementation names must be unique'),
});

export type ImplSpec = z.infer<typeof ImplSpecSchema>;

/** Every implementation's shared facts, in the default interleaving order. */
export const IMPL_SPECS: readonly ImplSpec[] = parseMatrixFile('matrix/impls.json', ImplsFileSchema, implsFile).impls;

export function implSpec(name: string): ImplSpec {
  const spec = IMPL_SPECS.find((i) => i.name === name);
  if (!spec) throw new InputError(`matrix/impls.json has no implementation "${name}"`, `it has ${IMPL_SPECS.map((i) => i.name).join(', ')}`);
  return spec;
}

/** Fills the @placeholders@ of a template; one that has no value is an error, not an empty string. */
export function fillTemplate(template: string, values: Partial<Record<Placeholder, string | number>>): string {
  return template.replace(/@([A-Za-z]+)@/g, (_, key: string) => {
    const v = values[key as Placeholder];
    if (v === undefined) throw new InputError(`no value for @${key}@ in "${template}"`, 'pass it where the implementation is started');
    return String(v);
  });
}

/** An implementation's environment with its placeholders filled (its own ports are always known). */
export function implEnvironment(spec: ImplSpec, values: Partial<Record<Placeholder, string | number>>): Record<string, string> {
  const all = { sitePort: spec.sitePort, ...(spec.metricsPort === null ? {} : { metricsPort: spec.metricsPort }), ...values };
  return Object.fromEntries(Object.entries(spec.environment).map(([k, v]) => [k, fillTemplate(v, all)]));
}
