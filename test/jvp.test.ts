// jvp: forward-mode derivatives along tangents, as JAX's; checked against grad and hand derivatives.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  grad,
  jvp,
  sigmoid,
  sin,
  sqrt,
  stats,
  sum,
  tensor,
  zerosLike,
  type Stats,
  type Tensor,
} from '../src/index.js';
import * as wg from '../src/index.js';
import { testBackends } from './backends.js';

const values = async (t: Tensor): Promise<number[]> => Array.from(await t.data());

describe.each(testBackends())('jvp on $name', (b) => {
  beforeAll(() => b.setup());

  const close = (got: number[], want: number[]): void => {
    expect(got.length).toBe(want.length);
    got.forEach((g, i) =>
      expect(Math.abs(g - want[i]!), `${i}: ${g} vs ${want[i]}`).toBeLessThanOrEqual(
        b.rtol * 4 * Math.max(1, Math.abs(want[i]!)),
      ),
    );
  };

  it("is f' times the tangent, point by point, with f's value", async () => {
    const xs = [0.5, 1, 2, -3];
    const vs = [1, 2, -1, 0.25];
    const f = (x: Tensor): Tensor => sin(x).mul(x);
    const { value, tangent } = jvp(f, [tensor(xs)], [tensor(vs)]);
    close(
      await values(value),
      xs.map((x) => Math.sin(x) * x),
    );
    close(
      await values(tangent),
      xs.map((x, i) => (Math.sin(x) + x * Math.cos(x)) * vs[i]!),
    );
    // The same as reverse mode's per-point derivative times the tangent.
    const g = await values(grad((x: Tensor) => sum(f(x)))(tensor(xs)));
    close(
      await values(tangent),
      g.map((d, i) => d * vs[i]!),
    );
  });

  it('sums the directions of several arguments, and gives per-point derivatives for a shared parameter', async () => {
    const xs = [0.5, -1, 2];
    const f = (w: Tensor, x: Tensor): Tensor => sigmoid(x.mul(w).add(0.5));
    const w = 0.3;
    const s = xs.map((x) => 1 / (1 + Math.exp(-(w * x + 0.5))));
    // d/dw at every point (grad would sum these over the points).
    const dw = jvp(f, [tensor(w), tensor(xs)], [tensor(1), zerosLike(tensor(xs))]).tangent;
    expect(dw.shape).toEqual([3]);
    close(
      await values(dw),
      xs.map((x, i) => x * s[i]! * (1 - s[i]!)),
    );
    // Both directions at once: dw * 2 + dx * v.
    const v = [1, 0, -2];
    const both = jvp(f, [w, xs], [2, v]).tangent;
    close(
      await values(both),
      xs.map((x, i) => s[i]! * (1 - s[i]!) * (2 * x + w * v[i]!)),
    );
  });

  it('composes: the jvp of a jvp is the second derivative along the tangents', async () => {
    const xs = [0.5, 1, 2];
    const f = (x: Tensor): Tensor => sin(x).mul(x);
    const ones = tensor([1, 1, 1]);
    const d2 = jvp((t: Tensor) => jvp(f, [t], [ones]).tangent, [tensor(xs)], [ones]).tangent;
    close(
      await values(d2),
      xs.map((x) => 2 * Math.cos(x) - x * Math.sin(x)),
    );
    // And reverse mode over it: d/dx of sum(f'(x)) is f''.
    const g = grad((t: Tensor) => sum(jvp(f, [t], [ones]).tangent))(tensor(xs));
    close(
      await values(g),
      xs.map((x) => 2 * Math.cos(x) - x * Math.sin(x)),
    );
  });

  it('a tangent of zeros takes its argument out, even where its partial is infinite', async () => {
    // d/dw of sqrt(x) w at every point, x = 0 included, where d/dx is infinite.
    const xs = [0, 1, 4];
    const f = (w: Tensor, x: Tensor): Tensor => sqrt(x).mul(w);
    const dw = jvp(f, [tensor(2), tensor(xs)], [tensor(1), zerosLike(tensor(xs))]).tangent;
    expect(await values(dw)).toEqual([0, 1, 2]);
    // Along b alone (a's tangent the number 0), sqrt(a) + b at a = 0 moves as b does.
    const g = (a: Tensor, c: Tensor): Tensor => sqrt(a).add(c);
    expect(await values(jvp(g, [0, 1], [0, 1]).tangent)).toEqual([1]);
    // A tangent zero at some points only is a direction like any other: JAX's NaN where it meets the
    // infinite partial.
    expect(
      await values(jvp(g, [tensor([0, 4]), tensor([1, 1])], [tensor([0, 1]), tensor([1, 1])]).tangent),
    ).toEqual([NaN, 1.25]);
    // A nonzero tangent still meets the infinite partial.
    expect(await values(jvp(g, [tensor([0]), tensor([1])], [tensor([1]), tensor([0])]).tangent)).toEqual([
      Infinity,
    ]);
  });

  it("along pow's base, masked as grad is: 0 at pow(0, 0), polynomial features x^k at 0 included", async () => {
    const ks = tensor([0, 1, 2, 3]);
    const f = (x: Tensor): Tensor => wg.pow(x, ks);
    const at0 = jvp(f, [tensor([0, 0, 0, 0])], [tensor([1, 1, 1, 1])]).tangent;
    expect(await values(at0)).toEqual([0, 1, 0, 0]);
    const at2 = jvp(f, [tensor([2, 2, 2, 2])], [tensor([1, 1, 1, 1])]).tangent;
    expect(await values(at2)).toEqual([0, 1, 4, 12]);
    // As reverse mode gives them.
    const g = await values(grad((x: Tensor) => sum(f(x)))(tensor([0, 0, 0, 0])));
    expect(g).toEqual([0, 1, 0, 0]);
  });

  it("an argument f does not use has no part, and an f that uses none gives zeros of f's shape", async () => {
    const r = jvp(
      (a: Tensor, _c: Tensor) => a.mul(3),
      [tensor([1, 2]), tensor([5, 6])],
      [tensor([1, 1]), tensor([1, 1])],
    );
    expect(await values(r.tangent)).toEqual([3, 3]);
    const k = jvp(() => tensor([7, 8, 9]), [tensor(1)], [tensor(1)]);
    expect(await values(k.tangent)).toEqual([0, 0, 0]);
  });

  it('names its mistakes', () => {
    const f = (x: Tensor): Tensor => x;
    expect(() => jvp(f, [tensor([1, 2])], [tensor([1, 2, 3])])).toThrow(
      'jvp(f): tangent 0 has shape [3], but its primal [2]',
    );
    expect(() => jvp(f, [tensor(1)], [])).toThrow('jvp(f): 1 primals but 0 tangents');
    expect(() => jvp(f, tensor(1) as never, [])).toThrow('jvp(f): primals and tangents must be arrays');
    expect(() => jvp((() => 3) as never, [tensor(1)], [tensor(1)])).toThrow('jvp(f): f must return a Tensor');
  });
});

describe.each(testBackends().filter((b) => b.name === 'webgpu'))('jvp fused on $name', (b) => {
  beforeAll(() => b.setup());

  it('computes the value and the tangent in one kernel', async () => {
    const n = 100_000;
    const x = tensor(Float32Array.from({ length: n }, (_, i) => -1 + (2 * i) / n));
    const { value, tangent } = jvp((t: Tensor) => sin(t).mul(t), [x], [tensor(new Float32Array(n).fill(1))]);
    const before = stats();
    await Promise.all([value.data(), tangent.data()]);
    const d = (k: keyof Stats): number => stats()[k] - before[k];
    expect(d('dispatches')).toBe(1);
  });
});
