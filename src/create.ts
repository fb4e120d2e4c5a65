/** Tensors made from a shape or a range rather than from data: zeros, ones, linspace (as PyTorch's). */
import { sizeOf } from './graph/shape.js';
import { checkOptions, optionNames, written } from './options.js';
import { tensor, type Tensor } from './tensor.js';

/** Options of the tensor makers. */
export interface MakeOptions {
  /** Track gradients with respect to the new tensor (a leaf), as tensor()'s option. */
  requiresGrad?: boolean;
}

const MAKE_OPTIONS = optionNames<MakeOptions>({ requiresGrad: true });

/** A leaf over `values` (made here, so not copied), with the options checked in the name of `what`. */
function made(what: string, values: Float32Array, shape: number[], opts: MakeOptions): Tensor {
  checkOptions(what, opts, MAKE_OPTIONS);
  return tensor(values, { requiresGrad: opts.requiresGrad ?? false, shape, copy: false });
}

function checkedShape(what: string, shape: readonly number[]): number[] {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d > 0))
    throw new Error(`${what}: shape must be an array of positive integers, got ${written(shape)}`);
  return [...shape];
}

/** A leaf of `shape` (checked in the name of `what`) filled with `value`. */
function filled(what: string, shape: readonly number[], value: number, opts: MakeOptions): Tensor {
  const s = checkedShape(what, shape);
  if (typeof value !== 'number') throw new Error(`${what}: value must be a number, got ${typeof value}`);
  return made(what, new Float32Array(sizeOf(s)).fill(value), s, opts);
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
  const values = new Float32Array(steps);
  const step = steps === 1 ? 0 : (end - start) / (steps - 1);
  // A single step is `start`, counted from the front.
  const half = Math.max(1, Math.floor(steps / 2));
  for (let i = 0; i < steps; i++) values[i] = i < half ? start + i * step : end - (steps - 1 - i) * step;
  return made('linspace()', values, [steps], opts);
}
