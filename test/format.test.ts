// formula(): the printed graph reads as ordinary math, and mathjs evaluating the text gives the same
// numbers webgrad computes from the graph.
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluate } from 'mathjs';
import {
  add,
  amax,
  asinh,
  atan,
  atanh,
  acos,
  clamp,
  cos,
  cosh,
  div,
  exp,
  exp2,
  formula,
  grad,
  init,
  log,
  maximum,
  mul,
  neg,
  pow,
  sigmoid,
  sin,
  sinh,
  softmax,
  softplus,
  sub,
  sum,
  tanh,
  tensor,
  where,
  type Tensor,
} from '../src/index.js';

const POINTS = [-1.5, -0.3, 0.4, 1, 2.5];
// Functions mathjs lacks, as the formulas spell them (the demo's formula language has them too); the
// derivative helpers print as conditionals that mathjs evaluates itself.
const HELPERS = {
  sigmoid: (v: number) => 1 / (1 + Math.exp(-v)),
  relu: (v: number) => Math.max(v, 0),
};

/** Evaluates `text` with mathjs at each point and compares with webgrad's values of `t`. */
async function expectSameValues(text: string, t: Tensor): Promise<void> {
  const got = await t.data();
  POINTS.forEach((x, i) => {
    const want = evaluate(text, { x: Math.fround(x), ...HELPERS }) as number;
    expect(got[i]).toBeCloseTo(want, 4);
  });
}

describe('formula', () => {
  beforeAll(async () => void (await init({ backend: 'cpu' })));

  it('prints a graph thousands of ops deep (no recursion), and says when it is too long', () => {
    const x = tensor([1, 2]);
    let y = x;
    for (let i = 0; i < 20000; i++) y = sin(y);
    const text = formula(y, { x }, { maxLength: 200_000 });
    expect(text).toBe(`${'sin('.repeat(20000)}x${')'.repeat(20000)}`);
    expect(() => formula(y, { x })).toThrow('formula(): the formula is longer than 20000 characters');
  });

  it('prints a forward graph with the fewest parentheses', () => {
    const x = tensor(1, { requiresGrad: true });
    expect(formula(sub(mul(2, x), pow(x, 2)), { x })).toBe('2 * x - x^2');
    expect(formula(div(1, add(1, exp(neg(x)))), { x })).toBe('1 / (1 + exp(-x))');
    expect(formula(sub(x, sub(x, 1)), { x })).toBe('x - (x - 1)');
    expect(formula(neg(mul(x, x)), { x })).toBe('-(x * x)');
    expect(formula(pow(add(x, 1), -2), { x })).toBe('(x + 1)^(-2)');
    expect(formula(mul(x, -3), { x })).toBe('x * -3');
    expect(formula(maximum(x, 0), { x })).toBe('max(x, 0)');
  });

  it('prints reductions along axes with their axes, one call per axis as mathjs takes them', () => {
    const x = tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    // Dimensions counted from 1, as mathjs's expressions count them.
    expect(formula(sum(x.mul(2), 1), { x })).toBe('sum(x * 2, 2)');
    expect(formula(amax(sin(x)), { x })).toBe('max(sin(x))');
    const y = tensor(new Float32Array(24), { shape: [2, 3, 4] });
    expect(formula(sum(y.exp(), [0, 2]), { y })).toBe('sum(sum(exp(y), 3), 1)');
    // mathjs evaluates it: the sums of the rows (webgrad's axis 1).
    expect(evaluate('sum([[1, 2, 3], [4, 5, 6]] * 2, 2)').toArray()).toEqual([12, 30]);
  });

  it('prints a reduction kept along its axes reshaped to them, so that mathjs broadcasts it as webgrad does', async () => {
    const m = tensor([
      [1, 2],
      [3, 5],
    ]);
    const centred = m.sub(amax(m, 1, true));
    expect(formula(centred, { m })).toBe('m - reshape(max(m, 2), [2, 1])');
    // mathjs gives arrays for array operands (matrices for matrices): flattened either way.
    const rows = (v: unknown): number[] =>
      (Array.isArray(v) ? v : (v as { toArray(): unknown[] }).toArray()).flat(Infinity) as number[];
    const at = {
      m: [
        [1, 2],
        [3, 5],
      ],
    };
    expect(rows(evaluate(formula(centred, { m }), at))).toEqual(Array.from(await centred.data()));
    // softmax along the rows: both of its reductions reshaped (mathjs applies exp to numbers only, so
    // this one is not evaluated there).
    expect(formula(softmax(m, 1), { m })).toMatch(
      /^exp\(m - reshape\(max\(m, 2\), \[2, 1\]\)\) \.\/ reshape\(sum\(/,
    );
    // Without keepdim, mathjs's call drops the axis as webgrad does: no reshape; but not an axis of length 1
    // that webgrad's sum also drops.
    expect(formula(amax(m, 1), { m })).toBe('max(m, 2)');
    const t = tensor(new Float32Array(12), { shape: [3, 1, 4] });
    expect(formula(sum(t, [1, 2]), { t })).toBe('reshape(sum(t, 3), [3])');
    // In a formula that reduces arrays, products, quotients and powers of arrays are mathjs's elementwise
    // ones: sum(m * m, 2) is a matrix product's rows there ([17, 37], not webgrad's [5, 25]).
    const sq = sum(m.mul(m), 1);
    expect(formula(sq, { m })).toBe('sum(m .* m, 2)');
    expect(rows(evaluate(formula(sq, { m }), at))).toEqual(Array.from(await sq.data()));
    const mixed = sum(m.div(m.add(1)).pow(2).mul(3), 0);
    expect(formula(mixed, { m })).toBe('sum((m ./ (m + 1)).^2 * 3, 1)');
    expect(rows(evaluate(formula(mixed, { m }), at))).toEqual(
      Array.from(await mixed.data()).map((v) => expect.closeTo(v, 5) as unknown as number),
    );
  });

  it('names leaves, prints unnamed scalars as values and other leaves by id', () => {
    const x = tensor(1, { requiresGrad: true });
    const w = tensor(0.5);
    const v = tensor([1, 2]);
    expect(formula(mul(w, x), { x })).toBe('0.5 * x');
    expect(formula(add(v, x), { x })).toMatch(/^t\d+ \+ x$/);
  });

  it('prints the derivative backward() built, and mathjs evaluates it to the same values', async () => {
    const xs = tensor(Float32Array.from(POINTS), { requiresGrad: true });
    sum(mul(sin(xs), pow(xs, 2))).backward();
    const text = formula(xs.grad!, { x: xs });
    expect(text).toContain('cos(x)');
    await expectSameValues(text, xs.grad!);
  });

  it("prints the derivative helpers as conditionals mathjs evaluates, constants as float32's shortest", async () => {
    const at = tensor(Float32Array.of(0.3, 0.7, 1, 2.5));
    const cases: [(t: Tensor) => Tensor, string][] = [
      [
        (t) => pow(t, t),
        '(x == 0 ? 0 : x * x^(x - 1)) + (x == 0 and abs(x^x) < Infinity ? 0 : x^x * log(x))',
      ],
      [(t) => pow(t, 1 / 3), '0.33333334 * x^(-0.6666666)'],
      [(t) => pow(2, t), '2^x * log(2)'],
      // 0 where the base is 0 and 0^x is finite (for x < 0 it is Infinity, and so is the derivative).
      [(t) => pow(0, t), '(0 == 0 and abs(0^x) < Infinity ? 0 : 0^x * log(0))'],
      [(t) => maximum(t, 1), '(x > 1 ? 1 : x == 1 ? 0.5 : 0)'],
      [(t) => clamp(t, 0.5, 2), '(2 >= max(x, 0.5) ? 1 : 0) * (x >= 0.5 ? 1 : 0)'],
    ];
    for (const [f, want] of cases) {
      const d = grad((t: Tensor) => sum(f(t)))(at);
      const text = formula(d, { x: at });
      expect(text).toBe(want);
      const got = await d.data();
      [0.3, 0.7, 1, 2.5].forEach((x, i) => {
        expect(got[i]).toBeCloseTo(evaluate(text, { x: Math.fround(x) }) as number, 5);
      });
    }
  });

  it('prints second derivatives from grad of grad', async () => {
    const f = (t: Tensor) => tanh(log(add(2, mul(sigmoid(t), cos(t)))));
    const df = (t: Tensor) => grad((u: Tensor) => sum(f(u)))(t);
    const xs = tensor(Float32Array.from(POINTS));
    const d2 = grad((t: Tensor) => sum(df(t)))(xs);
    await expectSameValues(formula(d2, { x: xs }), d2);
  });

  it('prints the inverse and hyperbolic functions as mathjs names them, to second derivatives', async () => {
    const f = (t: Tensor) => add(atan(asinh(t)), mul(sinh(t), acos(div(t, 3)))).sub(atanh(div(cosh(t), 9)));
    const df = (t: Tensor) => grad((u: Tensor) => sum(f(u)))(t);
    const xs = tensor(Float32Array.from(POINTS));
    const d2 = grad((t: Tensor) => sum(df(t)))(xs);
    const forward = formula(f(xs), { x: xs });
    for (const name of ['atan(', 'asinh(', 'acos(', 'sinh(', 'cosh(', 'atanh('])
      expect(forward).toContain(name);
    await expectSameValues(forward, f(xs));
    await expectSameValues(formula(d2, { x: xs }), d2);
  });

  it("prints where and the comparisons as conditionals, and their derivatives evaluate to webgrad's values", async () => {
    const xs = tensor(Float32Array.from(POINTS));
    const f = (t: Tensor) => where(t.lt(0), t.pow(2), where(t.ge(1), sin(t), t.gt(0.5)));
    expect(formula(f(xs), { x: xs })).toBe('(x < 0 ? x^2 : (x >= 1 ? sin(x) : (x > 0.5 ? 1 : 0)))');
    await expectSameValues(formula(f(xs), { x: xs }), f(xs));
    const d = grad((t: Tensor) => sum(f(t)))(xs);
    await expectSameValues(formula(d, { x: xs }), d);
    // A condition that has a name prints as its name.
    const c = xs.lt(0);
    expect(formula(where(c, xs, 0), { x: xs, c })).toBe('(c != 0 ? x : 0)');
  });

  it('prints exp2 as the power mathjs reads, to second derivatives', async () => {
    const xs = tensor(Float32Array.from(POINTS));
    const f = (t: Tensor) => exp2(mul(t, 0.5)).mul(exp2(t));
    expect(formula(f(xs), { x: xs })).toBe('2^(x * 0.5) * 2^x');
    const d2 = grad((t: Tensor) => sum(grad((u: Tensor) => sum(f(u)))(t)))(xs);
    await expectSameValues(formula(f(xs), { x: xs }), f(xs));
    await expectSameValues(formula(d2, { x: xs }), d2);
  });

  it("prints softplus's beta", () => {
    const x = tensor(1, { requiresGrad: true });
    expect(formula(softplus(x), { x })).toBe('(x > 20 ? x : softplus(x))');
    expect(formula(softplus(x, 2), { x })).toBe('(x * 2 > 20 ? x : softplus(2 * x) / 2)');
  });

  it('refuses a formula longer than maxLength', () => {
    let y = tensor(1, { requiresGrad: true });
    const x = y;
    for (let i = 0; i < 30; i++) y = mul(y, add(y, x));
    expect(() => formula(y, { x }, { maxLength: 1000 })).toThrow(/longer than 1000/);
  });
});
