/** The op functions and Tensor methods from the op table, and the reductions (sum, mean, amax, amin, variance, std, softmax, ...). */
import type { Node, Reduction } from './graph/node.js';
import { broadcastShapes, fmtShape, sizeOf, type Shape } from './graph/shape.js';
import { apply, constant, powi, reduceKeep, reshape as reshapeNode } from './ops/build.js';
import { OPS, type OpName } from './ops/table.js';
import { checkOptions, optionNames, written } from './options.js';
import { isTensorData, Tensor, tensor, type TensorData } from './tensor.js';

/** An op operand: a tensor or a plain number (a constant). */
export type Operand = Tensor | number;

/** @internal The node of an operand; numbers become constants. */
export function nodeOf(v: Operand | TensorData, what: string): Node {
  if (v instanceof Tensor) {
    v.assertLive(what);
    return v.node;
  }
  if (typeof v === 'number') return constant(v);
  if (isTensorData(v)) return tensor(v).node;
  throw new Error(`${what}: expected a Tensor or a number, got ${v === null ? 'null' : typeof v}`);
}

const unary = (name: OpName) =>
  function (a: Operand): Tensor {
    atMost(name, arguments.length, 1);
    return new Tensor(apply(name, [nodeOf(a, name)]));
  };
const binary = (name: OpName) =>
  function (a: Operand, b: Operand): Tensor {
    atMost(name, arguments.length, 2);
    return new Tensor(apply(name, [nodeOf(a, name), nodeOf(b, name)]));
  };

// The most arguments each op that is not unary or binary takes, the tensor first (its Tensor method takes one
// fewer).
const MAX_ARGS: Readonly<Record<string, number>> = {
  where: 3,
  softplus: 3,
  pow: 2,
  clamp: 3,
  square: 1,
  sum: 3,
  amax: 3,
  amin: 3,
  reshape: 2,
  mean: 3,
  variance: 3,
  std: 3,
  softmax: 2,
  logSoftmax: 2,
  logsumexp: 3,
};

/** The most arguments the op `name` takes as a function. */
const maxArgs = (name: string): number => MAX_ARGS[name] ?? OPS[name as OpName].arity;

// PyTorch's keyword arguments have no place in a JavaScript call but as extra arguments, which JavaScript
// would drop: sub(a, b, 2) would be a - b, not a - 2b. They are refused instead.
const EXTRA =
  "extra arguments are refused rather than ignored: PyTorch's alpha (add, sub), rounding_mode (div) and " +
  'decimals (round) have no counterpart here, and are written with ops (sub(a, mul(b, alpha)), floor(div(a, b)))';

/** How many arguments the op `name` takes, `max` of them, in words ("at most" where some may be left out). */
function takes(name: string, max: number): string {
  if (max === 0) return 'no arguments';
  return `${name in MAX_ARGS ? 'at most ' : ''}${max} argument${max === 1 ? '' : 's'}`;
}

/** Throws where the op `name`, as a function, was given more than `max` arguments (see EXTRA). */
function atMost(name: string, given: number, max = maxArgs(name)): void {
  if (given > max) throw new Error(`${name}(): takes ${takes(name, max)}, got ${given}; ${EXTRA}`);
}

/** Elementwise a + b (broadcasting). */
export const add = binary('add');
/** Elementwise a - b (broadcasting). */
export const sub = binary('sub');
/** Elementwise a * b (broadcasting). */
export const mul = binary('mul');
/** Elementwise a / b (broadcasting; IEEE division, 1/0 = Inf). */
export const div = binary('div');
/** Elementwise larger value; NaN if either is NaN; ties split the gradient evenly. */
export const maximum = binary('maximum');
/** Elementwise smaller value; NaN if either is NaN; ties split the gradient evenly. */
export const minimum = binary('minimum');
/** Elementwise a < b as 1 or 0 (NaN compares false); no gradient flows through it. */
export const lt = binary('lt');
/** Elementwise a <= b as 1 or 0 (NaN compares false); no gradient flows through it. */
export const le = binary('le');
/** Elementwise a > b as 1 or 0 (NaN compares false); no gradient flows through it. */
export const gt = binary('gt');
/** Elementwise a >= b as 1 or 0 (NaN compares false); no gradient flows through it. */
export const ge = binary('ge');
/** Elementwise a == b as 1 or 0 (NaN equals nothing); no gradient flows through it. */
export const eq = binary('eq');
/** Elementwise a != b as 1 or 0 (NaN differs from everything); no gradient flows through it. */
export const ne = binary('ne');

/**
 * Elementwise choice, as PyTorch's where: `a` where `condition` is nonzero (true; NaN too, as a conversion to
 * bool counts it), `b` where it is 0, broadcasting all three. The comparisons (lt, gt, ...) make conditions.
 * Gradients flow to the branch chosen at each point and are 0 in the other (a NaN or Inf there included).
 */
export function where(condition: Operand, a: Operand, b: Operand): Tensor {
  atMost('where', arguments.length);
  const args = [nodeOf(condition, 'where: condition'), nodeOf(a, 'where: a'), nodeOf(b, 'where: b')];
  const what = 'where(condition, a, b)';
  const [m, x, y] = args.map((n) => n.shape) as [Shape, Shape, Shape];
  broadcastShapes(broadcastShapes(m, x, `${what}: condition and a`), y, `${what}: b`);
  return new Tensor(apply('where', args));
}

/** Elementwise largest integer <= a; its derivative is 0. */
export const floor = unary('floor');
/** Elementwise smallest integer >= a; its derivative is 0. */
export const ceil = unary('ceil');
/** Elementwise nearest integer, ties to even (as PyTorch's round); its derivative is 0. */
export const round = unary('round');
/** Elementwise integer part, toward 0; its derivative is 0. */
export const trunc = unary('trunc');
/** Elementwise -1, 0 or 1 by the sign of a (0 for ±0, NaN stays NaN); its derivative is 0. */
export const sign = unary('sign');
/** Elementwise -a. */
export const neg = unary('neg');
/** Elementwise e ** a. */
export const exp = unary('exp');
/** Elementwise 2 ** a (exact at integers). */
export const exp2 = unary('exp2');
/** Elementwise natural logarithm. */
export const log = unary('log');
/** Elementwise base-2 logarithm (exact at powers of 2). */
export const log2 = unary('log2');
/** Elementwise base-10 logarithm (exact at powers of 10). */
export const log10 = unary('log10');
/** Elementwise log(1 + a), accurate where a is small. */
export const log1p = unary('log1p');
/** Elementwise e ** a - 1, accurate where a is small. */
export const expm1 = unary('expm1');
/** Elementwise error function, 2/sqrt(pi) times the integral of e^-t² from 0 to a. */
export const erf = unary('erf');
/** Elementwise sine. */
export const sin = unary('sin');
/** Elementwise cosine. */
export const cos = unary('cos');
/** Elementwise tangent. */
export const tan = unary('tan');
/** Elementwise arctangent, in (-pi/2, pi/2). */
export const atan = unary('atan');
/** Elementwise arcsine, in [-pi/2, pi/2] (NaN outside [-1, 1]). */
export const asin = unary('asin');
/** Elementwise arccosine, in [0, pi] (NaN outside [-1, 1]). */
export const acos = unary('acos');
/** Elementwise angle of the point (b, a), in [-pi, pi]: atan2(y, x) as in C and PyTorch. */
export const atan2 = binary('atan2');
/** Elementwise hyperbolic tangent. */
export const tanh = unary('tanh');
/** Elementwise hyperbolic sine. */
export const sinh = unary('sinh');
/** Elementwise hyperbolic cosine. */
export const cosh = unary('cosh');
/** Elementwise inverse hyperbolic sine. */
export const asinh = unary('asinh');
/** Elementwise inverse hyperbolic cosine (NaN below 1). */
export const acosh = unary('acosh');
/** Elementwise inverse hyperbolic tangent (±Inf at ±1, NaN beyond). */
export const atanh = unary('atanh');
/**
 * Elementwise softplus, PyTorch's: log(1 + e ** (beta a)) / beta, computed without overflow, and a itself
 * where beta a > threshold (a smooth relu whose derivative is the sigmoid of beta a, 1 beyond the threshold).
 */
export function softplus(a: Operand, beta = 1, threshold = 20): Tensor {
  atMost('softplus', arguments.length);
  // As a float32, beta must be normal, so that 1 / beta is finite too.
  const b32 = typeof beta === 'number' ? Math.abs(Math.fround(beta)) : NaN;
  if (!(b32 >= 2 ** -126 && b32 < Infinity))
    throw new Error(
      `softplus: beta must be a nonzero number of float32's normal range (1.2e-38 to 3.4e38 in size), got ${written(beta)}`,
    );
  if (typeof threshold !== 'number' || Number.isNaN(threshold))
    throw new Error(`softplus: threshold must be a number, got ${written(threshold)}`);
  const node = nodeOf(a, 'softplus');
  const x = a instanceof Tensor ? a : new Tensor(node);
  const bx = mul(x, beta);
  // beta as the float32 every constant is, on every backend (the CPU's formula would take the double).
  return where(gt(bx, threshold), x, new Tensor(apply('softplus', [node], Math.fround(beta))));
}
/** Elementwise logistic sigmoid 1 / (1 + e ** -a). */
export const sigmoid = unary('sigmoid');
/** Elementwise max(a, 0), with relu'(0) = 0. */
export const relu = unary('relu');
/** Elementwise |a|, with abs'(0) = 0. */
export const abs = unary('abs');
/** Elementwise square root. */
export const sqrt = unary('sqrt');

/**
 * Elementwise a ** b. An integer number exponent is computed by multiplication (exact for negative
 * bases, and its gradient at 0 is the limit); a real exponent of a negative base is NaN.
 */
export function pow(a: Operand, b: Operand): Tensor {
  atMost('pow', arguments.length);
  const base = nodeOf(a, 'pow');
  if (typeof b === 'number' && Number.isInteger(b) && Math.abs(b) <= 1 << 24)
    return new Tensor(powi(base, b));
  return new Tensor(apply('pow', [base, nodeOf(b, 'pow')]));
}

/** A bound of clamp: left out (undefined or null), or an operand. */
function boundOf(v: Operand | null | undefined, which: string): Node | null {
  if (v === undefined || v === null) return null;
  return nodeOf(v, `clamp: ${which}`);
}

/**
 * Elementwise a limited to [min, max], as PyTorch's clamp: either bound may be left out (undefined or null),
 * not both, and each may be a tensor (broadcasting). Where min > max the result is max. NaN in a or a bound
 * gives NaN. The gradient goes to a where min <= a <= max (the ends included), else to the bound that decided.
 */
export function clamp(a: Operand, min?: Operand | null, max?: Operand | null): Tensor {
  atMost('clamp', arguments.length);
  let n = nodeOf(a, 'clamp');
  const lo = boundOf(min, 'min');
  const hi = boundOf(max, 'max');
  if (lo === null && hi === null) throw new Error('clamp: give min, max or both (both were left out)');
  // Checked here, so that a shape error names clamp's argument rather than the ops it is built from.
  const shape = lo ? broadcastShapes(n.shape, lo.shape, 'clamp: min') : n.shape;
  if (hi) broadcastShapes(shape, hi.shape, 'clamp: max');
  if (lo !== null) n = apply('clampmin', [n, lo]);
  if (hi !== null) n = apply('clampmax', [n, hi]);
  return new Tensor(n);
}

/** a * a. */
export function square(a: Operand): Tensor {
  atMost('square', arguments.length);
  return pow(a, 2);
}

function axisOf(x: Tensor, axis: number, what: string): number {
  if (!Number.isInteger(axis))
    throw new Error(`${what}: axis must be an integer or a list of them, got ${written(axis)}`);
  // A tensor of shape [] has one axis to name (0 or -1) as in PyTorch, and reducing it changes nothing.
  const r = Math.max(x.ndim, 1);
  if (axis < -r || axis >= r) {
    throw new Error(`${what}: axis ${axis} is out of range for a tensor of shape ${fmtShape(x.shape)}`);
  }
  return axis < 0 ? axis + r : axis;
}

/** The axes `axis` names (all when undefined), checked, counted from 0, each once. */
function axesOf(x: Tensor, axis: number | readonly number[] | undefined, what: string): Set<number> {
  if (axis === undefined) return new Set(x.shape.keys());
  const list = Array.isArray(axis) ? (axis as readonly number[]) : [axis as number];
  // PyTorch reads an empty list as every axis, NumPy as none: neither is guessed.
  if (list.length === 0) throw new Error(`${what}: the list of axes is empty (omit it to reduce every axis)`);
  const axes = new Set<number>();
  for (const a of list) {
    const ax = axisOf(x, a, what);
    if (axes.has(ax)) throw new Error(`${what}: axis ${a} appears twice in ${JSON.stringify(axis)}`);
    axes.add(ax);
  }
  return axes;
}

function checkKeepdim(keepdim: unknown, what: string): void {
  if (typeof keepdim !== 'boolean')
    throw new Error(`${what}: keepdim must be a boolean, got ${JSON.stringify(keepdim) ?? typeof keepdim}`);
}

/**
 * Sum of all elements (a scalar), or along an axis or a list of axes (removed, or kept with length 1 when
 * `keepdim`, as PyTorch's keepdim).
 */
export function sum(x: Operand, axis?: number | readonly number[], keepdim = false): Tensor {
  atMost('sum', arguments.length);
  return reduced('sum', x, axis, keepdim);
}

/**
 * Largest element, or largest along an axis or a list of axes (PyTorch's amax; see sum for the axes): NaN
 * if any is NaN; the gradient is shared evenly by the elements equal to it.
 */
export function amax(x: Operand, axis?: number | readonly number[], keepdim = false): Tensor {
  atMost('amax', arguments.length);
  return reduced('amax', x, axis, keepdim);
}

/** Smallest element, or smallest along an axis or a list of axes (PyTorch's amin; see amax). */
export function amin(x: Operand, axis?: number | readonly number[], keepdim = false): Tensor {
  atMost('amin', arguments.length);
  return reduced('amin', x, axis, keepdim);
}

/** The tensor operand `x` is (a number or array made one), checked live, for `what`. */
function liveTensor(x: Operand, what: string): Tensor {
  const t = x instanceof Tensor ? x : new Tensor(nodeOf(x, what));
  t.assertLive(what);
  return t;
}

/** How many elements of `t` fold into each result of a reduction over `axis` (every axis when undefined). */
function countAlong(t: Tensor, axis: number | readonly number[] | undefined, what: string): number {
  let count = 1;
  for (const a of axesOf(t, axis, what)) count *= t.shape[a] ?? 1;
  return count;
}

/** `x` reduced `how` over `axis` (every axis when undefined), the axes removed unless `keepdim`. */
function reduced(
  how: Reduction,
  x: Operand,
  axis: number | readonly number[] | undefined,
  keepdim: boolean,
): Tensor {
  const t = liveTensor(x, how);
  checkKeepdim(keepdim, how);
  const axes = axesOf(t, axis, how);
  const keep = t.shape.map((d, i) => (axes.has(i) ? 1 : d));
  return new Tensor(
    reshapeNode(reduceKeep(t.node, keep, how), keepdim ? keep : t.shape.filter((_, i) => !axes.has(i))),
  );
}

/**
 * The same values in another shape, in row-major order (PyTorch's reshape); one dimension may be -1, for
 * what the others leave. Gradients flow through it.
 */
export function reshape(x: Operand, shape: readonly number[]): Tensor {
  atMost('reshape', arguments.length);
  const t = liveTensor(x, 'reshape');
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= -1))
    throw new Error(
      `reshape: shape must be an array of integers >= 0 (one may be -1), got ${written(shape)}`,
    );
  const cannot = (): Error =>
    new Error(`reshape: cannot view ${fmtShape(t.shape)} (${t.size} elements) as ${fmtShape(shape)}`);
  const inferred = shape.filter((d) => d === -1).length;
  if (inferred > 1) throw new Error(`reshape: only one dimension can be -1, got ${fmtShape(shape)}`);
  const known = sizeOf(shape.filter((d) => d !== -1));
  if (inferred === 1 && (known === 0 || t.size % known !== 0)) throw cannot();
  const dims = shape.map((d) => (d === -1 ? t.size / known : d));
  if (sizeOf(dims) !== t.size) throw cannot();
  return new Tensor(reshapeNode(t.node, dims));
}

/** Mean of all elements, or along an axis or a list of axes (see sum). */
export function mean(x: Operand, axis?: number | readonly number[], keepdim = false): Tensor {
  atMost('mean', arguments.length);
  const t = liveTensor(x, 'mean');
  checkKeepdim(keepdim, 'mean');
  // Counted first: a bad axis is named as mean's.
  const count = countAlong(t, axis, 'mean');
  // Divided rather than multiplied by 1 / count: rounded once, as PyTorch's.
  return div(sum(t, axis, keepdim), count);
}

/** Options of variance and std (PyTorch's keyword arguments). */
export interface SpreadOptions {
  /** Subtracted from the count of elements in the divisor: 1 (Bessel's, the default, as PyTorch's), 0 for the population's. */
  correction?: number;
  /** Keep the reduced axes with length 1 (default false). */
  keepdim?: boolean;
}

const SPREAD_OPTIONS = optionNames<SpreadOptions>({ correction: true, keepdim: true });

/** The variance of `x` along `axis` (see variance), its options checked in the name of `what`. */
function varianceOf(
  x: Operand,
  axis: number | readonly number[] | undefined,
  opts: SpreadOptions,
  what: string,
): Tensor {
  const t = liveTensor(x, what);
  checkOptions(what, opts, SPREAD_OPTIONS);
  const { correction = 1, keepdim = false } = opts;
  if (typeof correction !== 'number' || !Number.isFinite(correction))
    throw new Error(`${what}: correction must be a finite number, got ${written(correction)}`);
  checkKeepdim(keepdim, what);
  // Counted first: a bad axis is named as the caller's.
  const count = countAlong(t, axis, what);
  const d = sub(t, mean(t, axis, true));
  // The corrected two-pass algorithm (Chan, Golub and LeVeque): the sum of the deviations, 0 but for the
  // rounding of the mean, takes back what that rounding put into them, so that equal values give exactly
  // 0 (a mean an ulp off gave them a variance of 1e-16 and more, and std a gradient); never below 0.
  const s1 = sum(d, axis, keepdim);
  const ss = sum(mul(d, d), axis, keepdim);
  const q = sub(ss, mul(s1, div(s1, count)));
  // Clamped by where, not maximum: at exactly 0 (equal values) maximum's tie would halve the gradient
  // flowing through, and second derivatives with it; where passes it whole. Squares past float32's range
  // give Infinity, not Infinity - Infinity.
  const squares = where(eq(ss, Infinity), ss, where(lt(q, 0), 0, q));
  return div(squares, Math.max(0, count - correction));
}

/**
 * Variance of all elements, or along an axis or a list of axes (PyTorch's var, which JavaScript cannot
 * name): the sum of squared deviations from the mean, divided by count - correction (Bessel's: correction
 * 1, the default); where that is 0 or less, NaN for equal values and Infinity otherwise (0/0 and a spread
 * over 0), as PyTorch's.
 */
export function variance(x: Operand, axis?: number | readonly number[], opts: SpreadOptions = {}): Tensor {
  atMost('variance', arguments.length);
  return varianceOf(x, axis, opts, 'variance');
}

/**
 * Standard deviation: the square root of variance (see there). Its gradient is 0 where it is 0 (all
 * values equal), as PyTorch's, rather than the 0 · Infinity of sqrt's derivative there.
 */
export function std(x: Operand, axis?: number | readonly number[], opts: SpreadOptions = {}): Tensor {
  atMost('std', arguments.length);
  const v = varianceOf(x, axis, opts, 'std');
  const positive = v.gt(0);
  // v * 0 keeps a NaN variance NaN, and passes a zero gradient where v is 0.
  return where(positive, sqrt(where(positive, v, 1)), mul(v, 0));
}

/**
 * The tensor `x` is (a number made one), checked live, with the axes it is taken along: required, one
 * integer unless `several` (PyTorch's dim, a tuple for logsumexp).
 */
function alongAxes(x: Operand, axis: number | readonly number[], what: string, several: boolean): Tensor {
  const t = liveTensor(x, what);
  if (axis === undefined) throw new Error(`${what}: the axis is required (PyTorch's dim)`);
  if (Array.isArray(axis) && !several)
    throw new Error(`${what}: the axis must be one integer (PyTorch's dim), got ${written(axis)}`);
  axesOf(t, axis, what);
  return t;
}

// softmax and logsumexp are the same for any shift along their axis: by the largest value (a constant,
// through detach), exp cannot overflow.

/** exp(x) / sum(exp(x)) along `axis` (PyTorch's softmax), computed shifted by the largest value. */
export function softmax(x: Operand, axis: number): Tensor {
  atMost('softmax', arguments.length);
  const t = alongAxes(x, axis, 'softmax', false);
  // As PyTorch's: an infinite largest value is subtracted as it is (a row with +Infinity gives NaN).
  const e = exp(sub(t, amax(t, axis, true).detach()));
  return div(e, sum(e, axis, true));
}

/** log(softmax(x)) along `axis` (PyTorch's log_softmax), without the rounding of a log of a tiny softmax. */
export function logSoftmax(x: Operand, axis: number): Tensor {
  atMost('logSoftmax', arguments.length);
  const t = alongAxes(x, axis, 'logSoftmax', false);
  const z = sub(t, amax(t, axis, true).detach());
  return sub(z, log(sum(exp(z), axis, true)));
}

/**
 * log(sum(exp(x))) along an axis or a list of axes (PyTorch's logsumexp), shifted by the largest value;
 * keepdim as sum's. As PyTorch's, an infinite largest value shifts by 0 instead, so that a row of -Infinity
 * gives log(0) = -Infinity (not -Infinity - -Infinity = NaN) and one with +Infinity gives +Infinity.
 */
export function logsumexp(x: Operand, axis: number | readonly number[], keepdim = false): Tensor {
  atMost('logsumexp', arguments.length);
  const t = alongAxes(x, axis, 'logsumexp', true);
  checkKeepdim(keepdim, 'logsumexp');
  const top = amax(t, axis, true).detach();
  const m = where(abs(top).eq(Infinity), 0, top);
  // Summed over the kept axes of length 1: the values unchanged, the axes removed unless keepdim.
  return sum(add(log(sum(exp(sub(t, m)), axis, true)), m), axis, keepdim);
}

/** Every op as a Tensor method, with the tensor as first operand. */
const methods = {
  add,
  sub,
  mul,
  div,
  maximum,
  minimum,
  lt,
  le,
  gt,
  ge,
  eq,
  ne,
  // PyTorch's Tensor.where: this where the condition holds, else b.
  where: (self: Tensor, condition: Operand, b: Operand) => where(condition, self, b),
  neg,
  exp,
  exp2,
  log2,
  log10,
  log1p,
  expm1,
  erf,
  log,
  sin,
  cos,
  tan,
  atan,
  asin,
  acos,
  atan2,
  tanh,
  sinh,
  cosh,
  asinh,
  acosh,
  atanh,
  sigmoid,
  softplus,
  relu,
  abs,
  sqrt,
  floor,
  ceil,
  round,
  trunc,
  sign,
  clamp,
  pow,
  square,
  sum,
  mean,
  amax,
  amin,
  softmax,
  logSoftmax,
  logsumexp,
  variance,
  std,
  reshape,
};

declare module './tensor.js' {
  interface Tensor {
    /** this + b */
    add(b: Operand): Tensor;
    /** this - b */
    sub(b: Operand): Tensor;
    /** this * b */
    mul(b: Operand): Tensor;
    /** this / b */
    div(b: Operand): Tensor;
    /** Elementwise larger of this and b. */
    maximum(b: Operand): Tensor;
    /** Elementwise smaller of this and b. */
    minimum(b: Operand): Tensor;
    /** this < b as 1 or 0. */
    lt(b: Operand): Tensor;
    /** this <= b as 1 or 0. */
    le(b: Operand): Tensor;
    /** this > b as 1 or 0. */
    gt(b: Operand): Tensor;
    /** this >= b as 1 or 0. */
    ge(b: Operand): Tensor;
    /** this == b as 1 or 0. */
    eq(b: Operand): Tensor;
    /** this != b as 1 or 0. */
    ne(b: Operand): Tensor;
    /** This where the condition is nonzero, else b (PyTorch's Tensor.where). */
    where(condition: Operand, b: Operand): Tensor;
    /** -this */
    neg(): Tensor;
    /** e ** this */
    exp(): Tensor;
    /** 2 ** this */
    exp2(): Tensor;
    /** Base-2 logarithm. */
    log2(): Tensor;
    /** Base-10 logarithm. */
    log10(): Tensor;
    /** log(1 + this), accurate where this is small. */
    log1p(): Tensor;
    /** e ** this - 1, accurate where this is small. */
    expm1(): Tensor;
    /** Natural logarithm. */
    log(): Tensor;
    /** Error function. */
    erf(): Tensor;
    /** Sine. */
    sin(): Tensor;
    /** Cosine. */
    cos(): Tensor;
    /** Tangent. */
    tan(): Tensor;
    /** Arctangent. */
    atan(): Tensor;
    /** Arcsine. */
    asin(): Tensor;
    /** Arccosine. */
    acos(): Tensor;
    /** Angle of the point (x, this), in [-pi, pi] (atan2(this, x)). */
    atan2(x: Operand): Tensor;
    /** Hyperbolic tangent. */
    tanh(): Tensor;
    /** Hyperbolic sine. */
    sinh(): Tensor;
    /** Hyperbolic cosine. */
    cosh(): Tensor;
    /** Inverse hyperbolic sine. */
    asinh(): Tensor;
    /** Inverse hyperbolic cosine. */
    acosh(): Tensor;
    /** Inverse hyperbolic tangent. */
    atanh(): Tensor;
    /** Logistic sigmoid. */
    sigmoid(): Tensor;
    /** log(1 + e ** (beta this)) / beta, without overflow, and this beyond the threshold (PyTorch's). */
    softplus(beta?: number, threshold?: number): Tensor;
    /** max(this, 0) */
    relu(): Tensor;
    /** |this| */
    abs(): Tensor;
    /** Square root. */
    sqrt(): Tensor;
    /** Largest integer <= this. */
    floor(): Tensor;
    /** Smallest integer >= this. */
    ceil(): Tensor;
    /** Nearest integer, ties to even. */
    round(): Tensor;
    /** Integer part, toward 0. */
    trunc(): Tensor;
    /** -1, 0 or 1 by the sign of this. */
    sign(): Tensor;
    /** This limited to [min, max] (either bound may be left out, not both). */
    clamp(min?: Operand | null, max?: Operand | null): Tensor;
    /** this ** b */
    pow(b: Operand): Tensor;
    /** this * this */
    square(): Tensor;
    /** Sum of all elements, or along an axis or axes (kept with length 1 when keepdim). */
    sum(axis?: number | readonly number[], keepdim?: boolean): Tensor;
    /** Mean of all elements, or along an axis or axes (kept with length 1 when keepdim). */
    mean(axis?: number | readonly number[], keepdim?: boolean): Tensor;
    /** Largest element, or largest along an axis or axes (kept with length 1 when keepdim). */
    amax(axis?: number | readonly number[], keepdim?: boolean): Tensor;
    /** Smallest element, or smallest along an axis or axes (kept with length 1 when keepdim). */
    amin(axis?: number | readonly number[], keepdim?: boolean): Tensor;
    /** Variance of all elements, or along an axis or axes (Bessel's correction unless told otherwise). */
    variance(axis?: number | readonly number[], opts?: SpreadOptions): Tensor;
    /** Standard deviation of all elements, or along an axis or axes. */
    std(axis?: number | readonly number[], opts?: SpreadOptions): Tensor;
    /** exp(this) / sum(exp(this)) along an axis. */
    softmax(axis: number): Tensor;
    /** log(softmax(this)) along an axis. */
    logSoftmax(axis: number): Tensor;
    /** log(sum(exp(this))) along an axis or axes (kept with length 1 when keepdim). */
    logsumexp(axis: number | readonly number[], keepdim?: boolean): Tensor;
    /** The same values in another shape (one dimension may be -1); gradients flow through it. */
    reshape(shape: readonly number[]): Tensor;
  }
}

for (const [name, fn] of Object.entries(methods)) {
  // Each method takes what its function does after the tensor (Tensor.where: its condition and b).
  const max = maxArgs(name) - 1;
  Object.defineProperty(Tensor.prototype, name, {
    value: function (this: Tensor, ...rest: unknown[]) {
      if (rest.length > max)
        throw new Error(`Tensor.${name}(): takes ${takes(name, max)}, got ${rest.length}; ${EXTRA}`);
      return (fn as (...a: unknown[]) => Tensor)(this, ...rest);
    },
    writable: true,
    configurable: true,
  });
}

/** Names of the public elementwise ops, from the table (for docs, tests and tools). */
export const opNames: readonly OpName[] = (Object.keys(OPS) as OpName[]).filter((k) => OPS[k].api);
