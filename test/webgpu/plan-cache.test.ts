// The plan cache on its own (no device needed): a kept plan, bound to a new run's nodes, is the plan that
// planning that run afresh gives; anything that changes the plan changes the key.
import { beforeAll, describe, expect, it } from 'vitest';
import { cos, exp, grad, init, relu, sigmoid, sin, sum, tensor, type Tensor } from '../../src/index.js';
import { PlanCache, planKey } from '../../src/backend/webgpu/plan-cache.js';
import { planRun, type PlanLimits, type RunPlan } from '../../src/backend/webgpu/plan.js';
import type { Node } from '../../src/graph/node.js';
import { planKernels, storageNode } from '../../src/schedule/fuse.js';
import { kernelKey, type Kernel } from '../../src/schedule/kernel.js';
import { keptPlanOf } from '../../src/schedule/plan-memo.js';

const LIMITS: PlanLimits = { chunk: 1 << 22, maxDim: 65535, maxStorage: 8, reduce: 'workgroup' };

const ramp = (n: number): Float32Array => new Float32Array(n).map((_, i) => (i % 97) / 50 - 1);

/** The kernels that realize `ts`, as the scheduler would hand them to a backend. */
const kernelsOf = (ts: readonly Tensor[]): Kernel[] =>
  planKernels(
    ts.map((t) => t.node),
    (n) => n.realized,
  );

/** A plan with its nodes named by their place among the stored nodes of `kernels` (first appearance). */
function normal(plan: RunPlan, kernels: readonly Kernel[]): unknown {
  const ids = new Map<Node, number>();
  for (const k of kernels)
    for (const n of [...k.inputs.map((i) => i.node), ...k.outputs.map((o) => o.node)])
      if (!ids.has(storageNode(n))) ids.set(storageNode(n), ids.size);
  const id = (n: Node): number => ids.get(storageNode(n)) ?? -1;
  return {
    steps: plan.steps.map((s) => ({
      source: s.program.source,
      consts: s.program.consts,
      dispatches: s.dispatches,
      binds: s.binds.map((b) =>
        b.kind === 'node'
          ? { node: id(b.node), chunked: b.chunked }
          : b.kind === 'packed'
            ? { packed: b.nodes.map(id) }
            : b,
      ),
    })),
    partials: [...plan.partials],
    outputs: plan.outputs.map(id),
    speculative: plan.speculative,
  };
}

// Computations with every kind of step: per-point outputs, scalar sums with a tail, packed scalars, sums
// along axes (sliced or not), several kernels reading each other's results through views.
const GRAPHS: Record<string, (n: number, c: number) => Tensor[]> = {
  'exp(-x^2-2x-sin x) and its gradient': (n, c) => {
    const x = tensor(ramp(n), { requiresGrad: true });
    const y = exp(x.pow(2).neg().sub(x.mul(c)).sub(sin(x)));
    sum(y).backward();
    return [y, x.grad!];
  },
  'relu(w*x+b), loss and parameter gradients': (n, c) => {
    const x = tensor(ramp(n));
    const w = tensor(c, { requiresGrad: true });
    const b = tensor(0.25, { requiresGrad: true });
    const y = relu(w.mul(x).add(b));
    const loss = sum(y).mul(0.5);
    loss.backward();
    return [y, loss, w.grad!, b.grad!];
  },
  'per-feature weights (a sum along an axis)': (n, c) => {
    const x = tensor(ramp(n * 3), { shape: [n, 3] });
    const w = tensor([c, 1, 2], { shape: [1, 3], requiresGrad: true });
    sum(sin(x.mul(w))).backward();
    return [w.grad!];
  },
  'second derivative through grad of grad': (n, c) => {
    const x = tensor(ramp(n));
    const f = (t: Tensor): Tensor => sum(t.pow(2).mul(sin(t)).mul(c));
    const d1 = grad(f) as (t: Tensor) => Tensor;
    const d2 = grad((t: Tensor) => sum(d1(t))) as (t: Tensor) => Tensor;
    return [d1(x), d2(x)];
  },
  'sums (views of their stored node) read by a later kernel': (n, c) => {
    const x = tensor(ramp(n * 2), { shape: [n, 2] });
    const y = cos(x).add(sigmoid(x.mul(c)));
    const l = sum(y);
    const rows = sum(y, 1);
    return [y.mul(l).add(l.mul(c)), rows.mul(rows), l];
  },
};

describe('plan cache', () => {
  beforeAll(() => init({ backend: 'cpu' }));

  for (const [name, make] of Object.entries(GRAPHS))
    it(`${name}: the kept plan, on a new run's nodes, is that run's own plan`, () => {
      const cache = new PlanCache();
      const first = kernelsOf(make(5000, 2));
      cache.plan(first, LIMITS);
      expect(cache.hits).toBe(0);
      const again = kernelsOf(make(5000, 2));
      expect(planKey(again, LIMITS)).toBe(planKey(first, LIMITS));
      const reused = cache.plan(again, LIMITS);
      expect(cache.hits).toBe(1);
      expect(normal(reused, again)).toEqual(normal(planRun(again, LIMITS), again));
      // The new run's own nodes are bound, none of the first run's.
      const mine = new Set(again.flatMap((k) => [...k.inputs, ...k.outputs].map((e) => storageNode(e.node))));
      for (const s of reused.steps)
        for (const b of s.binds) if (b.kind === 'node') expect(mine.has(storageNode(b.node))).toBe(true);
      for (const n of reused.outputs) expect(mine.has(n)).toBe(true);
    });

  it('another size or limit is another plan, and so are constants made equal or unequal, but not new numbers', () => {
    const relu2 = GRAPHS['relu(w*x+b), loss and parameter gradients']!;
    const key = (n: number, c: number, limits: PlanLimits = LIMITS): string =>
      planKey(kernelsOf(relu2(n, c)), limits);
    const base = key(5000, 2);
    expect(key(5000, 2)).toBe(base);
    expect(key(5001, 2)).not.toBe(base);
    expect(key(5000, 3)).toBe(base); // w is a tensor: its value is data, not part of the plan
    const expo = GRAPHS['exp(-x^2-2x-sin x) and its gradient']!;
    const ekey = (c: number): string => planKey(kernelsOf(expo(100, c)), LIMITS);
    // A constant's number is the run's (its uniform words): the programs and dispatches are the same.
    expect(ekey(3)).toBe(ekey(5));
    // With c = 2, x * c and the derivative of x^2 (2x) share one constant: another plan.
    expect(ekey(2)).not.toBe(ekey(3));
    // The same kernels with the constants 3 and 2 made c and d: equal ones, as float32, share a uniform.
    const withConsts = (c: number, d: number): string =>
      planKey(
        kernelsOf(expo(100, 3)).map((k) => ({
          ...k,
          values: k.values.map((v) => (v.kind === 'const' ? { ...v, value: v.value === 3 ? c : d } : v)),
        })),
        LIMITS,
      );
    const apart = withConsts(5, 6);
    expect(withConsts(1, 7)).toBe(apart);
    expect(withConsts(5, 5)).not.toBe(apart);
    expect(withConsts(0.1, 0.1 + 1e-12)).toBe(withConsts(5, 5));
    // -0 and 0 are not one uniform (1 / -0 is -Infinity).
    expect(withConsts(0, -0)).toBe(apart);
    expect(withConsts(0, 0)).not.toBe(apart);
    expect(key(5000, 2, { ...LIMITS, exact: true })).not.toBe(base);
    expect(key(5000, 2, { ...LIMITS, chunk: 1024 })).not.toBe(base);
    expect(key(5000, 2, { ...LIMITS, reduce: 'invocation' })).not.toBe(base);
  });

  it('which result a later kernel reads is part of the plan', () => {
    // The same kernels but for which parameter's gradient the scaled loss reads.
    const make = (scaled: 'w' | 'b'): Kernel[] => {
      const x = tensor(ramp(3000));
      const w = tensor(2, { requiresGrad: true });
      const b = tensor(0.5, { requiresGrad: true });
      sum(relu(w.mul(x).add(b))).backward();
      const g = { w: w.grad!, b: b.grad! };
      // Both gradients come first so that the first kernel's outputs are in the same order either way.
      return kernelsOf([w.grad!, b.grad!, g[scaled].mul(3)]);
    };
    const [kw, kb] = [make('w'), make('b')];
    expect(planKey(kb, LIMITS)).not.toBe(planKey(kw, LIMITS));
    const cache = new PlanCache();
    cache.plan(kw, LIMITS);
    expect(normal(cache.plan(kb, LIMITS), kb)).toEqual(normal(planRun(kb, LIMITS), kb));
  });

  it('a plan for a constant is not reused for another: the values the shader reads are the new ones', () => {
    const cache = new PlanCache();
    const expo = GRAPHS['exp(-x^2-2x-sin x) and its gradient']!;
    cache.plan(kernelsOf(expo(100, 2)), LIMITS);
    const k3 = kernelsOf(expo(100, 3));
    const p3 = cache.plan(k3, LIMITS);
    expect(cache.hits).toBe(0);
    expect(normal(p3, k3)).toEqual(normal(planRun(k3, LIMITS), k3));
    expect(p3.steps[0]!.program.consts).toContain(3);
  });

  it('keeps plans within a budget: the plan of a long loop read only at its end is made, not kept', () => {
    const cache = new PlanCache();
    cache.plan(kernelsOf(GRAPHS['exp(-x^2-2x-sin x) and its gradient']!(1000, 2)), LIMITS);
    const light = cache.size;
    expect(light.plans).toBe(1);
    const x = tensor(ramp(64));
    let w = tensor(0.5, { requiresGrad: true });
    let c = tensor(0, { requiresGrad: true });
    for (let k = 0; k < 800; k++) {
      sum(sigmoid(w.mul(x).add(c)).square()).backward();
      w = tensor(w.sub(w.grad!.mul(0.1)), { requiresGrad: true });
      c = tensor(c.sub(c.grad!.mul(0.1)), { requiresGrad: true });
    }
    const heavy = kernelsOf([w, c]);
    expect(cache.plan(heavy, LIMITS).steps.length).toBeGreaterThan(800);
    expect(cache.size).toEqual(light);
    cache.plan(heavy, LIMITS);
    expect(cache.hits).toBe(0);
  });

  it("kernels from the scheduler's kept plan find their key by that plan, per limits", () => {
    const relu2 = GRAPHS['relu(w*x+b), loss and parameter gradients']!;
    // Planned twice: the second time the kernels come from the scheduler's kept plan (keptPlanOf).
    kernelsOf(relu2(4000, 2));
    const kept = kernelsOf(relu2(4000, 2));
    expect(keptPlanOf(kept)).toBeDefined();
    // Each kernel's key, found once per kept kernel, is the key of the same kernel made afresh.
    for (const k of kept) expect(kernelKey(k)).toBe(kernelKey({ ...k }));
    const cache = new PlanCache();
    cache.plan(kept, LIMITS);
    // Other limits: another plan, not the one kept by the same scheduler plan under LIMITS.
    const exact = { ...LIMITS, exact: true };
    const again = kernelsOf(relu2(4000, 2));
    expect(keptPlanOf(again)).toBe(keptPlanOf(kept));
    const p = cache.plan(again, exact);
    expect(cache.hits).toBe(0);
    expect(normal(p, again)).toEqual(normal(planRun(again, exact), again));
    const q = cache.plan(kernelsOf(relu2(4000, 2)), LIMITS);
    expect(cache.hits).toBe(1);
    expect(q.kept).toBeDefined();
    // Another scheduler plan (another size) is another key, though planned in the same way.
    const other = kernelsOf(relu2(4001, 2));
    cache.plan(other, LIMITS);
    expect(cache.hits).toBe(1);
  });

  it('keeps the most recently used plans', () => {
    const cache = new PlanCache();
    const expo = GRAPHS['exp(-x^2-2x-sin x) and its gradient']!;
    for (let n = 1; n <= 300; n++) cache.plan(kernelsOf(expo(1000 + n, 2)), LIMITS);
    cache.plan(kernelsOf(expo(1300, 2)), LIMITS);
    expect(cache.hits).toBe(1);
    cache.plan(kernelsOf(expo(1001, 2)), LIMITS);
    expect(cache.hits).toBe(1);
  });
});
