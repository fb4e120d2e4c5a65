/** Random tensors (rand, randn) from one seedable generator, as PyTorch's with manual_seed. */
import { allocate, checkedShape, made, type MakeOptions } from './create.js';
import { sizeOf } from './graph/shape.js';
import { written } from './options.js';
import type { Tensor } from './tensor.js';

// xoshiro128** (Blackman and Vigna): 32-bit state words, period 2^128 - 1, fast in JavaScript's int32 math.
const state = new Uint32Array(4);

/** SplitMix32 from `seed`: spreads any seed, 0 included, over the four state words (never all zero). */
function seedState(seed: number): void {
  let z = seed >>> 0;
  for (let i = 0; i < 4; i++) {
    z = (z + 0x9e3779b9) >>> 0;
    let t = z;
    t = Math.imul(t ^ (t >>> 16), 0x85ebca6b);
    t = Math.imul(t ^ (t >>> 13), 0xc2b2ae35);
    state[i] = (t ^ (t >>> 16)) >>> 0;
  }
  if (state.every((w) => w === 0)) state[0] = 1;
}

/** The next 32 random bits. */
function next(): number {
  const s = state;
  const r = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9) >>> 0;
  const t = s[1]! << 9;
  s[2]! ^= s[0]!;
  s[3]! ^= s[1]!;
  s[1]! ^= s[2]!;
  s[0]! ^= s[3]!;
  s[2]! ^= t;
  s[3] = rotl(s[3]!, 11);
  return r;
}

const rotl = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;

// Unseeded, a program draws different numbers each run, as PyTorch's does.
seedState(Math.floor(Math.random() * 2 ** 32));

/** Seeds the generator of rand() and randn() (PyTorch's manual_seed): the same seed, the same tensors. */
export function manualSeed(seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0)
    throw new Error(`manualSeed(): the seed must be an integer >= 0, got ${written(seed)}`);
  // Both halves of a seed beyond 2^32 count.
  seedState((seed % 2 ** 32) ^ Math.imul(Math.floor(seed / 2 ** 32), 0x27d4eb2d));
}

/** A uniform float32 in [0, 1): 24 random bits, each value a multiple of 2^-24. */
const uniform = (): number => (next() >>> 8) * 2 ** -24;

/** A leaf of `shape` with values from `draw`. */
function drawn(
  what: string,
  shape: readonly number[],
  opts: MakeOptions,
  draw: (out: Float32Array) => void,
): Tensor {
  const s = checkedShape(what, shape);
  const values = allocate(what, sizeOf(s));
  // Made (its options checked) before drawing: a mistake leaves the generator where it was.
  const t = made(what, values, s, opts);
  draw(values);
  return t;
}

/** Values uniform in [0, 1) (PyTorch's rand; its numbers differ, the generator being another). */
export function rand(shape: readonly number[], opts: MakeOptions = {}): Tensor {
  return drawn('rand()', shape, opts, (out) => {
    for (let i = 0; i < out.length; i++) out[i] = uniform();
  });
}

/** Values from the standard normal distribution (PyTorch's randn; by Box-Muller in float64). */
export function randn(shape: readonly number[], opts: MakeOptions = {}): Tensor {
  return drawn('randn()', shape, opts, (out) => {
    for (let i = 0; i < out.length; i += 2) {
      // 1 - u is in (0, 1]: its log is finite.
      const r = Math.sqrt(-2 * Math.log(1 - uniform()));
      const a = 2 * Math.PI * uniform();
      out[i] = r * Math.cos(a);
      if (i + 1 < out.length) out[i + 1] = r * Math.sin(a);
    }
  });
}
