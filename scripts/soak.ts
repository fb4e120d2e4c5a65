// The memory soak at length: evaluate + backward + read cycles on WebGPU (or the CPU without an
// adapter), printing live buffers and bytes, compiled pipelines and the JS heap as they go.
//   npm run soak -- --cycles=10000 --free=gc
import { init } from '../src/index.js';
import { testGpu } from '../test/gpu.js';
import { soak } from '../test/robustness/soak.js';
import { INTEGER, scriptOptions } from './options.js';

const given = scriptOptions(
  'npm run soak',
  `npm run soak -- [options]
  --cycles=10000   evaluate + backward + read cycles
  --free=dispose   how each cycle's tensors are freed: dispose (dispose() on each) or gc (left to the collector)`,
  { cycles: INTEGER, free: /^(dispose|gc)$/ },
);
const cycles = given.number('cycles', 10_000);
const free = given.get('free') === 'gc' ? 'gc' : 'dispose';

const info = await init({ backend: 'auto', gpu: testGpu(), webgpu: { cpuBelow: 0 } });
console.log(
  `soak: ${cycles} cycles on ${info.backend}${info.fallbackReason ? ` (${info.fallbackReason})` : ''}, freeing by ${free}`,
);
const t0 = performance.now();
const samples = await soak({ cycles, free, samples: 20 });
console.table(samples.map(({ heapBytes, ...s }) => ({ ...s, heapMiB: +(heapBytes / 2 ** 20).toFixed(2) })));
const a = samples[1]!;
const z = samples[samples.length - 1]!;
const grew = {
  liveBuffers: z.liveBuffers - a.liveBuffers,
  liveBytes: z.liveBytes - a.liveBytes,
  pipelinesCompiled: z.pipelinesCompiled - a.pipelinesCompiled,
  heapMiB: +((z.heapBytes - a.heapBytes) / 2 ** 20).toFixed(2),
};
console.log(
  `soak: ${((performance.now() - t0) / 1000).toFixed(0)} s; growth from cycle ${a.cycle} to ${z.cycle}:`,
  grew,
);
const flat =
  grew.liveBuffers === 0 && grew.liveBytes === 0 && grew.pipelinesCompiled === 0 && grew.heapMiB < 8;
console.log(flat ? 'soak: flat' : 'soak: GROWING');
process.exit(flat ? 0 : 1);
