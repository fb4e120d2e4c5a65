// The demo's formula reader and chain-rule derivation, checked in Node without a browser: mistakes are
// named, and the float64 adjoints agree with central differences and with webgrad on the CPU.
import { beforeAll, describe, expect, it } from 'vitest';
import { init, tensor, type Tensor } from '../../src/index.js';
import { agrees, chainRule, howClose } from '../../demo/chain.js';
import { derivative, parse } from 'mathjs';
import { ExprError, parseFormula, readingNote, toDifferentiable } from '../../demo/expr.js';
import { toTensor } from '../../demo/lower.js';
import { checkRange, compute, mathjsFailure, rate, readCount, readNumber } from '../../demo/playground.js';
import { magnification, poles, splitsOf, tickLabels } from '../../demo/plot.js';
import { xRange, yRange } from '../../demo/range.js';

/** Formulas with every op, away from kinks and poles at the points used. */
const FORMULAS = [
  'sin(x) * x^2',
  '(x - 2)^2',
  '1 / (1 + exp(-x))',
  'exp(-x^2 - 2x - sin(x))',
  '8x^4 + 3x^3 + 7x^2 + 6x + 3',
  'tanh(ln(1 + (2x) / sin(y)))',
  'sqrt(x^2 + y^2) - abs(x - y) + relu(x - 0.1)',
  'sigmoid(x * y) + tan(x / 3) + cos(y)^2',
  'max(x, y) * min(x, 2y) + log(1 + x^2)',
  'x^y + y^x',
  'f(x, y) = x * y - x / y',
  'x * x * x - 3 * x + (x - 1) * (x - 1)',
  'atan(x) + asin(x / 3) * acos(y / 3) + sinh(x) - cosh(y) + asinh(x * y)',
  'acosh(1 + x^2) * atanh(y / 3) + log1p(x) - expm1(-y)',
  'atan2(y, x) * x + atan2(x - 1, y)',
  'erf(x * y) - erf(x / 2)',
  'log2(x * y) + log10(x + y) * y - exp2(x - y)',
  'softplus(x - 2y) * softplus(y)',
  'x * floor(3x) + round(x * y) - ceil(y) * trunc(x - 3) + sign(x - 1) * y',
  'x < 1 ? x^2 * y : (y >= 2 ? sin(x) : x != y) + (x > y) - (x <= 0.5) * (x == 0.35)',
];
const POINTS: [number, number][] = [
  [0.7, 1.3],
  [1.9, 0.4],
  [0.35, 2.2],
];

/** The formula in float64 at (x, y), through the same derivation code's forward pass. */
const value = (src: string, x: number, y: number): number =>
  chainRule(parseFormula(src).expr, { x, y }).value;

/**
 * A formula of x at one point, through webgrad (value, and gradient: 0 where nothing requires grad, as the
 * page reads it) and through the chain-rule view at the same float32 point.
 */
async function atPoint(src: string, at: number) {
  const p = parseFormula(src);
  const x = tensor(at, { requiresGrad: true });
  const out = toTensor(p.expr, { x }) as Tensor;
  if (out.requiresGrad) out.backward();
  return {
    value: await out.item(),
    grad: x.grad ? await x.grad.item() : 0,
    chain: chainRule(p.expr, { x: Math.fround(at) }),
  };
}

describe('formula reader', () => {
  it.each([
    ['sin(x', /Cannot read the formula/],
    ['', /Enter a formula/],
    ['x + q', /Unknown variable 'q'/],
    ['gamma(x)', /Unsupported function 'gamma'/],
    ['sin(x, y)', /sin\(\) takes one argument, got 2/],
    ['max(x)', /max\(\) takes 2 arguments, got 1/],
    ['x % 2', /operator '%' is not supported/],
    ['sin + x', /sin is a function: write sin\(x\)/],
    ['"a" + x', /Only numbers are allowed/],
    ['f(x, z) = x * z', /Unknown variable 'z'/],
    // Names every JavaScript object answers to are not constants or functions here.
    ['x + constructor', /Unknown variable 'constructor'/],
    ['toString(x)', /Unsupported function 'toString'/],
    ['x(x + 1)', /x\(\.\.\.\) reads as a function call: write x\*\(\.\.\.\) for a product/],
    ['x; x^2', /Write one formula: the ; or new line makes it several statements/],
    ['x = 3', /'x = 3' assigns a value: write a formula of x \(== compares\)/],
  ])('%j is refused with a message', (src, message) => {
    expect(() => parseFormula(src)).toThrow(ExprError);
    expect(() => parseFormula(src)).toThrow(message);
  });

  it('reads a formula pasted with its newline or followed by a ;', () => {
    for (const src of ['x^2;', 'x^2\n', ' sin(x) * x^2 ;\n'])
      expect(parseFormula(src).vars, JSON.stringify(src)).toEqual(['x']);
  });

  it('reads the variables used, the notebook spelling ln, constants and f(x) = …', () => {
    expect(parseFormula('ln(x) + pi').vars).toEqual(['x']);
    expect(parseFormula('y * e').vars).toEqual(['y']);
    expect(parseFormula('f(x, y) = x * y').vars).toEqual(['x', 'y']);
    expect(value('ln(x) + pi', 2, 0)).toBeCloseTo(Math.log(2) + Math.PI, 14);
  });

  it('checks N and the range', () => {
    expect(readCount('100000')).toBe(100_000);
    expect(readCount('1e7')).toBe(10_000_000);
    for (const bad of ['0', '1', '2.5', '10000001', 'many', ''])
      expect(() => readCount(bad)).toThrow(/N must be/);
    expect(readNumber('x from', '-2*pi')).toBeCloseTo(-2 * Math.PI, 14);
    expect(() => readNumber('x from', 'x')).toThrow(/must be a number/);
    expect(() => readNumber('x from', '1/0')).toThrow(/must be finite/);
    expect(() => checkRange(1, 1)).toThrow(/empty/);
    expect(() => checkRange(2, -2)).toThrow(/inverted/);
    expect(() => checkRange(-1, 1)).not.toThrow();
  });

  it('says the throughput in the unit that reads at least 1, and nothing where nothing was timed', () => {
    expect(rate(1_000_000, 1000)).toBe('1.0 M points/s');
    expect(rate(999_990, 1000)).toBe('1.0 M points/s');
    expect(rate(940_000, 1000)).toBe('940.0 k points/s');
    expect(rate(1e8, 10)).toBe('10.00 G points/s');
    expect(rate(100, 0)).toBe('–');
  });

  it("widens a plot's y range that float32 cannot resolve, and keeps any other", () => {
    // sin(x)^2 + cos(x)^2 in float32: 1 give or take 6e-8, where the plotting library finds no ticks.
    const [lo, hi] = yRange(1 - 6e-8, 1 + 6e-8);
    expect(hi - lo).toBeCloseTo(2e-4, 10);
    expect((lo + hi) / 2).toBeCloseTo(1, 12);
    expect(yRange(-2, 2)).toEqual([-2.1, 2.1]);
    expect(yRange(0, 0)).toEqual([-1, 1]);
    expect(yRange(null, null)).toEqual([-1, 1]);
    expect(yRange(5, 5)).toEqual([5 - 5e-4, 5 + 5e-4]);
    expect(xRange(-1e-17, 1e-17)).toEqual([-1e-17, 1e-17]);
    expect(xRange(3, 3)).toEqual([3 - 3e-6, 3 + 3e-6]);
  });

  it('hints at what was meant where a name runs a product or a call together, or a symbol is not read', () => {
    const message = (f: string): string => {
      try {
        parseFormula(f);
        return 'read';
      } catch (e) {
        return (e as Error).message;
      }
    };
    expect(message('xy')).toMatch(/Unknown variable 'xy'.*; for a product, write x \* y\.$/);
    expect(message('sinx')).toMatch(/; for sin of x, write sin\(x\)\.$/);
    expect(message('π x')).toMatch(/; π is pi\.$/);
    expect(message('|x|')).toMatch(/^Cannot read the formula: .* \(\|x\| is abs\(x\)\)\.$/);
    expect(message('x²')).toMatch(/\(x² is x\^2\)\.$/);
    expect(message('foo')).toBe("Unknown variable 'foo': use x and y (constants: pi, e).");
    expect(mathjsFailure(new RangeError('Maximum call stack size exceeded'))).toMatch(
      /^it is nested too deeply/,
    );
    expect(mathjsFailure(new TypeError('Cannot convert Complex number to Node'))).toMatch(/negative number/);
  });

  it('says how a number against a name after ^ or / was read, and nothing where the reading is plain', () => {
    const note = (f: string): string | null => readingNote(f, parseFormula(f).node);
    expect(note('e^2x')).toBe(
      'Read as (e ^ 2) * x: add parentheses if you meant otherwise (e^(2x), 1/(2x)).',
    );
    expect(note('1/2x')).toMatch(/^Read as \(1 \/ 2\) \* x:/);
    expect(note('x/2x')).toMatch(/^Read as x \/ \(2 \* x\):/);
    for (const f of ['2x', 'e^(2x)', '(e^2)x', 'x^2 y', 'sin(x)^2 cos(x)', 'x^2(x+1)', '3x/4', 'exp(x)/2'])
      expect(note(f), f).toBeNull();
  });

  it('finds poles between sampled points, leaves a gap at each and the range of the rest; none in a steep curve', () => {
    const series = (f: (x: number) => number, n: number, lo: number, hi: number) => {
      const x = Array.from({ length: n }, (_, i) => lo + ((hi - lo) * i) / (n - 1));
      return { x, y: x.map((v) => f(v)) };
    };
    const inv = poles(series((x) => 1 / x, 1000, -2, 2))!;
    expect(inv).not.toBeNull();
    // One gap, between the last negative x and the first positive one.
    const gap = inv.series.y.indexOf(null);
    expect(inv.series.y.filter((v) => v === null)).toHaveLength(1);
    expect(inv.series.x[gap - 1]!).toBeLessThan(0);
    expect(inv.series.x[gap + 1]!).toBeGreaterThan(0);
    expect(inv.bound).toBeGreaterThan(10);
    expect(inv.bound).toBeLessThan(2000);
    // Not a pole: a steep line through 0, exp(10x), a narrow peak (none of them jumps across 0 far out).
    expect(poles(series((x) => 1000 * x, 1000, -6, 6))).toBeNull();
    expect(poles(series((x) => Math.exp(10 * x), 1000, -1, 1))).toBeNull();
    expect(poles(series((x) => Math.exp(-1000 * x * x), 2001, -6, 6))).toBeNull();
    // A pole of even order keeps its sign: a spike, kept in the series, the range showing the rest.
    const sq = poles(series((x) => 1 / (x * x), 100_000, -2, 2))!;
    expect(sq.what).toBe('spikes');
    expect(sq.series.y.includes(null)).toBe(false);
    expect(sq.bound).toBeLessThan(1e5);
    expect(inv.what).toBe('poles');
  });

  it('labels ticks with the digits that tell them apart, however narrow the range against their size', () => {
    // With four digits always, f' of 2x (widened around 2) read 2 2 2 2 2, and x^2 over [100000, 100010] 1e+10
    // five times.
    expect(tickLabels([1.9998, 1.9999, 2, 2.0001, 2.0002])).toEqual([
      '1.9998',
      '1.9999',
      '2',
      '2.0001',
      '2.0002',
    ]);
    expect(tickLabels([1e10, 1.00005e10, 1.0001e10])).toEqual(['1e+10', '1.00005e+10', '1.0001e+10']);
    expect(tickLabels([-6, -4, -2, 0, 2, 4, 6])).toEqual(['-6', '-4', '-2', '0', '2', '4', '6']);
    expect(tickLabels([0, 0.5, 1, 1.5])).toEqual(['0', '0.5', '1', '1.5']);
    expect(tickLabels([-1e-17, -5e-18, 0, 5e-18, 1e-17])).toEqual([
      '-1e-17',
      '-5e-18',
      '0',
      '5e-18',
      '1e-17',
    ]);
    expect(tickLabels([2e38, 2.5e38, 3e38])).toEqual(['2e+38', '2.5e+38', '3e+38']);
    expect(tickLabels([7.25])).toEqual(['7.25']);
    // Ticks as products of the step, below 1e-16 too (where the plotting library's own made every tick 0).
    expect(splitsOf(-1e-17, 1e-17, 5e-18)).toEqual([-1e-17, -5e-18, 0, 5e-18, 1e-17]);
    expect(splitsOf(0.05, 1, 0.2)).toEqual([0.2, 0.4, 0.6, 0.8, 1]);
    // Values below 1e-6 are drawn magnified (the library refuses scales narrower than 1e-16).
    expect(magnification([-1e-17, null, 1e-17])).toBe(1e17);
    expect(magnification([3e-35, 1e-34])).toBe(1e34);
    expect(magnification([0, 1e-6, 5])).toBe(1);
    expect(magnification([null, NaN])).toBe(1);
  });
});

describe('chain rule derivation', () => {
  beforeAll(async () => {
    await init({ backend: 'cpu' });
  });

  it("masks pow's exponent derivative at a zero base with an exponent >= 0, as webgrad and PyTorch", async () => {
    for (const [src, x, y] of [
      ['x^y', 0, 0],
      ['x^y', 0, 2],
      ['x^x', 0, 0],
    ] as const) {
      const p = parseFormula(src);
      const chain = chainRule(p.expr, { x, y });
      const env: Record<string, Tensor> = {};
      for (const v of p.vars) env[v] = tensor({ x, y }[v as 'x' | 'y'], { requiresGrad: true });
      (toTensor(p.expr, env) as Tensor).backward();
      for (const v of p.vars as ('x' | 'y')[]) {
        const w = await env[v]!.grad!.item();
        expect(
          agrees(w, chain.grads[v]!, chain.nodes.length),
          `${src} d/d${v}: ${w} vs ${chain.grads[v]}`,
        ).toBe(true);
      }
    }
  });

  it('the check agrees on equal values, both NaN, float32 roundings; never a finite value with an infinity', () => {
    expect(agrees(1, 1 + 1e-7, 5)).toBe(true);
    expect(agrees(Infinity, Infinity, 5)).toBe(true);
    expect(agrees(NaN, NaN, 5)).toBe(true);
    expect(agrees(0, -Infinity, 5)).toBe(false);
    expect(agrees(1e30, Infinity, 5)).toBe(false);
    expect(agrees(NaN, 1, 5)).toBe(false);
    expect(agrees(1, 1.001, 5)).toBe(false);
    // exp(100x) at 1: the float64 adjoint 2.7e45 is beyond float32, whose result is the infinity it rounds to.
    expect(agrees(Infinity, 2.688117e45, 5)).toBe(true);
    expect(agrees(-Infinity, 2.688117e45, 5)).toBe(false);
    expect(agrees(Infinity, 1e30, 5)).toBe(false);
    expect(howClose(Infinity, 2.688117e45)).toMatch(/^beyond float32/);
    expect(howClose(Infinity, 1e30)).toBe('overflowed in float32 on the way');
    expect(howClose(NaN, NaN)).toBe('both NaN');
    expect(howClose(2, 2)).toBe('equal');
    expect(howClose(1, 1 + 1e-7)).toBe('Δ = -1.0e-7');
  });

  it.each(FORMULAS)('%s: adjoints match central differences and webgrad', async (src) => {
    const p = parseFormula(src);
    for (const [x, y] of POINTS) {
      const chain = chainRule(p.expr, { x, y });
      // Central differences in float64: error ~ h² f''' + ε/h, about 1e-7 relative at h = 1e-5.
      const h = 1e-5;
      const fd = {
        x: (value(src, x + h, y) - value(src, x - h, y)) / (2 * h),
        y: (value(src, x, y + h) - value(src, x, y - h)) / (2 * h),
      };
      const env: Record<string, Tensor> = {};
      for (const v of p.vars) env[v] = tensor({ x, y }[v as 'x' | 'y'], { requiresGrad: true });
      const out = toTensor(p.expr, env) as Tensor;
      out.backward();
      expect(Math.abs((await out.item()) - chain.value)).toBeLessThanOrEqual(
        1e-5 * (1 + Math.abs(chain.value)),
      );
      for (const v of p.vars as ('x' | 'y')[]) {
        const g = chain.grads[v]!;
        expect(Math.abs(g - fd[v]), `${v}: adjoint ${g}, differences ${fd[v]}`).toBeLessThanOrEqual(
          1e-6 * (1 + Math.abs(g)),
        );
        const w = await env[v]!.grad!.item();
        expect(Math.abs(w - g), `${v}: webgrad ${w}, adjoint ${g}`).toBeLessThanOrEqual(
          1e-4 * (1 + Math.abs(g)),
        );
      }
    }
  });

  it.each(FORMULAS)(
    "%s: mathjs differentiates the playground's rewriting, to the chain rule's values",
    (src) => {
      const p = parseFormula(src);
      // What mathjs's derivative refuses, the playground says it cannot check.
      if (/\?|[<>]|==|!=|erf\(|floor\(|ceil\(|round\(|trunc\(|sign\(/.test(src)) {
        expect(() => toDifferentiable(p.expr)).toThrow('mathjs does not differentiate');
        return;
      }
      for (const v of p.vars) {
        // Throws where mathjs cannot differentiate a function the formula reader accepts.
        const d = derivative(parse(toDifferentiable(p.expr)), v).compile();
        for (const [x, y] of POINTS) {
          const want = chainRule(p.expr, { x, y }).grads[v]!;
          const got = d.evaluate({ x, y }) as number;
          expect(Math.abs(got - want), `${v} at (${x}, ${y}): ${got} vs ${want}`).toBeLessThanOrEqual(
            1e-9 * (1 + Math.abs(want)),
          );
        }
      }
    },
  );

  it("the chain rule compares as webgrad does, in float32: both take the same branch at an edge's rounding", async () => {
    for (const src of [
      'x + 0.2 > 0.3 ? 5 * x : x',
      'x * 3 == 0.3 ? 5 * x : x',
      'x + 0.6 > 0.7 ? 5 * x : x',
      'x * 0.1 == 0.01 ? 5 * x : x',
      'x * 0.9 < 0.09 ? 5 * x : x',
      '(x + 0.6 > 0.7) * x + (x * 0.1 == 0.01)',
    ]) {
      const { value, grad, chain } = await atPoint(src, 0.1);
      expect(chain.value, src).toBeCloseTo(value, 6);
      expect(chain.grads.x, src).toBe(grad);
    }
  });

  it("the chain rule takes webgrad's side of kinks and steps, decided in float32 too", async () => {
    // x - 0.1 at x = 0.1 is 1.5e-9 in float64 and 0 in float32; 2x - 0.3 at 0.9 is 1.4999999 and 1.5.
    for (const [src, at] of [
      ['relu(x - 0.1)', 0.1],
      ['abs(3x - 0.3)', 0.1],
      ['max(x, 0.1)', 0.1],
      ['min(x, 0.1)', 0.1],
      ['sign(x - 0.1) * x', 0.1],
      ['round(2x - 0.3) * x', 0.9],
    ] as const) {
      const { grad, chain } = await atPoint(src, at);
      expect(chain.grads.x, src).toBe(grad);
    }
  });

  it('the chain rule passes nothing through a step or a branch not taken, not an infinite adjoint × 0', async () => {
    // sqrt's derivative at 0 is infinite; floor, comparisons and where's other branch pass webgrad nothing.
    for (const [src, at] of [
      ['x * sqrt(floor(x))', 0.5],
      ['sqrt(round(x))', 0.3],
      ['sqrt(x > 0)', -1],
      ['sqrt(x < 0 ? x : 0)', 1],
      ['sqrt(x^2 < 1 ? 0 : x)', 0.5],
    ] as const) {
      // Through a comparison alone, nothing requires grad: atPoint reads that as 0.
      const { grad, chain } = await atPoint(src, at);
      expect(grad, src).toBe(0);
      expect(chain.grads.x, src).toBe(0);
    }
  });

  it('a formula of x only through comparisons (a step) computes, with zero derivatives', async () => {
    for (const [src, want] of [
      ['x < 0', [1, 1, 0, 0, 0]],
      ['x > 1 ? 2 : 3', [3, 3, 3, 3, 2]],
      ['(y > 1) + 1', [2, 2, 2, 2, 2]],
    ] as const) {
      const c = await compute({ parsed: parseFormula(src), lo: -2, hi: 2, n: 5, y: 1.5, second: true });
      expect(Array.from(c.f), src).toEqual(want);
      expect(Array.from(c.df), src).toEqual([0, 0, 0, 0, 0]);
      expect(Array.from(c.d2f!), src).toEqual([0, 0, 0, 0, 0]);
    }
  });

  it('names nodes as the notebook does by hand, shares repeated subformulas, and ends in f', () => {
    const chain = chainRule(parseFormula('sin(x) * sin(x) + x').expr, { x: 1 });
    expect(chain.nodes.map((n) => n.name)).toEqual(['x', 'v1', 'v2', 'f']);
    expect(chain.nodes[1]!.definition).toBe('sin(x)');
    // x is used by sin and by the sum: its adjoint has two terms.
    expect(chain.nodes[0]!.adjointText.split(' + ')).toHaveLength(2);
    expect(chain.grads.x).toBeCloseTo(2 * Math.sin(1) * Math.cos(1) + 1, 14);
  });
});
