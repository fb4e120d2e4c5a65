// A short soak on every backend: after the first cycles, live buffers and bytes, compiled pipelines
// and the JS heap stay flat, whether tensors are disposed or left to the garbage collector.
import { beforeAll, describe, expect, it } from 'vitest';
import { sigmoid, sin, stats, sum, tensor, type Tensor } from '../../src/index.js';
import { testBackends } from '../backends.js';
import { collector, settle, soak, type SoakSample } from './soak.js';

const CYCLES = 300;
// Heap growth allowed over the run: V8 keeps some slack (compiled code, inline caches, pools) that is
// not a leak; a leak of one small object per cycle would still exceed it tenfold, and a leaked 16 KiB
// gradient per cycle a thousandfold.
const HEAP_SLACK = 4 * 1024 * 1024;

/** Growth of each figure from the sample after warm-up to the last one. */
function growth(samples: readonly SoakSample[]): Omit<SoakSample, 'cycle'> {
  const a = samples[1]!;
  const z = samples[samples.length - 1]!;
  return {
    liveBuffers: z.liveBuffers - a.liveBuffers,
    liveBytes: z.liveBytes - a.liveBytes,
    pipelinesCompiled: z.pipelinesCompiled - a.pipelinesCompiled,
    heapBytes: z.heapBytes - a.heapBytes,
  };
}

describe.each(testBackends().filter((b) => b.name !== 'cpu-interp'))('soak on $name', (b) => {
  beforeAll(() => b.setup());

  it.each(['dispose', 'gc'] as const)(
    `${CYCLES} cycles freeing by %s: buffers, pipelines and heap stay flat`,
    async (free) => {
      const samples = await soak({ cycles: CYCLES, free, samples: 10 });
      const g = growth(samples);
      console.log(`soak on ${b.name} (${free}):`, g);
      // At a sample no cycle's tensors are in scope (see cycle() in soak.ts): growth is what counts.
      expect(g.liveBuffers).toBeLessThanOrEqual(0);
      expect(g.liveBytes).toBeLessThanOrEqual(0);
      expect(g.pipelinesCompiled).toBe(0);
      expect(g.heapBytes).toBeLessThan(HEAP_SLACK);
      // Nothing is held between cycles beyond a handful of buffers (pooled staging, the last result).
      expect(samples[samples.length - 1]!.liveBuffers).toBeLessThanOrEqual(samples[0]!.liveBuffers + 2);
    },
    300_000,
  );
});

describe.each(testBackends().filter((b) => b.name !== 'cpu-interp'))('a training loop on $name', (b) => {
  beforeAll(() => b.setup());

  it('PyTorch-style, new leaves made lazily and the loss read every tenth step: buffers and pipelines stay flat', async () => {
    const n = 4096;
    const x = tensor(Float32Array.from({ length: n }, (_, i) => (4 * i) / n - 2));
    const y = tensor(Float32Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 1 : 0)));
    let w = tensor(new Float32Array(n).fill(0.5), { requiresGrad: true });
    let c = tensor(0, { requiresGrad: true });
    const gc = collector();
    const at: { liveBuffers: number; liveBytes: number; pipelinesCompiled: number }[] = [];
    const losses: number[] = [];
    // Each step in a function of its own, so that no step's tensors are in scope at a sample (see soak.ts).
    const step = async (k: number): Promise<[Tensor, Tensor]> => {
      const loss = sum(sigmoid(w.mul(x).add(c)).sub(y).square());
      loss.backward();
      if (k % 10 === 0) losses.push(await loss.item());
      return [
        tensor(w.sub(w.grad!.mul(0.5)), { requiresGrad: true }),
        tensor(c.sub(c.grad!.mul(0.01)), { requiresGrad: true }),
      ];
    };
    for (let k = 1; k <= 300; k++) {
      [w, c] = await step(k);
      if (k === 100 || k === 300) {
        await Promise.all([w.realize(), c.realize()]);
        await settle(gc);
        const s = stats();
        at.push({
          liveBuffers: s.liveBuffers,
          liveBytes: s.liveBytes,
          pipelinesCompiled: s.pipelinesCompiled,
        });
      }
    }
    console.log(`training loop on ${b.name}:`, at);
    expect(at[1]!.liveBuffers).toBeLessThanOrEqual(at[0]!.liveBuffers);
    expect(at[1]!.liveBytes).toBeLessThanOrEqual(at[0]!.liveBytes);
    expect(at[1]!.pipelinesCompiled).toBe(at[0]!.pipelinesCompiled);
    // And it learns: the loss falls.
    expect(losses[losses.length - 1]!).toBeLessThan(0.9 * losses[0]!);
  }, 300_000);
});

describe.each(testBackends().filter((b) => b.name === 'webgpu'))('dispose on $name', (b) => {
  beforeAll(() => b.setup());

  it('dispose() of every tensor a step made gives its buffers back at once, without a collection', async () => {
    const before = stats().liveBuffers;
    const x = tensor(new Float32Array(4096).fill(0.5), { requiresGrad: true });
    const loss = sum(sin(x));
    loss.backward();
    await Promise.all([loss.item(), x.grad!.data()]);
    expect(stats().liveBuffers).toBeGreaterThan(before);
    // x.grad and loss are views (a detached gradient, a reshaped sum) of the nodes holding the buffers.
    for (const t of [x.grad!, loss, x]) t.dispose();
    expect(stats().liveBuffers).toBe(before);
  });
});
