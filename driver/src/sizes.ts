// The default machine sizes, as in the original post: one source for the local backend, the
// VM backend and the flake (flake's copy lives in nix/sizes.nix and is checked against this).
import type { Size } from './schema.js';

export const DEFAULT_SIZES: readonly Size[] = [
  { name: '1', cpus: 1, memoryMiB: 256, vus: 1 },
  { name: '2', cpus: 2, memoryMiB: 4096, vus: 10 },
  { name: '16', cpus: 16, memoryMiB: 16384, vus: 10 },
];
