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
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d > 0))
    throw new Error(`${what}: shape must be an array of positive integers, got ${written(shape)}`);
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
 * `steps` evenly spaced values from `start` to `end`, both included (PyTorch's linspace), each computed in
 * float64 and rounded once to float32 (PyTorch's float32 arithmetic can be an ulp off); the second half is
 * counted back from `end`, so that the last value is `end` exactly.
 */
export function linspace(start: number, end: number, steps: number, opts: MakeOptions = {}): Tensor {
  if (
    typeof start !== 'number' ||
    typeof end !== 'number' ||
    !Number.isFinite(start) ||
    !Number.isFinite(end)
  )
    throw new Error(
      `linspace(): start and end must be finite numbers, got ${String(start)} and ${String(end)}`,
    );
  if (!Number.isInteger(steps) || steps < 1)
    throw new Error(`linspace(): steps must be a positive integer, got ${String(steps)}`);
  const values = allocate('linspace()', steps);
  const step = steps === 1 ? 0 : (end - start) / (steps - 1);
  // A single step is `start`, counted from the front.
  const half = Math.max(1, Math.floor(steps / 2));
  // Two loops rather than a test per value: 50 million values took 0.16 s rather than 0.23.
  for (let i = 0; i < half; i++) values[i] = start + i * step;
  for (let i = half; i < steps; i++) values[i] = end - (steps - 1 - i) * step;
  return made('linspace()', values, [steps], opts);
}

/**
 * start + i * step as a float32: the product and the sum formed exactly (as a fused multiply-add would) and
 * rounded at the end, so that values that cancel keep what is left (arange(-1, 1, 0.2) at i = 5 is
 * 5.55e-17, as PyTorch gives, where float64 arithmetic rounds it to 0).
 */
function affine(start: number, i: number, step: number): number {
  // Dekker's product: i * step = p + e exactly (i and step split into 26-bit halves).
  const p = i * step;
  const split = (v: number): [number, number] => {
    const c = 134217729 * v;
    const hi = c - (c - v);
    return [hi, v - hi];
  };
  const [ih, il] = split(i);
  const [sh, sl] = split(step);
  const e = ih * sh - p + ih * sl + il * sh + il * sl;
  // Knuth's sum: start + p = s + t exactly.
  const s = start + p;
  const b = s - start;
  const t = start - (s - b) + (p - b);
  return Math.fround(s + (t + e));
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
      `arange(): start, end and step must be finite numbers, got ${[start, end, step].map(String).join(', ')}`,
    );
  const [a, b, h] = [start, end, step] as [number, number, number];
  if (h === 0) throw new Error('arange(): step must not be 0');
  const n = Math.ceil((b - a) / h);
  if (n <= 0)
    throw new Error(`arange(): no values from ${a} to ${b} by ${h} (a tensor needs at least one element)`);
  const values = allocate('arange()', n);
  for (let i = 0; i < n; i++) values[i] = affine(a, i, h);
  return made('arange()', values, [n], opts);
}
