// The benchmark cases: each formula is written once against a small math interface, so that webgrad,
// jax-js, TensorFlow.js and the float64 reference all evaluate exactly the same expression; only the
// hand-written WGSL kernel spells out its derivatives by hand.

/** The operations the case formulas use; each system implements it over its own array type. */
export interface MathOps<T> {
  add(a: T, b: T | number): T;
  sub(a: T, b: T | number): T;
  mul(a: T, b: T | number): T;
  div(a: T, b: T | number): T;
  neg(a: T): T;
  exp(a: T): T;
  log(a: T): T;
  sin(a: T): T;
  cos(a: T): T;
  tanh(a: T): T;
  sigmoid(a: T): T;
  relu(a: T): T;
  /** a^n for a small positive integer n. */
  powi(a: T, n: number): T;
}

/** A pointwise formula: point inputs `x` (one value each per point) and scalar parameters `p`. */
export type Formula = <T>(m: MathOps<T>, x: T[], p: T[]) => T;

/** One benchmark case. */
export interface BenchCase {
  /** Short identifier for flags and file names. */
  id: string;
  /** The formula as written in the notebook. */
  name: string;
  /** Number of point inputs (1–3). */
  vars: number;
  /** Values of the scalar parameters shared by all points (w, b). */
  params: number[];
  /** Range of each point input. */
  ranges: [number, number][];
  /**
   * 1: outputs are the value per point, then the gradient per point for each input (cases without
   * parameters) or the summed gradient of each parameter (cases with parameters: the points are data, as in
   * training). 2: outputs are f'(x) and f''(x) per point (one input, no parameters).
   */
  order: 1 | 2;
  f: Formula;
  /**
   * The hand-written WGSL body of the fused kernel: reads `x0`…, `w`, `b`; assigns `o0`… (per-point outputs
   * in the order above) and, for parameters, `g0`, `g1` (this point's share of the parameter gradients).
   */
  wgsl: string;
}

/** Outputs per point of a case (value and input gradients, or f' and f''). */
export const pointOutputs = (c: BenchCase): number =>
  c.order === 2 ? 2 : c.params.length > 0 ? 1 : 1 + c.vars;

/** True when the case differentiates with respect to its point inputs (it has no parameters). */
export const gradOfInputs = (c: BenchCase): boolean => c.params.length === 0;

/** Bytes a fused kernel must move per point: one load per input, one store per per-point output. */
export const bytesPerPoint = (c: BenchCase): number => 4 * (c.vars + pointOutputs(c));

// The 20-op chain: unary ops and constants, with x entering again twice so that the gradient is not a
// plain product of the ops' derivatives.
const chain20: Formula = (m, [x]) => {
  let t = m.mul(x!, 1.5); // 1
  t = m.add(t, 0.25); // 2
  t = m.sin(t); // 3
  t = m.mul(t, 2); // 4
  t = m.tanh(t); // 5
  t = m.add(t, 0.5); // 6
  t = m.mul(t, x!); // 7
  t = m.neg(t); // 8
  t = m.exp(t); // 9
  t = m.add(t, 1); // 10
  t = m.log(t); // 11
  t = m.mul(t, 0.7); // 12
  t = m.sigmoid(t); // 13
  t = m.sub(t, 0.1); // 14
  t = m.mul(t, t); // 15
  t = m.add(t, x!); // 16
  t = m.cos(t); // 17
  t = m.mul(t, 3); // 18
  t = m.tanh(t); // 19
  return m.add(t, 1); // 20
};

/** Every case: the notebook's functions, the 20-op chain and a second derivative. */
export const benchCases: BenchCase[] = [
  {
    id: 'sq',
    name: '(x-2)^2',
    vars: 1,
    params: [],
    ranges: [[-2, 2]],
    order: 1,
    f: (m, [x]) => m.powi(m.sub(x!, 2), 2),
    wgsl: `let d = x0 - 2.0;
    o0 = d * d;
    o1 = 2.0 * d;`,
  },
  {
    id: 'sigmoid',
    name: 'sigmoid(x)',
    vars: 1,
    params: [],
    ranges: [[-2, 2]],
    order: 1,
    f: (m, [x]) => m.sigmoid(x!),
    wgsl: `let s = 1.0 / (1.0 + exp(-x0));
    o0 = s;
    o1 = s * (1.0 - s);`,
  },
  {
    id: 'z2',
    name: 'z=2(2a+3b)+3(5a^2+3b^3)',
    vars: 2,
    params: [],
    ranges: [
      [-2, 2],
      [0.3, 2.8],
    ],
    order: 1,
    f: (m, [a, b]) =>
      m.add(
        m.mul(m.add(m.mul(a!, 2), m.mul(b!, 3)), 2),
        m.mul(m.add(m.mul(m.mul(a!, a!), 5), m.mul(m.mul(m.mul(b!, b!), b!), 3)), 3),
      ),
    wgsl: `o0 = 2.0 * (2.0 * x0 + 3.0 * x1) + 3.0 * (5.0 * x0 * x0 + 3.0 * x1 * x1 * x1);
    o1 = 4.0 + 30.0 * x0;
    o2 = 6.0 + 27.0 * x1 * x1;`,
  },
  {
    id: 'relu-wb',
    name: 'relu(w*x+b)',
    vars: 1,
    params: [4, 5],
    ranges: [[-2, 2]],
    order: 1,
    f: (m, [x], [w, b]) => m.relu(m.add(m.mul(w!, x!), b!)),
    wgsl: `let v = w * x0 + b;
    let on = select(0.0, 1.0, v > 0.0);
    o0 = max(v, 0.0);
    g0 = on * x0;
    g1 = on;`,
  },
  {
    id: 'sigmoid-wb',
    name: 'sigmoid(w*x+b)',
    vars: 1,
    params: [1, 1],
    ranges: [[-2, 2]],
    order: 1,
    f: (m, [x], [w, b]) => m.sigmoid(m.add(m.mul(w!, x!), b!)),
    wgsl: `let s = 1.0 / (1.0 + exp(-(w * x0 + b)));
    let d = s * (1.0 - s);
    o0 = s;
    g0 = d * x0;
    g1 = d;`,
  },
  {
    id: 'expo',
    name: 'exp(-x^2-2x-sin x)',
    vars: 1,
    params: [],
    ranges: [[-2, 2]],
    order: 1,
    f: (m, [x]) => m.exp(m.sub(m.sub(m.neg(m.powi(x!, 2)), m.mul(x!, 2)), m.sin(x!))),
    wgsl: `let e = exp(-x0 * x0 - 2.0 * x0 - sin(x0));
    o0 = e;
    o1 = e * (-2.0 * x0 - 2.0 - cos(x0));`,
  },
  {
    id: 'poly',
    name: '8x^4+3x^3+7x^2+6x+3',
    vars: 1,
    params: [],
    ranges: [[-2, 2]],
    order: 1,
    f: (m, [x]) =>
      m.add(
        m.add(
          m.add(m.add(m.mul(m.powi(x!, 4), 8), m.mul(m.powi(x!, 3), 3)), m.mul(m.powi(x!, 2), 7)),
          m.mul(x!, 6),
        ),
        3,
      ),
    wgsl: `let x2 = x0 * x0;
    o0 = 8.0 * x2 * x2 + 3.0 * x2 * x0 + 7.0 * x2 + 6.0 * x0 + 3.0;
    o1 = 32.0 * x2 * x0 + 9.0 * x2 + 14.0 * x0 + 6.0;`,
  },
  {
    id: 'tanhlog',
    name: 'tanh(ln(1+2xz/sin y))',
    vars: 3,
    params: [],
    ranges: [
      [0.1, 2],
      [0.3, 2.8],
      [0.1, 2],
    ],
    order: 1,
    f: (m, [x, y, z]) => m.tanh(m.log(m.add(m.div(m.mul(m.mul(x!, z!), 2), m.sin(y!)), 1))),
    wgsl: `let s = sin(x1);
    let u = 1.0 + 2.0 * x0 * x2 / s;
    let t = tanh(log(u));
    let k = (1.0 - t * t) / u;
    o0 = t;
    o1 = k * 2.0 * x2 / s;
    o2 = -k * 2.0 * x0 * x2 * cos(x1) / (s * s);
    o3 = k * 2.0 * x0 / s;`,
  },
  {
    id: 'chain20',
    name: '20-op chain',
    vars: 1,
    params: [],
    ranges: [[-2, 2]],
    order: 1,
    f: chain20,
    // Forward mode by hand: each line carries (t, dt/dx).
    wgsl: `var t = x0 * 1.5 + 0.25;
    var d = 1.5;
    d = cos(t) * d; t = sin(t);
    t = 2.0 * t; d = 2.0 * d;
    t = tanh(t); d = (1.0 - t * t) * d;
    t = t + 0.5;
    d = d * x0 + t; t = t * x0;
    t = exp(-t); d = -t * d;
    let u = t + 1.0;
    t = log(u); d = d / u;
    t = 1.0 / (1.0 + exp(-0.7 * t)); d = t * (1.0 - t) * 0.7 * d;
    t = t - 0.1;
    d = 2.0 * t * d + 1.0; t = t * t + x0;
    d = -sin(t) * d; t = cos(t);
    t = tanh(3.0 * t); d = (1.0 - t * t) * 3.0 * d;
    o0 = t + 1.0;
    o1 = d;`,
  },
  {
    id: 'd2',
    name: "x^2 sin x: f' and f''",
    vars: 1,
    params: [],
    ranges: [[-2, 2]],
    order: 2,
    f: (m, [x]) => m.mul(m.powi(x!, 2), m.sin(x!)),
    wgsl: `let s = sin(x0);
    let c = cos(x0);
    o0 = 2.0 * x0 * s + x0 * x0 * c;
    o1 = 2.0 * s + 4.0 * x0 * c - x0 * x0 * s;`,
  },
];

/** Deterministic inputs of a case at n points (a golden-ratio sequence over each input's range). */
export function caseInputs(c: BenchCase, n: number): Float32Array[] {
  return c.ranges.map(([lo, hi], k) => {
    const out = new Float32Array(n);
    const phase = k * 0.37;
    for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * ((i * 0.6180339887 + phase) % 1);
    return out;
  });
}

/** Picks cases by id (all when `ids` is empty); unknown ids are an error. */
export function selectCases(ids: readonly string[]): BenchCase[] {
  if (ids.length === 0) return benchCases;
  for (const id of ids)
    if (!benchCases.some((c) => c.id === id))
      throw new Error(`unknown case ${id}; cases: ${benchCases.map((c) => c.id).join(', ')}`);
  return benchCases.filter((c) => ids.includes(c.id));
}
