/** Tensors made from a shape or a range rather than from data: zeros, ones, full (and their *Like forms), linspace, arange (as PyTorch's). */
import { sizeOf } from './graph/shape.js';
import { checkOptions, optionNames, written } from './options.js';
import { Tensor, tensor } from './tensor.js';

/** Options of the tensor makers. */
export interface MakeOptions {
  /** Track gradients with respect to the new tensor (a leaf), as tensor()'s option. */
  requiresGrad?: boolean;
}

const MAKE_OPTIONS = optionNames<MakeOptions>({ requiresGrad: true });

/** A leaf over `values` (made here, so not copied), with the options checked in the name of `what`. */
export function made(what: string, values: Float32Array, shape: number[], opts: MakeOptions): Tensor {
  checkOptions(what, opts, MAKE_OPTIONS);
  // Checked here too, so that the error names the maker rather than tensor().
  const rg = opts.requiresGrad ?? false;
  if (typeof rg !== 'boolean') throw new Error(`${what}: requiresGrad must be a boolean, got ${typeof rg}`);
  return tensor(values, { requiresGrad: opts.requiresGrad ?? false, shape, copy: false });
}

/** Float32 storage for `n` values, or an error in the name of `what` where no array can hold them. */
export function allocate(what: string, n: number): Float32Array {
  try {
    return new Float32Array(n);
  } catch (e) {
    const count = Number.isSafeInteger(n) ? `${n} values are` : 'that many values are';
    if (e instanceof RangeError)
      throw new Error(`${what}: ${count} more than one array can hold`, { cause: e });
    throw e;
  }
}

/** `shape` as a new array, checked in the name of `what`: positive integers. */
export function checkedShape(what: string, shape: readonly number[]): number[] {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    // PyTorch also takes the sizes as separate arguments, zeros(2, 3), which here would read 2 as the shape.
    const spread =
      typeof shape === 'number'
        ? ` (PyTorch's ${what.slice(0, -1)}${shape}, ...) is written ${what.slice(0, -1)}[${shape}, ...]) here)`
        : '';
    throw new Error(`${what}: shape must be an array of positive integers, got ${written(shape)}${spread}`);
  }
  return [...shape];
}

/** A leaf of `shape` (checked in the name of `what`) filled with `value`. */
function filled(what: string, shape: readonly number[], value: number, opts: MakeOptions): Tensor {
  const s = checkedShape(what, shape);
  if (typeof value !== 'number') throw new Error(`${what}: value must be a number, got ${typeof value}`);
  return made(what, allocate(what, sizeOf(s)).fill(value), s, opts);
}

/** A tensor of the given shape filled with `value`. */
export function full(shape: readonly number[], value: number, opts: MakeOptions = {}): Tensor {
  return filled('full()', shape, value, opts);
}

/** A tensor of zeros of the given shape. */
export function zeros(shape: readonly number[], opts: MakeOptions = {}): Tensor {
  return filled('zeros()', shape, 0, opts);
}

/** A tensor of ones of the given shape. */
export function ones(shape: readonly number[], opts: MakeOptions = {}): Tensor {
  return filled('ones()', shape, 1, opts);
}

/** The shape of `like` (a Tensor), checked in the name of `what`. */
function shapeOf(what: string, like: Tensor): number[] {
  if (!(like instanceof Tensor)) throw new Error(`${what}: expected a Tensor to take the shape of`);
  like.assertLive(what);
  return like.shape;
}

/** A tensor of zeros of `like`'s shape (PyTorch's zeros_like; it does not require grad unless asked). */
export function zerosLike(like: Tensor, opts: MakeOptions = {}): Tensor {
  return filled('zerosLike()', shapeOf('zerosLike()', like), 0, opts);
}

/** A tensor of ones of `like`'s shape (PyTorch's ones_like). */
export function onesLike(like: Tensor, opts: MakeOptions = {}): Tensor {
  return filled('onesLike()', shapeOf('onesLike()', like), 1, opts);
}

/** A tensor of `like`'s shape filled with `value` (PyTorch's full_like). */
export function fullLike(like: Tensor, value: number, opts: MakeOptions = {}): Tensor {
  return filled('fullLike()', shapeOf('fullLike()', like), value, opts);
}

/**
 * `steps` evenly spaced values from `start` to `end`, both included (PyTorch's linspace): value i is the
 * exact (start (steps - 1 - i) + end i) / (steps - 1) rounded once to float32, so that the ends are start
 * and end and a value that is exactly 0 (the middle of linspace(-1, 1, 99)) is 0, where float64's
 * start + i step leaves 1e-16 (PyTorch's float32 arithmetic gets 0 there but can be an ulp off elsewhere).
 */
export function linspace(start: number, end: number, steps: number, opts: MakeOptions = {}): Tensor {
  if (
    typeof start !== 'number' ||
    typeof end !== 'number' ||
    !Number.isFinite(start) ||
    !Number.isFinite(end)
  )
    throw new Error(
      `linspace(): start and end must be finite numbers, got ${written(start)} and ${written(end)}`,
    );
  if (!Number.isInteger(steps) || steps < 1)
    throw new Error(`linspace(): steps must be a positive integer, got ${written(steps)}`);
  const values = allocate('linspace()', steps);
  // A single step is `start`.
  if (steps === 1) {
    values[0] = start;
    return made('linspace()', values, [1], opts);
  }
  const m = steps - 1;
  const step = (end - start) / m;
  // float64's start + i step (counted back from end in the second half) is within `far` of the exact value:
  // where every number that close rounds to the same float32, that is the exact value's rounding; elsewhere
  // (next to a halfway point, or near 0, where the exact value may be 0) it is computed exactly. A range
  // beyond float64's (end - start overflows) is computed exactly throughout.
  const far = Number.isFinite(step) ? 2 ** -48 * (Math.abs(start) + Math.abs(end)) : Infinity;
  const half = Math.floor(steps / 2);
  // Two loops rather than a test of i per value.
  for (let i = 0; i < half; i++) {
    const v = start + i * step;
    values[i] = Math.fround(v - far) === Math.fround(v + far) ? v : spaced(start, end, i, m);
  }
  for (let i = half; i < steps; i++) {
    const v = end - (m - i) * step;
    values[i] = Math.fround(v - far) === Math.fround(v + far) ? v : spaced(start, end, i, m);
  }
  return made('linspace()', values, [steps], opts);
}

/** (a (m - i) + b i) / m, exactly, rounded once to float32. */
function spaced(a: number, b: number, i: number, m: number): number {
  // Scaled down by a power of two (exactly) where the products could overflow float64.
  const scale = Math.max(Math.abs(a), Math.abs(b)) > 2 ** 900 ? 2 ** -200 : 1;
  const [p1, e1] = twoProd(a * scale, m - i);
  const [p2, e2] = twoProd(b * scale, i);
  const [s, t] = twoSum(p1, p2);
  const [hi, lo] = twoSum(s, t + e1 + e2);
  // The quotient to about 2^-104: q1 plus the remainder's quotient.
  const q1 = hi / m;
  const [pp, pe] = twoProd(q1, m);
  const q2 = (hi - pp - pe + lo) / m;
  return roundF32(q1 / scale, q2 / scale);
}

/** a * b = p + e exactly (Dekker's product, by 27-bit halves), for products within float64's range. */
function twoProd(a: number, b: number): [number, number] {
  const p = a * b;
  const split = (v: number): [number, number] => {
    const c = 134217729 * v;
    const h = c - (c - v);
    return [h, v - h];
  };
  const [ah, al] = split(a);
  const [bh, bl] = split(b);
  return [p, ah * bh - p + ah * bl + al * bh + al * bl];
}

/** a + b = s + t exactly (Knuth's sum). */
function twoSum(a: number, b: number): [number, number] {
  const s = a + b;
  const v = s - a;
  return [s, a - (s - v) + (b - v)];
}

const FLOAT32_MAX = 3.4028234663852886e38;
const bits32 = new Float32Array(1);
const word32 = new Uint32Array(bits32.buffer);

/**
 * high + low rounded once to float32, ties to even: rounding their float64 sum
 * first would round twice, and a sum that lands on a float32 halfway point can go the wrong way.
 */
function roundF32(high: number, low: number): number {
  // Renormalized: the sum may be all in `low` (start + i * step cancelling exactly in its high part).
  const [hi, lo] = twoSum(high, low);
  const c = Math.fround(hi);
  // Exactly halfway between the largest float32 and 2^128, float32 rounds to Infinity: below it (a low part
  // of the other sign) the value is the largest float32.
  if (!Number.isFinite(c))
    return Math.abs(hi) === 2 ** 128 - 2 ** 103 && lo * hi < 0 ? Math.sign(hi) * FLOAT32_MAX : c;
  // The exact value is c + d; hi - c is exact (they are within a float32 ulp).
  const d = hi - c + lo;
  if (d === 0) return c;
  // c's neighbour towards the exact value.
  bits32[0] = c;
  if (c === 0) word32[0] = d > 0 ? 1 : 0x80000001;
  else word32[0] = word32[0]! + (c > 0 === d > 0 ? 1 : -1);
  const n = bits32[0]!;
  const gap = Math.abs(n - c) / 2;
  if (Math.abs(d) < gap) return c;
  if (Math.abs(d) > gap) return n;
  // Halfway: the one with an even significand.
  return word32[0]! % 2 === 0 ? n : c;
}

/**
 * start + i * step as a float32: the product and the sum formed exactly (as a fused multiply-add would) and
 * rounded once at the end, so that values that cancel keep what is left (arange(-1, 1, 0.2) at i = 5 is
 * 5.55e-17, as PyTorch gives, where float64 arithmetic rounds it to 0). `scale`: a power of two that keeps
 * the products within float64's range.
 */
function affine(start: number, i: number, step: number, scale: number): number {
  const [p, e] = twoProd(i, step * scale);
  const [s, t] = twoSum(start * scale, p);
  return roundF32(s / scale, (t + e) / scale);
}

/**
 * The values start, start + step, ... before `end` (excluded), as PyTorch's arange: `arange(end)` counts
 * from 0 by 1. There are ceil((end - start) / step) of them, each start + i * step formed exactly and
 * rounded to float32.
 */
export function arange(end: number, opts?: MakeOptions): Tensor;
export function arange(start: number, end: number, opts?: MakeOptions): Tensor;
export function arange(start: number, end: number, step: number, opts?: MakeOptions): Tensor;
export function arange(...args: (number | MakeOptions | undefined)[]): Tensor {
  const nums = args.filter((a) => typeof a !== 'object');
  const rest = args.slice(nums.length);
  if (nums.length > 3 || rest.length > 1 || rest.some((a) => typeof a !== 'object' || a === null))
    throw new Error(
      'arange(): takes (end), (start, end) or (start, end, step) as numbers, then an options object',
    );
  const opts = (rest[0] ?? {}) as MakeOptions;
  const [start, end, step] = nums.length === 1 ? [0, nums[0], 1] : [nums[0], nums[1], nums[2] ?? 1];
  if (![start, end, step].every((v) => typeof v === 'number' && Number.isFinite(v)))
    throw new Error(
      `arange(): start, end and step must be finite numbers, got ${[start, end, step].map(written).join(', ')}`,
    );
  const [a, b, h] = [start, end, step] as [number, number, number];
  if (h === 0) throw new Error('arange(): step must not be 0');
  // (b - a) / h, halved first where b - a overflows.
  const n = Math.ceil(Number.isFinite(b - a) ? (b - a) / h : (b / 2 - a / 2) / (h / 2));
  if (n <= 0)
    throw new Error(`arange(): no values from ${a} to ${b} by ${h} (a tensor needs at least one element)`);
  const values = allocate('arange()', n);
  const scale = Math.max(Math.abs(a), Math.abs(b), Math.abs(h)) > 2 ** 900 ? 2 ** -200 : 1;
  for (let i = 0; i < n; i++) values[i] = affine(a, i, h, scale);
  return made('arange()', values, [n], opts);
}
