// A second init() while a realize() is still being planned: the run goes on on the replaced device, and
// its value is brought over from there when it is read. In a file of its own: the window (the replaced
// device holds no buffer yet when init() retires it) is there in a fresh scheduler, which earlier tests'
// retired backends would shift.
import { describe, expect, it } from 'vitest';
import { exp, init, stats, tensor } from '../../src/index.js';
import { testAdapter, testGpu } from '../gpu.js';

const adapter = await testAdapter();

describe.skipIf(!adapter)('init() during a run on WebGPU', () => {
  it('an init() while a realize() is still being planned keeps its value, whose inputs may then go', async () => {
    await init({ backend: 'webgpu', gpu: testGpu(), webgpu: { cpuBelow: 0 } });
    const xs = Float32Array.from({ length: 4096 }, (_, i) => i / 4096);
    {
      // The pipeline and plan cached, then everything disposed: the device holds no buffer.
      const w = tensor(xs);
      const t = exp(w.mul(0.5)).sub(1);
      await t.data();
      t.dispose();
      w.dispose();
    }
    expect(stats().liveBuffers).toBe(0);
    const x = tensor(xs);
    const y = exp(x.mul(0.5)).sub(1);
    const want = Math.exp(xs[100]! * 0.5) - 1;
    const realized = y.realize();
    // The flush has begun, and waits for its cached pipeline: init() retires the device then.
    await null;
    await init({ backend: 'cpu' });
    await realized;
    x.dispose();
    const got = await y.data();
    expect(got[100]).toBeCloseTo(want, 6);
  });
});
