// npm run bench:node: bundles bench/node-gpu.ts with esbuild exactly as ../shared/gpu/prepare.sh does
// (TensorFlow.js's ES modules use extensionless imports that Node cannot load unbundled), then runs it.
import { spawnSync } from 'node:child_process';
import { build } from 'esbuild';

/** Where the bundle goes: a cache that git, ESLint and Prettier all leave alone. */
export const BUNDLE = 'node_modules/.cache/webgrad-bench/node-gpu.mjs';

/** Bundles the Node benchmark entry: everything inlined except the `webgpu` package. */
export async function bundleNodeBench(): Promise<string> {
  await build({
    entryPoints: ['bench/node-gpu.ts'],
    bundle: true,
    platform: 'node',
    format: 'esm',
    external: ['webgpu'],
    outfile: BUNDLE,
    logLevel: 'warning',
    banner: { js: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);" },
  });
  return BUNDLE;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = await bundleNodeBench();
  const r = spawnSync(process.execPath, [file, ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
