// typescript-eslint, type-aware. The point is promises: one nobody awaits, or one handed to a place
// that ignores what a callback returns, is an error (a lost rejection in a bench loop is a silent
// wrong number). Formatting is Prettier's business, not the linter's.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Node's globals for plain .mjs scripts (no `globals` package for this handful).
const node = { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly' };

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'reports/**', '**/fixtures/**', '.cache/**', 'test-artifacts/**', 'result/**', 'result-*/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
      // Off: rules of the recommended type-checked set that found 200 places when this config came
      // (first count after each), mostly data that JSON.parse hands back as `any` in tests (the
      // no-unsafe-* family), async functions that await nothing because an interface wants a
      // promise, methods passed where `this` is never read, and assertions a later type change made
      // redundant. None is a bug; turning one on is a cleanup of its own.
      '@typescript-eslint/no-unsafe-member-access': 'off', // 52
      '@typescript-eslint/no-unsafe-assignment': 'off', // 30
      '@typescript-eslint/no-unsafe-return': 'off', // 25
      '@typescript-eslint/no-unsafe-call': 'off', // 18
      '@typescript-eslint/no-unsafe-argument': 'off', // 1
      '@typescript-eslint/require-await': 'off', // 20
      '@typescript-eslint/no-unnecessary-type-assertion': 'off', // 19
      '@typescript-eslint/unbound-method': 'off', // 8
      '@typescript-eslint/no-base-to-string': 'off', // 3
      '@typescript-eslint/prefer-promise-reject-errors': 'off', // 2
      '@typescript-eslint/only-throw-error': 'off', // 1: errors.ts rethrows what it caught
      '@typescript-eslint/no-redundant-type-constituents': 'off', // 1: a union that documents its known values
    },
  },
  {
    // Plain JavaScript: no type information to lint with.
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  { files: ['**/*.mjs', 'eslint.config.js'], languageOptions: { globals: node } },
  // k6 runs k6/script.js in its own JavaScript runtime, with these globals.
  { files: ['k6/**/*.js'], languageOptions: { globals: { __ENV: 'readonly', __VU: 'readonly', __ITER: 'readonly', open: 'readonly' } } },
);
