// Lint rules: typescript-eslint's recommended set over the library, tests and benchmarks.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.gpu/', 'bench/results/', 'test/e2e/screenshots/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  // Build scripts run in Node.
  { files: ['scripts/**/*.mjs'], languageOptions: { globals: globals.node } },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Generated kernels are compiled with `new Function`; the few places that do it say why.
      '@typescript-eslint/no-implied-eval': 'off',
    },
  },
);
