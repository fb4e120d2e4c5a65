// Random expression trees over the table's ops: first and second derivatives (all variables) agree
// with float64 central differences, through checkGrads. Scalar variables broadcast against vectors.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import * as wg from '../src/index.js';
import { checkGrads, opNames, pow, sum, tensor, type Operand, type Tensor } from '../src/index.js';
import { OPS, type OpName } from '../src/ops/table.js';
import { testBackends } from './backends.js';

/** An expression: a variable, a constant, or a table op (`powi`: an integer constant power). */
type Expr =
  { k: 'var'; i: number } | { k: 'const'; v: number } | { k: 'op'; op: string; args: Expr[]; p: number };

const op = (name: string, args: Expr[], p = 0): Expr => ({ k: 'op', op: name, args, p });
/** a² + 0.5: a smooth, positive stand-in for arguments that must stay inside a domain. */
const pos = (a: Expr): Expr => op('add', [op('mul', [a, a]), { k: 'const', v: 0.5 }]);

/** 0.9 sin a: a smooth stand-in for arguments that must stay inside (-1, 1). */
const inside = (a: Expr): Expr => op('mul', [op('sin', [a]), { k: 'const', v: 0.9 }]);

/** How each public op's arguments are kept inside its domain (the identity for ops defined everywhere). */
const DOMAIN: Record<string, (args: Expr[]) => Expr[]> = {
  add: (a) => a,
  sub: (a) => a,
  mul: (a) => a,
  div: ([a, b]) => [a!, pos(b!)],
  pow: ([a, b]) => [pos(a!), b!],
  neg: (a) => a,
  exp: (a) => a,
  exp2: (a) => a,
  log: ([a]) => [pos(a!)],
  log2: ([a]) => [pos(a!)],
  log10: ([a]) => [pos(a!)],
  // a² + 0.5 > -1.
  log1p: ([a]) => [pos(a!)],
  // |sin a| <= 1: expm1 of expm1 grows like exp of exp, and its float32 second derivative then carries
  // more rounding than the chain's tolerance allows (the fuzzer covers wide arguments with an error model).
  expm1: ([a]) => [op('sin', [a!])],
  erf: (a) => a,
  sin: (a) => a,
  cos: (a) => a,
  // |sin a| ≤ 1 keeps tan away from its poles at ±π/2.
  tan: ([a]) => [op('sin', [a!])],
  atan: (a) => a,
  // 0.9 sin a stays inside (-1, 1), away from the infinite slopes at the ends.
  asin: ([a]) => [inside(a!)],
  acos: ([a]) => [inside(a!)],
  // x > 0: away from the origin and the jump along the negative x axis.
  atan2: ([a, b]) => [a!, pos(b!)],
  tanh: (a) => a,
  // As expm1: sinh and cosh of themselves grow like exp of exp.
  sinh: ([a]) => [op('mul', [op('sin', [a!]), { k: 'const', v: 3 }])],
  cosh: ([a]) => [op('mul', [op('sin', [a!]), { k: 'const', v: 3 }])],
  asinh: (a) => a,
  // a² + 1.5 > 1.
  acosh: ([a]) => [op('add', [pos(a!), { k: 'const', v: 1 }])],
  atanh: ([a]) => [inside(a!)],
  sigmoid: (a) => a,
  softplus: (a) => a,
  relu: (a) => a,
  abs: (a) => a,
  sqrt: ([a]) => [pos(a!)],
  // Steps at the integers (halfway between for round), skipped within KINK_MARGIN (see wellInside).
  floor: (a) => a,
  ceil: (a) => a,
  round: (a) => a,
  trunc: (a) => a,
  sign: (a) => a,
  maximum: (a) => a,
  minimum: (a) => a,
  // Steps: derivatives 0 away from ties (see wellInside).
  lt: (a) => a,
  le: (a) => a,
  gt: (a) => a,
  ge: (a) => a,
  eq: (a) => a,
  ne: (a) => a,
};

const VEC = 3;
// Kinks (relu, abs at 0; maximum, minimum at ties) closer than this to a sampled point are skipped:
// the central differences of checkGrads would straddle them.
const KINK_MARGIN = 1e-2;
// Steps at the integers (round: halfway between; sign only at 0, skipped near every integer all the same).
const ROUNDING = new Set(['floor', 'ceil', 'round', 'trunc', 'sign']);
// The comparisons: steps at a == b.
const STEPS = new Set(['lt', 'le', 'gt', 'ge', 'eq', 'ne']);
// Points where some subexpression grows beyond this are skipped: float32 cancellation there says
// nothing about the derivative rules.
const MAX_ABS = 1e3;
// A depth-6 expression with its second derivative chains up to ~100 float32 operations; their
// errors add up, relative to the terms checkGrads compares (see CheckOptions.rtol).
const CHAIN = 100;

const covered = opNames.filter((name) => name in DOMAIN);
const unary = covered.filter((name) => OPS[name].arity === 1);
const binary = covered.filter((name) => OPS[name].arity === 2);

const leaf: fc.Arbitrary<Expr> = fc.oneof(
  { weight: 3, arbitrary: fc.nat({ max: 2 }).map((i): Expr => ({ k: 'var', i })) },
  { weight: 1, arbitrary: fc.integer({ min: -20, max: 20 }).map((n): Expr => ({ k: 'const', v: n / 10 })) },
);
const expr: fc.Memo<Expr> = fc.memo<Expr>((depth): fc.Arbitrary<Expr> =>
  depth <= 1
    ? leaf
    : fc.oneof(
        { weight: 1, arbitrary: leaf },
        {
          weight: 3,
          arbitrary: fc.tuple(fc.constantFrom(...unary), expr(depth - 1)).map(([o, a]) => op(o, [a])),
        },
        {
          weight: 3,
          arbitrary: fc
            .tuple(fc.constantFrom(...binary), expr(depth - 1), expr(depth - 1))
            .map(([o, a, b]) => op(o, [a, b])),
        },
        {
          weight: 1,
          arbitrary: fc.tuple(fc.constantFrom(2, 3), expr(depth - 1)).map(([p, a]) => op('powi', [a], p)),
        },
      ),
);

/** Variable indices folded into range, and each op's arguments kept inside its domain. */
function prepare(e: Expr, nvars: number): Expr {
  if (e.k === 'var') return { k: 'var', i: e.i % nvars };
  if (e.k === 'const') return e;
  const args = e.args.map((a) => prepare(a, nvars));
  return op(e.op, e.op === 'powi' ? args : DOMAIN[e.op]!(args), e.p);
}

/** The expression as code, for failure messages. */
function show(e: Expr): string {
  if (e.k === 'var') return `x${e.i}`;
  if (e.k === 'const') return String(e.v);
  if (e.op === 'powi') return `pow(${show(e.args[0]!)}, ${e.p})`;
  return `${e.op}(${e.args.map(show).join(', ')})`;
}

const api = wg as unknown as Record<string, (...args: Operand[]) => Tensor>;

/** The expression as a tensor computation. */
function build(e: Expr, xs: readonly Tensor[]): Operand {
  if (e.k === 'var') return xs[e.i]!;
  if (e.k === 'const') return e.v;
  const args = e.args.map((a) => build(a, xs));
  return e.op === 'powi' ? pow(args[0]!, e.p) : api[e.op]!(...args);
}

/**
 * Whether the points are well inside every op's domain: all subexpressions finite and moderate,
 * and every kink comfortably far. Evaluated in float64 with the table's formulas, broadcasting scalars.
 */
function wellInside(e: Expr, vals: readonly number[][]): boolean {
  let ok = true;
  const at = (v: readonly number[], j: number) => v[v.length === 1 ? 0 : j]!;
  const ev = (x: Expr): number[] => {
    if (x.k === 'var') return [...vals[x.i]!];
    if (x.k === 'const') return [x.v];
    const args = x.args.map(ev);
    const n = Math.max(...args.map((a) => a.length));
    const out = Array.from({ length: n }, (_, j) => {
      const a = at(args[0]!, j);
      const b = args[1] ? at(args[1], j) : 0;
      if ((x.op === 'relu' || x.op === 'abs') && Math.abs(a) < KINK_MARGIN) ok = false;
      const jump = x.op === 'round' ? a - 0.5 : a;
      if (ROUNDING.has(x.op) && Math.abs(jump - Math.round(jump)) < KINK_MARGIN) ok = false;
      if ((x.op === 'maximum' || x.op === 'minimum' || STEPS.has(x.op)) && Math.abs(a - b) < KINK_MARGIN)
        ok = false;
      // pow's base derivative is masked where the exponent is 0 (PyTorch's convention), which cuts the
      // mixed second derivative there: a kink of the rule, not of the function.
      if (x.op === 'pow' && Math.abs(b) < KINK_MARGIN) ok = false;
      return OPS[x.op as OpName].cpu(a, b, x.p, 0);
    });
    if (!out.every((v) => Math.abs(v) <= MAX_ABS)) ok = false;
    return out;
  };
  ev(e);
  return ok;
}

const point = fc.integer({ min: -1500, max: 1500 }).map((n) => Math.fround(n / 1000));
const cases = fc.record({
  nvars: fc.integer({ min: 1, max: 3 }),
  vector: fc.tuple(fc.boolean(), fc.boolean(), fc.boolean()),
  values: fc.array(fc.array(point, { minLength: VEC, maxLength: VEC }), { minLength: 3, maxLength: 3 }),
  e: expr(6),
});

describe('random expressions', () => {
  it('every public op has a domain rule', () => {
    expect(opNames.filter((name) => !(name in DOMAIN))).toEqual([]);
  });
});

describe.each(testBackends())('random expressions on $name', (b) => {
  beforeAll(() => b.setup());

  it('first and second derivatives match float64 central differences', async () => {
    await fc.assert(
      fc.asyncProperty(cases, async ({ nvars, vector, values, e }) => {
        const ex = prepare(e, nvars);
        const vals = values.slice(0, nvars).map((v, i) => (vector[i] ? v : [v[0]!]));
        fc.pre(wellInside(ex, vals));
        const inputs = vals.map((v, i) => (vector[i] ? tensor(v) : tensor(v[0]!)));
        const f = (...xs: Tensor[]) => sum(build(ex, xs));
        try {
          await checkGrads(f, inputs, { order: 2, rtol: CHAIN * b.rtol, atol: 10 * b.atol });
        } catch (err) {
          const where = vals.map((v, i) => `x${i} = ${v.length > 1 ? `[${v.join(', ')}]` : v[0]}`);
          throw new Error(`${show(ex)} at ${where.join(', ')}\n${(err as Error).message}`, { cause: err });
        }
      }),
      // Each case compiles new kernels; on SwiftShader a compile takes a good part of a second.
      { seed: 20240611, numRuns: b.name === 'webgpu' ? 40 : 100 },
    );
  }, 180_000);
});
