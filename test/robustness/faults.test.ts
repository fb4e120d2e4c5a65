// Faults: a device lost while work is pending (at several moments), allocations beyond the device's
// limits, shaders that do not compile (a bad op row and a bad template), and no adapter at all. None
// may crash, lose results or leave later work broken.
import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  backendInfo,
  exp,
  grad,
  init,
  sin,
  stats,
  sum,
  synchronize,
  tensor,
  type Tensor,
} from '../../src/index.js';
import type { WebGpuBackend } from '../../src/backend/webgpu/backend.js';
import { shaders } from '../../src/backend/webgpu/shaders.gen.js';
import { OPS } from '../../src/ops/table.js';
import { useWebGpu } from '../backends.js';
import { testAdapter, testGpu } from '../gpu.js';
import { rng, uniform } from '../numeric.js';

const adapter = await testAdapter();

// useWebGpu reduces sin, cos and tan speculatively on every adapter: tests below rely on a realize() of sin
// waiting for its run's range check.

/** f(x, w) = Σ w·sin(x)·exp(-x²/4): value and both gradients need a fused kernel and a sum. */
const f = (x: Tensor, w: Tensor): Tensor => sum(w.mul(sin(x)).mul(exp(x.mul(x).mul(-0.25))));

/** The same in float64, with its gradients. */
function reference(xs: Float32Array, w: number): { value: number; dx: Float64Array; dw: number } {
  let value = 0;
  let dw = 0;
  const dx = new Float64Array(xs.length);
  xs.forEach((x, i) => {
    const e = Math.exp((-x * x) / 4);
    value += w * Math.sin(x) * e;
    dw += Math.sin(x) * e;
    dx[i] = w * e * (Math.cos(x) - (x / 2) * Math.sin(x));
  });
  return { value, dx, dw };
}

/** Largest error relative to max(1, |want|). */
function worst(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < want.length; i++)
    m = Math.max(m, Math.abs(got[i]! - want[i]!) / Math.max(1, Math.abs(want[i]!)));
  return m;
}

/** Starts value and gradients of f, returns the pending reads. */
function start(xs: Float32Array, w: number): Promise<[number, Float32Array, number]> {
  const x = tensor(xs);
  const wt = tensor(w);
  const { value, grad: g } = { value: f(x, wt), grad: grad(f, [0, 1])(x, wt) };
  return Promise.all([value.item(), g[0]!.data(), g[1]!.item()]);
}

/** Checks results of `start` against float64 (float32 accuracy: sums of 4096 terms). */
function expectRight([v, dx, dw]: [number, Float32Array, number], xs: Float32Array, w: number): void {
  const r = reference(xs, w);
  expect(Math.abs(v - r.value)).toBeLessThan(1e-4 * Math.max(1, Math.abs(r.value)));
  expect(Math.abs(dw - r.dw)).toBeLessThan(1e-4 * Math.max(1, Math.abs(r.dw)));
  expect(worst(dx, r.dx)).toBeLessThan(1e-5);
}

const xs = uniform(4096, -4, 4, rng(11));

describe.skipIf(!adapter)('device loss', () => {
  afterAll(async () => void (await useWebGpu()));

  // When the loss happens: before the flush, while pipelines compile, after the submit.
  const moments: [string, () => Promise<void>][] = [
    ['before the batch is flushed', async () => {}],
    ['while the batch compiles', () => new Promise((r) => setTimeout(r, 0))],
    ['after the batch was submitted', () => new Promise((r) => setTimeout(r, 30))],
  ];

  it.each(moments)(
    'lost %s: every pending result is right, computed on the CPU, and the loss is reported',
    async (_, wait) => {
      const gpu = await useWebGpu();
      // A distinct constant each time, so that the pipeline must compile during the wait.
      const w = 1.25 + Math.random();
      const pending = start(xs, w);
      await wait();
      gpu.lose();
      expectRight(await pending, xs, w);
      expect(gpu.lost).toBe(true);
      expect(backendInfo().backend).toBe('cpu');
      expect(backendInfo().fallbackReason).toMatch(/^device-lost: /);
      // Later calls work (on the CPU now).
      expectRight(await start(xs, 0.5), xs, 0.5);
      expect(stats().backend).toBe('cpu');
      // init() again gives a new device, which works.
      const again = await useWebGpu();
      expect(again).not.toBe(gpu);
      expect(backendInfo().fallbackReason).toBeUndefined();
      expectRight(await start(xs, 2), xs, 2);
    },
  );

  it('a value that lived on the lost device and was computed from a disposed tensor says why it is gone', async () => {
    const gpu = await useWebGpu();
    const old = tensor(xs).mul(2);
    await old.data();
    const next = old.add(1);
    await next.realize();
    await synchronize();
    old.dispose();
    gpu.lose();
    await expect(next.data()).rejects.toThrow(
      'a disposed tensor (shape [4096]) is used in this computation, directly or to recompute a value computed from it whose own values are gone (freed, or lost with the device)',
    );
  });

  it('values that lived on the lost device are recomputed from their inputs when read', async () => {
    const gpu = await useWebGpu();
    const x = tensor(xs, { requiresGrad: true });
    const y = sin(x).mul(3);
    await y.realize();
    // Without sin, realize() resolves at submission: the loss may come before the device has finished.
    const z = exp(x.mul(0.5));
    await z.realize();
    const loss = sum(y.mul(y));
    loss.backward();
    gpu.lose();
    const [v, g, l, e] = await Promise.all([y.data(), x.grad!.data(), loss.item(), z.data()]);
    expect(
      worst(
        e,
        Array.from(xs, (t) => Math.exp(t / 2)),
      ),
    ).toBeLessThan(1e-6);
    expect(
      worst(
        v,
        Array.from(xs, (t) => 3 * Math.sin(t)),
      ),
    ).toBeLessThan(1e-6);
    expect(
      worst(
        g,
        Array.from(xs, (t) => 18 * Math.sin(t) * Math.cos(t)),
      ),
    ).toBeLessThan(1e-5);
    const L = xs.reduce((s, t) => s + 9 * Math.sin(t) ** 2, 0);
    expect(Math.abs(l - L) / L).toBeLessThan(1e-5);
    expect(backendInfo().fallbackReason).toMatch(/^device-lost: /);
  });

  /** Four batches started 5 ms apart and the device lost at 8 ms: each batch's results are checked. */
  async function loseDuringBatches(gpu: WebGpuBackend): Promise<void> {
    const ws = [0.5, 1.5, 2.5, 3.5];
    const runs = ws.map(async (w, i) => {
      await new Promise((r) => setTimeout(r, 5 * i));
      return start(xs, w);
    });
    setTimeout(() => gpu.lose(), 8);
    const got = await Promise.all(runs);
    got.forEach((r, i) => expectRight(r, xs, ws[i]!));
  }

  it('a loss during one of several interleaved batches spoils none of them', async () => {
    await loseDuringBatches(await useWebGpu());
    expect(backendInfo().fallbackReason).toMatch(/^device-lost: /);
  });

  it('a loss while waits are nudged (as in browsers) spoils nothing and raises nothing', async () => {
    const gpu = await useWebGpu({ nudgeWhileWaiting: true });
    const errors = vi.spyOn(console, 'error');
    const uncaptured: unknown[] = [];
    gpu.device.addEventListener('uncapturederror', (e) => uncaptured.push(e));
    try {
      // A run long enough (tens of milliseconds here) to be nudged while the device goes; its kernels and
      // the batches' compiled first, so that the loss comes while work runs.
      const longRun = (): Promise<number> =>
        sum(exp(sin(tensor(new Float32Array(1 << 20).fill(0.5))))).item();
      await Promise.all([longRun(), start(xs, 0.1)]);
      const long = longRun();
      await loseDuringBatches(gpu);
      expect(Math.abs((await long) / (1 << 20) - Math.exp(Math.sin(0.5)))).toBeLessThan(1e-4);
      // Nudges may have gone to the lost device; a later wait nudges nothing (the CPU computes).
      await new Promise((r) => setTimeout(r, 20));
      expect(backendInfo().fallbackReason).toMatch(/^device-lost: /);
      expect(gpu.stats().nudges).toBeGreaterThan(0);
      expect(errors).not.toHaveBeenCalled();
      expect(uncaptured).toEqual([]);
    } finally {
      errors.mockRestore();
    }
  });
});

describe.skipIf(!adapter)('allocations beyond the device', () => {
  afterAll(async () => void (await useWebGpu()));

  it('a lowered binding limit chunks the work and gives exactly the one-chunk results', async () => {
    const n = 100_003;
    const big = uniform(n, -4, 4, rng(5));
    const run = async (): Promise<[number, Float32Array, number]> => start(big, 1.75);
    await useWebGpu();
    const one = await run();
    const gpu = await useWebGpu({ maxBindingBytes: 4096 });
    const before = stats().dispatches;
    const chunked = await run();
    // 100 003 points in chunks of 1024: about a hundred dispatches per program.
    expect(stats().dispatches - before).toBeGreaterThan(90);
    expect(gpu.lost).toBe(false);
    // Per point, chunking changes nothing; the sums may differ by float32 rounding of the partials
    // (measured: the value sum differs by one ulp, deterministically).
    expect(chunked[1]).toEqual(one[1]);
    const ulp = (v: number): number => Math.abs(v) * 2 ** -23;
    expect(Math.abs(chunked[0] - one[0])).toBeLessThanOrEqual(2 * ulp(one[0]));
    expect(Math.abs(chunked[2] - one[2])).toBeLessThanOrEqual(2 * ulp(one[2]));
    expectRight(chunked, big, 1.75);
  });

  it('maxBindingBytes below 1024 is an error, not a fallback to the CPU as if there were no GPU', async () => {
    await expect(init({ backend: 'auto', gpu: testGpu(), webgpu: { maxBindingBytes: 100 } })).rejects.toThrow(
      'init(): webgpu.maxBindingBytes must be an integer of at least 1024, got 100',
    );
  });

  it('a broadcast operand larger than the binding limit is computed on the CPU, with a warning', async () => {
    // 4096-byte bindings: the [2048, 4] sum is chunked, but its [2048, 1] operand is bound whole (8192 bytes).
    const gpu = await useWebGpu({ maxBindingBytes: 4096 });
    const col = Float32Array.from({ length: 2048 }, (_, i) => i * 0.5);
    const a = tensor(col, { shape: [2048, 1] });
    const b = tensor([1, 2, 3, 4], { shape: [1, 4] });
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    let got: Float32Array;
    try {
      got = await a.add(b).data();
      expect(warn).toHaveBeenCalledWith(
        'webgpu: a tensor of 8192 bytes that a kernel binds whole (a broadcast operand, or a sum along axes) exceeds the storage binding limit (4096 bytes); computing it on the CPU instead',
      );
    } finally {
      warn.mockRestore();
    }
    expect(got).toEqual(Float32Array.from({ length: 8192 }, (_, i) => col[i >> 2]! + (i % 4) + 1));
    expect(gpu.lost).toBe(false);
    expect(backendInfo().backend).toBe('webgpu');
  });

  it('work moved to the CPU reads the values the device holds, not their history (disposed or not)', async () => {
    // y is computed on the GPU and its input disposed, as allowed once y is realized; y then becomes a
    // broadcast operand beyond the binding limit, and the CPU run must start from y's values on the device.
    await useWebGpu({ maxBindingBytes: 4096 });
    const xs = Float32Array.from({ length: 2048 }, (_, i) => i / 2048);
    const x = tensor(xs, { shape: [2048, 1] });
    const y = x.mul(2).exp();
    await y.realize();
    x.dispose();
    const b = tensor([1, 2, 3, 4], { shape: [1, 4] });
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const before = stats().cpuFallbacks;
    let got: Float32Array;
    try {
      got = await y.add(b).data();
    } finally {
      warn.mockRestore();
    }
    expect(stats().cpuFallbacks).toBeGreaterThan(before);
    const ys = await y.data();
    expect(got).toEqual(
      Float32Array.from({ length: 8192 }, (_, i) => Math.fround(ys[i >> 2]! + (i % 4) + 1)),
    );
  });

  it('a tensor larger than the largest buffer is computed on the CPU, with a warning, and leaks nothing', async () => {
    const gpu = await useWebGpu();
    const max = gpu.device.limits.maxBufferSize;
    const n = max / 4 + 64;
    const huge = tensor(new Float32Array(n).fill(1));
    const before = stats();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      expect(await sum(huge.mul(2)).item()).toBe(2 * n);
      expect(warn).toHaveBeenCalledWith(
        `webgpu: a buffer of ${n * 4} bytes exceeds the device's maxBufferSize (${max}); use fewer points per tensor; computing it on the CPU instead`,
      );
    } finally {
      warn.mockRestore();
    }
    huge.dispose();
    const after = stats();
    // Buffers taken for the run that could not be encoded (outputs, uniforms) go back to the pool.
    expect(after.liveBuffers).toBe(before.liveBuffers);
    expect(after.liveBytes).toBe(before.liveBytes);
    expect(gpu.lost).toBe(false);
    expect(backendInfo().backend).toBe('webgpu');
    expectRight(await start(xs, 1), xs, 1);
  }, 120_000);
});

describe.skipIf(!adapter)('shaders that do not compile', () => {
  afterAll(async () => void (await useWebGpu()));

  it('a bad op row: the error carries the compiler message and the WGSL; the row restored, all works', async () => {
    await useWebGpu();
    // exp: its own WGSL is emitted in every kernel that uses it (sin shares a call with cos instead).
    const row = OPS.exp as { wgsl: (a: string, b: string, p: number) => string };
    const original = row.wgsl;
    row.wgsl = (a) => `wg_exp(${a}) * no_such_fn(${a})`;
    let err: Error | null = null;
    try {
      await start(xs, 1.5).catch((e: unknown) => void (err = e as Error));
    } finally {
      row.wgsl = original;
    }
    expect(err).toBeInstanceOf(Error);
    const msg = (err as unknown as Error).message;
    expect(msg).toMatch(/^webgpu: the generated WGSL does not compile:\n/);
    expect(msg).toMatch(/no_such_fn/);
    // The WGSL is listed with line numbers.
    expect(msg).toMatch(/--- generated WGSL ---\n {3}1 {2}/);
    expect(backendInfo().backend).toBe('webgpu');
    expectRight(await start(xs, 1.5), xs, 1.5);
  });

  it('a bad template: the same, for every kernel that uses it', async () => {
    await useWebGpu();
    const table = shaders as Record<string, string>;
    const original = table.elementwise!;
    table.elementwise = original.replace('let wg = ', 'let wg: bogus_type = ');
    const errs: unknown[] = [];
    try {
      const x = tensor([1, 2, 3]);
      await Promise.all([
        x
          .mul(7.25)
          .data()
          .catch((e: unknown) => errs.push(e)),
        x
          .add(3.5)
          .exp()
          .data()
          .catch((e: unknown) => errs.push(e)),
      ]);
    } finally {
      table.elementwise = original;
    }
    expect(errs).toHaveLength(2);
    for (const e of errs) {
      expect((e as Error).message).toMatch(/^webgpu: the generated WGSL does not compile:\n/);
      expect((e as Error).message).toMatch(/bogus_type/);
    }
    expect(Array.from(await tensor([1, 2, 3]).mul(7.25).data())).toEqual([7.25, 14.5, 21.75]);
  });
});

describe('no adapter', () => {
  afterAll(async () => {
    if (adapter) await useWebGpu();
  });

  const fakeGpu = (requestAdapter: () => Promise<GPUAdapter | null>): GPU =>
    ({ requestAdapter, getPreferredCanvasFormat: () => 'rgba8unorm' }) as unknown as GPU;

  it('requestAdapter() resolving null: the CPU, with the reason', async () => {
    const info = await init({ backend: 'auto', gpu: fakeGpu(async () => null) });
    expect(info).toEqual({ backend: 'cpu', fallbackReason: 'no-adapter: requestAdapter() found no adapter' });
    expect(backendInfo()).toEqual(info);
    expectRight(await start(xs, 1), xs, 1);
  });

  it('requestAdapter() throwing: the CPU, with the reason', async () => {
    const info = await init({
      backend: 'auto',
      gpu: fakeGpu(() => Promise.reject(new Error('adapter blew up'))),
    });
    expect(info).toEqual({
      backend: 'cpu',
      fallbackReason: 'no-adapter: requestAdapter() failed: adapter blew up',
    });
    expectRight(await start(xs, 1), xs, 1);
  });

  it('requestDevice() failing: the CPU, with the reason', async () => {
    const broken = {
      limits: {},
      info: { vendor: 'x', architecture: 'y', description: 'z', device: '' },
      requestDevice: () => Promise.reject(new Error('no device today')),
    } as unknown as GPUAdapter;
    const info = await init({ backend: 'auto', gpu: fakeGpu(async () => broken) });
    expect(info).toEqual({
      backend: 'cpu',
      fallbackReason: 'no-device: requestDevice() failed: no device today',
    });
    expectRight(await start(xs, 1), xs, 1);
  });

  it("backend 'webgpu' without an adapter throws, and the previous backend stays usable", async () => {
    await init({ backend: 'cpu' });
    await expect(init({ backend: 'webgpu', gpu: fakeGpu(async () => null) })).rejects.toThrow(
      'init(): WebGPU was required but is not available: no-adapter: requestAdapter() found no adapter',
    );
    expect(backendInfo().backend).toBe('cpu');
    expectRight(await start(xs, 1), xs, 1);
  });
});
