// Plans kept by the structure of the graph they cover: a kept plan, put over a new graph of the same
// structure, is the plan that planning that graph afresh gives (with that graph's constants), and whatever
// changes the plan (which constants are equal, which inputs share a buffer, what is ready, shapes) changes
// the key.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  add,
  amax,
  cos,
  exp,
  grad,
  init,
  reshape,
  sigmoid,
  sin,
  stats,
  sum,
  tensor,
  type Tensor,
} from '../src/index.js';
import type { Node } from '../src/graph/node.js';
import { clearPlanMemo, planKernels, plansMemoized } from '../src/schedule/fuse.js';
import { PlanMemo } from '../src/schedule/plan-memo.js';
import { constant } from '../src/ops/build.js';
import { testBackends } from './backends.js';
import type { Kernel } from '../src/schedule/kernel.js';

const ramp = (n: number, k = 1): Float32Array => new Float32Array(n).map((_, i) => k * ((i % 13) / 6 - 1));

/** Graphs of several kinds over fresh leaves: each call builds a new graph of the same structure. */
const graphs: Record<string, (k: number) => Tensor[]> = {
  'exp(-x^2-2x-sin x) and its gradient': (k) => {
    const x = tensor(ramp(64, k), { requiresGrad: true });
    const y = exp(x.square().neg().sub(x.mul(2)).sub(sin(x)));
    sum(y).backward();
    return [y, x.grad!];
  },
  'sigmoid(w*x+b) with scalar parameters': (k) => {
    const x = tensor(ramp(50, k));
    const w = tensor(0.5 * k, { requiresGrad: true });
    const b = tensor(-k, { requiresGrad: true });
    const loss = sum(sigmoid(w.mul(x).add(b)));
    loss.backward();
    return [loss, w.grad!, b.grad!];
  },
  "f' and f'' of x^2 sin x by nested grad()": (k) => {
    const d1 = grad((x: Tensor) => sum(x.pow(2).mul(sin(x)))) as (x: Tensor) => Tensor;
    const d2 = grad((x: Tensor) => sum(d1(x))) as (x: Tensor) => Tensor;
    const x = tensor(ramp(40, k));
    return [d1(x), d2(x)];
  },
  'softmax-like: exp(x - amax(x)) over rows, and a reshape': (k) => {
    const x = tensor(ramp(24, k), { requiresGrad: true });
    const m = reshape(x, [4, 6]);
    const e = exp(m.sub(amax(m, 1, true)));
    const p = e.div(sum(e, 1, true));
    sum(p.mul(m)).backward();
    return [p, x.grad!];
  },
};

/** The kernels with their nodes named by id, to compare plans of one graph. */
const named = (ks: readonly Kernel[]): unknown =>
  ks.map((k) => ({
    ...k,
    inputs: k.inputs.map((i) => ({ ...i, node: i.node.id })),
    outputs: k.outputs.map((o) => ({ ...o, node: o.node.id })),
  }));

const nodes = (ts: readonly Tensor[]): Node[] => ts.map((t) => t.node);
const ready = (n: Node): boolean => n.realized;

describe('plans kept by the structure of the graph', () => {
  beforeAll(() => init({ backend: 'cpu' }));

  for (const [name, build] of Object.entries(graphs))
    it(`${name}: a kept plan over a new graph is that graph's own plan`, () => {
      clearPlanMemo();
      planKernels(nodes(build(1)), ready);
      const hits = plansMemoized();
      const again = nodes(build(2));
      const kept = planKernels(again, ready);
      expect(plansMemoized()).toBe(hits + 1);
      clearPlanMemo();
      const fresh = planKernels(again, ready);
      expect(plansMemoized()).toBe(0);
      expect(named(kept)).toEqual(named(fresh));
    });

  it('a wide level is split alike whatever order its outputs were made in', () => {
    // Four chains from one leaf, long enough that their level is split into kernels of at most 1500
    // values; made first to last, then last to first (node ids in the other order).
    const lengths = [600, 600, 600, 100];
    const chains = (made: number[]): Node[] => {
      const x = tensor(ramp(12));
      const outs: Node[] = [];
      for (const j of made) {
        let t = x.add(j + 0.5);
        for (let i = 1; i < lengths[j]!; i++) t = i % 2 ? sin(t) : cos(t);
        outs[j] = t.node;
      }
      return outs;
    };
    clearPlanMemo();
    expect(planKernels(chains([0, 1, 2, 3]), ready).length).toBeGreaterThan(1);
    const reversed = chains([3, 2, 1, 0]);
    const kept = planKernels(reversed, ready);
    expect(plansMemoized()).toBe(1);
    clearPlanMemo();
    expect(named(kept)).toEqual(named(planKernels(reversed, ready)));
  });

  it('repeated calls compute with their own values through the kept plan', async () => {
    clearPlanMemo();
    // The first run also computes what earlier tests left hinted (their graphs' gradients, never read).
    for (const k of [1, 2, -3, 0.5]) {
      const [y, g] = graphs['exp(-x^2-2x-sin x) and its gradient']!(k);
      const [yv, gv] = await Promise.all([y!.data(), g!.data()]);
      const xs = ramp(64, k);
      xs.forEach((x, i) => {
        const e = Math.exp(-x * x - 2 * x - Math.sin(x));
        expect(yv[i]).toBeCloseTo(e, 4);
        expect(gv[i]).toBeCloseTo(e * (-2 * x - 2 - Math.cos(x)), 4);
      });
    }
    expect(plansMemoized()).toBeGreaterThanOrEqual(2);
  });

  it('graphs that differ in a shared input or a shape are planned apart, and those in a constant are not', async () => {
    clearPlanMemo();
    const a = tensor([1, 2, 3]);
    const b = tensor([10, 20, 30]);
    // The same ops over one buffer twice, and over two buffers.
    expect(Array.from(await a.add(b).data())).toEqual([11, 22, 33]);
    expect(Array.from(await a.add(a).data())).toEqual([2, 4, 6]);
    expect(Array.from(await b.add(a).data())).toEqual([11, 22, 33]);
    // The same structure with another constant: the kept plan, with its own.
    expect(Array.from(await a.mul(2).data())).toEqual([2, 4, 6]);
    const hits = plansMemoized();
    expect(Array.from(await a.mul(3).data())).toEqual([3, 6, 9]);
    expect(plansMemoized()).toBe(hits + 1);
    expect(Array.from(await a.mul(-0).data())).toEqual([-0, -0, -0]);
    expect(Object.is((await a.mul(-0).data())[0], -0)).toBe(true);
    expect(Object.is((await a.mul(0).data())[0], 0)).toBe(true);
    // Another shape, and a broadcast operand.
    expect(Array.from(await tensor([1, 2]).mul(2).data())).toEqual([2, 4]);
    const m = tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(Array.from(await m.add(a).data())).toEqual([2, 4, 6, 5, 7, 9]);
    expect(Array.from(await m.add(tensor([[1], [2]])).data())).toEqual([2, 3, 4, 6, 7, 8]);
  });

  it('graphs with the same ops in the same order but wired otherwise are planned apart', async () => {
    clearPlanMemo();
    const a = tensor([1, 2, 3]);
    const b = tensor([10, 20, 30]);
    // (a + b) * a, then (a + b) * b: the same walk of ops, the product's second operand differs.
    expect(Array.from(await a.add(b).mul(a).data())).toEqual([11, 44, 99]);
    expect(Array.from(await a.add(b).mul(b).data())).toEqual([110, 440, 990]);
    // a * (a seen through a view), then a * b: two ready operands, one buffer or two.
    const view = (t: Tensor): Tensor => reshape(reshape(t, [3, 1]), [3]);
    expect(Array.from(await a.mul(view(a)).data())).toEqual([1, 4, 9]);
    expect(Array.from(await a.mul(view(b)).data())).toEqual([10, 40, 90]);
    // Sums along one axis, then the other: the same ops, other shapes.
    const m = tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(Array.from(await sum(m.mul(2), 0, true).data())).toEqual([10, 14, 18]);
    expect(Array.from(await sum(m.mul(2), 1, true).data())).toEqual([12, 30]);
  });

  it('a run asked for more of the same graph stores all of it, in one kernel', async () => {
    clearPlanMemo();
    const x = tensor(ramp(16));
    await exp(x).mul(2).data();
    const x2 = tensor(ramp(16));
    const y = exp(x2);
    const z = y.mul(2);
    const before = stats().dispatches;
    const [zv, yv] = await Promise.all([z.data(), y.data()]);
    expect(stats().dispatches - before).toBe(1);
    expect(Array.from(yv)).toEqual(Array.from(ramp(16), (v) => Math.fround(Math.exp(v))));
    expect(Array.from(zv)).toEqual(Array.from(yv, (v) => 2 * v));
  });

  it('a value an earlier run computed inside its kernel is stored when a later run needs it again', async () => {
    clearPlanMemo();
    // The plan of exp(x) + 1 with exp computed inline, kept.
    await exp(tensor(ramp(8)))
      .add(1)
      .data();
    // Twice: the second run of exp(x) * 2 takes the kept plan, which marks its exp as computed all the same.
    for (let i = 0; i < 2; i++) {
      const y = exp(tensor(ramp(8)));
      await y.mul(2).data();
      expect(y.node.realized).toBe(false);
      // The same ops, but exp was computed by an earlier run: stored now, not computed inline a second time.
      await y.add(1).data();
      expect(y.node.realized).toBe(true);
    }
  });

  it('a value realized since is read, not computed again, by a graph of otherwise the same structure', async () => {
    clearPlanMemo();
    const run = async (realizeFirst: boolean): Promise<Kernel[]> => {
      const x = tensor(ramp(32));
      const y = exp(x);
      if (realizeFirst) await y.realize();
      const z = y.mul(2);
      const ks = planKernels([z.node], ready);
      expect(Array.from(await z.data())).toEqual(Array.from(ramp(32), (v) => 2 * Math.fround(Math.exp(v))));
      return ks;
    };
    const lazy = await run(false);
    const read = await run(true);
    expect(lazy[0]!.values.some((v) => v.kind === 'op' && v.op === 'exp')).toBe(true);
    expect(read[0]!.values.some((v) => v.kind === 'op' && v.op === 'exp')).toBe(false);
  });

  it('keeps plans by their weight in bytes: one over a quarter of the budget is not kept', () => {
    // A plan can be far larger than its graph (a level split into parts that each compute what they share).
    const out = tensor([1, 2]).node;
    const plan = (values: number): Kernel[] => [
      {
        domain: [2],
        size: 2,
        inputs: [],
        values: Array.from({ length: values }, () => ({ kind: 'const' as const, value: 1 })),
        outputs: [{ node: out, ref: 0, reduce: null, access: { kind: 'full' } }],
        level: 0,
      },
    ];
    // The walk holds the constant node that the kernels' constants take their number from.
    const order = [out, constant(1)];
    const memo = new PlanMemo();
    memo.set('light', plan(100), [], order);
    expect(memo.size).toEqual({ plans: 1, weight: 'light'.length + 160 * 101 });
    memo.set('heavy', plan(2 ** 16), [], order);
    expect(memo.size.plans).toBe(1);
    expect(memo.get('heavy', order)).toBeNull();
    expect(memo.get('light', order)![0]!.outputs[0]!.node).toBe(out);
  });

  it('a disposed input is still reported when the plan of its structure is kept', async () => {
    clearPlanMemo();
    const x = tensor(ramp(8));
    await x.mul(2).add(1).data();
    const y = tensor(ramp(8));
    const z = y.mul(2).add(1);
    y.dispose();
    await expect(z.data()).rejects.toThrow(/disposed tensor/);
  });
});

describe.each(testBackends())('a graph that differs only in its numbers, on $name', (b) => {
  beforeAll(() => b.setup());

  it('takes the kept plan, with its own numbers, and a new plan where they make constants equal or unequal', async () => {
    const x = tensor([0.5, -1, 2, 3e-39]);
    // x * a + b over a sweep: the kept plan from the second call on.
    const f = (a: number, c: number): Promise<Float32Array> => x.mul(a).add(c).data();
    const want = (a: number, c: number): number[] =>
      Array.from(x.node.host!, (v) =>
        Math.fround(Math.fround(Math.fround(v) * Math.fround(a)) + Math.fround(c)),
      );
    clearPlanMemo();
    for (const [a, c] of [
      [1.5, 0.25],
      [2.5, -4],
      [-3, 7],
    ] as const)
      expect(Array.from(await f(a, c))).toEqual(want(a, c));
    expect(plansMemoized()).toBe(2);
    // Equal numbers are one constant (one uniform on WebGPU): another plan, then back to unequal ones.
    expect(Array.from(await f(2, 2))).toEqual(want(2, 2));
    expect(Array.from(await f(2, 3))).toEqual(want(2, 3));
    expect(Array.from(await f(5, 5))).toEqual(want(5, 5));
    // Unequal numbers that are equal as float32 (one uniform), then ones that are not.
    expect(Array.from(await f(0.1, 0.1 + 1e-12))).toEqual(want(0.1, 0.1 + 1e-12));
    expect(Array.from(await f(0.1, 0.2))).toEqual(want(0.1, 0.2));
    // The signs of zeros, and NaN.
    const zeros = async (a: number, c: number): Promise<boolean[]> =>
      Array.from(await x.mul(a).mul(c).data(), (v, i) => Object.is(v, Math.fround(x.node.host![i]! * a * c)));
    expect(await zeros(0, 1)).toEqual([true, true, true, true]);
    expect(await zeros(-0, 1)).toEqual([true, true, true, true]);
    expect(await zeros(-0, -0)).toEqual([true, true, true, true]);
    expect(await zeros(0, -0)).toEqual([true, true, true, true]);
    expect(Array.from(await f(NaN, 1)).every(Number.isNaN)).toBe(true);
    expect(Array.from(await f(2, 1))).toEqual(want(2, 1));
  });

  it('a constant read before is still a constant: graphs with it and with a new number share a plan', async () => {
    // Read, a constant had values of its own, and a kernel read them as an input: the plan kept for x * lr
    // then bound x * 5's constant, which has none, as a buffer (`internal: node 6 (const) has no host values`).
    const x = tensor([1, 2, 3, 4]);
    for (const first of [true, false]) {
      clearPlanMemo();
      const lr = add(0.25, first ? 0.25 : 0.5);
      expect(await lr.item()).toBe(first ? 0.5 : 0.75);
      const read = async (): Promise<number[]> => Array.from(await x.mul(lr).data());
      const fresh = async (): Promise<number[]> => Array.from(await x.mul(5).data());
      const [a, b] = first ? [await read(), await fresh()] : [await fresh(), await read()];
      expect(first ? a : b).toEqual([1, 2, 3, 4].map((v) => v * (first ? 0.5 : 0.75)));
      expect(first ? b : a).toEqual([5, 10, 15, 20]);
      expect(plansMemoized()).toBe(1);
    }
  });

  it("a kept plan's gradient kernels, sums and finishing pass take the new numbers", async () => {
    // sum(sigmoid(w*x + a)^2 * c): a and c numbers, w a parameter; the gradient of w is a sum finished by a
    // second pass on WebGPU, which reads c.
    const x = tensor(new Float32Array(20000).map((_, i) => (i % 101) / 50 - 1));
    const run = async (a: number, c: number): Promise<[number, number]> => {
      const w = tensor(0.7, { requiresGrad: true });
      const loss = sum(sigmoid(w.mul(x).add(a)).square().mul(c)).mul(c);
      loss.backward();
      return [await loss.item(), await w.grad!.item()];
    };
    const ref = (a: number, c: number): [number, number] => {
      let [l, g] = [0, 0];
      for (const v of x.node.host!) {
        const s = 1 / (1 + Math.exp(-(0.7 * v + a)));
        l += s * s;
        g += 2 * s * s * (1 - s) * v;
      }
      return [l * c * c, g * c * c];
    };
    for (const [a, c] of [
      [0.25, 2],
      [-1, 0.5],
      [3, -1.5],
    ] as const) {
      const [l, g] = await run(a, c);
      const [lw, gw] = ref(a, c);
      expect(Math.abs(l - lw)).toBeLessThan(1e-5 * Math.abs(lw));
      expect(Math.abs(g - gw)).toBeLessThan(1e-4 * Math.abs(gw));
    }
  });
});
