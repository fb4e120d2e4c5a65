/** The error function in float64, for the op table's CPU formula (JavaScript's Math has none). */

// Least-squares minimax fits (reweighted toward equal relative error), made for webgrad:
// erf(x) / x as a polynomial in x^2 for |x| <= 1 (2.6e-14 relative),
const SMALL = [
  1.1283791670955103, -0.3761263890309562, 0.11283791667342698, -0.026866170118245117, 0.00522397392555235,
  -0.000854818177221342, 0.00012051891660662395, -1.4874757482713497e-5, 1.5991885767563385e-6,
  -1.3741279634993386e-7, 6.6467435166917e-9,
];
// and erfc(x) e^(x^2) as Chebyshev series over [1, 2.5] (1.3e-14) and [2.5, 4.5] (5.4e-15).
const MID = [
  0.30171389024442985, -0.10574990110152654, 0.017104848474406617, -0.0025876822611353052,
  0.0003696145268036882, -5.0198560605083185e-5, 6.517935170759562e-6, -8.126449774874256e-7,
  9.763690282660331e-8, -1.1338136686467326e-8, 1.2757868563667563e-9, -1.393999898152698e-10,
  1.4818896977575324e-11, -1.5350880289144442e-12, 1.5533407893286721e-13, -1.4536115366947655e-14,
];
const FAR = [
  0.16088081081780142, -0.0434302631519726, 0.005674710582267406, -0.0007196936657058138,
  8.879290266666437e-5, -1.0677400532505335e-5, 1.2535047206364835e-6, -1.438747583510161e-7,
  1.6165599135350983e-8, -1.7800661916700378e-9, 1.922890614097783e-10, -2.039571810052987e-11,
  2.125834230870538e-12, -2.1798882143819753e-13, 2.1887006096399375e-14, -1.9251093774652617e-15,
];

/** c[0] + c[1] z + c[2] z^2 + ... by Horner's rule. */
function polynomial(c: readonly number[], z: number): number {
  let r = c[c.length - 1]!;
  for (let i = c.length - 2; i >= 0; i--) r = r * z + c[i]!;
  return r;
}

/** c[0] T0(t) + c[1] T1(t) + ... for t in [-1, 1], by Clenshaw's recurrence. */
function chebyshev(c: readonly number[], t: number): number {
  let b1 = 0;
  let b2 = 0;
  for (let k = c.length - 1; k >= 1; k--) {
    const b0 = 2 * t * b1 - b2 + c[k]!;
    b2 = b1;
    b1 = b0;
  }
  return t * b1 - b2 + c[0]!;
}

/**
 * erf(x) to about 1e-13 relative (far inside float32's rounding): the fits above up to |x| = 4.5, beyond it
 * 1 - erfc(x) with erfc from its asymptotic series, whose smallest term there is 2e-9 of an erfc under 2e-10.
 */
export function erf(x: number): number {
  // NaN stays NaN, and ±0 keeps its sign.
  if (x !== x || x === 0) return x;
  const ax = Math.abs(x);
  if (ax <= 1) return x * polynomial(SMALL, x * x);
  const z = x * x;
  let erfc: number;
  if (ax < 4.5) {
    const r = ax < 2.5 ? chebyshev(MID, (ax - 1.75) / 0.75) : chebyshev(FAR, ax - 3.5);
    erfc = Math.exp(-z) * r;
  } else {
    // erfc(x) = e^-x² / (x sqrt(pi)) (1 - 1/(2x²) + 3/(2x²)² - ...), summed while the terms still shrink.
    let term = 1;
    let s = 0;
    for (let n = 0; n < 60; n++) {
      s += term;
      const next = (term * -(2 * n + 1)) / (2 * z);
      if (Math.abs(next) >= Math.abs(term) || Math.abs(next) < 1e-17) break;
      term = next;
    }
    erfc = (Math.exp(-z) / (ax * Math.sqrt(Math.PI))) * s;
  }
  return x < 0 ? erfc - 1 : 1 - erfc;
}
