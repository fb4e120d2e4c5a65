// A deep graph (a chain of hundreds of ops, with its gradient) is planned as kernels of bounded size, cut
// every so many ops (see LARGE_KERNEL in src/schedule/fuse.ts), so that compiling them takes time linear
// in the graph; the results are those of the graph evaluated op by op in float32.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  add,
  amax,
  grad,
  init,
  logsumexp,
  mean,
  mul,
  sin,
  sum,
  tanh,
  tensor,
  type Tensor,
} from '../src/index.js';
import { kernelKey, type Kernel } from '../src/schedule/kernel.js';
import { clearPlanMemo, kernelNodesBuilt, planKernels, storageNode } from '../src/schedule/fuse.js';
import { deviceBindings, outputBindings } from '../src/backend/webgpu/plan.js';
import { testBackends } from './backends.js';
import { model } from './robustness/model.js';
import { topoSort, type Node } from '../src/graph/node.js';
import { CpuBackend } from '../src/backend/cpu.js';

/** x through `depth` ops: sin every third, else an affine step. */
function chain(x: Tensor, depth: number): Tensor {
  let y = x;
  for (let i = 0; i < depth; i++) y = i % 3 === 0 ? sin(y) : y.mul(1.0001).add(0.001);
  return y;
}

/** The 64 starting points of the unrolled integrations below. */
const Y0 = Array.from({ length: 64 }, (_, i) => -2 + i / 16);

/** y += 0.01 (a sin y - b y), `steps` times from Y0: an unrolled integration, and its end. */
function integrate(a: Tensor, b: Tensor, steps: number): Tensor {
  let y = tensor(Y0);
  for (let i = 0; i < steps; i++) y = y.add(sin(y).mul(a).sub(y.mul(b)).mul(0.01));
  return y;
}

/** The sums over Y0 of d(end)/da and d(end)/db of that integration, by forward mode in float64. */
function integrationGrads(a: number, b: number, steps: number): [number, number] {
  let [ga, gb] = [0, 0];
  for (const start of Y0) {
    let [v, da, db] = [Math.fround(start), 0, 0];
    for (let i = 0; i < steps; i++)
      [v, da, db] = [
        v + 0.01 * (a * Math.sin(v) - b * v),
        da + 0.01 * (Math.sin(v) + a * Math.cos(v) * da - b * da),
        db + 0.01 * (a * Math.cos(v) * db - v - b * db),
      ];
    ga += da;
    gb += db;
  }
  return [ga, gb];
}

/** The values a plan's kernels compute at each point, all together. */
const valuesOf = (kernels: readonly Kernel[]): number => kernels.reduce((n, k) => n + k.values.length, 0);

/** Integrations side by side, one for each `a` (b = 0.1), their ends summed and differentiated: a, b, a, b, ... */
function sideBySide(as: readonly number[], steps: number): Tensor[] {
  const params = as.flatMap((a) => [tensor(a, { requiresGrad: true }), tensor(0.1, { requiresGrad: true })]);
  let total = tensor(0);
  for (let p = 0; p < params.length; p += 2)
    total = total.add(sum(integrate(params[p]!, params[p + 1]!, steps)));
  total.backward();
  return params;
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

  it('a wide level (many outputs of short chains) is split into kernels of bounded size', async () => {
    // 60 chains of 40 ops from one x, read together: one level of 2400 values, no chain deep enough to cut.
    const x = tensor(Float32Array.from({ length: 64 }, (_, i) => -1 + i / 32));
    const ys = Array.from({ length: 60 }, (_, j) => chain(x.mul(1 + j / 64), 40));
    const before = kernelNodesBuilt();
    const kernels = planKernels(
      ys.map((y) => y.node),
      (n) => n.op === 'leaf',
    );
    // Its chains are too short to cut: no cut plans are made to be weighed against the split (they walked
    // the graph twice more, 10.7 nodes a value in all; 3.6 now).
    expect(kernelNodesBuilt() - before).toBeLessThan(5 * valuesOf(kernels));
    expect(kernels.length).toBeGreaterThan(1);
    expect(Math.max(...kernels.map((k) => k.values.length))).toBeLessThanOrEqual(1500);
    expect(kernels.reduce((a, k) => a + k.outputs.length, 0)).toBe(60);
    const got = await Promise.all(ys.map((y) => y.data()));
    const m = model(ys.map((y) => y.node));
    ys.forEach((y, j) => {
      const want = m.get(y.node)!.s;
      for (let i = 0; i < 64; i++)
        if (b.name.startsWith('cpu')) expect(got[j]![i]).toBe(want[i]);
        else expect(Math.abs(got[j]![i]! - want[i]!)).toBeLessThanOrEqual(1e-4 * Math.abs(want[i]!) + 1e-7);
    });
  });
  it('the parameter gradients of a 600-step unrolled integration, a sum per step, are planned and right', async () => {
    // y += 0.01 (a sin y - b y) at 64 points: the gradients of a and b sum a term per step, each needing the
    // steps after it (a level of 600 outputs whose cones nest; splitting it was tried output by output).
    const steps = 600;
    const a = tensor(0.5, { requiresGrad: true });
    const b = tensor(0.1, { requiresGrad: true });
    sum(integrate(a, b, steps)).backward();
    const kernels = planKernels([a.grad!.node, b.grad!.node], (n) => n.realized);
    expect(Math.max(...kernels.map((k) => k.values.length))).toBeLessThanOrEqual(1500);
    const [ga, gb] = integrationGrads(0.5, 0.1, steps);
    const [wa, wb] = await Promise.all([a.grad!.item(), b.grad!.item()]);
    expect(Math.abs(wa - ga)).toBeLessThan(1e-3 * Math.abs(ga));
    expect(Math.abs(wb - gb)).toBeLessThan(1e-3 * Math.abs(gb));
  });
});

// Compiling the cut kernels of such a graph takes SwiftShader some 15 s, and the 600-step test above already
// runs a cut loop on each backend: its values are checked on the CPU.
describe('planning a wide level of nested cones', () => {
  beforeAll(() => init({ backend: 'cpu' }));

  it('two unrolled integrations side by side are planned in work linear in their steps, and right', async () => {
    // Their parameters' per-step sums make one wide level of two nested cones; split in two, each part still
    // holds a whole integration, so the level is cut instead. Building every part first, each over the
    // cone of its step, walked about 100 nodes per node of the graph at 200 steps (here 8, for the three
    // plans made: whole, cut and lean).
    const steps = 200;
    const grads = sideBySide([0.5, 0.8], steps).map((p) => p.grad!);
    const nodes = topoSort(
      grads.map((g) => g.node),
      (n) => n.realized,
    ).length;
    // Planned for the CPU and for a device of 12 bindings (SwiftShader's), which weighs the kernels' inputs.
    for (const bindings of [undefined, deviceBindings(12)]) {
      clearPlanMemo();
      const before = kernelNodesBuilt();
      const kernels = planKernels(
        grads.map((g) => g.node),
        (n) => n.realized,
        false,
        bindings,
      );
      expect(Math.max(...kernels.map((k) => k.values.length))).toBeLessThanOrEqual(1500);
      expect(kernelNodesBuilt() - before).toBeLessThan(12 * nodes);
    }
    const got = await Promise.all(grads.map((g) => g.item()));
    [0.5, 0.8].forEach((a0, p) => {
      const [ga, gb] = integrationGrads(a0, 0.1, steps);
      expect(Math.abs(got[2 * p]! - ga)).toBeLessThan(1e-3 * Math.abs(ga));
      expect(Math.abs(got[2 * p + 1]! - gb)).toBeLessThan(1e-3 * Math.abs(gb));
    });
  });

  it('where the whole plan splits their level into parts, a cut plan computing fewer values is taken', () => {
    // At 100 steps no part of the level is over 1500 values, but the parts compute 17,540 values between
    // them (each holding most of an integration), against 5,548 for the lean cut plan.
    const targets = sideBySide([0.5, 0.8], 100).map((p) => p.grad!.node);
    for (const bindings of [undefined, deviceBindings(8, true)]) {
      const kernels = planKernels(targets, (n) => n.realized, false, bindings);
      expect(valuesOf(kernels)).toBeLessThan(8000);
    }
  });

  it('on a device of too few bindings for their cut plans, the level is kept whole, not split into hundreds', () => {
    // Each output of the level (a parameter's term per step) needs a whole integration: split, 161 kernels
    // of up to 1674 values computed 244,000 values between them, and took 128 s to compile on SwiftShader
    // (kept whole: 2 kernels, 4780 values, 20 s).
    const targets = sideBySide([0.5, 0.8], 120).map((p) => p.grad!.node);
    const ready = (n: { realized: boolean }): boolean => n.realized;
    // On the CPU (no bindings) a cut plan is taken, and with 8 bindings (WebGPU's least, and Firefox's on
    // Metal) the lean one fits; with 6 both are refused (the other cut plan needed 9 of 8 bindings), and
    // the whole plan is at most a few times the cut plan's size.
    const cut = planKernels(targets, ready);
    expect(Math.max(...cut.map((k) => k.values.length))).toBeLessThanOrEqual(1500);
    const eight = planKernels(targets, ready, false, deviceBindings(8, true));
    expect(Math.max(...eight.map((k) => k.values.length))).toBeLessThanOrEqual(1500);
    const kernels = planKernels(targets, ready, false, deviceBindings(6, true));
    expect(Math.max(...kernels.map((k) => k.values.length))).toBeGreaterThan(1500);
    expect(valuesOf(kernels)).toBeLessThan(2 * valuesOf(cut));
  });
});

/** How many times the kernels of a plan compute `op` at each point, all together. */
const opsOf = (kernels: readonly Kernel[], op: string): number =>
  kernels.reduce((n, k) => n + k.values.filter((v) => v.kind === 'op' && v.op === op).length, 0);

describe('cutting the gradients of loops and chains', () => {
  beforeAll(() => init({ backend: 'cpu' }));

  it("an unrolled integration's gradient computes its steps about twice, not a dozen times, within 8 bindings", () => {
    // Cut every 128 ops, the gradient's kernels each covered a few steps and computed the forward pass again
    // from its last cut up to them, and an op adding a gradient's two paths read one of them across a cut
    // and so computed the whole chain again at the next level: 1255 sines for 100 steps, 51 kernels. On
    // 8 bindings that plan was refused for the whole one, a kernel of 1594 values (22 s to compile on
    // SwiftShader).
    const steps = 100;
    const a = tensor(0.5, { requiresGrad: true });
    const b = tensor(0.1, { requiresGrad: true });
    sum(integrate(a, b, steps)).backward();
    const targets = [a.grad!, b.grad!].map((g) => storageNode(g.node));
    for (const bindings of [undefined, deviceBindings(8, true)]) {
      const kernels = planKernels(targets, (n) => n.realized, false, bindings);
      expect(Math.max(...kernels.map((k) => k.values.length))).toBeLessThanOrEqual(1500);
      expect(opsOf(kernels, 'sin')).toBeLessThan(2.5 * steps);
    }
  });

  it('grad of grad through two coupled loops takes the lean plan, a kernel of it somewhat over 1500 values', () => {
    // The old cut plan computes 16,450 values a point with kernels of up to 1247; the lean one 7,290 with one
    // of 1520 (an output whose cone is wide): fewer values in all to compile and to run.
    const step = [
      (y: Tensor) => tanh(y.mul(1.2)),
      (y: Tensor, _o: Tensor, a: Tensor) => y.add(sin(y).mul(a).sub(y.mul(0.1)).mul(0.01)),
      (y: Tensor, o: Tensor) => y.add(o.mul(0.05)).mul(0.95),
      (y: Tensor) => sin(y),
    ];
    const f = (a: Tensor): Tensor => {
      const ys = [tensor(Y0).mul(0.5), tensor(Y0).mul(0.8)];
      for (let i = 0; i < 60; i++)
        for (let j = 0; j < 2; j++) ys[j] = step[(i + j) % 4]!(ys[j]!, ys[1 - j]!, a);
      return sum(ys[0]!).add(sum(ys[1]!.mul(2)));
    };
    const g1 = grad(f);
    const a = tensor(0.5);
    const targets = [f(a), g1(a), grad((b: Tensor) => g1(b))(a)].map((t) => storageNode(t.node));
    const kernels = planKernels(targets, (n) => n.realized);
    expect(valuesOf(kernels)).toBeLessThan(10000);
    expect(Math.max(...kernels.map((k) => k.values.length))).toBeLessThanOrEqual(1.25 * 1500);
  });

  it('an integration realized halfway first, then differentiated, gives the gradients of float64', async () => {
    // The later run reads what the first computed (its cut values stored, the rest noted as computed), and
    // its plan is a lean one (2,503 values against 5,667 for the other cut plan when this was written).
    const steps = 100;
    const a = tensor(0.5, { requiresGrad: true });
    const b = tensor(0.1, { requiresGrad: true });
    let y = tensor(Y0);
    for (let i = 0; i < steps; i++) {
      y = y.add(sin(y).mul(a).sub(y.mul(b)).mul(0.01));
      if (i === steps / 2) await y.data();
    }
    sum(y).backward();
    const [ga, gb] = integrationGrads(0.5, 0.1, steps);
    const [wa, wb] = await Promise.all([a.grad!.item(), b.grad!.item()]);
    expect(Math.abs(wa - ga)).toBeLessThan(1e-4 * Math.abs(ga));
    expect(Math.abs(wb - gb)).toBeLessThan(1e-4 * Math.abs(gb));
  });

  it('the gradient of a chain with skips (y + f(y)) computes its values about three times, not six, and right', async () => {
    const x = tensor(Y0, { requiresGrad: true });
    let y = x;
    for (let i = 0; i < 300; i++) y = y.add(tanh(y.mul(0.9)).mul(0.1));
    sum(y).backward();
    const kernels = planKernels([y.node, storageNode(x.grad!.node)], (n) => n.realized);
    expect(Math.max(...kernels.map((k) => k.values.length))).toBeLessThanOrEqual(1500);
    expect(opsOf(kernels, 'tanh')).toBeLessThan(3.5 * 300);
    // d(end)/dx by forward mode in float64.
    const got = await x.grad!.data();
    Y0.forEach((start, i) => {
      let [v, d] = [Math.fround(start), 1];
      for (let s = 0; s < 300; s++) {
        const t = Math.tanh(0.9 * v);
        [v, d] = [v + 0.1 * t, d * (1 + 0.09 * (1 - t * t))];
      }
      expect(Math.abs(got[i]! - d)).toBeLessThan(1e-4 * Math.abs(d));
    });
  });
});

describe('a value read across a cut through a view', () => {
  it('is not stored as the view (whose readers read its source), and the plan runs', () => {
    // 120 sines inline (deep enough for the lean plan to store what a later level reads across its cut,
    // short of a cut of their own), read through detach() at a later level; the long chain beside them
    // makes the whole plan too large, so that the plans with cuts are made.
    const x = tensor(Float32Array.from({ length: 64 }, (_, i) => -1 + i / 32));
    let y = x;
    for (let i = 0; i < 120; i++) y = sin(y);
    let w = x;
    for (let i = 0; i < 1600; i++) w = i % 3 === 0 ? sin(w) : w.mul(1.0001).add(0.001);
    const t = y.detach().add(sum(x)).add(sum(w));
    const kernels = planKernels([t.node], (n) => n.realized);
    for (const k of kernels) for (const o of k.outputs) expect(storageNode(o.node)).toBe(o.node);
    // The float64 reference (checkGrads') runs the same plan over the graph.
    const f64 = new CpuBackend().evaluateF64([t.node])[0]!;
    const m = model([t.node]).get(t.node)!.s;
    for (let i = 0; i < 64; i++) expect(Math.abs(f64[i]! - m[i]!)).toBeLessThan(1e-4 * Math.abs(m[i]!));
  });
});

describe('cutting deep graphs, by what a device binds', () => {
  it("a reduction's gradient that would read more stored values than the device binds computes them again", () => {
    // The gradient through amax of a 30-op chain needs the chain's values after amax (a later level): stored,
    // they are 15 buffers for one kernel to read, beyond 12; computed again from x and w, a few.
    const x = tensor(
      Float32Array.from({ length: 512 }, (_, i) => -1 + i / 256),
      { shape: [8, 64] },
    );
    const w = tensor(1.5, { requiresGrad: true });
    let y = x.mul(w);
    for (let i = 0; i < 30; i++) y = i % 3 === 0 ? sin(y) : y.mul(1.0001).add(0.001);
    amax(y).backward();
    const g = [storageNode(w.grad!.node)];
    const leaves = (n: { op: string }): boolean => n.op === 'leaf';
    const stored = planKernels(g, leaves);
    expect(Math.max(...stored.map((k) => outputBindings(k)))).toBeGreaterThan(12);
    const again = planKernels(g, leaves, false, deviceBindings(12));
    expect(Math.max(...again.map((k) => outputBindings(k)))).toBeLessThanOrEqual(12);
  });

  it("a kernel fits a device's bindings by the count, or by a bound where that is sure", () => {
    // The bound met exactly: w's gradient, a sum (the partials binding) with sin (the flag word), reads every
    // input, nine arrays and w (one element, packed into a binding of its own).
    const xs = Array.from({ length: 9 }, (_, k) =>
      tensor(
        Float32Array.from({ length: 64 }, (_, i) => Math.sin(i + k)),
        { shape: [8, 8] },
      ),
    );
    const w = tensor(1.5, { requiresGrad: true });
    const y = xs
      .slice(1)
      .reduce((acc, x, k) => (k % 2 === 0 ? acc.mul(x) : acc.add(sin(x.mul(w)))), sin(xs[0]!.mul(w)));
    sum(sin(y)).backward();
    const leaves = (n: { op: string }): boolean => n.op === 'leaf';
    const kernels = planKernels([y.node, storageNode(w.grad!.node)], leaves);
    expect(kernels.some((k) => outputBindings(k) === k.inputs.length + 2)).toBe(true);
    for (let limit = 1; limit <= 14; limit++)
      for (const exact of [false, true]) {
        const b = deviceBindings(limit, exact);
        for (const k of kernels) expect(b.fits(k)).toBe(outputBindings(k, exact) <= limit);
      }
    // With exact programs only there is no flag word to bind.
    expect(Math.max(...kernels.map((k) => outputBindings(k, true)))).toBe(
      Math.max(...kernels.map((k) => outputBindings(k))) - 1,
    );
  });

  it('an unrolled loop through such a reduction keeps its stored steps (its kernels repeat) rather than recompute', () => {
    // Recomputed, each step's kernels would start from further back: kernels of new kinds at every step, a
    // compile each, where the stored plan's steps repeat one another (its outputs then run on the CPU).
    const x = tensor(
      Float32Array.from({ length: 512 }, (_, i) => -1 + i / 256),
      { shape: [8, 64] },
    );
    const loss = (p: Tensor): Tensor => {
      let y = x.mul(p);
      for (let i = 0; i < 30; i++) y = i % 3 === 0 ? sin(y) : y.mul(1.0001).add(0.001);
      return sum(logsumexp(y, 1));
    };
    let p = tensor(1.5);
    for (let s = 0; s < 4; s++) p = p.sub(grad(loss)(p).mul(0.01));
    const leaves = (n: { op: string }): boolean => n.op === 'leaf';
    const stored = planKernels([storageNode(p.node)], leaves);
    const bound = planKernels([storageNode(p.node)], leaves, false, deviceBindings(12));
    expect(bound.map(kernelKey)).toEqual(stored.map(kernelKey));
    expect(new Set(bound.map(kernelKey)).size).toBeLessThan(bound.length / 2);
  });

  it('two coupled chains are cut where the device binds enough buffers for the checkpoints', () => {
    const xs = [0, 1].map((k) =>
      tensor(
        Float32Array.from({ length: 64 }, (_, i) => Math.sin(i * 0.37 + k)),
        { requiresGrad: true },
      ),
    );
    const s = xs.slice();
    for (let t = 0; t < 400; t++) {
      const k = t % 2;
      s[k] = tanh(add(mul(s[k]!, 0.9), mul(s[(k + 1) % 2]!, 0.3)));
    }
    sum(s[0]!).add(sum(s[1]!)).backward();
    const nodes = [...s, ...xs.map((x) => x.grad!)].map((t) => storageNode(t.node));
    const leaves = (n: { op: string }): boolean => n.op === 'leaf';
    const most = (ks: { values: readonly unknown[] }[]): number =>
      Math.max(...ks.map((k) => k.values.length));
    // As one kernel: some 3600 values. With 12 bindings (SwiftShader's) the cut plan fits; with 4 it does not.
    expect(most(planKernels(nodes, leaves, false, deviceBindings(12)))).toBeLessThan(800);
    expect(most(planKernels(nodes, leaves, false, deviceBindings(4)))).toBeGreaterThan(3000);
  });

  it('a plan whose cut kernels would need more bindings than the device has stays whole', () => {
    const x = tensor(
      Float32Array.from({ length: 64 }, (_, i) => Math.sin(i)),
      { requiresGrad: true },
    );
    let y: Tensor = x;
    for (let i = 0; i < 600; i++) y = i % 2 === 0 ? sin(y) : tanh(y);
    const leaves = (n: { op: string }): boolean => n.op === 'leaf';
    // A run of the forward pass first: it computes its values inline, and the gradient's run stores them
    // (see Node.computedBefore); cut kernels of the backward pass would then each read dozens of them.
    planKernels([y.node], leaves, true);
    sum(y).backward();
    const g = [storageNode(x.grad!.node)];
    expect(planKernels(g, leaves, true, deviceBindings(12))).toHaveLength(1);
    expect(planKernels(g, leaves, true).length).toBeGreaterThan(5);
  });

  it('a chain of heavy functions is cut by its weight on a device that weighs them, not by its values', () => {
    // The gradient of 390 sines, 1173 values as one kernel, took 8.2 s to compile on SwiftShader (cut: 1 s);
    // on the CPU, whose loops call Math.sin, it stays one loop.
    const sines = (n: number): Node[] => {
      const x = tensor(
        new Float32Array(64).map((_, i) => i / 64),
        { requiresGrad: true },
      );
      let y: Tensor = x;
      for (let i = 0; i < n; i++) y = sin(y);
      sum(y.square()).backward();
      return [storageNode(x.grad!.node)];
    };
    const leaves = (n: { op: string }): boolean => n.op === 'leaf';
    const device = deviceBindings(12);
    const weight = (k: Kernel): number =>
      k.values.reduce((a, v) => a + (v.kind === 'op' ? device.weight!(v.op, v.p) : 1), 0);
    expect(device.weight!('sin', 0)).toBeGreaterThan(5);
    expect(device.weight!('mul', 0)).toBe(1);
    const heavy = planKernels(sines(390), leaves, false, device);
    expect(heavy.length).toBeGreaterThan(3);
    for (const k of heavy) expect(weight(k)).toBeLessThanOrEqual(4000);
    expect(planKernels(sines(390), leaves)).toHaveLength(1);
    // A shorter one, compiled whole in 1.9 s, is not cut (cut, its later calls take twice as long).
    expect(planKernels(sines(195), leaves, false, device)).toHaveLength(1);
  });

  it('where one kernel of many is over the bounds, only its chains are cut', () => {
    // 2400 ops through a mean every third: the whole plan's largest kernel (the sum of p's contributions from
    // 800 steps) holds 1599 values, and the cut plan, cutting every chain, computed 240,700 values in kernels
    // of 219 kinds (26 s on SwiftShader, where the whole plan's 24,800 values take 3.3 s).
    const x = tensor(Float32Array.from({ length: 256 }, (_, i) => -1 + i / 128));
    const p = tensor(0.9, { requiresGrad: true });
    const q = tensor(0.1, { requiresGrad: true });
    let y: Tensor = x;
    for (let i = 0; i < 2400; i++)
      y = i % 3 === 0 ? sin(y.mul(p)) : i % 3 === 1 ? y.add(q) : y.sub(mean(y).mul(0.5));
    sum(y.square()).add(amax(y)).backward();
    const kernels = planKernels([p.grad!.node, q.grad!.node], (n) => n.realized);
    expect(kernels.reduce((a, k) => a + k.values.length, 0)).toBeLessThan(30_000);
    expect(new Set(kernels.map(kernelKey)).size).toBeLessThan(20);
    expect(Math.max(...kernels.map((k) => k.values.length))).toBeLessThanOrEqual(1500);
  });

  it('a plan whose cuts would store too much is planned whole on the CPU too, not refused with a crash', () => {
    // RK4 for a pendulum over 100,000 points: its checkpoints would be over 256 MiB, and without a device's
    // bindings to weigh, the choice between the cut and the whole plan read them from an undefined device.
    const n = 100_000;
    const th0 = tensor(new Float32Array(n).fill(0.5), { requiresGrad: true });
    let th: Tensor = th0;
    let om: Tensor = tensor(new Float32Array(n).fill(0.1));
    const f = (t: Tensor, w: Tensor): [Tensor, Tensor] => [w, sin(t).neg()];
    for (let i = 0; i < 250; i++) {
      const [a1, b1] = f(th, om);
      const [a2, b2] = f(th.add(a1.mul(0.025)), om.add(b1.mul(0.025)));
      const [a3, b3] = f(th.add(a2.mul(0.025)), om.add(b2.mul(0.025)));
      const [a4, b4] = f(th.add(a3.mul(0.05)), om.add(b3.mul(0.05)));
      [th, om] = [
        th.add(
          a1
            .add(a2.add(a3).mul(2))
            .add(a4)
            .mul(0.05 / 6),
        ),
        om.add(
          b1
            .add(b2.add(b3).mul(2))
            .add(b4)
            .mul(0.05 / 6),
        ),
      ];
    }
    sum(th).backward();
    const kernels = planKernels([storageNode(th0.grad!.node)], (m) => m.realized);
    expect(kernels.length).toBeGreaterThan(0);
  });
});
