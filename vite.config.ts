// Demo page build: index.html at the root, bundled into dist/demo (ignored by git and the linters).
import { defineConfig } from 'vite';

export default defineConfig({
  build: {
    outDir: 'dist/demo',
    emptyOutDir: true,
    target: 'es2022',
    // mathjs and KaTeX make one large chunk; the page is a tool, loaded once.
    chunkSizeWarningLimit: 2500,
  },
  // WebGPU needs a secure context: localhost is one, a LAN address is not.
  server: { host: 'localhost' },
  preview: { host: 'localhost' },
});
