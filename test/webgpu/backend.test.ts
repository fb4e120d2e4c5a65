// The WebGPU backend on a real adapter: fusion proved with stats(), pipeline reuse, chunking beyond the
// binding limit, 2-D dispatch grids, device loss and shader compile errors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  amax,
  backendInfo,
  exp,
  logsumexp,
  mean,
  relu,
  init,
  sigmoid,
  sin,
  stats,
  sum,
  synchronize,
  tanh,
  tensor,
  valueAndGrad,
  type Stats,
  type Tensor,
} from '../../src/index.js';
import type { WebGpuBackend } from '../../src/backend/webgpu/backend.js';
import { REDUCE_POINTS } from '../../src/backend/webgpu/program.js';
import { OPS } from '../../src/ops/table.js';
import { activeBackend } from '../../src/schedule/scheduler.js';
import { useWebGpu } from '../backends.js';
import { testAdapter, testGpu } from '../gpu.js';

const adapter = await testAdapter();

// useWebGpu reduces sin, cos and tan speculatively unless a test says otherwise, on every adapter ('auto'
// chooses by adapter): tests here count the flag word's readback and the reruns.

/** Counts mapAsync calls from now on (the returned function reads the count and stops counting). */
function spyMaps(): () => number {
  const proto = (globalThis as unknown as { GPUBuffer: { prototype: GPUBuffer } }).GPUBuffer.prototype;
  const original = proto.mapAsync;
  let calls = 0;
  proto.mapAsync = function (this: GPUBuffer, ...args: Parameters<GPUBuffer['mapAsync']>) {
    calls++;
    return original.apply(this, args);
  };
  return () => {
    proto.mapAsync = original;
    return calls;
  };
}

/** `fn`'s result and the delays of the timers it set (milliseconds, those above 0): the sleeps of its waits. */
async function timersDuring<T>(fn: () => Promise<T>): Promise<[T, number[]]> {
  const timer = globalThis.setTimeout;
  const delays: number[] = [];
  globalThis.setTimeout = ((f: () => void, ms?: number) => {
    if ((ms ?? 0) > 0) delays.push(ms!);
    return timer(f, ms);
  }) as typeof setTimeout;
  try {
    return [await fn(), delays];
  } finally {
    globalThis.setTimeout = timer;
  }
}

/** Counters accumulated while `fn` runs. */
async function counting<T>(fn: () => Promise<T>): Promise<[T, Stats]> {
  const before = stats();
  const out = await fn();
  const after = stats();
  const diff = { ...after };
  for (const k of Object.keys(before) as (keyof Stats)[]) diff[k] = after[k] - before[k];
  return [out, diff];
}

const ramp = (n: number, lo: number, hi: number): Float32Array =>
  new Float32Array(n).map((_, i) => lo + ((hi - lo) * i) / (n - 1));

/** exp(-x^2 - 2x - sin x): the notebook's fourth exercise. */
const q4 = (x: Tensor): Tensor => exp(x.pow(2).neg().sub(x.mul(2)).sub(sin(x)));

/** Largest relative error of `got` against float64 `want(i)`, relative to max(1, |want|). */
function worst(got: Float32Array, want: (i: number) => number): number {
  let w = 0;
  for (let i = 0; i < got.length; i++) {
    const r = want(i);
    w = Math.max(w, Math.abs(got[i]! - r) / Math.max(1, Math.abs(r)));
  }
  return w;
}

describe.skipIf(!adapter)('WebGPU fusion and pipeline reuse', () => {
  beforeAll(async () => void (await useWebGpu()));

  it('exp(-x^2-2x-sin x): value and gradient over 10^6 points are one dispatch, one submit', async () => {
    const N = 1_000_000;
    const xs = ramp(N, -3, 3);
    const x = tensor(xs, { requiresGrad: true });
    const y = q4(x);
    y.backward(tensor(new Float32Array(N).fill(1)));
    const [[v, g], d] = await counting(() => Promise.all([y.data(), x.grad!.data()]));
    expect(d.dispatches).toBe(1);
    // The reads were waiting: both outputs come back with the run, in the same submit.
    expect(d.submits).toBe(1);
    // Both outputs, and the word saying that no argument of sin was beyond the fast range reduction.
    expect(d.bytesReadBack).toBe(2 * N * 4 + 4);
    expect(d.exactReruns).toBe(0);
    const f = (t: number) => Math.exp(-t * t - 2 * t - Math.sin(t));
    expect(worst(v, (i) => f(xs[i]!))).toBeLessThan(1e-5);
    expect(worst(g, (i) => f(xs[i]!) * (-2 * xs[i]! - 2 - Math.cos(xs[i]!)))).toBeLessThan(1e-5);
  });

  it('many sums of one computed value read together: one main kernel, and finishing passes that share one pipeline', async () => {
    // As many sums as take four finishing passes of the bindings the device has, and a few more; all read
    // the square computed in the kernel, so that they are one kernel (see the next test).
    const per = adapter!.limits.maxStorageBuffersPerShaderStage - 1;
    const K = 4 * per + 3;
    const xs = ramp(10000, 0, 1);
    const base = tensor(xs);
    await base.realize();
    const scale = (k: number): number => Math.fround(k * 0.01 + 0.001);
    const sq = base.mul(base);
    const [got, d] = await counting(() =>
      Promise.all(Array.from({ length: K }, (_, k) => sum(sq.mul(scale(k))).item())),
    );
    for (let k = 0; k < K; k++) {
      let want = 0;
      for (const x of xs) want += Math.fround(x * x) * scale(k);
      expect(Math.abs(got[k]! - want) / want, `sum ${k}`).toBeLessThan(1e-5);
    }
    expect(d.dispatches).toBe(1 + 5);
    // The main kernel, the four full passes' pipeline and the last pass's (three totals): each pass once
    // wrote its slots into its source and compiled its own.
    expect(d.pipelinesCompiled).toBe(3);
    expect(d.cacheHits).toBe(3);
  });

  it('independent copies of one computation read together are kernels of their own, compiled once', async () => {
    // Fused, 300 sums of sin(x c) made one kernel of 77 KB that took 15 s to compile on SwiftShader.
    const xs = ramp(10000, 0, 1);
    const base = tensor(xs);
    await base.realize();
    const scale = (k: number): number => Math.fround(k * 0.01 + 0.001);
    const K = 40;
    const [got, d] = await counting(() =>
      Promise.all(Array.from({ length: K }, (_, k) => sum(sin(base.mul(scale(k)))).item())),
    );
    for (let k = 0; k < K; k++) {
      let want = 0;
      for (const x of xs) want += Math.sin(Math.fround(x * scale(k)));
      expect(Math.abs(got[k]! - want) / Math.max(1, Math.abs(want)), `sum ${k}`).toBeLessThan(1e-5);
    }
    // A kernel and its finishing pass each: two pipelines, compiled once.
    expect(d.dispatches).toBe(2 * K);
    expect(d.pipelinesCompiled).toBeLessThanOrEqual(2);
    // Three copies are too few to part: one kernel computes them, and a value with its gradient (which share
    // the forward values) stays one kernel however many are read together.
    const [, d3] = await counting(() =>
      Promise.all([3, 4, 5].map((c) => sum(sin(base.mul(c + 0.5))).item())),
    );
    expect(d3.dispatches).toBe(2);
    const ws = Array.from({ length: 8 }, (_, k) => tensor(k + 1, { requiresGrad: true }));
    const losses = ws.map((w) => sum(sin(base.mul(w))));
    for (const l of losses) l.backward();
    const [, dg] = await counting(() =>
      Promise.all([...losses.map((l) => l.item()), ...ws.map((w) => w.grad!.item())]),
    );
    // Each loss with its gradient is one copy: 8 kernels and their finishing passes.
    expect(dg.dispatches).toBe(2 * 8);
  });

  it('after sum(y).backward(), y and the gradient are one dispatch; reading the loss first brings them along', async () => {
    const xs = ramp(100_000, -3, 3);
    const x = tensor(xs, { requiresGrad: true });
    const y = q4(x);
    sum(y).backward();
    // The loss is not read: no reduction, no second pass.
    const [, d] = await counting(() => Promise.all([y.data(), x.grad!.data()]));
    expect(d.dispatches).toBe(1);
    const x2 = tensor(xs, { requiresGrad: true });
    const loss = sum(q4(x2));
    loss.backward();
    const [l, d2] = await counting(() => loss.item());
    // The loss's kernel also produced the gradient: reading it runs nothing.
    const [g, d3] = await counting(() => x2.grad!.data());
    expect(d2.dispatches).toBe(2);
    expect(d3.dispatches).toBe(0);
    const f = (t: number) => Math.exp(-t * t - 2 * t - Math.sin(t));
    let L = 0;
    for (const t of xs) L += f(t);
    expect(Math.abs(l - L) / L).toBeLessThan(1e-5);
    expect(worst(g, (i) => f(xs[i]!) * (-2 * xs[i]! - 2 - Math.cos(xs[i]!)))).toBeLessThan(1e-5);
  });

  it('realize() leaves values on the GPU; synchronize() waits on the device queue for runs not known finished', async () => {
    const queue = (activeBackend() as WebGpuBackend).device.queue;
    const waits: number[] = [];
    const done = queue.onSubmittedWorkDone.bind(queue);
    queue.onSubmittedWorkDone = () => (waits.push(1), done());
    try {
      const n = 1 << 16;
      const x = tensor(ramp(n, -3, 3), { requiresGrad: true });
      const y = q4(x);
      sum(y).backward();
      const [, run] = await counting(async () => {
        await Promise.all([y.realize(), x.grad!.realize()]);
        await synchronize();
      });
      expect(run.dispatches).toBe(1);
      // realize() read the speculative flag, so the run is known finished: synchronize() asks nothing.
      expect(waits).toHaveLength(0);
      // Only the speculative flag word comes back; the values stay on the device until read.
      expect(run.bytesReadBack).toBeLessThan(64);
      const [v, read] = await counting(() => y.data());
      expect(read.dispatches).toBe(0);
      expect(read.bytesReadBack).toBe(4 * n);
      expect(v[n - 1]).toBeCloseTo(Math.exp(-9 - 6 - Math.sin(3)), 6);
      // Without sin nothing needs checking: realize() resolves at submission, reading and waiting for
      // nothing (the next run is planned while this one computes), and synchronize() waits.
      const z = exp(x.mul(0.5)).mul(x);
      const maps = spyMaps();
      const [, quiet] = await counting(() => z.realize());
      expect(quiet.submits).toBe(1);
      expect(quiet.bytesReadBack).toBe(0);
      expect(maps()).toBe(0);
      expect(waits).toHaveLength(0);
      await synchronize();
      expect(waits).toHaveLength(1);
      expect((await z.data())[n - 1]).toBeCloseTo(3 * Math.exp(1.5), 4);
    } finally {
      queue.onSubmittedWorkDone = done;
    }
  });

  it('a repeated call uploads into the buffer the last upload used, not into one a kernel wrote', async () => {
    const queue = (activeBackend() as WebGpuBackend).device.queue;
    const n = 1 << 16;
    const targets: GPUBuffer[] = [];
    const write = queue.writeBuffer.bind(queue);
    queue.writeBuffer = ((buffer: GPUBuffer, offset: number, ...rest: unknown[]) => {
      if (offset === 0 && buffer.size >= 4 * n) targets.push(buffer);
      return (write as (...a: unknown[]) => undefined)(buffer, offset, ...rest);
    }) as GPUQueue['writeBuffer'];
    try {
      const call = async () => {
        const x = tensor(ramp(n, -2, 2), { requiresGrad: true });
        const y = x.sub(2).pow(2);
        sum(y).backward();
        await Promise.all([y.data(), x.grad!.data()]);
        // The outputs go back to the pool first and the input last, the order in which the most recently
        // released buffer would otherwise become the next call's first output.
        y.dispose();
        x.grad!.dispose();
        x.dispose();
      };
      await call();
      await call();
      await call();
      expect(targets).toHaveLength(3);
      expect(new Set(targets).size).toBe(1);
    } finally {
      queue.writeBuffer = write;
    }
  });

  it("a reduction's gradient through a chain runs on the GPU, its forward values computed again there", async () => {
    // Stored, the chain's values would be more buffers than the device binds for the gradient's kernel, and
    // the run would go to the CPU.
    const run = async (r: (y: Tensor) => Tensor): Promise<number> => {
      const x = tensor(ramp(512, -1, 1), { shape: [8, 64] });
      const w = tensor(1.5, { requiresGrad: true });
      let y = x.mul(w);
      for (let i = 0; i < 30; i++) y = i % 3 === 0 ? sin(y) : y.mul(1.0001).add(0.001);
      r(y).backward();
      return w.grad!.item();
    };
    const reductions = [(y: Tensor) => amax(y), (y: Tensor) => sum(logsumexp(y, 1))];
    const want: number[] = [];
    await init({ backend: 'cpu' });
    for (const r of reductions) want.push(await run(r));
    await useWebGpu();
    for (const [k, r] of reductions.entries()) {
      const [got, d] = await counting(() => run(r));
      expect(d.cpuFallbacks).toBe(0);
      expect(Math.abs(got - want[k]!)).toBeLessThanOrEqual(1e-5 * Math.abs(want[k]!));
    }
  });

  it('a kernel reading more small parameters than the device binds packs them into one binding', async () => {
    // 14 rows of 32 weights broadcast over 4096 x 32 points (and one of 1500, too large to pack): bound one
    // each, 16 buffers on SwiftShader's 12, and the run went to the CPU.
    const run = async (): Promise<Float32Array> => {
      const x = tensor(ramp(4096, -1, 1), { shape: [4096, 1] });
      let y = x;
      for (let l = 0; l < 14; l++)
        y = tanh(y.mul(tensor(ramp(32, -1 - l / 10, 1), { shape: [1, 32] })).add(l / 20));
      const wide = tensor(ramp(1500, -1, 1), { shape: [1500, 1] });
      return Promise.all([
        sum(y, 0).data(),
        sum(wide.mul(tensor(ramp(32, 0, 1), { shape: [1, 32] })), 0).data(),
      ]).then(([a, b]) => Float32Array.from([...a, ...b]));
    };
    await init({ backend: 'cpu' });
    const want = await run();
    await useWebGpu({ cpuBelow: 0 });
    const [got, d] = await counting(run);
    expect(d.cpuFallbacks).toBe(0);
    expect(worst(got, (i) => want[i]!)).toBeLessThan(1e-5);
  });

  it("an optimizer's update of many parameters, read by every point of the next step, runs on the GPU", async () => {
    // Each parameter's new value (Adam's) is made from four small buffers: it, its gradient and its moments.
    // Computed at every point of the next step's batch, the forward kernel read 13 buffers, beyond
    // SwiftShader's 12, and the step went to the CPU. Stored at their own shapes first, it reads 4.
    const run = async (): Promise<Float32Array> => {
      const x = tensor(ramp(4096, -2, 2), { shape: [4096, 1] });
      const layer = (s: number): Tensor => tensor(ramp(32, -s, s), { shape: [1, 32] });
      const next = [1, 0.5, 0.8].map((s) => {
        const [p, m, v, g] = [layer(s), layer(0.1 * s), layer(0.2 * s).square(), layer(0.3 * s)];
        const m1 = m.mul(0.9).add(g.mul(0.1));
        const v1 = v.mul(0.999).add(g.square().mul(0.001));
        return p.sub(m1.mul(0.01).div(v1.sqrt().add(1e-8)));
      });
      const [w1, b1, w2] = next as [Tensor, Tensor, Tensor];
      return sum(tanh(x.mul(w1).add(b1)).mul(w2), 1).data();
    };
    await init({ backend: 'cpu' });
    const want = await run();
    await useWebGpu({ cpuBelow: 0 });
    const [got, d] = await counting(run);
    expect(d.cpuFallbacks).toBe(0);
    expect(d.dispatches).toBeGreaterThan(1);
    expect(worst(got, (i) => want[i]!)).toBeLessThan(1e-5);
  });

  it('a chain centred by its mean three times has its gradient on the GPU, with a few more kinds of kernel', async () => {
    // Storing each forward value that several levels need, its last kernel read 13 buffers, beyond
    // SwiftShader's 12; computing them again at each level brings 7 kinds of kernel for 5, and the whole run
    // went to the CPU.
    const run = async (): Promise<Float32Array> => {
      const x = tensor(ramp(16384, -1, 1), { requiresGrad: true });
      let y = x;
      for (let m = 0; m < 3; m++) {
        for (let i = 0; i < 9; i++) y = sin(y);
        y = y.sub(mean(y));
      }
      sum(y.square()).backward();
      return x.grad!.data();
    };
    await init({ backend: 'cpu' });
    const want = await run();
    await useWebGpu();
    const [got, d] = await counting(run);
    expect(d.cpuFallbacks).toBe(0);
    expect(d.dispatches).toBeGreaterThan(0);
    expect(worst(got, (i) => want[i]!)).toBeLessThan(1e-5);
  });

  it('the groups of outputs a binding limit splits a kernel into share one pipeline', async () => {
    // 40 values read in one tick: one kernel of 40 outputs, in groups of as many as the device binds. The
    // groups compute the same from different values (and constants): one program source, one compile.
    const x = tensor(ramp(1024, -1, 1));
    const ys = Array.from({ length: 40 }, (_, k) => x.mul(k + 2).exp());
    const [got, d] = await counting(() => Promise.all(ys.map((y) => y.data())));
    expect(d.dispatches).toBeGreaterThanOrEqual(3);
    // The last group may be smaller: a program of its own.
    expect(d.pipelinesCompiled).toBeLessThanOrEqual(2);
    const xs = await x.data();
    for (const k of [0, 17, 39]) expect(got[k]![100]).toBeCloseTo(Math.exp(xs[100]! * (k + 2)), 4);
  });

  it('a run with some of its pipelines compiled compiles the others and counts each step once', async () => {
    // relu(w*x+b) and sigmoid(w*x+b) with scalar w, b: their main kernels differ, the pass finishing the
    // sums of the gradients of w and b is one program.
    const run = async (f: (t: Tensor) => Tensor): Promise<number[]> => {
      const x = tensor(ramp(16384, -2, 2));
      const w = tensor(0.75, { requiresGrad: true });
      const b = tensor(0.25, { requiresGrad: true });
      sum(f(w.mul(x).add(b))).backward();
      return Promise.all([w.grad!.item(), b.grad!.item()]);
    };
    await run(relu);
    const [[gw, gb], d] = await counting(() => run(sigmoid));
    expect(d.dispatches).toBe(2);
    expect(d.pipelinesCompiled).toBe(1);
    expect(d.cacheHits).toBe(1);
    const xs = ramp(16384, -2, 2);
    let [ww, wb] = [0, 0];
    for (const v of xs) {
      const s = 1 / (1 + Math.exp(-(0.75 * v + 0.25)));
      ww += s * (1 - s) * v;
      wb += s * (1 - s);
    }
    expect(gw).toBeCloseTo(ww, 2);
    expect(gb).toBeCloseTo(wb, 2);
  });

  it('a second identical call compiles nothing and reuses the plan; new constants reuse both', async () => {
    const run = async (c: number) => {
      const x = tensor(ramp(5000, -2, 2), { requiresGrad: true });
      const loss = sum(q4(x).mul(c));
      loss.backward();
      return Promise.all([loss.item(), x.grad!.data()]);
    };
    // Queue writes into uniform buffers (usage UNIFORM = 0x40).
    const queue = (activeBackend() as WebGpuBackend).device.queue;
    const write = queue.writeBuffer.bind(queue);
    let uniformWrites = 0;
    queue.writeBuffer = ((buf: GPUBuffer, ...rest: [number, BufferSource]) => {
      if (buf.usage & 0x40) uniformWrites++;
      return write(buf, ...rest);
    }) as typeof queue.writeBuffer;
    try {
      // 1 would be simplified away (x * 1 is x); any other number is a uniform.
      await run(1.5);
      uniformWrites = 0;
      const [[l2, g2], d] = await counting(() => run(1.5));
      expect(d.pipelinesCompiled).toBe(0);
      expect(d.cacheHits).toBeGreaterThan(0);
      expect(d.plansReused).toBe(1);
      // The pooled uniform buffer comes back holding the same words: not written again.
      expect(uniformWrites).toBe(0);
      // A constant is part of the run (its uniform words), not of the plan or the shader: the kept plan runs
      // with the new number's words.
      const [[l3, g3], d3] = await counting(() => run(2.5));
      expect(d3.plansReused).toBe(1);
      expect(d3.pipelinesCompiled).toBe(0);
      expect(uniformWrites).toBeGreaterThan(0);
      expect(l3 / l2).toBeCloseTo(2.5 / 1.5, 5);
      expect(g3[1234]! / g2[1234]!).toBeCloseTo(2.5 / 1.5, 5);
      // And back: the words of 1.5 are written again, and the results are 1.5's.
      const [l4] = await run(1.5);
      expect(l4).toBe(l2);
    } finally {
      queue.writeBuffer = write;
    }
  });

  it('batched sigmoid(w*x+b) with scalar w, b: loss and both gradients in at most 2 dispatches', async () => {
    const N = 100_000;
    const xs = ramp(N, -6, 6);
    const x = tensor(xs);
    const w = tensor(0.7, { requiresGrad: true });
    const b = tensor(-0.2, { requiresGrad: true });
    const loss = sum(sigmoid(w.mul(x).add(b)));
    loss.backward();
    const [[l, gw, gb], d] = await counting(() => Promise.all([loss.item(), w.grad!.item(), b.grad!.item()]));
    expect(d.dispatches).toBeLessThanOrEqual(2);
    expect(d.submits).toBe(1);
    let L = 0;
    let GW = 0;
    let GB = 0;
    for (const t of xs) {
      const s = 1 / (1 + Math.exp(-(0.7 * Math.fround(t) - 0.2)));
      L += s;
      GW += s * (1 - s) * t;
      GB += s * (1 - s);
    }
    expect(Math.abs(l - L) / L).toBeLessThan(1e-5);
    expect(Math.abs(gw - GW) / Math.abs(GW)).toBeLessThan(1e-4);
    expect(Math.abs(gb - GB) / GB).toBeLessThan(1e-5);
  });

  it('a training loop reading its loss every step reads back the loss and parameters, not activations', async () => {
    // Its parameters, computed in the run after the step that made them, had histories of only a step or two
    // when the activations computed from them had long ones: counted with only long values as leaves, the
    // activations settled in their stead, 2 MB of them (16,384 x 32) read back most steps.
    const n = 16384;
    const x = tensor(ramp(n, -1, 1), { shape: [n, 1] });
    const t = sin(x.mul(3));
    const layer = (s: number): Tensor => tensor(ramp(32, -s, s), { shape: [1, 32] });
    const vg = valueAndGrad(
      (w1: Tensor, b1: Tensor, w2: Tensor, b2: Tensor) =>
        mean(
          sum(tanh(x.mul(w1).add(b1)).mul(w2), 1, true)
            .add(b2)
            .sub(t)
            .square(),
        ),
      [0, 1, 2, 3],
    );
    const run = async (): Promise<number[]> => {
      let ps = [layer(1), layer(0.5), layer(0.8), tensor([0.1])];
      const losses: number[] = [];
      for (let s = 0; s < 20; s++) {
        const { value, grad } = vg(ps[0]!, ps[1]!, ps[2]!, ps[3]!);
        ps = ps.map((p, i) => p.sub(grad[i]!.mul(0.05)));
        losses.push(await value.item());
      }
      return losses;
    };
    await init({ backend: 'cpu' });
    const want = await run();
    await useWebGpu();
    const [got, d] = await counting(run);
    // 20 losses, and the parameters (97 floats) settled every few steps.
    expect(d.bytesReadBack).toBeLessThan(16 * 1024);
    got.forEach((l, i) => expect(Math.abs(l - want[i]!), `step ${i}`).toBeLessThan(1e-5 * want[i]!));
  });

  it('a training loop read at its end reads back its parameters, not the per-point values of its steps', async () => {
    // Every stored value with a long history was brought to the host to cut it: each step's activations
    // (10,000 x 4 floats) too, whose histories the parameters' settling cuts (14 MB read back here, now 84 KB).
    const run = async (): Promise<Float32Array[]> => {
      const x = tensor(ramp(10000, -1, 1), { shape: [10000, 1] });
      const t = sin(x.mul(3)).reshape([10000]);
      const f = (w1: Tensor, b1: Tensor, w2: Tensor): Tensor =>
        mean(
          sum(tanh(x.mul(w1).add(b1)).mul(w2), 1)
            .sub(t)
            .square(),
        );
      const vg = valueAndGrad(f, [0, 1, 2]);
      let ps = [
        tensor([0.5, -0.3, 0.8, -1.1], { shape: [1, 4] }),
        tensor([0.1, 0.2, -0.1, 0], { shape: [1, 4] }),
        tensor([0.3, 0.3, -0.2, 0.5], { shape: [1, 4] }),
      ];
      for (let s = 0; s < 40; s++) {
        const { grad } = vg(ps[0]!, ps[1]!, ps[2]!);
        ps = ps.map((p, i) => p.sub(grad[i]!.mul(0.2)));
      }
      return Promise.all(ps.map((p) => p.data()));
    };
    await init({ backend: 'cpu' });
    const want = await run();
    await useWebGpu();
    const [got, d] = await counting(run);
    expect(d.bytesReadBack).toBeLessThan(256 * 1024);
    got.forEach((g, i) =>
      expect(
        worst(g, (j) => want[i]![j]!),
        `parameter ${i}`,
      ).toBeLessThan(1e-5),
    );
  });

  it('a loop of backward() calls read at its end sums each parameter once, not once a step', async () => {
    // Each step's sums were stored and finished apart: 191 dispatches and 3.6 s at 1000 steps of this loss.
    const N = 10_000;
    const xs = ramp(N, -1, 1);
    const x = tensor(xs);
    const w = tensor(0.5, { requiresGrad: true });
    const b = tensor(0.1, { requiresGrad: true });
    const steps = 500;
    for (let k = 0; k < steps; k++) sum(w.mul(x).add(b).sub(x.mul(3).add(1)).square()).backward();
    const [[gw, gb], d] = await counting(() => Promise.all([w.grad!.item(), b.grad!.item()]));
    // The sums (a kernel and its finishing pass) and the additions of the steps.
    expect(d.dispatches).toBeLessThanOrEqual(4);
    let GW = 0;
    let GB = 0;
    for (const t of xs) {
      const r = 2 * (-2.5 * t - 0.9);
      GW += r * t;
      GB += r;
    }
    expect(Math.abs(gw - steps * GW) / Math.abs(steps * GW)).toBeLessThan(1e-4);
    expect(Math.abs(gb - steps * GB) / Math.abs(steps * GB)).toBeLessThan(1e-4);
  });
});

describe.skipIf(!adapter)('small work on the CPU', () => {
  afterAll(async () => void (await useWebGpu()));

  it('by default a single point, and on a CPU adapter up to 8191 points, runs on the CPU (no GPU round trip); cpuBelow: 0 sends it to the GPU', async () => {
    const onePoint = async () => {
      const x = tensor(2, { requiresGrad: true });
      const y = q4(x);
      y.backward();
      return Promise.all([y.item(), x.grad!.item()]);
    };
    const f = Math.exp(-4 - 4 - Math.sin(2));
    await init({ backend: 'webgpu', gpu: testGpu() });
    const [[v, g], d] = await counting(onePoint);
    expect(d.dispatches).toBe(0);
    expect(d.cpuFallbacks).toBeGreaterThan(0);
    expect(v).toBeCloseTo(f, 9);
    expect(g).toBeCloseTo(f * (-4 - 2 - Math.cos(2)), 9);
    // Work on values that live only on the GPU stays there, however small.
    const big = tensor(ramp(100_000, -1, 1)).mul(3);
    await big.realize();
    const [, d2] = await counting(() => sum(big.mul(big)).item());
    expect(d2.dispatches).toBeGreaterThan(0);
    // Below the adapter's default (8192 points on a CPU adapter, 256 on a GPU), init() says which, and
    // work of that many points goes to the GPU.
    const info = await init({ backend: 'webgpu', gpu: testGpu() });
    const below = info.adapter!.software ? 8192 : 256;
    expect(info.cpuBelow).toBe(below);
    const grid = async (n: number) => {
      const x = tensor(ramp(n, -1, 1), { requiresGrad: true });
      const y = q4(x);
      sum(y).backward();
      return Promise.all([y.data(), x.grad!.data()]);
    };
    const [under, dUnder] = await counting(() => grid(below - 1));
    expect(dUnder.dispatches).toBe(0);
    const [at, dAt] = await counting(() => grid(below));
    expect(dAt.dispatches).toBeGreaterThan(0);
    expect(dAt.cpuFallbacks).toBe(0);
    // Both ways give the values of exp(-x^2-2x-sin x) and its derivative, to float32 accuracy.
    for (const [[ys, gs], n] of [
      [at, below],
      [under, below - 1],
    ] as const) {
      const xs = ramp(n, -1, 1);
      xs.forEach((x, i) => {
        const f = Math.exp(-x * x - 2 * x - Math.sin(x));
        expect(Math.abs(ys[i]! - f)).toBeLessThanOrEqual(4e-7 * f);
        expect(Math.abs(gs[i]! - f * (-2 * x - 2 - Math.cos(x)))).toBeLessThanOrEqual(2e-6 * f);
      });
    }
    await useWebGpu();
    expect(backendInfo().cpuBelow).toBe(0);
    const [[v0, g0], d0] = await counting(onePoint);
    expect(d0.dispatches).toBeGreaterThan(0);
    expect(d0.cpuFallbacks).toBe(0);
    expect(v0).toBeCloseTo(f, 6);
    expect(g0).toBeCloseTo(f * (-4 - 2 - Math.cos(2)), 6);
  });
});

describe.skipIf(!adapter)('WebGPU chunking and grids', () => {
  afterAll(async () => void (await useWebGpu()));

  /** Values, per-point gradient, a scalar-parameter gradient and an axis sum, for comparison across limits. */
  async function workload() {
    const rows = 37;
    const cols = 1000;
    const xs = ramp(rows * cols, -4, 4);
    const x = tensor(xs, { shape: [rows, cols], requiresGrad: true });
    const w = tensor(0.3, { requiresGrad: true });
    const c = tensor(ramp(cols, -1, 1), { requiresGrad: true });
    const y = sigmoid(x.mul(w).add(c)).mul(sin(x));
    const loss = sum(y);
    loss.backward();
    const out = await Promise.all([y.data(), loss.data(), x.grad!.data(), w.grad!.data(), c.grad!.data()]);
    return out;
  }

  /** The workload's outputs under other limits or modes equal `want` up to the rounding of long sums. */
  function expectSameResults(got: Float32Array[], want: Float32Array[]): void {
    expect(got.length).toBe(want.length);
    for (let k = 0; k < want.length; k++) {
      const a = want[k]!;
      const b = got[k]!;
      expect(b.length).toBe(a.length);
      // Sums are added in a different order across chunks and modes: equal to float32 rounding of long sums.
      for (let i = 0; i < a.length; i++)
        expect(Math.abs(b[i]! - a[i]!)).toBeLessThanOrEqual(
          1e-5 * Math.max(1, Math.abs(a[i]!)) * (a.length === 1 ? 100 : 1),
        );
    }
  }

  it('a binding limit far below N gives the results of one chunk', async () => {
    await useWebGpu();
    const one = await workload();
    // 4 KiB bindings: 1024 points per chunk, 37 chunks.
    await useWebGpu({ maxBindingBytes: 4096 });
    const [many, d] = await counting(workload);
    expect(d.dispatches).toBeGreaterThan(37);
    expectSameResults(many, one);
  });

  it('scalar sums split per workgroup and per invocation agree, chunked or not', async () => {
    await useWebGpu({ reduce: 'workgroup' });
    const tree = await workload();
    for (const webgpu of [
      { reduce: 'invocation' as const },
      // Per-invocation partials of 37 chunks would not fit a 4 KiB binding: workgroup partials instead.
      { reduce: 'invocation' as const, maxBindingBytes: 4096 },
      { reduce: 'workgroup' as const, maxBindingBytes: 4096 },
    ]) {
      await useWebGpu(webgpu);
      expectSameResults(await workload(), tree);
    }
  });

  it('sums of infinite terms are infinite, and of +Inf and -Inf NaN, however the sum is split', async () => {
    // Found by the fuzzer: sum(x + exp(1000)) came back NaN, the compensated second pass computing its error
    // term as Inf - Inf. Per-point terms of 2^16 points: many partials per invocation of that pass.
    const n = 1 << 16;
    const big = exp(tensor(1000));
    for (const webgpu of [
      { reduce: 'workgroup' as const },
      { reduce: 'invocation' as const },
      { reduce: 'invocation' as const, maxBindingBytes: 4096 },
    ]) {
      await useWebGpu(webgpu);
      const x = tensor(ramp(n, -1, 1));
      expect(await sum(x.add(big)).item()).toBe(Number.POSITIVE_INFINITY);
      expect(await sum(x.sub(big)).item()).toBe(Number.NEGATIVE_INFINITY);
      // +Inf from the first half of the points, -Inf from the second: NaN, as in IEEE arithmetic.
      expect(await sum(x.mul(big)).item()).toBeNaN();
      // Along an axis, 20000 points per element (summed in slices, then by the sliced second pass): rows of
      // +Inf terms, -Inf terms, both, and finite ones.
      const m = 20_000;
      const r = ramp(m, -1, 1);
      const base = new Float32Array(4 * m);
      for (let i = 0; i < m; i++) {
        base[i] = Math.abs(r[i]!);
        base[m + i] = -Math.abs(r[i]!);
        base[2 * m + i] = r[i]!;
        base[3 * m + i] = r[i]!;
      }
      const scale = exp(tensor([1000, 1000, 1000, 0], { shape: [4, 1] }));
      const rows = await sum(tensor(base, { shape: [4, m] }).mul(scale), 1).data();
      expect(Array.from(rows.slice(0, 2))).toEqual([Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]);
      expect(rows[2]).toBeNaN();
      expect(Math.abs(rows[3]!)).toBeLessThan(1e-3);
      x.dispose();
    }
  });

  it('sleeping through the expected time of runs before waiting on them changes no result', async () => {
    await useWebGpu({ sleepWhileWaiting: false });
    const want = await workload();
    await useWebGpu({ sleepWhileWaiting: true });
    // The first run teaches the expected time; the later ones sleep through it.
    for (let r = 0; r < 3; r++) {
      const got = await workload();
      for (let k = 0; k < want.length; k++) expect(got[k]).toEqual(want[k]);
    }
  });

  it('nudging while waiting (as in browsers) changes no result, and its empty submits are counted apart', async () => {
    // Long enough on a CPU adapter (tens of milliseconds) that every wait outlasts the first nudge.
    const heavy = async (): Promise<Float32Array[]> => {
      const x = tensor(ramp(1 << 20, -3, 3), { requiresGrad: true });
      const y = sum(exp(sin(x).mul(x)));
      y.backward();
      return Promise.all([y.data(), x.grad!.data()]);
    };
    // In Node Dawn looks for finished work by itself: no nudges by default.
    await useWebGpu();
    const [want, quiet] = await counting(heavy);
    expect(quiet.nudges).toBe(0);
    await useWebGpu({ nudgeWhileWaiting: true, sleepWhileWaiting: false });
    let nudges = 0;
    for (let r = 0; r < 3; r++) {
      const [got, d] = await counting(heavy);
      for (let k = 0; k < want.length; k++) expect(got[k]).toEqual(want[k]);
      expect(d.submits).toBe(quiet.submits);
      nudges += d.nudges;
    }
    // The first run, with nothing learned, is nudged from its start; later ones from near their expected end.
    expect(nudges).toBeGreaterThan(0);
  });

  it('synchronize() asks the queue only when something submitted is not known finished', async () => {
    const gpu = await useWebGpu();
    const proto = (globalThis as unknown as { GPUQueue: { prototype: GPUQueue } }).GPUQueue.prototype;
    const original = proto.onSubmittedWorkDone;
    let asked = 0;
    // This device's queue only: a device that an earlier init() replaced asks its own before it is destroyed.
    proto.onSubmittedWorkDone = function (this: GPUQueue) {
      if (this === gpu.device.queue) asked++;
      return original.call(this);
    };
    try {
      const x = tensor(ramp(4096, -3, 3));
      // A run whose results were read: finished, so nothing to wait for.
      const y = sin(x).mul(x);
      const ys = await y.data();
      await synchronize();
      expect(asked).toBe(0);
      // A run nobody waited for: the queue is asked, once.
      const z = exp(x).mul(x);
      await z.realize();
      await synchronize();
      expect(asked).toBe(1);
      await synchronize();
      expect(asked).toBe(1);
      // A run with sin is waited for by realize() (its range-reduction flag is read): finished too.
      const w = sin(x).mul(x).add(1);
      await w.realize();
      await synchronize();
      expect(asked).toBe(1);
      const ws = await w.data();
      for (let i = 0; i < ws.length; i += 97) expect(ws[i]).toBeCloseTo(ys[i]! + 1, 5);
    } finally {
      proto.onSubmittedWorkDone = original;
    }
  });

  it('synchronize() after runs nobody waited for sleeps through most of their learned time first', async () => {
    await useWebGpu({ sleepWhileWaiting: true });
    // Large enough that a run takes more than a timer's worth of milliseconds on a CPU adapter.
    const x = tensor(ramp(1 << 21, -3, 3));
    const step = async () => {
      const y = x.mul(1.5).add(0.25).exp().mul(x);
      await y.realize();
      await synchronize();
      return y;
    };
    // The first wait teaches the run's time (no sleep), later ones sleep through most of it.
    for (let r = 0; r < 3; r++) (await step()).dispose();
    const [last, sleeps] = await timersDuring(step);
    expect(sleeps.length).toBeGreaterThan(0);
    const v = await last.data();
    expect(v[0]).toBeCloseTo(Math.exp(-3 * 1.5 + 0.25) * -3, 4);
  });

  it('synchronize() after several runs of one kernel learns from them: an estimate learned too high stops costing sleeps', async () => {
    await useWebGpu({ sleepWhileWaiting: true });
    const x = tensor(ramp(4096, -1, 1));
    const f = (): Tensor => x.mul(1.5).add(0.25).exp();
    const proto = (globalThis as unknown as { GPUQueue: { prototype: GPUQueue } }).GPUQueue.prototype;
    const original = proto.onSubmittedWorkDone;
    // One run whose wait took 40 ms (another process on the device, say): its time is learned.
    proto.onSubmittedWorkDone = async function (this: GPUQueue) {
      await original.call(this);
      await new Promise((resolve) => setTimeout(resolve, 40));
    };
    try {
      const y = f();
      await y.realize();
      await synchronize();
      y.dispose();
    } finally {
      proto.onSubmittedWorkDone = original;
    }
    // Rounds of three runs submitted without waiting, then synchronize(): sleeps (timers of 4 ms and more)
    // set while it waits. Learning only from a lone run, every round would sleep through three times the
    // 40 ms learned.
    const sleeps: number[][] = [];
    let last: Tensor[] = [];
    for (let r = 0; r < 8; r++) {
      for (const t of last) t.dispose();
      last = [f(), f(), f()];
      for (const t of last) await t.realize();
      const [, delays] = await timersDuring(synchronize);
      sleeps.push(delays.filter((ms) => ms >= 4));
    }
    // The first round slept through most of 120 ms of expected work; the last three, together, through
    // less than a quarter of that (none at all unless the machine is busy: a slow wait is learned as it was).
    expect(sleeps[0]!.length).toBe(1);
    expect(sleeps[0]![0]!).toBeGreaterThan(60);
    const late = sleeps.slice(-3).flat();
    expect(late.reduce((a, b) => a + b, 0)).toBeLessThan(sleeps[0]![0]! / 4);
    const v = await last[2]!.data();
    expect(v[0]).toBeCloseTo(Math.exp(-1.5 + 0.25), 5);
    for (const t of last) t.dispose();
  });

  it('any number of points per invocation gives bit-identical per-point results, chunked or not', async () => {
    // No sums here, so every kernel takes the option's points (kernels with sums take their reduction's).
    // Broadcast operands along rows (c), columns (r) and two axes of three (w): an invocation's points
    // step through their indices, with carries where a run length does not divide the step (1000, 1850).
    const run = async () => {
      const x = tensor(ramp(37 * 1000, -4, 4), { shape: [37, 1000], requiresGrad: true });
      const c = tensor(ramp(1000, -1, 1));
      const r = tensor(ramp(37, 0.5, 1.5), { shape: [37, 1] });
      const y = sigmoid(x.mul(c).add(r)).mul(sin(x)).sub(c.mul(3).div(7));
      y.backward(tensor(ramp(37 * 1000, 1, 2), { shape: [37, 1000] }));
      const x3 = tensor(ramp(6 * 50 * 37, -3, 3), { shape: [6, 50, 37] });
      const w = tensor(ramp(6 * 37, -2, 2), { shape: [6, 1, 37] });
      const v = tensor(ramp(37, 0.5, 1.5));
      const y3 = x3.mul(w).add(v);
      const out = await Promise.all([y.data(), x.grad!.data(), y3.data()]);
      for (const t of [x, c, r, y, x3, w, v, y3]) t.dispose();
      return out;
    };
    await useWebGpu({ pointsPerInvocation: 1 });
    const one = await run();
    for (const pointsPerInvocation of [7, 32, 256])
      for (const maxBindingBytes of [undefined, 4096]) {
        await useWebGpu({ pointsPerInvocation, ...(maxBindingBytes ? { maxBindingBytes } : {}) });
        const got = await run();
        for (let k = 0; k < one.length; k++) expect(got[k]).toEqual(one[k]);
      }
  });

  it('a CPU adapter is flagged as software; an unknown reduce mode or number of points is refused', async () => {
    await useWebGpu();
    const info = backendInfo();
    const a = adapter!.info;
    const cpuAdapter = /swiftshader|llvmpipe|lavapipe/i.test(`${a.vendor} ${a.architecture} ${a.device}`);
    expect(info.adapter?.software).toBe(cpuAdapter || a.isFallbackAdapter === true);
    await expect(
      init({ backend: 'webgpu', gpu: testGpu(), webgpu: { reduce: 'tree' as 'workgroup' } }),
    ).rejects.toThrow(/webgpu\.reduce "tree"/);
    await expect(
      init({ backend: 'webgpu', gpu: testGpu(), webgpu: { sleepWhileWaiting: 'yes' as unknown as boolean } }),
    ).rejects.toThrow(/webgpu\.sleepWhileWaiting must be 'auto', true or false, got "yes"/);
    await expect(
      init({ backend: 'webgpu', gpu: testGpu(), webgpu: { nudgeWhileWaiting: 1 as unknown as boolean } }),
    ).rejects.toThrow(/webgpu\.nudgeWhileWaiting must be 'auto', true or false, got 1/);
    await expect(
      init({
        backend: 'webgpu',
        gpu: testGpu(),
        webgpu: { exactRangeReduction: 'yes' as unknown as boolean },
      }),
    ).rejects.toThrow(/webgpu\.exactRangeReduction must be 'auto', true or false, got "yes"/);
    for (const bad of [0, 1.5, 257, 'many'])
      await expect(
        init({ backend: 'webgpu', gpu: testGpu(), webgpu: { pointsPerInvocation: bad as number } }),
      ).rejects.toThrow(/webgpu\.pointsPerInvocation must be 'auto' or an integer from 1 to 256/);
  });

  it('a sum along axes with few elements and many points (per-feature gradients) is split into slices', async () => {
    // w: one weight per feature, shared by every row; v: one per row-block, shared along the rows.
    const run = async () => {
      const rows = 30_000;
      const x = tensor(ramp(rows * 3, -2, 2), { shape: [rows, 3] });
      const w = tensor([0.5, -1, 2], { requiresGrad: true });
      const v = tensor([0.25, -0.75], { shape: [2, 1], requiresGrad: true });
      const z = tensor(ramp(2 * 20_000, -1, 1), { shape: [2, 20_000] });
      sum(sin(x.mul(w)))
        .add(sum(sigmoid(z.mul(v))))
        .backward();
      return Promise.all([w.grad!.data(), v.grad!.data()]);
    };
    const xs = ramp(30_000 * 3, -2, 2);
    const zs = ramp(40_000, -1, 1);
    const W = [0.5, -1, 2];
    // Sums and sums of magnitudes: the ramps are symmetric, so the sums cancel to near 0 and the error
    // is judged against the size of the terms.
    const gw = [0, 0, 0];
    const mw = [0, 0, 0];
    for (let i = 0; i < xs.length; i++) {
      const t = xs[i]! * Math.cos(xs[i]! * Math.fround(W[i % 3]!));
      gw[i % 3]! += t;
      mw[i % 3]! += Math.abs(t);
    }
    const gv = [0, 0];
    const mv = [0, 0];
    for (let i = 0; i < zs.length; i++) {
      const row = i < 20_000 ? 0 : 1;
      const s = 1 / (1 + Math.exp(-zs[i]! * Math.fround([0.25, -0.75][row]!)));
      gv[row]! += zs[i]! * s * (1 - s);
      mv[row]! += Math.abs(zs[i]! * s * (1 - s));
    }
    for (const webgpu of [{}, { maxBindingBytes: 4096 }]) {
      await useWebGpu(webgpu);
      const [a, b] = await run();
      for (let j = 0; j < 3; j++) expect(Math.abs(a[j]! - gw[j]!)).toBeLessThan(2e-6 * mw[j]!);
      for (let j = 0; j < 2; j++) expect(Math.abs(b[j]! - gv[j]!)).toBeLessThan(2e-6 * mv[j]!);
    }
  });

  it('a long sum along an axis keeps float32 accuracy, in slices or point by point through many chunks', async () => {
    // 65536 rows of 0.1 and of a ramp: the exact float64 sum of the float32 terms, rounded once, is what
    // the CPU gives; plain float32 running sums drift by tens of ulp over so many terms.
    const rows = 65_536;
    const xs = new Float32Array(rows * 2);
    for (let i = 0; i < rows; i++) {
      xs[2 * i] = 0.1;
      xs[2 * i + 1] = 1 + i / rows;
    }
    const exact = [0, 0];
    for (let i = 0; i < xs.length; i++) exact[i % 2]! += xs[i]!;
    for (const webgpu of [{}, { maxBindingBytes: 4096 }]) {
      await useWebGpu(webgpu);
      const got = await sum(tensor(xs, { shape: [rows, 2] }), 0).data();
      for (let j = 0; j < 2; j++) expect(Math.abs(got[j]! - exact[j]!) / exact[j]!).toBeLessThan(2e-7);
    }
    // Terms that cancel, and terms near the float32 limit whose running sum stays finite: the compensated
    // sum gives the exact total rounded once, as the CPU does.
    await useWebGpu();
    const cols = new Float32Array([1e8, -3e38, 1, 2 ** 103, -1e8, 3.4028234663852886e38, 1, 0]);
    const want = [0, 1].map((j) => Math.fround([0, 1, 2, 3].reduce((a, r) => a + cols[2 * r + j]!, 0)));
    expect(Array.from(await sum(tensor(cols, { shape: [4, 2] }), 0).data())).toEqual(want);
  });

  it('the passes that finish sums add their partials compensated: cancelling and near-limit partials', async () => {
    // Four terms, each placed so that it alone makes one partial, and so that one invocation of the finishing
    // pass meets them in this order: 1e8, 1, -1e8, 1 must give 2 (a Kahan sum gives 1), and terms at the
    // float32 limit whose running sum stays finite must give the finite total.
    const cases = [
      [1e8, 1, -1e8, 1],
      [-3e38, 2 ** 103, 3.4028234663852886e38, 1],
    ];
    const exactly = (t: number[]): number => Math.fround(t.reduce((a, b) => a + b, 0));
    /** A tensor of n zeros with the terms at the points `at(0..3)`. */
    const spread = (n: number, terms: number[], at: (j: number) => number, shape = [n]): Tensor => {
      const xs = new Float32Array(n);
      terms.forEach((t, j) => (xs[at(j)] = t));
      return tensor(xs, { shape });
    };
    for (const terms of cases) {
      // Scalar sums, per invocation: partial t holds point t (one workgroup); the pass 4 wide reads t, t+4, ...
      await useWebGpu({ reduce: 'invocation' });
      expect(await sum(spread(256, terms, (j) => 4 * j).mul(1)).item()).toBe(exactly(terms));
      // Per workgroup (of REDUCE_POINTS points per invocation): four partials, one per lane of the pass's
      // tree, which adds lanes 0 + 2 and 1 + 3 first.
      await useWebGpu({ reduce: 'workgroup' });
      const wg = 256 * REDUCE_POINTS;
      expect(await sum(spread(4 * wg, terms, (j) => [0, 2, 1, 3][j]! * wg).mul(1)).item()).toBe(
        exactly(terms),
      );
      // Along an axis in slices of 64 points: the sliced second pass adds an element's slices in order.
      await useWebGpu();
      const col = await sum(spread(256, terms, (j) => 64 * j, [256, 1]).mul(1), 0).data();
      expect(Array.from(col)).toEqual([exactly(terms)]);
    }
  });

  it('a sum over two axes that are not adjacent (a middle-axis parameter) steps both through its points', async () => {
    // w: one weight per middle index of [A, B, C]; its gradient sums over axes 0 and 2, so the loop over a
    // slice's points carries from the inner axis into the outer one.
    const [A, B, C] = [40, 3, 50];
    const xs = ramp(A * B * C, -2, 2);
    const W = [0.5, -1, 2];
    const g = [0, 0, 0];
    const m = [0, 0, 0];
    for (let i = 0; i < xs.length; i++) {
      const b = Math.floor(i / C) % B;
      const t = xs[i]! * Math.cos(xs[i]! * Math.fround(W[b]!));
      g[b]! += t;
      m[b]! += Math.abs(t);
    }
    for (const webgpu of [{}, { maxBindingBytes: 4096 }]) {
      await useWebGpu(webgpu);
      const x = tensor(xs, { shape: [A, B, C] });
      const w = tensor(W, { shape: [1, B, 1], requiresGrad: true });
      sum(sin(x.mul(w))).backward();
      const got = await w.grad!.data();
      for (let j = 0; j < B; j++) expect(Math.abs(got[j]! - g[j]!)).toBeLessThan(2e-6 * m[j]!);
    }
  });

  it('more than 65535 workgroups use a 2-D grid and cover every point', async () => {
    // One point per invocation (as on a GPU), so that the grid needs its second dimension.
    await useWebGpu({ pointsPerInvocation: 1 });
    // 256 points per workgroup: 2^24 + 2^16 points need 65792 workgroups.
    const N = 2 ** 24 + 2 ** 16;
    const x = tensor(ramp(N, -1, 1), { requiresGrad: true });
    const y = x.mul(x).add(1);
    y.backward(tensor(new Float32Array(N).fill(1)));
    // The grids dispatched, seen through the encoder's prototype.
    const grids: (number | undefined)[][] = [];
    const P = (globalThis as unknown as { GPUComputePassEncoder: { prototype: GPUComputePassEncoder } })
      .GPUComputePassEncoder.prototype;
    const dispatch = P.dispatchWorkgroups;
    P.dispatchWorkgroups = function (this: GPUComputePassEncoder, ...a: Parameters<typeof dispatch>) {
      grids.push(a);
      return dispatch.apply(this, a);
    };
    let v: Float32Array, g: Float32Array;
    try {
      [v, g] = await Promise.all([y.data(), x.grad!.data()]);
    } finally {
      P.dispatchWorkgroups = dispatch;
    }
    expect(grids).toEqual([[65535, 2]]);
    const xs = ramp(N, -1, 1);
    for (const i of [0, 1, 65535 * 256 - 1, 65535 * 256, 65535 * 256 + 1, N - 2, N - 1]) {
      expect(v[i]).toBeCloseTo(xs[i]! * xs[i]! + 1, 6);
      expect(g[i]).toBeCloseTo(2 * xs[i]!, 6);
    }
    let bad = 0;
    for (let i = 0; i < N; i++) if (g[i] !== 2 * xs[i]!) bad++;
    expect(bad).toBe(0);
  });
});

describe.skipIf(!adapter)('sin, cos and tan of large arguments', () => {
  afterAll(async () => void (await useWebGpu()));

  /** sin(x) * 2 and its gradient 2 cos(x) at `xs`, with what the run did. */
  async function sinAndGrad(xs: Float32Array) {
    const x = tensor(xs, { requiresGrad: true });
    const y = sin(x).mul(2);
    const seed = tensor(new Float32Array(xs.length).fill(1));
    y.backward(seed);
    const out = await counting(() => Promise.all([y.data(), x.grad!.data()]));
    for (const t of [x, y, x.grad!, seed]) t.dispose();
    return out;
  }

  it('are redone with the exact range reduction when an argument is beyond 8192, chunked or not', async () => {
    for (const webgpu of [{}, { maxBindingBytes: 4096 }]) {
      await useWebGpu(webgpu);
      const live = stats().liveBuffers;
      // Below the Cody-Waite range: one speculative run stands.
      const small = ramp(50_000, -8000, 8000);
      const [[v0, g0], d0] = await sinAndGrad(small);
      expect(d0.exactReruns).toBe(0);
      expect(worst(v0, (i) => 2 * Math.sin(small[i]!))).toBeLessThan(3e-7);
      expect(worst(g0, (i) => 2 * Math.cos(small[i]!))).toBeLessThan(3e-7);
      // One point beyond it, the last: the whole run is redone, and every point is right.
      const big = ramp(50_000, -8000, 8000);
      big[big.length - 1] = 1e30;
      const [[v1, g1], d1] = await sinAndGrad(big);
      expect(d1.exactReruns).toBe(1);
      expect(worst(v1, (i) => 2 * Math.sin(big[i]!))).toBeLessThan(3e-7);
      expect(worst(g1, (i) => 2 * Math.cos(big[i]!))).toBeLessThan(3e-7);
      // Far beyond, everywhere.
      const far = ramp(50_000, -3e7, 3e7);
      const [[v2, g2], d2] = await sinAndGrad(far);
      expect(d2.exactReruns).toBe(1);
      expect(worst(v2, (i) => 2 * Math.sin(far[i]!))).toBeLessThan(3e-7);
      expect(worst(g2, (i) => 2 * Math.cos(far[i]!))).toBeLessThan(3e-7);
      // The flagged runs' buffers went back to the pool.
      expect(stats().liveBuffers).toBe(live);
    }
  });

  it('with exactRangeReduction (on a GPU by default), carry the full reduction from the start: nothing redone, realize() reads no flag', async () => {
    const realized = async (xs: Float32Array) => {
      const x = tensor(xs);
      const y = sin(x);
      const [, d] = await counting(() => y.realize());
      const v = await y.data();
      for (const t of [x, y]) t.dispose();
      return { v, d };
    };
    const xs = ramp(50_000, -3e7, 3e7);
    await useWebGpu({ exactRangeReduction: true });
    const exact = await realized(xs);
    expect(exact.d.exactReruns).toBe(0);
    expect(exact.d.bytesReadBack).toBe(0);
    expect(worst(exact.v, (i) => Math.sin(xs[i]!))).toBeLessThan(3e-7);
    // Speculative, the same realize() reads its flag back and redoes the run.
    await useWebGpu();
    const speculative = await realized(xs);
    expect(speculative.d.exactReruns).toBe(1);
    expect(speculative.d.bytesReadBack).toBeGreaterThan(0);
    expect(Array.from(speculative.v)).toEqual(Array.from(exact.v));
    // 'auto' (the default): the full reduction from the start on a GPU, speculation on a CPU adapter, which
    // would run the full reduction's branch at every point.
    const info = await init({ backend: 'webgpu', gpu: testGpu(), webgpu: { cpuBelow: 0 } });
    const auto = await realized(xs);
    expect(auto.d.exactReruns).toBe(info.adapter!.software ? 1 : 0);
    expect(auto.d.bytesReadBack > 0).toBe(info.adapter!.software);
    expect(Array.from(auto.v)).toEqual(Array.from(exact.v));
  });
});

describe.skipIf(!adapter)('WebGPU faults', () => {
  afterAll(async () => void (await useWebGpu()));

  it('a device destroyed while work is pending still gives correct results, through the CPU, and says so', async () => {
    const gpu = await useWebGpu();
    const xs = ramp(20000, -3, 3);
    const x = tensor(xs, { requiresGrad: true });
    const y = q4(x);
    const loss = sum(y);
    loss.backward();
    const pending = Promise.all([loss.item(), x.grad!.data(), y.data()]);
    gpu.lose();
    const [l, g, v] = await pending;
    const f = (t: number) => Math.exp(-t * t - 2 * t - Math.sin(t));
    expect(worst(v, (i) => f(xs[i]!))).toBeLessThan(1e-5);
    expect(worst(g, (i) => f(xs[i]!) * (-2 * xs[i]! - 2 - Math.cos(xs[i]!)))).toBeLessThan(1e-5);
    let L = 0;
    for (const t of xs) L += f(t);
    expect(Math.abs(l - L) / L).toBeLessThan(1e-5);
    expect(backendInfo().backend).toBe('cpu');
    expect(backendInfo().fallbackReason).toMatch(/^device-lost: /);
    // Later work runs on the CPU, and values computed on the lost device before the loss are recomputed.
    const z = x.mul(2);
    expect((await z.data())[5]).toBeCloseTo(2 * xs[5]!, 6);
    // A new init() opens a new device.
    const again = await init({ backend: 'webgpu', gpu: testGpu(), webgpu: { cpuBelow: 0 } });
    expect(again.backend).toBe('webgpu');
    expect(backendInfo().fallbackReason).toBeUndefined();
    expect((await sum(x.mul(x)).item()) / xs.reduce((s, t) => s + t * t, 0)).toBeCloseTo(1, 5);
  });

  it('a kernel that does not compile throws with the compiler messages and the generated WGSL', async () => {
    await useWebGpu();
    const row = OPS.tanh as { wgsl: (a: string, b: string, p: number) => string };
    const original = row.wgsl;
    row.wgsl = (a) => `wg_tanh(${a}) + not_a_function(${a})`;
    try {
      const x = tensor([0.5, 1.5]);
      const y = x.tanh();
      const err = await y.data().then(
        () => null,
        (e: unknown) => e as Error,
      );
      expect(err).toBeInstanceOf(Error);
      expect(err!.message).toMatch(/does not compile/);
      expect(err!.message).toMatch(/not_a_function/);
      expect(err!.message).toMatch(/generated WGSL/);
      expect(err!.message).toMatch(/@compute @workgroup_size\(256\)/);
    } finally {
      row.wgsl = original;
    }
    // The failure is not cached: a good kernel of the same shape works afterwards.
    expect(Array.from(await tensor([0.5, 1.5]).tanh().data())).toEqual([
      Math.fround(Math.tanh(0.5)),
      Math.fround(Math.tanh(1.5)),
    ]);
  });
});
