// Helpers shared by the numeric suites: seeded random points and tolerance-aware comparisons.
import { expect } from 'vitest';

/** Small seeded PRNG, so every suite samples the same points on every run and backend. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `n` float32 points uniform in [lo, hi], skipping those `avoid` rejects (kinks, poles, ties), so
 * references computed from them in float64 see exactly the values the backend sees.
 */
export function uniform(
  n: number,
  lo: number,
  hi: number,
  rand: () => number,
  avoid: (x: number) => boolean = () => false,
): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n;) {
    const v = Math.fround(lo + (hi - lo) * rand());
    if (!avoid(v)) out[i++] = v;
  }
  return out;
}

/** Equal as IEEE values: NaN matches NaN, infinities match exactly, finite values within `tol`. */
export function within(got: number, want: number, tol: number): boolean {
  if (Number.isNaN(want)) return Number.isNaN(got);
  if (!Number.isFinite(want)) return got === want;
  return Math.abs(got - want) <= tol;
}

/**
 * The first few points where `got` is not within `tol(i)` of `want`, described for the test output
 * (an empty list means all points agree), so a failure shows the points rather than a bare false.
 */
export function mismatches(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  tol: (i: number) => number,
  label = '',
  at: (i: number) => string = (i) => `[${i}]`,
): string[] {
  const bad: string[] = [];
  if (got.length !== want.length) return [`${label}: ${got.length} values, expected ${want.length}`];
  let count = 0;
  for (let i = 0; i < want.length; i++) {
    if (within(got[i]!, want[i]!, tol(i))) continue;
    if (++count <= 6) {
      bad.push(`${label}${at(i)}: got ${got[i]}, want ${want[i]} (tolerance ${tol(i).toExponential(2)})`);
    }
  }
  if (count > 6) bad.push(`${label}: ${count - 6} more mismatches`);
  return bad;
}

/** Fails listing the mismatching points (vitest would abbreviate them inside an array diff). */
export function expectClose(...args: Parameters<typeof mismatches>): void {
  const bad = mismatches(...args);
  if (bad.length > 0) expect.fail(bad.join('\n'));
}

// Exact rationals for float64 inputs: a float64 as a BigInt times 2^-1100 (every float64 is one).
const SCALE = 1100n;
const f64 = new DataView(new ArrayBuffer(8));

/** x (a finite float64) times 2^1100, exactly, as a BigInt. */
export function big(x: number): bigint {
  if (x === 0) return 0n;
  f64.setFloat64(0, x);
  const hi = f64.getUint32(0);
  const e = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(f64.getUint32(4));
  if (e !== 0) mant |= 1n << 52n;
  const shifted = mant << (SCALE + BigInt(e === 0 ? -1074 : e - 1075));
  return hi >>> 31 ? -shifted : shifted;
}

/** The float32 nearest to (num / den) 2^-1100 (den > 0), ties to even, ±Infinity past float32's range. */
export function exactF32(num: bigint, den: bigint): number {
  // A float64 within an ulp or so of the value: the float32 nearest it or a neighbour is the answer.
  const neg = num < 0n;
  const a = neg ? -num : num;
  if (a === 0n) return 0;
  const k = 80 - (a.toString(2).length - den.toString(2).length);
  const q = k >= 0 ? (a << BigInt(k)) / den : a / (den << BigInt(-k));
  let v = Number(q);
  for (let e = -k - 1100; e !== 0;) {
    const step = Math.max(-500, Math.min(500, e));
    v *= 2 ** step;
    e -= step;
  }
  const approx = Math.fround(neg ? -v : v);
  const words = new Float32Array(1);
  const bits = new Int32Array(words.buffer);
  const near = (x: number, d: number): number => {
    words[0] = x;
    bits[0] = bits[0]! + d;
    return words[0]!;
  };
  const max = 3.4028234663852886e38;
  // Past max + half its ulp (2^103): Infinity.
  const limit = (big(max) + big(2 ** 103)) * den;
  if (a >= limit) return neg ? -Infinity : Infinity;
  const start = Number.isFinite(approx) ? approx : neg ? -max : max;
  let best = start;
  let gap = -1n;
  for (const c of [start, near(start, 1), near(start, -1)].filter(Number.isFinite)) {
    let d = num - big(c) * den;
    if (d < 0n) d = -d;
    words[0] = c;
    if (gap < 0n || d < gap || (d === gap && (bits[0]! & 1) === 0)) {
      best = c;
      gap = d;
    }
  }
  return best;
}
