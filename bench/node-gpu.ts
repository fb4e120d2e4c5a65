// The benchmark in Node: every case and system on WebGPU through Dawn (the `webgpu` package) — SwiftShader
// without a GPU, the real driver on a GPU machine — plus webgrad's CPU backend; prints the tables and
// writes bench/results/<date>-<adapter>-node.{json,md,svg}.
// Run through bench/node.ts (npm run bench:node), or bundled by ../shared/gpu/prepare.sh for a bare GPU machine.
import { create, globals } from 'webgpu';
import { isSoftware } from '../src/backend/webgpu/adapter.js';
import { USAGE } from './options.js';
import { checkWebgradOrExit, parseArgsOrExit } from './cli.js';
import { printTables, writeReport } from './report.js';
import { benchmarkReport } from './run.js';
import { makeSystem } from './systems/all.js';
import { adapterLabel, installCallCounters } from './systems/system.js';

if (process.argv.includes('--help')) {
  console.log(`npm run bench:node -- [options]\n${USAGE}`);
  process.exit(0);
}
const opts = parseArgsOrExit(process.argv.slice(2), 'npm run bench:node');
await checkWebgradOrExit(opts, 'npm run bench:node');

Object.assign(globalThis, globals);
installCallCounters();
// Module-level and never released: Dawn crashes the process if this object is collected while a device lives.
const gpu = create([]) as GPU;

const adapter = await gpu.requestAdapter();
// webgrad's CPU backend alone needs no adapter.
const cpuOnly = opts.systems.every((id) => id === 'webgrad-cpu');
if (!adapter && !cpuOnly) {
  console.error(
    'no WebGPU adapter (without a GPU: VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json for SwiftShader)',
  );
  process.exit(process.env.WEBGRAD_REQUIRE_WEBGPU === '1' ? 1 : 2);
}
const adapterName = adapter ? adapterLabel(adapter.info) : 'none (webgrad-cpu only)';
const software = adapter ? isSoftware(adapter.info) : true;
// A software adapter on a few cores gets the sizes that fit in minutes (it runs every kernel on the CPU);
// a real GPU the full range.
const sizes =
  opts.sizes.length > 0 ? opts.sizes : software ? [10, 12, 14, 16, 18, 20] : [16, 18, 20, 22, 24, 26];

const systems = opts.systems.map((id) => makeSystem(id, gpu, opts.webgrad));

console.log(
  `webgrad benchmark (Node ${process.version}, Dawn): adapter ${adapterName}; sizes 2^${sizes.join(', 2^')}; ` +
    `${opts.reps} timed call${opts.reps === 1 ? '' : 's'} after ${opts.warmup} warm-up per size`,
);
const report = await benchmarkReport(
  { platform: 'node', runtime: `Node ${process.version}, Dawn (webgpu package)`, adapter: adapterName },
  opts,
  sizes,
  systems,
  (line) => console.log(`  ${line}`),
);
printTables(report, console.log);
if (opts.out) {
  const files = await writeReport(report, opts.out);
  console.log(`wrote ${files.join(', ')}`);
}
// Dawn keeps the event loop alive; exit once everything is written.
process.exit(0);
