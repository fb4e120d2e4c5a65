// Races between reads, disposes, a second init() and work in flight on WebGPU, and values that the two
// backends compute for one history: each read gets its tensor's own values, and a value computed once is
// the one every later use sees.
import { describe, expect, it } from 'vitest';
import {
  amax,
  amin,
  backendInfo,
  exp,
  init,
  linspace,
  sin,
  stats,
  sum,
  synchronize,
  tensor,
  type Tensor,
} from '../../src/index.js';
import { storageNode } from '../../src/schedule/fuse.js';
import { testBackends, useWebGpu } from '../backends.js';
import { testAdapter, testGpu } from '../gpu.js';

const adapter = await testAdapter();
const ramp = (n: number): Float32Array => Float32Array.from({ length: n }, (_, i) => i);
const ticks = async (n: number): Promise<void> => {
  for (let i = 0; i < n; i++) await Promise.resolve();
};

describe.each(testBackends())('a read and a dispose() in the same tick on $name', (b) => {
  // `const d = t.data(); t.dispose(); return d`: the read was asked for first, so it gets the values (it was
  // once rejected as a use of a disposed tensor), and the tensor is disposed from the dispose() on.
  it('the read gets the values, whether they were computed, pending or a leaf; the tensor is disposed at once', async () => {
    await b.setup();
    const x = tensor(ramp(10000));
    const computed = x.mul(3);
    await computed.realize();
    await synchronize();
    const pending = x.mul(5);
    const leaf = tensor(ramp(10000));
    for (const [t, k] of [
      [computed, 3],
      [pending, 5],
      [leaf, 1],
    ] as const) {
      const read = t.data();
      const one = t.realize();
      t.dispose();
      expect(t.isDisposed).toBe(true);
      expect(() => t.add(1)).toThrow('the tensor was disposed');
      await one;
      const got = await read;
      expect([got[0], got[1], got[9999]]).toEqual([0, k, 9999 * k]);
      await expect(t.data()).rejects.toThrow('data(): the tensor was disposed');
    }
    // Freed once the reads ended: nothing of the three is held.
    await synchronize();
    const live = stats().liveBuffers;
    const again = x.mul(7);
    const read = again.data();
    again.dispose();
    await read;
    expect(stats().liveBuffers).toBeLessThanOrEqual(live);
  });
});

describe.each(testBackends())('views of a disposed tensor on $name', (b) => {
  // b = a.reshape(...), a.detach() or a.mul(1) holds a's values rather than a copy: a.dispose() once freed them
  // under b, whose read then failed as a use of a disposed tensor.
  it('a reshape, a detach() and a * 1 keep their values through a dispose() of the tensor they view', async () => {
    await b.setup();
    const views: ((a: Tensor) => Tensor)[] = [
      (a) => a.reshape([100, 100]),
      (a) => a.detach(),
      (a) => a.mul(1),
    ];
    for (const [k, view] of views.entries()) {
      for (const realized of [true, false]) {
        const a = tensor(ramp(10000)).mul(3);
        const v = view(a);
        if (realized) await v.realize();
        a.dispose();
        expect(a.isDisposed).toBe(true);
        await expect(a.data()).rejects.toThrow('data(): the tensor was disposed');
        const got = await v.data();
        expect([got[1], got[9999]], `view ${k}, realized first: ${realized}`).toEqual([3, 29997]);
        v.dispose();
      }
    }
    // Freed with the last view: nothing is left on the device of the last pair.
    await synchronize();
    const before = stats().liveBuffers;
    const a = tensor(ramp(10000)).mul(5);
    const v = a.reshape([10000, 1]);
    await v.realize();
    a.dispose();
    expect(stats().liveBuffers).toBeGreaterThan(before - 1);
    v.dispose();
    expect(stats().liveBuffers).toBeLessThanOrEqual(before + 1);
  });
});

describe.skipIf(!adapter)('races on WebGPU', () => {
  it('a read started before dispose() gets its own values, not those of the run that takes the buffer next', async () => {
    await useWebGpu();
    const x = tensor(ramp(2048));
    await x.mul(-1).add(-1).realize();
    for (let rep = 0; rep < 5; rep++) {
      const y = x.mul(2);
      await y.realize();
      await synchronize();
      let read!: Promise<Float32Array>;
      let other!: Promise<void>;
      // z's run is asked for first; y's read a tick later, and y disposed a tick after that: z's run may
      // take y's buffer for its output before the read's copy is submitted.
      await Promise.all([
        (async () => void (other = x.mul(-1).add(-1).realize()))(),
        (async () => {
          await null;
          await null;
          read = y.data();
        })(),
        (async () => {
          await null;
          await null;
          await null;
          y.dispose();
        })(),
      ]);
      await other;
      const got = await read;
      expect(Array.from(got.slice(0, 4))).toEqual([0, 2, 4, 6]);
    }
  });

  it('after init() switches away, a read started before dispose() still gets the values', async () => {
    await useWebGpu();
    const y = tensor(ramp(2048)).mul(2);
    await y.realize();
    await init({ backend: 'cpu' });
    const read = y.data();
    await null;
    y.dispose();
    expect(Array.from((await read).slice(0, 4))).toEqual([0, 2, 4, 6]);
  });

  it('synchronize() waits for work a realize() not awaited asked for', async () => {
    await useWebGpu();
    const x = tensor(Float32Array.from({ length: 1 << 16 }, (_, i) => i / (1 << 16)));
    await exp(x).realize();
    await synchronize();
    const s0 = stats().submits;
    let realized = false;
    void exp(x.mul(2))
      .realize()
      .then(() => (realized = true));
    await synchronize();
    expect(stats().submits).toBe(s0 + 1);
    expect(realized).toBe(true);
  });

  it('a small value read from a run that waited for its range flag stays on the device too', async () => {
    await useWebGpu();
    const x = tensor(Float32Array.from({ length: 1024 }, (_, i) => i / 1024));
    const y = sin(x.mul(3));
    await y.data();
    expect(storageNode(y.node).device).not.toBeNull();
    const up = stats().bytesUploaded;
    const z = await y.mul(2).add(x).data();
    expect(stats().bytesUploaded).toBe(up);
    expect(z[1000]).toBeCloseTo(2 * Math.sin(3 * (1000 / 1024)) + 1000 / 1024, 5);
  });

  it('after a device loss and a new init(), a value moves to the new device, and its inputs may go', async () => {
    const gpu = await useWebGpu();
    const x = tensor(Float32Array.from({ length: 1 << 14 }, (_, i) => i / (1 << 14)));
    const y = exp(x);
    await y.realize();
    gpu.lose();
    for (let i = 0; i < 100 && backendInfo().backend !== 'cpu'; i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(backendInfo().backend).toBe('cpu');
    await useWebGpu();
    for (let k = 1; k <= 3; k++) await y.mul(k).add(1).realize();
    x.dispose();
    expect((await y.mul(5).data())[5]).toBeCloseTo(5 * Math.exp(5 / (1 << 14)), 5);
  });

  it('a value whose run waits for its range flag is not computed again by a request meanwhile', async () => {
    await useWebGpu({ cpuBelow: 8192 });
    const x = tensor(
      Float32Array.from({ length: 100 }, (_, i) => 1 + i / 99),
      { requiresGrad: true },
    );
    const n = exp(x.mul(0.53));
    // sin of large arguments: a speculative run, flagged and redone; n is computed in the same run.
    const b = sin(linspace(0, 1e5, 20000));
    const both = Promise.all([n.realize(), b.realize()]);
    await ticks(2);
    const fallbacks = stats().cpuFallbacks;
    const early = n.data();
    await both;
    const host = await early;
    // Not computed again on the CPU (100 points with host inputs would go there) while the run was out.
    expect(stats().cpuFallbacks).toBe(fallbacks);
    const s = storageNode(n.node);
    // One set of values: on the host or on the device, not both.
    expect(s.host !== null && s.device !== null).toBe(false);
    const again = await n.add(tensor(new Float32Array(200 * 100)).reshape([200, 100])).data();
    expect(again[99]).toBe(host[99]);
    b.dispose();
  });
});

describe.skipIf(!adapter)('amax and amin gradients across the CPU routing of small work', () => {
  // 4000 points, the largest 0.5008, where webgrad's WGSL exp and the CPU's differ in the last bit.
  const xs = Float32Array.from({ length: 4000 }, (_, i) => 0.1 + (0.4 * i) / 4000);
  xs[3999] = 0.5008000135421753;
  const want = 10000 * 0.5 * Math.exp(xs[3999]!);

  async function onWebGpu(): Promise<void> {
    // The CPU adapters' default, on any adapter: runs of fewer than 8192 points on the CPU.
    await init({ backend: 'webgpu', gpu: testGpu(), webgpu: { cpuBelow: 8192 } });
  }

  it('amax reduced on the CPU (4000 points), its backward on the GPU (10,000): the gradient at the maximum', async () => {
    await onWebGpu();
    const x = tensor(xs, { requiresGrad: true });
    const m = amax(exp(x));
    await m.realize();
    sum(linspace(0, 1, 10000).mul(m)).backward();
    const g = await x.grad!.data();
    expect(g.filter(Number.isNaN)).toHaveLength(0);
    expect(Math.abs(g[3999]! - want) / want).toBeLessThan(1e-5);
    expect(g[0]).toBe(0);
  });

  it('amax reduced on the GPU, its backward alone on the CPU: the gradient at the maximum', async () => {
    await onWebGpu();
    const x = tensor(xs, { requiresGrad: true });
    const m = amax(exp(x));
    // Read together (10,000 points: the GPU), which leaves m on the host: its backward alone has 4000
    // points with every input on the host, and runs on the CPU.
    const big = exp(linspace(0, 1, 10000));
    await Promise.all([m.data(), big.data()]);
    m.backward();
    const g = await x.grad!.data();
    expect(g.filter(Number.isNaN)).toHaveLength(0);
    expect(Math.abs(g[3999]! - Math.exp(xs[3999]!)) / Math.exp(xs[3999]!)).toBeLessThan(1e-5);
  });

  it('amin of a tensor that requires grad, kept without backward(), holds no buffer of its input', async () => {
    await onWebGpu();
    const x = tensor(
      Float32Array.from({ length: 1 << 16 }, (_, i) => Math.sin(i)),
      { requiresGrad: true },
    );
    const kept: Tensor[] = [];
    let before = 0;
    for (let k = 0; k < 6; k++) {
      const lo = amin(exp(x.mul(1 + k / 10)));
      await lo.data();
      kept.push(lo);
      // After the first, which uploads x.
      if (k === 0) before = stats().liveBytes;
    }
    // Five more results of 4 bytes, in buffers of at most a few hundred: not five inputs of 256 KiB.
    expect(stats().liveBytes - before).toBeLessThan(16 * 1024);
  });

  it('amax of many equal maxima shares the gradient among them, with the result read first', async () => {
    await onWebGpu();
    const x = tensor(
      Float32Array.from({ length: 10000 }, (_, i) => (i % 100 === 7 ? 3 : Math.sin(i))),
      {
        requiresGrad: true,
      },
    );
    const m = amax(exp(x));
    expect(await m.item()).toBeCloseTo(Math.exp(3), 4);
    m.backward();
    const g = await x.grad!.data();
    const at = Array.from(g.keys()).filter((i) => g[i] !== 0);
    expect(at).toEqual(Array.from({ length: 100 }, (_, k) => 100 * k + 7));
    for (const i of at) expect(g[i]! / (Math.exp(3) / 100)).toBeCloseTo(1, 5);
  });
});
