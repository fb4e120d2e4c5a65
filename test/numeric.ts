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
