// The notebook's functions in batched form, each with a hand-written JS loop of the same formulas
// (value and derivatives per point) to measure webgrad against.
import { exp, log, relu, sigmoid, sin, sum, tanh, tensor, type Tensor } from '../src/index.js';

/** One benchmark case: webgrad's way, and the hand loop's way, of value + gradient over n points. */
export interface NotebookCase {
  name: string;
  /** Number of point arrays (1–3). */
  vars: number;
  /** Scalar parameters (w, b) shared by all points. */
  params: number[];
  /** webgrad: builds the graph, runs backward, reads every output. */
  webgrad(xs: Float32Array[], params: number[]): Promise<Float32Array[]>;
  /** Hand-written fused loop: the same outputs into fresh arrays. */
  hand(xs: Float32Array[], params: number[]): Float32Array[];
}

// The formulas webgrad uses, so that both sides do the same arithmetic: a logistic function that never
// exponentiates a positive number, and derivatives σ(v) σ(-v) and 4 σ(2v) σ(-2v) that stay accurate in
// the tails (y (1 - y) and 1 - y² cancel there).
const sig = (v: number): number => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v)));

const leaves = (xs: Float32Array[]): Tensor[] => xs.map((x) => tensor(x, { requiresGrad: true }));
const scalars = (ps: number[]): Tensor[] => ps.map((p) => tensor(p, { requiresGrad: true }));

async function pointwise(xs: Float32Array[], f: (...t: Tensor[]) => Tensor): Promise<Float32Array[]> {
  const ts = leaves(xs);
  const y = f(...ts);
  sum(y).backward();
  return Promise.all([y.data(), ...ts.map((t) => t.grad!.data())]);
}

async function withParams(x: Float32Array, ps: number[], f: (x: Tensor, w: Tensor, b: Tensor) => Tensor) {
  const xt = tensor(x);
  const [w, b] = scalars(ps) as [Tensor, Tensor];
  const y = f(xt, w, b);
  sum(y).backward();
  return Promise.all([y.data(), w.grad!.data(), b.grad!.data()]);
}

/** The notebook's exercises as benchmark cases. */
export const notebookCases: NotebookCase[] = [
  {
    name: '(x-2)^2',
    vars: 1,
    params: [],
    webgrad: (xs) => pointwise(xs, (x) => x.sub(2).pow(2)),
    hand: ([x]) => {
      const n = x!.length,
        y = new Float32Array(n),
        g = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const d = x![i]! - 2;
        y[i] = d * d;
        g[i] = 2 * d;
      }
      return [y, g];
    },
  },
  {
    name: 'sigmoid(x)',
    vars: 1,
    params: [],
    webgrad: (xs) => pointwise(xs, (x) => sigmoid(x)),
    hand: ([x]) => {
      const n = x!.length,
        y = new Float32Array(n),
        g = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const s = sig(x![i]!);
        y[i] = s;
        g[i] = s * sig(-x![i]!);
      }
      return [y, g];
    },
  },
  {
    name: 'z=2(2a+3b)+3(5a^2+3b^3)',
    vars: 2,
    params: [],
    webgrad: (xs) =>
      pointwise(xs, (a, b) =>
        a
          .mul(2)
          .add(b.mul(3))
          .mul(2)
          .add(a.mul(a).mul(5).add(b.mul(b).mul(b).mul(3)).mul(3)),
      ),
    hand: ([a, b]) => {
      const n = a!.length,
        z = new Float32Array(n),
        ga = new Float32Array(n),
        gb = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const p = a![i]!,
          q = b![i]!;
        z[i] = 2 * (2 * p + 3 * q) + 3 * (5 * p * p + 3 * q * q * q);
        ga[i] = 4 + 30 * p;
        gb[i] = 6 + 27 * q * q;
      }
      return [z, ga, gb];
    },
  },
  {
    name: 'relu(w*x+b)',
    vars: 1,
    params: [4, 5],
    webgrad: ([x], ps) => withParams(x!, ps, (x, w, b) => relu(w.mul(x).add(b))),
    hand: ([x], [w, b]) => {
      const n = x!.length,
        y = new Float32Array(n);
      let gw = 0,
        gb = 0;
      for (let i = 0; i < n; i++) {
        const v = w! * x![i]! + b!;
        y[i] = v > 0 ? v : 0;
        if (v > 0) {
          gw += x![i]!;
          gb += 1;
        }
      }
      return [y, Float32Array.of(gw), Float32Array.of(gb)];
    },
  },
  {
    name: 'sigmoid(w*x+b)',
    vars: 1,
    params: [1, 1],
    webgrad: ([x], ps) => withParams(x!, ps, (x, w, b) => sigmoid(w.mul(x).add(b))),
    hand: ([x], [w, b]) => {
      const n = x!.length,
        y = new Float32Array(n);
      let gw = 0,
        gb = 0;
      for (let i = 0; i < n; i++) {
        const v = w! * x![i]! + b!;
        const s = sig(v);
        y[i] = s;
        const d = s * sig(-v);
        gw += d * x![i]!;
        gb += d;
      }
      return [y, Float32Array.of(gw), Float32Array.of(gb)];
    },
  },
  {
    name: 'exp(-x^2-2x-sin x)',
    vars: 1,
    params: [],
    webgrad: (xs) => pointwise(xs, (x) => exp(x.pow(2).neg().sub(x.mul(2)).sub(sin(x)))),
    hand: ([x]) => {
      const n = x!.length,
        y = new Float32Array(n),
        g = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const v = x![i]!;
        const f = Math.exp(-v * v - 2 * v - Math.sin(v));
        y[i] = f;
        g[i] = f * (-2 * v - 2 - Math.cos(v));
      }
      return [y, g];
    },
  },
  {
    name: '8x^4+3x^3+7x^2+6x+3',
    vars: 1,
    params: [],
    webgrad: (xs) =>
      pointwise(xs, (x) => x.pow(4).mul(8).add(x.pow(3).mul(3)).add(x.pow(2).mul(7)).add(x.mul(6)).add(3)),
    hand: ([x]) => {
      const n = x!.length,
        y = new Float32Array(n),
        g = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const v = x![i]!,
          v2 = v * v;
        y[i] = 8 * v2 * v2 + 3 * v2 * v + 7 * v2 + 6 * v + 3;
        g[i] = 32 * v2 * v + 9 * v2 + 14 * v + 6;
      }
      return [y, g];
    },
  },
  {
    name: 'tanh(ln(1+2xz/sin y))',
    vars: 3,
    params: [],
    webgrad: (xs) => pointwise(xs, (x, y, z) => tanh(log(x.mul(z).mul(2).div(sin(y)).add(1)))),
    hand: ([x, y, z]) => {
      const n = x!.length,
        f = new Float32Array(n),
        gx = new Float32Array(n),
        gy = new Float32Array(n),
        gz = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const a = x![i]!,
          s = Math.sin(y![i]!),
          c = z![i]!;
        const u = 1 + (2 * a * c) / s;
        const L = Math.log(u);
        const t = Math.tanh(L);
        const k = (4 * sig(2 * L) * sig(-2 * L)) / u;
        f[i] = t;
        gx[i] = (k * 2 * c) / s;
        gz[i] = (k * 2 * a) / s;
        gy[i] = (-k * 2 * a * c * Math.cos(y![i]!)) / (s * s);
      }
      return [f, gx, gy, gz];
    },
  },
];

/** Points for case inputs: x in [lo, hi], deterministic. */
export function points(n: number, lo: number, hi: number, phase = 0): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * ((i * 0.6180339887 + phase) % 1);
  return out;
}
