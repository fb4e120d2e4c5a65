/** The error function in float64, for the op table's CPU formula (JavaScript's Math has none). */

const TWO_OVER_SQRT_PI = 1.1283791670955126;

/**
 * erf(x) to about 1e-10 relative (far inside float32's rounding): below |x| = 4 its Maclaurin series (its
 * largest term, near x = 4, is 1e6 times the sum: 1e-10 left of float64's 1e-16), from 4 on 1 - erfc(x) by
 * the asymptotic series, whose smallest term there is below 1e-7 of an erfc under 2e-8.
 */
export function erf(x: number): number {
  // NaN stays NaN, and ±0 keeps its sign (the series' zero terms would add to +0).
  if (x !== x || x === 0) return x;
  const ax = Math.abs(x);
  const z = x * x;
  if (ax < 4) {
    let term = x;
    let sum = x;
    for (let n = 1; n < 200; n++) {
      term *= -z / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) <= 1e-17 * Math.abs(sum)) break;
    }
    return TWO_OVER_SQRT_PI * sum;
  }
  // erfc(x) = e^-x² / (x sqrt(pi)) (1 - 1/(2x²) + 3/(2x²)² - ...), summed while the terms still shrink.
  let term = 1;
  let s = 0;
  for (let n = 0; n < 60; n++) {
    s += term;
    const next = (term * -(2 * n + 1)) / (2 * z);
    if (Math.abs(next) >= Math.abs(term) || Math.abs(next) < 1e-17) break;
    term = next;
  }
  const erfc = (Math.exp(-z) / (ax * Math.sqrt(Math.PI))) * s;
  return x < 0 ? erfc - 1 : 1 - erfc;
}
