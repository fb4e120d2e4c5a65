// Reductions built apart that reduce the same values (each backward() builds its gradient's graph anew) are
// computed once: planned as one output, read by every place that reads any of them.
import { beforeAll, describe, expect, it } from 'vitest';
import { amax, init, linspace, mean, sin, sum, tensor, type Tensor } from '../src/index.js';
import { planKernels } from '../src/schedule/fuse.js';
import { valueNumbers } from '../src/schedule/same-values.js';
import { storageNode } from '../src/schedule/fuse.js';
import { topoSort, type Node } from '../src/graph/node.js';

const ready = (n: Node): boolean => n.realized;
const plan = (...ts: Tensor[]) =>
  planKernels(
    ts.map((t) => t.node),
    ready,
  );
const reduceOutputs = (...ts: Tensor[]): number =>
  plan(...ts).reduce((a, k) => a + k.outputs.filter((o) => o.reduce !== null).length, 0);
/** Whether `a` and `b` are equal by construction (valueNumbers). */
const equal = (a: Tensor, b: Tensor): boolean => {
  const numbers = valueNumbers(topoSort([a.node, b.node], ready), ready, storageNode);
  return numbers.get(a.node) === numbers.get(b.node);
};

describe('equal reductions built apart', () => {
  beforeAll(async () => {
    await init({ backend: 'cpu' });
  });

  it('a loop of backward() calls read at its end reduces each parameter once, not once a step', async () => {
    const xs = linspace(-1, 1, 1000);
    const ys = xs.mul(3).add(1);
    const w = tensor(0.5, { requiresGrad: true });
    const b = tensor(0.1, { requiresGrad: true });
    const steps = 300;
    for (let k = 0; k < steps; k++) sum(w.mul(xs).add(b).sub(ys).square()).backward();
    // Before: a sum per parameter and step (600 outputs, and the next level reading 600 buffers).
    expect(reduceOutputs(w.grad!, b.grad!)).toBe(2);
    const [gw, gb] = await Promise.all([w.grad!.item(), b.grad!.item()]);
    // One step's gradients, computed alone, added up in float32 as the loop adds them.
    const w1 = tensor(0.5, { requiresGrad: true });
    const b1 = tensor(0.1, { requiresGrad: true });
    sum(w1.mul(xs).add(b1).sub(ys).square()).backward();
    const [g1w, g1b] = await Promise.all([w1.grad!.item(), b1.grad!.item()]);
    let aw = Math.fround(g1w);
    let ab = Math.fround(g1b);
    for (let k = 1; k < steps; k++) {
      aw = Math.fround(aw + g1w);
      ab = Math.fround(ab + g1b);
    }
    expect(gw).toBe(aw);
    expect(gb).toBe(ab);
    // And near the float64 value: d/dw of sum((w x + b - 3x - 1)^2) is sum(2 (-2.5 x - 0.9) x).
    const pts = Array.from({ length: 1000 }, (_, i) => -1 + (2 * i) / 999);
    const exact = steps * pts.reduce((a, x) => a + 2 * (-2.5 * x - 0.9) * x, 0);
    expect(Math.abs(gw - exact)).toBeLessThan(1e-5 * Math.abs(exact));
  });

  it('tells apart values of other ops, axes, constants or inputs, and takes a*b as b*a', () => {
    const data = (f: (i: number) => number) => new Float32Array(6).map((_, i) => f(i));
    const x = tensor(
      data((i) => i - 2.5),
      { shape: [2, 3] },
    );
    const y = tensor(
      data((i) => i * 0.5),
      { shape: [2, 3] },
    );
    const x2 = tensor(
      data((i) => i - 2.5),
      { shape: [2, 3] },
    );
    expect(equal(sum(sin(x)), amax(sin(x)))).toBe(false);
    expect(equal(sum(sin(x), 0), sum(sin(x), 0))).toBe(true);
    expect(equal(sum(sin(x), 0, true), sum(sin(x), 0))).toBe(false);
    expect(equal(sum(sin(x), 0).sum(), sum(sin(x), 1).sum())).toBe(false);
    expect(equal(sum(x.mul(2)), sum(x.mul(3)))).toBe(false);
    expect(equal(x.mul(2).reshape([3, 2]), x.mul(2).reshape([6]))).toBe(false);
    // Equal values in another buffer are another input (nothing is read to compare).
    expect(equal(sum(x.mul(2)), sum(x2.mul(2)))).toBe(false);
    expect(equal(sum(x.mul(y)), sum(y.mul(x)))).toBe(true);
    expect(equal(sum(x.sub(y)), sum(y.sub(x)))).toBe(false);
    // A detached copy is its operand's value.
    expect(equal(sum(x.detach().mul(y)), sum(x.mul(y)))).toBe(true);
  });

  it('a loop of backward() through a sum along an axis stores its broadcast adjoint once, not once a step', async () => {
    const x = linspace(-1, 1, 600).reshape([20, 30]);
    const b = tensor(0.1, { requiresGrad: true });
    const steps = 200;
    for (let k = 0; k < steps; k++) mean(sum(x.add(b), 0)).backward();
    // The gradient of the sum along axis 0 is a view of a stored value (the mean's adjoint, broadcast):
    // stored once per step before, and the step's sum of it too.
    const kernels = plan(b.grad!);
    const stored = kernels.reduce((a, k) => a + k.outputs.length, 0);
    expect(stored).toBeLessThanOrEqual(4);
    expect(Math.abs((await b.grad!.item()) - steps * 20)).toBeLessThan(1e-6 * steps * 20);
  });

  it('values that are themselves asked for are each stored, under their own nodes', async () => {
    const x = linspace(0, 1, 50);
    const a = sum(sin(x));
    const b = sum(sin(x));
    const [k] = plan(a, b);
    expect(k!.outputs.map((o) => o.node)).toEqual([storageNode(a.node), storageNode(b.node)]);
    const [va, vb] = await Promise.all([a.item(), b.item()]);
    expect(va).toBe(vb);
    expect(va / 50).toBeCloseTo(1 - Math.cos(1), 1);
  });

  it('one read through views of other shapes is read as the view reads it', async () => {
    const x = tensor([1, 2, 3, 4, 5, 6], { shape: [2, 3] });
    const rows = (): Tensor => sum(x.square(), 1); // [14, 77]
    // An outer sum: the first as a column, the second, equal, as a row (a strided read of the first's buffer).
    const outer = rows()
      .reshape([2, 1])
      .add(rows().reshape([1, 2]));
    expect(reduceOutputs(outer)).toBe(1);
    expect(Array.from(await outer.data())).toEqual([28, 91, 91, 154]);
    const cols = (): Tensor => amax(x.mul(-1), 0, true); // [[-1, -2, -3]]
    const t = cols().reshape([3, 1]).mul(cols());
    expect(reduceOutputs(t)).toBe(1);
    expect(Array.from(await t.data())).toEqual([1, 2, 3, 2, 4, 6, 3, 6, 9]);
  });
});
