/**
 * THE op table: every elementwise primitive is declared once, here. The CPU backend, the WGSL code
 * generator, symbolic differentiation, the public API and the op tests all derive from these rows.
 */
import type { Node } from '../graph/node.js';
import { erf } from './erf.js';

/** Node builders that derivative rules are written with (implemented in build.ts). */
export interface Builders {
  /** A scalar constant. */
  c(v: number): Node;
  /** Applies a table op by name (checked when applied: typing it as OpName would make the table's type circular). */
  op(name: string, ...args: Node[]): Node;
  /** `x` to a constant integer power, lowered to multiplications. */
  powi(x: Node, n: number): Node;
  /** The value of a node that is a constant (broadcast or not), else null. */
  value(x: Node): number | null;
}

/** What a derivative rule sees: operands `x`, result `y`, incoming adjoint `dy`, the op parameter `p`. */
export interface GradCtx {
  readonly x: readonly Node[];
  readonly y: Node;
  readonly dy: Node;
  readonly p: number;
  readonly b: Builders;
}

/** One primitive. A row missing a field does not compile. */
export interface OpRow {
  /** Number of tensor operands. */
  readonly arity: 1 | 2 | 3;
  /** Listed in the public API (as a function and a Tensor method). */
  readonly api: boolean;
  /** One line for docs and error messages. */
  readonly doc: string;
  /**
   * Value on the CPU (float64 arithmetic; stored as float32 or float64). Unused operands are 0; a third
   * operand (arity 3) comes after the parameter, so that the rows of one or two operands need not name it.
   */
  readonly cpu: (a: number, b: number, p: number, c: number) => number;
  /**
   * The CPU formula as a JS expression over operand names, for generated loops (a call per op per point
   * would cost several times the arithmetic). Must agree with `cpu`: the op tests check every row.
   */
  readonly js: (a: string, b: string, p: number, c: string) => string;
  /** WGSL expression over operand expressions; `wg_*` helpers live in shaders/prelude.wgsl. */
  readonly wgsl: (a: string, b: string, p: number, c: string) => string;
  /**
   * Ops computed together: a prelude function `call` returning a vector, of which this op is `field`.
   * Where a kernel applies two or more such ops to one operand, the call is made once (sin and cos of
   * the same value, as every derivative of sin brings, share one range reduction).
   */
  readonly wgslShared?: { readonly call: string; readonly field: 'x' | 'y' };
  /**
   * Operands that no gradient flows to and that do not make the result require grad: those of a comparison
   * and where's condition (booleans in PyTorch), and detach's. Derivative helpers (step, sign) are not
   * inert, though they pass no gradient: a gradient made with createGraph must stay differentiable.
   */
  readonly inert?: readonly number[];
  /** Set on ops whose value is their operand's: the result shares the operand's buffer. */
  readonly identity?: true;
  /**
   * Set on ops whose result from float32 operands is itself a float32 (a sign change, a choice between
   * the operands, a step): the CPU backend rounds every other op's result to float32, and need not these.
   */
  readonly exact?: true;
  /**
   * Set on binary ops whose value does not change when the operands swap (in every formula, NaN aside):
   * a kernel computes `a op b` and `b op a` once (reverse mode spells one product both ways).
   */
  readonly commutative?: true;
  /** Adjoint of each operand as graph nodes (so higher derivatives come for free); null = no contribution. */
  readonly grad: (g: GradCtx) => readonly (Node | null)[];
}

const row = <R extends OpRow>(r: R): R => r;

/** A finite number as a WGSL f32 literal (the float32 nearest to it). */
const f32Literal = (v: number): string => `${Math.fround(v)}f`;

/** a rounded to the nearest integer, ties to even (Math.round takes ties up); -0 and NaN stay. */
function roundHalfEven(a: number): number {
  const r = Math.round(a);
  return r - a === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * A rounding to an integer (floor, ceil, round, trunc): exact, and its derivative is 0, the jumps aside, as
 * PyTorch takes it (a zero that still requires grad, not an inert operand).
 */
const rounding = (what: string, cpu: (a: number) => number, js: (a: string) => string, wgsl: string) =>
  row({
    arity: 1,
    exact: true,
    api: true,
    doc: `${what}; its derivative is 0 (the jumps aside, as PyTorch takes it)`,
    cpu,
    js,
    wgsl: (a) => `${wgsl}(${a})`,
    grad: ({ b }) => [b.c(0)],
  });

/**
 * A comparison: 1 where `a op b` holds, else 0, by IEEE's rules (NaN compares false, and unequal); its
 * operands are inert (PyTorch's comparisons give booleans). `js` is the JavaScript operator, `wgsl` the
 * prelude function.
 */
const comparison = (op: string, holds: (a: number, b: number) => boolean, js: string, wgsl: string) =>
  row({
    inert: [0, 1],
    arity: 2,
    exact: true,
    api: true,
    doc: `1 where a ${op} b, else 0 (IEEE: NaN compares ${op === '!=' ? 'unequal' : 'false'}); no gradient`,
    cpu: (a, b) => (holds(a, b) ? 1 : 0),
    js: (a, b) => `(${a} ${js} ${b} ? 1 : 0)`,
    wgsl: (a, b) => `${wgsl}(${a}, ${b})`,
    grad: () => [null, null],
  });

/** The primitives. Rows with `api: false` are internal helpers that derivative rules need. */
export const OPS = {
  add: row({
    arity: 2,
    api: true,
    doc: 'a + b',
    commutative: true,
    cpu: (a, b) => a + b,
    js: (a, b) => `(${a} + ${b})`,
    wgsl: (a, b) => `(${a} + ${b})`,
    grad: ({ dy }) => [dy, dy],
  }),
  sub: row({
    arity: 2,
    api: true,
    doc: 'a - b',
    cpu: (a, b) => a - b,
    js: (a, b) => `(${a} - ${b})`,
    wgsl: (a, b) => `(${a} - ${b})`,
    grad: ({ dy, b }) => [dy, b.op('neg', dy)],
  }),
  mul: row({
    arity: 2,
    api: true,
    doc: 'a * b',
    commutative: true,
    cpu: (a, b) => a * b,
    js: (a, b) => `(${a} * ${b})`,
    wgsl: (a, b) => `(${a} * ${b})`,
    grad: ({ x: [p, q], dy, b }) => [b.op('mul', dy, q!), b.op('mul', dy, p!)],
  }),
  div: row({
    arity: 2,
    api: true,
    doc: 'a / b (IEEE: 1/0 = Inf)',
    cpu: (a, b) => a / b,
    js: (a, b) => `(${a} / ${b})`,
    wgsl: (a, b) => `wg_div(${a}, ${b})`,
    // d(a/b)/db = -(a/b)/b: dividing twice avoids overflow of b*b for large b.
    grad: ({ x: [, q], y, dy, b }) => [b.op('div', dy, q!), b.op('neg', b.op('mul', dy, b.op('div', y, q!)))],
  }),
  pow: row({
    arity: 2,
    api: true,
    doc: 'a ** b for a real exponent, as C and PyTorch define it (NaN for a negative base; pow(1, y) = 1 for every y, NaN included; pow(-1, ±Inf) = 1); integer constants use powi',
    cpu: (a, b) => (a === 1 || (a === -1 && Math.abs(b) === Infinity) ? 1 : Math.pow(a, b)),
    js: (a, b) => `(${a} === 1 || (${a} === -1 && Math.abs(${b}) === Infinity) ? 1 : Math.pow(${a}, ${b}))`,
    wgsl: (a, b) => `wg_pow(${a}, ${b})`,
    // PyTorch's masks: no base derivative where the exponent is 0, whatever the incoming gradient (0 * 0^-1
    // would be NaN at a zero base, and so would 0 times an infinite gradient), and none with respect to the
    // exponent at a zero base with an exponent >= 0 (see xlogy). The first as q times the rest by mulz, whose
    // own derivative in q is the rest's, 1/p at q = 0: a mask of q p^(q-1) would lose that, and with it
    // d²/dx² x^(x-1) at 1 (1, not 2) and d³/dx³ x^x at 1 (2, not 3).
    // The power p^(q-1) is taken as 0 where p and q are both 0 (|p| + |q| of sign 0): the mask makes the
    // term 0 there anyway, and forward mode (jvp), which transposes the product, would meet 0^-1 past it
    // (0 * Inf: NaN along the base at pow(0, 0), where grad gives 0).
    // A constant exponent other than 0 (x ** 0.5) needs none of it.
    grad: ({ x: [p, q], y, dy, b }) => {
      const raw = b.op('pow', p!, b.op('sub', q!, b.c(1)));
      const c = b.value(q!);
      const power =
        c !== null && c !== 0 && !Number.isNaN(c)
          ? raw
          : b.op('mulz', b.op('sign', b.op('add', b.op('abs', p!), b.op('abs', q!))), raw);
      return [b.op('mulz', q!, b.op('mul', dy, power)), b.op('mul', dy, b.op('xlogy', y, p!))];
    },
  }),
  powi: row({
    arity: 1,
    api: false,
    doc: 'a ** p for a constant integer p, by multiplication (exact for negative a and at 0)',
    cpu: (a, _b, p) => powiCpu(a, p),
    js: (a, _b, p) => powiJs(a, p),
    wgsl: (a, _b, p) => powiWgsl(a, p),
    grad: ({ x: [a], dy, p, b }) =>
      p === 0 ? [null] : [b.op('mul', dy, p === 1 ? b.c(1) : b.op('mul', b.c(p), b.powi(a!, p - 1)))],
  }),
  neg: row({
    arity: 1,
    exact: true,
    api: true,
    doc: '-a',
    cpu: (a) => -a,
    js: (a) => `(-${a})`,
    wgsl: (a) => `(-${a})`,
    grad: ({ dy, b }) => [b.op('neg', dy)],
  }),
  exp: row({
    arity: 1,
    api: true,
    doc: 'e ** a (overflow gives +Inf)',
    cpu: (a) => Math.exp(a),
    js: (a) => `Math.exp(${a})`,
    wgsl: (a) => `wg_exp(${a})`,
    grad: ({ y, dy, b }) => [b.op('mul', dy, y)],
  }),
  exp2: row({
    arity: 1,
    api: true,
    doc: '2 ** a (exact at integers; overflow gives +Inf)',
    cpu: (a) => Math.pow(2, a),
    js: (a) => `Math.pow(2, ${a})`,
    wgsl: (a) => `wg_exp2(${a})`,
    grad: ({ y, dy, b }) => [b.op('mul', dy, b.op('mul', y, b.c(Math.LN2)))],
  }),
  log: row({
    arity: 1,
    api: true,
    doc: 'natural logarithm (log(0) = -Inf, negative gives NaN)',
    cpu: (a) => Math.log(a),
    js: (a) => `Math.log(${a})`,
    wgsl: (a) => `wg_log(${a})`,
    grad: ({ x: [a], dy, b }) => [b.op('div', dy, a!)],
  }),
  log2: row({
    arity: 1,
    api: true,
    doc: 'base-2 logarithm (exact at powers of 2; log2(0) = -Inf, negative gives NaN)',
    cpu: (a) => Math.log2(a),
    js: (a) => `Math.log2(${a})`,
    wgsl: (a) => `wg_log2(${a})`,
    // dy log2(e) / x rather than dy / (x ln 2): x ln 2 is subnormal (flushed to 0 on a GPU) for x from
    // 1.18e-38 to 1.7e-38, where the derivative is a float.
    grad: ({ x: [a], dy, b }) => [b.op('div', b.op('mul', dy, b.c(Math.LOG2E)), a!)],
  }),
  log10: row({
    arity: 1,
    api: true,
    doc: 'base-10 logarithm (exact at the powers of 10 that are floats; log10(0) = -Inf, negative gives NaN)',
    cpu: (a) => Math.log10(a),
    js: (a) => `Math.log10(${a})`,
    wgsl: (a) => `wg_log10(${a})`,
    grad: ({ x: [a], dy, b }) => [b.op('div', dy, b.op('mul', a!, b.c(Math.LN10)))],
  }),
  log1p: row({
    arity: 1,
    api: true,
    doc: 'log(1 + a), accurate where a is small (log1p(-1) = -Inf, below -1 NaN)',
    cpu: (a) => Math.log1p(a),
    js: (a) => `Math.log1p(${a})`,
    wgsl: (a) => `wg_log1p(${a})`,
    grad: ({ x: [a], dy, b }) => [b.op('div', dy, b.op('add', b.c(1), a!))],
  }),
  expm1: row({
    arity: 1,
    api: true,
    doc: 'exp(a) - 1, accurate where a is small (expm1(-Inf) = -1, overflow gives +Inf)',
    cpu: (a) => Math.expm1(a),
    js: (a) => `Math.expm1(${a})`,
    wgsl: (a) => `wg_expm1(${a})`,
    // e^a rather than y + 1: where e^a is tiny, y + 1 rounds it away.
    grad: ({ x: [a], dy, b }) => [b.op('mul', dy, b.op('exp', a!))],
  }),
  erf: row({
    arity: 1,
    api: true,
    doc: 'error function, 2/sqrt(pi) times the integral of e^-t² from 0 to a (erf(±Inf) = ±1)',
    cpu: (a) => erf(a),
    // Through F (the CPU formulas by op name): the series is a loop, not an expression.
    js: (a) => `F.erf(${a})`,
    wgsl: (a) => `wg_erf(${a})`,
    // 2/sqrt(pi) e^-a².
    grad: ({ x: [a], dy, b }) => [
      b.op(
        'mul',
        dy,
        b.op('mul', b.c(2 / Math.sqrt(Math.PI)), b.op('exp', b.op('neg', b.op('mul', a!, a!)))),
      ),
    ],
  }),
  sin: row({
    arity: 1,
    api: true,
    doc: 'sine',
    cpu: (a) => Math.sin(a),
    js: (a) => `Math.sin(${a})`,
    wgsl: (a) => `wg_sin(${a})`,
    wgslShared: { call: 'wg_sincos', field: 'x' },
    grad: ({ x: [a], dy, b }) => [b.op('mul', dy, b.op('cos', a!))],
  }),
  cos: row({
    arity: 1,
    api: true,
    doc: 'cosine',
    cpu: (a) => Math.cos(a),
    js: (a) => `Math.cos(${a})`,
    wgsl: (a) => `wg_cos(${a})`,
    wgslShared: { call: 'wg_sincos', field: 'y' },
    grad: ({ x: [a], dy, b }) => [b.op('neg', b.op('mul', dy, b.op('sin', a!)))],
  }),
  tan: row({
    arity: 1,
    api: true,
    doc: 'tangent',
    cpu: (a) => Math.tan(a),
    js: (a) => `Math.tan(${a})`,
    wgsl: (a) => `wg_tan(${a})`,
    grad: ({ y, dy, b }) => [b.op('mul', dy, b.op('add', b.c(1), b.op('mul', y, y)))],
  }),
  atan: row({
    arity: 1,
    api: true,
    doc: 'arctangent, in (-pi/2, pi/2) (atan(±Inf) = ±pi/2)',
    cpu: (a) => Math.atan(a),
    js: (a) => `Math.atan(${a})`,
    wgsl: (a) => `wg_atan(${a})`,
    // 1 / (1 + a^2): a^2 overflows to Inf where the derivative is below 3e-39 anyway (0, as in PyTorch).
    grad: ({ x: [a], dy, b }) => [b.op('div', dy, b.op('add', b.c(1), b.op('mul', a!, a!)))],
  }),
  asin: row({
    arity: 1,
    api: true,
    doc: 'arcsine, in [-pi/2, pi/2] (|a| > 1 gives NaN)',
    cpu: (a) => Math.asin(a),
    js: (a) => `Math.asin(${a})`,
    wgsl: (a) => `wg_asin(${a})`,
    // 1 / sqrt(1 - a^2), as PyTorch's, with a^2 exact in 1 - a^2 (omsq): from 1 - a * a, a^2's rounding
    // cost up to 8e-5 of the derivative near ±1 (1e-4 from them). The product (1 - a)(1 + a) would make
    // the second derivative cancel near 0 and give NaN (Inf * 0) at ±1.
    grad: ({ x: [a], dy, b }) => [b.op('div', dy, b.op('sqrt', b.op('omsq', a!)))],
  }),
  acos: row({
    arity: 1,
    api: true,
    doc: 'arccosine, in [0, pi] (|a| > 1 gives NaN)',
    cpu: (a) => Math.acos(a),
    js: (a) => `Math.acos(${a})`,
    wgsl: (a) => `wg_acos(${a})`,
    // -1 / sqrt(1 - a^2), as asin's.
    grad: ({ x: [a], dy, b }) => [b.op('neg', b.op('div', dy, b.op('sqrt', b.op('omsq', a!))))],
  }),
  atan2: row({
    arity: 2,
    api: true,
    doc: 'angle of the point (b, a) from the positive x axis, in [-pi, pi] (C and PyTorch atan2(y = a, x = b))',
    cpu: (a, b) => Math.atan2(a, b),
    js: (a, b) => `Math.atan2(${a}, ${b})`,
    wgsl: (a, b) => `wg_atan2(${a}, ${b})`,
    // b / (a^2 + b^2) and -a / (a^2 + b^2), as PyTorch's (0 where the squares overflow, beyond 1.8e19).
    grad: ({ x: [p, q], dy, b }) => {
      const r = b.op('div', dy, b.op('add', b.op('mul', p!, p!), b.op('mul', q!, q!)));
      return [b.op('mul', r, q!), b.op('neg', b.op('mul', r, p!))];
    },
  }),
  tanh: row({
    arity: 1,
    api: true,
    doc: 'hyperbolic tangent (exact ±1 in the tails)',
    cpu: (a) => Math.tanh(a),
    js: (a) => `Math.tanh(${a})`,
    wgsl: (a) => `wg_tanh(${a})`,
    wgslShared: { call: 'wg_tanh_d', field: 'x' },
    // 1 - y^2 cancels in the tails (y rounds to ±1 from |a| ≈ 9, and loses most bits of 1 - |y| well
    // before): dtanh computes the same function from e^-2|a|, accurate everywhere.
    grad: ({ x: [a], dy, b }) => [b.op('mul', dy, b.op('dtanh', a!))],
  }),
  dtanh: row({
    arity: 1,
    api: false,
    doc: "tanh'(a) = 1 - tanh(a)^2, as 4e / (1 + e)^2 with e = e^-2|a|: one exponential, accurate in both tails",
    cpu: (a) => {
      const e = Math.exp(-2 * Math.abs(a));
      return (4 * e) / ((1 + e) * (1 + e));
    },
    js: (a) => `((e) => (4 * e) / ((1 + e) * (1 + e)))(Math.exp(-2 * Math.abs(${a})))`,
    wgsl: (a) => `wg_dtanh(${a})`,
    // With tanh of the same value in a kernel (a tanh and its gradient), one exponential serves both.
    wgslShared: { call: 'wg_tanh_d', field: 'y' },
    // tanh''(a) = -2 tanh(a) tanh'(a).
    grad: ({ x: [a], dy, b }) => [
      b.op('mul', dy, b.op('mul', b.c(-2), b.op('mul', b.op('tanh', a!), b.op('dtanh', a!)))),
    ],
  }),
  sinh: row({
    arity: 1,
    api: true,
    doc: 'hyperbolic sine (overflow gives ±Inf)',
    cpu: (a) => Math.sinh(a),
    js: (a) => `Math.sinh(${a})`,
    wgsl: (a) => `wg_sinh(${a})`,
    grad: ({ x: [a], dy, b }) => [b.op('mul', dy, b.op('cosh', a!))],
  }),
  cosh: row({
    arity: 1,
    api: true,
    doc: 'hyperbolic cosine (overflow gives +Inf)',
    cpu: (a) => Math.cosh(a),
    js: (a) => `Math.cosh(${a})`,
    wgsl: (a) => `wg_cosh(${a})`,
    grad: ({ x: [a], dy, b }) => [b.op('mul', dy, b.op('sinh', a!))],
  }),
  asinh: row({
    arity: 1,
    api: true,
    doc: 'inverse hyperbolic sine',
    cpu: (a) => Math.asinh(a),
    js: (a) => `Math.asinh(${a})`,
    wgsl: (a) => `wg_asinh(${a})`,
    // 1 / sqrt(1 + a^2): 0 where a^2 overflows (beyond 1.8e19, as in PyTorch; the true value is below 5e-20).
    grad: ({ x: [a], dy, b }) => [b.op('div', dy, b.op('sqrt', b.op('add', b.c(1), b.op('mul', a!, a!))))],
  }),
  acosh: row({
    arity: 1,
    api: true,
    doc: 'inverse hyperbolic cosine (a < 1 gives NaN)',
    cpu: (a) => Math.acosh(a),
    js: (a) => `Math.acosh(${a})`,
    wgsl: (a) => `wg_acosh(${a})`,
    // 1 / sqrt(a^2 - 1), as PyTorch's (see asin: a^2 - 1 rounded once, and Inf at ±1 with the sign of
    // PyTorch's).
    // 0 - (1 - a^2) rather than its negation: +0 at ±1, as a^2 - 1 is, not -0 (1/sqrt(-0) is -Inf).
    grad: ({ x: [a], dy, b }) => [b.op('div', dy, b.op('sqrt', b.op('sub', b.c(0), b.op('omsq', a!))))],
  }),
  atanh: row({
    arity: 1,
    api: true,
    doc: 'inverse hyperbolic tangent (atanh(±1) = ±Inf, |a| > 1 gives NaN)',
    cpu: (a) => Math.atanh(a),
    js: (a) => `Math.atanh(${a})`,
    wgsl: (a) => `wg_atanh(${a})`,
    // 1 / (1 - a^2), as PyTorch's (see asin).
    grad: ({ x: [a], dy, b }) => [b.op('div', dy, b.op('omsq', a!))],
  }),
  softplus: row({
    arity: 1,
    api: true,
    doc:
      'log(1 + e ** (p a)) / p, evaluated without overflow; the parameter p is beta (0 stands for 1, the ' +
      "table's default parameter)",
    cpu: (a, _b, p) => {
      const k = p || 1;
      return (Math.max(k * a, 0) + Math.log1p(Math.exp(-Math.abs(k * a)))) / k;
    },
    js: (a, _b, p) => {
      const ka = !p || p === 1 ? a : `(${p} * ${a})`;
      const plain = `(Math.max(${ka}, 0) + Math.log1p(Math.exp(-Math.abs(${ka}))))`;
      return !p || p === 1 ? plain : `(${plain} / ${p})`;
    },
    // Over beta by wg_div: a GPU may divide by way of 1 / beta, which is 0 for beta beyond 2^126.
    wgsl: (a, _b, p) =>
      !p || p === 1 ? `wg_softplus(${a})` : `wg_div(wg_softplus(${f32Literal(p)} * ${a}), ${f32Literal(p)})`,
    // The logistic function of p a: the derivative written out (the max and |a| of the formula above have
    // kinks at 0 that cancel, and their rules would give 0 there, not 1/2), with no division by p on the
    // way (dy / p, then times p, would lose a large p's small gradients below float32's range).
    grad: ({ x: [a], dy, p, b }) => [
      b.op('mul', dy, b.op('sigmoid', !p || p === 1 ? a! : b.op('mul', b.c(p), a!))),
    ],
  }),
  sigmoid: row({
    arity: 1,
    api: true,
    doc: '1 / (1 + e ** -a), evaluated without overflow in either tail',
    cpu: (a) => (a >= 0 ? 1 / (1 + Math.exp(-a)) : Math.exp(a) / (1 + Math.exp(a))),
    js: (a) => `(${a} >= 0 ? 1 / (1 + Math.exp(-${a})) : Math.exp(${a}) / (1 + Math.exp(${a})))`,
    wgsl: (a) => `wg_sigmoid(${a})`,
    wgslShared: { call: 'wg_sigmoid_d', field: 'x' },
    // σ'(a) = σ(a) σ(-a) rather than y (1 - y): 1 - y cancels for large a (σ'(20) would be 0, not 2e-9).
    grad: ({ x: [a], dy, b }) => [b.op('mul', dy, b.op('dsigmoid', a!))],
  }),
  dsigmoid: row({
    arity: 1,
    api: false,
    doc: "sigmoid'(a) = σ(a) σ(-a), as e / (1 + e)^2 with e = e^-|a|: one exponential, accurate in both tails",
    cpu: (a) => {
      const e = Math.exp(-Math.abs(a));
      return e / ((1 + e) * (1 + e));
    },
    js: (a) => `((e) => e / ((1 + e) * (1 + e)))(Math.exp(-Math.abs(${a})))`,
    wgsl: (a) => `wg_dsigmoid(${a})`,
    // With sigmoid of the same value in a kernel, one exponential serves both.
    wgslShared: { call: 'wg_sigmoid_d', field: 'y' },
    // σ''(a) = σ'(a) (1 - 2σ(a)) = -σ'(a) tanh(a / 2): no cancellation near 0 or in the tails.
    grad: ({ x: [a], dy, b }) => [
      b.op(
        'mul',
        dy,
        b.op('neg', b.op('mul', b.op('dsigmoid', a!), b.op('tanh', b.op('mul', b.c(0.5), a!)))),
      ),
    ],
  }),
  relu: row({
    arity: 1,
    exact: true,
    api: true,
    doc: "max(a, 0); NaN stays NaN; relu'(0) = 0",
    cpu: (a) => (a > 0 ? a : a === a ? 0 : a),
    js: (a) => `(${a} > 0 ? ${a} : ${a} === ${a} ? 0 : ${a})`,
    wgsl: (a) => `wg_relu(${a})`,
    grad: ({ x: [a], dy, b }) => [b.op('mul', dy, b.op('step', a!))],
  }),
  abs: row({
    arity: 1,
    exact: true,
    api: true,
    doc: "|a|; abs'(0) = 0",
    cpu: (a) => Math.abs(a),
    js: (a) => `Math.abs(${a})`,
    wgsl: (a) => `abs(${a})`,
    grad: ({ x: [a], dy, b }) => [b.op('mul', dy, b.op('sign', a!))],
  }),
  sqrt: row({
    arity: 1,
    api: true,
    doc: 'square root (negative gives NaN)',
    cpu: (a) => Math.sqrt(a),
    js: (a) => `Math.sqrt(${a})`,
    wgsl: (a) => `wg_sqrt(${a})`,
    grad: ({ y, dy, b }) => [b.op('div', dy, b.op('mul', b.c(2), y))],
  }),
  maximum: row({
    arity: 2,
    exact: true,
    api: true,
    doc: 'larger of a and b; NaN if either is NaN; ties split the gradient evenly',
    commutative: true,
    cpu: (a, b) => Math.max(a, b),
    js: (a, b) => `Math.max(${a}, ${b})`,
    wgsl: (a, b) => `wg_maximum(${a}, ${b})`,
    grad: ({ x: [p, q], dy, b }) => [
      b.op('mul', dy, b.op('tiehalf', p!, q!)),
      b.op('mul', dy, b.op('tiehalf', q!, p!)),
    ],
  }),
  minimum: row({
    arity: 2,
    exact: true,
    api: true,
    doc: 'smaller of a and b; NaN if either is NaN; ties split the gradient evenly',
    commutative: true,
    cpu: (a, b) => Math.min(a, b),
    js: (a, b) => `Math.min(${a}, ${b})`,
    wgsl: (a, b) => `wg_minimum(${a}, ${b})`,
    grad: ({ x: [p, q], dy, b }) => [
      b.op('mul', dy, b.op('tiehalf', q!, p!)),
      b.op('mul', dy, b.op('tiehalf', p!, q!)),
    ],
  }),
  clampmin: row({
    arity: 2,
    exact: true,
    api: false,
    doc: 'b where a < b, else a (a tie keeps a, -0 included); NaN if either is NaN: clamp to a lower bound',
    cpu: (a, b) => (a !== a || b !== b ? NaN : a < b ? b : a),
    js: (a, b) => `(${a} !== ${a} || ${b} !== ${b} ? NaN : ${a} < ${b} ? ${b} : ${a})`,
    wgsl: (a, b) => `wg_clampmin(${a}, ${b})`,
    // As PyTorch's clamp: all to a where a >= b (ties included), all to the bound below it.
    grad: ({ x: [p, q], dy, b }) => {
      const keep = b.op('atleast', p!, q!);
      return [b.op('mul', dy, keep), b.op('mul', dy, b.op('sub', b.c(1), keep))];
    },
  }),
  clampmax: row({
    arity: 2,
    exact: true,
    api: false,
    doc: 'b where a > b, else a (a tie keeps a, -0 included); NaN if either is NaN: clamp to an upper bound',
    cpu: (a, b) => (a !== a || b !== b ? NaN : a > b ? b : a),
    js: (a, b) => `(${a} !== ${a} || ${b} !== ${b} ? NaN : ${a} > ${b} ? ${b} : ${a})`,
    wgsl: (a, b) => `wg_clampmax(${a}, ${b})`,
    // As PyTorch's clamp: all to a where a <= b (ties included), all to the bound above it.
    grad: ({ x: [p, q], dy, b }) => {
      const keep = b.op('atleast', q!, p!);
      return [b.op('mul', dy, keep), b.op('mul', dy, b.op('sub', b.c(1), keep))];
    },
  }),
  floor: rounding('largest integer <= a', Math.floor, (a) => `Math.floor(${a})`, 'wg_floor'),
  ceil: rounding('smallest integer >= a', Math.ceil, (a) => `Math.ceil(${a})`, 'wg_ceil'),
  // js through F (the CPU formulas by op name): ties to even take a few statements.
  round: rounding(
    'nearest integer, ties to even (as PyTorch and WGSL; Math.round rounds ties up)',
    roundHalfEven,
    (a) => `F.round(${a})`,
    'wg_round',
  ),
  trunc: rounding('integer part of a, toward 0', Math.trunc, (a) => `Math.trunc(${a})`, 'wg_trunc'),
  step: row({
    arity: 1,
    exact: true,
    api: false,
    doc: '1 where a > 0, else 0 (NaN stays NaN): the derivative of relu',
    cpu: (a) => (a > 0 ? 1 : a === a ? 0 : a),
    js: (a) => `(${a} > 0 ? 1 : ${a} === ${a} ? 0 : ${a})`,
    wgsl: (a) => `wg_step(${a})`,
    grad: () => [null],
  }),
  sign: row({
    arity: 1,
    exact: true,
    api: true,
    doc: '-1, 0 or 1 by the sign of a (0 for ±0; NaN stays NaN); the derivative of abs, and its derivative is 0',
    cpu: (a) => (a > 0 ? 1 : a < 0 ? -1 : a === a ? 0 : a),
    js: (a) => `(${a} > 0 ? 1 : ${a} < 0 ? -1 : ${a} === ${a} ? 0 : ${a})`,
    wgsl: (a) => `wg_sign(${a})`,
    grad: () => [null],
  }),
  tiehalf: row({
    arity: 2,
    exact: true,
    api: false,
    doc: '1 where a > b, 0.5 where a == b, 0 where a < b, NaN if either is NaN: derivative of maximum',
    cpu: (a, b) => (a > b ? 1 : a === b ? 0.5 : a < b ? 0 : NaN),
    js: (a, b) => `(${a} > ${b} ? 1 : ${a} === ${b} ? 0.5 : ${a} < ${b} ? 0 : NaN)`,
    wgsl: (a, b) => `wg_tiehalf(${a}, ${b})`,
    grad: () => [null, null],
  }),
  atleast: row({
    arity: 2,
    exact: true,
    api: false,
    doc: '1 where a >= b, 0 where a < b, NaN if either is NaN: the derivative of clamp',
    cpu: (a, b) => (a >= b ? 1 : a < b ? 0 : NaN),
    js: (a, b) => `(${a} >= ${b} ? 1 : ${a} < ${b} ? 0 : NaN)`,
    wgsl: (a, b) => `wg_atleast(${a}, ${b})`,
    grad: () => [null, null],
  }),
  lt: comparison('<', (a, b) => a < b, '<', 'wg_lt'),
  le: comparison('<=', (a, b) => a <= b, '<=', 'wg_le'),
  gt: comparison('>', (a, b) => a > b, '>', 'wg_gt'),
  ge: comparison('>=', (a, b) => a >= b, '>=', 'wg_ge'),
  eq: comparison('==', (a, b) => a === b, '===', 'wg_eq'),
  ne: comparison('!=', (a, b) => a !== b, '!==', 'wg_ne'),
  where: row({
    inert: [0],
    arity: 3,
    exact: true,
    api: false,
    doc: 'b where the condition a is nonzero (NaN included, as in a conversion to bool), else c',
    cpu: (m, a, _p, b) => (m !== 0 ? a : b),
    js: (m, a, _p, b) => `(${m} !== 0 ? ${a} : ${b})`,
    wgsl: (m, a, _p, b) => `wg_where(${m}, ${a}, ${b})`,
    // Each branch's gradient where it was chosen, and 0 (not dy * 0, which a NaN or Inf dy would spoil)
    // where it was not; none to the condition.
    grad: ({ x: [m], dy, b }) => [null, b.op('where', m!, dy, b.c(0)), b.op('where', m!, b.c(0), dy)],
  }),
  xlogy: row({
    arity: 2,
    api: false,
    doc:
      'a * log(b), and 0 where b == 0 and a is finite: the exponent derivative of pow, x^y log x, which ' +
      'PyTorch takes as 0 at x = 0 for every exponent >= 0 (x^y is 0 or 1 there, and Inf below)',
    cpu: (a, b) => (b === 0 && Number.isFinite(a) ? 0 : a * Math.log(b)),
    js: (a, b) => `(${b} === 0 && Number.isFinite(${a}) ? 0 : ${a} * Math.log(${b}))`,
    wgsl: (a, b) => `wg_xlogy(${a}, ${b})`,
    // Unmasked, as PyTorch's are (its mask zeroes the incoming gradient, which then meets log 0 or 1/0).
    grad: ({ x: [p, q], dy, b }) => [b.op('mul', dy, b.op('log', q!)), b.op('mul', dy, b.op('div', p!, q!))],
  }),
  omsq: row({
    arity: 1,
    api: false,
    doc: '1 - a^2 with a^2 formed exactly (within an ulp, and rounded once near ±1): the derivatives of asin, acos, acosh and atanh',
    // a * a of a float32 is exact in float64, and so is 1 minus it (49 bits at most).
    cpu: (a) => 1 - a * a,
    js: (a) => `(1 - ${a} * ${a})`,
    wgsl: (a) => `wg_omsq(${a})`,
    grad: ({ x: [a], dy, b }) => [b.op('mul', dy, b.op('mul', b.c(-2), a!))],
  }),
  mulz: row({
    arity: 2,
    api: false,
    doc: "a * b, and 0 where a == 0 whatever b is (Inf or NaN too): PyTorch's where(a == 0, 0, a * b) in the derivatives of pow",
    cpu: (a, b) => (a === 0 ? 0 : a * b),
    js: (a, b) => `(${a} === 0 ? 0 : ${a} * ${b})`,
    wgsl: (a, b) => `wg_mulz(${a}, ${b})`,
    // A product's, the one to b masked as the value is.
    grad: ({ x: [p, q], dy, b }) => [b.op('mul', dy, q!), b.op('mulz', p!, dy)],
  }),
  detach: row({
    inert: [0],
    arity: 1,
    exact: true,
    identity: true,
    api: false,
    doc: 'the value of a, with no gradient flowing back',
    cpu: (a) => a,
    js: (a) => a,
    wgsl: (a) => a,
    grad: () => [null],
  }),
  leafcopy: row({
    inert: [0],
    arity: 1,
    exact: true,
    api: false,
    doc:
      'the value of a in a buffer of its own, where no gradient flows back: a leaf made from a computed ' +
      'tensor (tensor(t, { requiresGrad: true })), which a run can settle like any stored value',
    cpu: (a) => a,
    js: (a) => a,
    wgsl: (a) => a,
    grad: () => [null],
  }),
  id: row({
    arity: 1,
    exact: true,
    identity: true,
    api: false,
    doc: 'the value of a: a fresh node per argument of grad(), so repeated arguments get separate gradients',
    cpu: (a) => a,
    js: (a) => a,
    wgsl: (a) => a,
    grad: ({ dy }) => [dy],
  }),
} satisfies Record<string, OpRow>;

/** Name of a table op. */
export type OpName = keyof typeof OPS;

/** The row of a table op, or undefined for structural nodes. */
export function opRow(name: string): OpRow | undefined {
  return ROWS.get(name);
}

// The rows by name: a Map, since the scheduler looks rows up for every node it visits.
const ROWS = new Map<string, OpRow>(Object.entries(OPS));

/**
 * a**p as powiJs computes it (so that interpreted and generated CPU kernels agree to the bit): a product
 * from the left for |p| <= 8, repeated squaring beyond (as the GPU computes it, and several times faster
 * than Math.pow in a hot loop).
 */
function powiCpu(a: number, p: number): number {
  let n = p < 0 ? -p : p;
  let r = 1;
  if (n <= 8) for (let i = 0; i < n; i++) r *= a;
  else
    for (let b = a; n > 0; n >>>= 1) {
      if (n & 1) r *= b;
      b *= b;
    }
  return p < 0 ? 1 / r : r;
}

/** JS for a**p: a product for small |p|, the table's own squaring loop beyond. */
function powiJs(a: string, p: number): string {
  if (p === 0) return '1';
  const n = Math.abs(p);
  const prod = n <= 8 ? `(${new Array<string>(n).fill(a).join(' * ')})` : `F.powi(${a}, 0, ${n})`;
  return p > 0 ? prod : `(1 / ${prod})`;
}

/** WGSL for a**p by multiplication: a product for small |p|, the prelude's loop otherwise. */
function powiWgsl(a: string, p: number): string {
  if (p === 0) return '1.0';
  const n = Math.abs(p);
  const prod = n <= 8 ? `(${new Array<string>(n).fill(a).join(' * ')})` : `wg_powi(${a}, ${n})`;
  return p > 0 ? prod : `wg__recip_pow(${a}, ${prod}, ${n}.0)`;
}
