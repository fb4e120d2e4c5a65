// A deep graph (a chain of hundreds of ops, with its gradient) is planned as kernels of bounded size, cut
// every so many ops (see LARGE_KERNEL in src/schedule/fuse.ts), so that compiling them takes time linear
// in the graph; the results are those of the graph evaluated op by op in float32.
import { beforeAll, describe, expect, it } from 'vitest';
import { sin, sum, tensor, type Tensor } from '../src/index.js';
import { planKernels, storageNode } from '../src/schedule/fuse.js';
import { testBackends } from './backends.js';
import { model } from './robustness/model.js';

/** x through `depth` ops: sin every third, else an affine step. */
function chain(x: Tensor, depth: number): Tensor {
  let y = x;
  for (let i = 0; i < depth; i++) y = i % 3 === 0 ? sin(y) : y.mul(1.0001).add(0.001);
  return y;
}

describe.each(testBackends())('a deep chain on $name', (b) => {
  beforeAll(() => b.setup());

  it('is planned as bounded kernels and gives the float32 values of the whole graph', async () => {
    const x = tensor(
      Float32Array.from({ length: 64 }, (_, i) => -1 + i / 32),
      { requiresGrad: true },
    );
    const y = chain(x, 900);
    sum(y).backward();
    const g = x.grad!;
    const kernels = planKernels([y.node, g.node], (n) => n.op === 'leaf');
    // As one kernel the value and gradient take about 2700 values.
    expect(kernels.length).toBeGreaterThan(5);
    expect(Math.max(...kernels.map((k) => k.values.length))).toBeLessThan(800);
    const [yv, gv] = await Promise.all([y.data(), g.data()]);
    const m = model([y.node, storageNode(g.node)]);
    const want = [m.get(y.node)!.s, m.get(storageNode(g.node))!.s];
    [yv, gv].forEach((got, k) => {
      for (let i = 0; i < got.length; i++) {
        const w = want[k]![i]!;
        // The CPU computes each op as the model does; WebGPU's functions are within a few ulp.
        if (b.name.startsWith('cpu')) expect(got[i]).toBe(w);
        else expect(Math.abs(got[i]! - w)).toBeLessThanOrEqual(1e-4 * Math.abs(w) + 1e-7);
      }
    });
  });
});
