// Builds the benchmark page (bench/page), apart from the demo's root index.html, into a cache directory
// that git, ESLint and Prettier all leave alone.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: `${here}page`,
  base: './',
  logLevel: 'warn',
  build: {
    outDir: `${here}../node_modules/.cache/webgrad-bench/page`,
    emptyOutDir: true,
    target: 'es2022',
    // One bundle of webgrad and both peers: the size warning says nothing useful here.
    chunkSizeWarningLimit: 8192,
  },
});
