// The default machine sizes, as in the original post: one source (matrix/sizes.json, read by
// matrix-files.ts) for the local backend, the VM backend and the flake (nix/sizes.nix).
import { MATRIX_SIZES } from './matrix-files.js';
import type { Size } from '../results/schema.js';

export const DEFAULT_SIZES: readonly Size[] = MATRIX_SIZES;
