// The float64 reference every system is checked against before it is timed: the case's own formula
// evaluated with dual numbers (first order: value and a gradient vector; second order: Taylor jets).
import { pointOutputs, type BenchCase, type MathOps } from './cases.js';

/**
 * A value with its derivatives: `d0`…`d2` the first derivatives by input (cases have at most three inputs
 * and parameters together), `dd` the second (one-input jets). Fixed fields rather than an array: a jet is
 * made per operation and point, and the checks of the largest sizes evaluate hundreds of millions.
 */
class Jet {
  constructor(
    readonly v: number,
    readonly d0: number,
    readonly d1: number,
    readonly d2: number,
    readonly dd: number,
  ) {}
  /** The derivative by input k. */
  d(k: number): number {
    return k === 0 ? this.d0 : k === 1 ? this.d1 : this.d2;
  }
}

/** Jets for unary functions from g(a), g'(a), g''(a). */
function unary(a: Jet, g: number, g1: number, g2: number): Jet {
  return new Jet(g, g1 * a.d0, g1 * a.d1, g1 * a.d2, g2 * a.d0 * a.d0 + g1 * a.dd);
}

const lift = (b: Jet | number): Jet => (typeof b === 'number' ? new Jet(b, 0, 0, 0, 0) : b);

function mulJ(a: Jet, b: Jet): Jet {
  return new Jet(
    a.v * b.v,
    a.d0 * b.v + a.v * b.d0,
    a.d1 * b.v + a.v * b.d1,
    a.d2 * b.v + a.v * b.d2,
    a.dd * b.v + 2 * a.d0 * b.d0 + a.v * b.dd,
  );
}

function recip(a: Jet): Jet {
  const r = 1 / a.v;
  return unary(a, r, -r * r, 2 * r * r * r);
}

const sig = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

/** Float64 jets as the math interface of the case formulas. */
const jetOps: MathOps<Jet> = {
  add: (a, b) => {
    const c = lift(b);
    return new Jet(a.v + c.v, a.d0 + c.d0, a.d1 + c.d1, a.d2 + c.d2, a.dd + c.dd);
  },
  sub: (a, b) => {
    const c = lift(b);
    return new Jet(a.v - c.v, a.d0 - c.d0, a.d1 - c.d1, a.d2 - c.d2, a.dd - c.dd);
  },
  mul: (a, b) => mulJ(a, lift(b)),
  div: (a, b) => mulJ(a, recip(lift(b))),
  neg: (a) => unary(a, -a.v, -1, 0),
  exp: (a) => {
    const e = Math.exp(a.v);
    return unary(a, e, e, e);
  },
  log: (a) => unary(a, Math.log(a.v), 1 / a.v, -1 / (a.v * a.v)),
  sin: (a) => unary(a, Math.sin(a.v), Math.cos(a.v), -Math.sin(a.v)),
  cos: (a) => unary(a, Math.cos(a.v), -Math.sin(a.v), -Math.cos(a.v)),
  tanh: (a) => {
    const t = Math.tanh(a.v);
    return unary(a, t, 1 - t * t, -2 * t * (1 - t * t));
  },
  sigmoid: (a) => {
    const s = sig(a.v);
    return unary(a, s, s * (1 - s), s * (1 - s) * (1 - 2 * s));
  },
  relu: (a) => unary(a, Math.max(a.v, 0), a.v > 0 ? 1 : 0, 0),
  powi: (a, n) => unary(a, a.v ** n, n * a.v ** (n - 1), n * (n - 1) * a.v ** Math.max(0, n - 2)),
};

/** Reference outputs: per-point outputs at every `stride`-th point, and the parameter sums over all points. */
export interface Reference {
  stride: number;
  /** Per-point outputs at points 0, stride, 2·stride, … */
  points: Float64Array[];
  /** Summed parameter gradients (over every point). */
  sums: Float64Array;
}

// Up to this many points every point is checked; beyond, a strided sample of about as many (the float64
// jets allocate per operation, and a check must not take longer than the timing it guards).
const CHECKED = 1 << 20;

/** The reference outputs of a case, in the order systems return them (see BenchCase.order). */
export function reference(c: BenchCase, xs: readonly Float32Array[]): Reference {
  const n = xs[0]!.length;
  if (c.vars + c.params.length > 3)
    throw new Error(`${c.id}: the reference takes at most 3 inputs and parameters`);
  // Parameter sums need every point; per-point outputs only the sample.
  const stride = c.params.length > 0 ? 1 : Math.max(1, Math.ceil(n / CHECKED));
  const m = Math.ceil(n / stride);
  const points = Array.from({ length: pointOutputs(c) }, () => new Float64Array(m));
  const sums = new Float64Array(c.params.length);
  const seed = (v: number, j: number): Jet => new Jet(v, +(j === 0), +(j === 1), +(j === 2), 0);
  const ps = c.params.map((p, j) => seed(p, c.vars + j));
  for (let s = 0; s < m; s++) {
    const i = s * stride;
    const x = xs.map((a, j) => seed(a[i]!, j));
    const y = c.f(jetOps, x, ps);
    if (c.order === 2) {
      points[0]![s] = y.d0;
      points[1]![s] = y.dd;
      continue;
    }
    points[0]![s] = y.v;
    if (points.length > 1) for (let j = 0; j < c.vars; j++) points[1 + j]![s] = y.d(j);
    for (let j = 0; j < c.params.length; j++) sums[j] = sums[j]! + y.d(c.vars + j);
  }
  return { stride, points, sums };
}

/**
 * Largest |got − ref| over the largest |ref| (`got` read every `stride` points): errors judged on the
 * output's scale (NaN is infinitely wrong).
 */
export function scaledError(got: Float32Array, ref: Float64Array | Float32Array, stride = 1): number {
  if (Math.ceil(got.length / stride) !== ref.length) return Infinity;
  let scale = 1e-30;
  for (let s = 0; s < ref.length; s++) scale = Math.max(scale, Math.abs(ref[s]!));
  let diff = 0;
  for (let s = 0; s < ref.length; s++) {
    const e = Math.abs(got[s * stride]! - ref[s]!);
    if (!(e <= diff)) diff = Number.isNaN(e) ? Infinity : e;
  }
  return diff / scale;
}

/**
 * The worst error of `got` against the reference: per output, the largest absolute difference over the
 * largest reference magnitude (so float32 rounding and builtin transcendental functions are judged on the
 * output's scale); NaN, a missing output or a wrong length counts as infinitely wrong.
 */
export function maxError(got: readonly Float32Array[], ref: Reference): number {
  if (got.length !== ref.points.length + ref.sums.length) return Infinity;
  let worst = 0;
  ref.points.forEach((r, j) => (worst = Math.max(worst, scaledError(got[j]!, r, ref.stride))));
  ref.sums.forEach((r, j) => {
    const g = got[ref.points.length + j]!;
    worst = Math.max(worst, g.length === 1 ? scaledError(g, Float64Array.of(r), 1) : Infinity);
  });
  return worst;
}

/** Largest error a system may show and still be timed. */
export const TOLERANCE = 1e-3;
