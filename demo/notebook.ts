/** The autograd notebook's exercises, each computed the notebook's way and checked two independent ways. */
import { derivative, parse } from 'mathjs';
import {
  add,
  div,
  exp,
  log,
  mul,
  neg,
  pow,
  relu,
  sigmoid,
  sin,
  sub,
  tanh,
  tensor,
  type Tensor,
} from '../src/index.js';

/** One derivative asked for by an exercise, at one point. */
export interface Exercise {
  /** The notebook's heading, e.g. `Q1`. */
  title: string;
  /** The function in mathjs syntax, as displayed. */
  fn: string;
  /** The same function with only functions mathjs can differentiate (relu and sigmoid written out). */
  mathjs: string;
  point: Readonly<Record<string, number>>;
  wrt: string;
  /** webgrad, as the notebook does it: tensors with requiresGrad, backward(), then .grad. */
  autograd: () => Promise<number>;
  /** The notebook's analytical formula, as text. */
  formulaText: string;
  /** The notebook's analytical formula, evaluated in float64. */
  analytical: (p: Readonly<Record<string, number>>) => number;
}

/** The result of one exercise on the active backend. */
export interface ExerciseResult {
  autograd: number;
  analytical: number;
  symbolic: number;
  /** mathjs's derivative in TeX. */
  symbolicTex: string;
  ok: boolean;
  /** autograd − analytical. */
  diff: number;
  /** A failure while computing, said in words. */
  error?: string;
}

/** Reads a gradient that must exist. */
async function gradOf(t: Tensor): Promise<number> {
  if (!t.grad) throw new Error('no gradient was accumulated');
  return t.grad.item();
}

const requires = (v: number): Tensor => tensor(v, { requiresGrad: true });

/** The notebook's sigmoid, 1/(1 + exp(-x)). */
const sigmoidNb = (x: Tensor): Tensor => div(1, add(1, exp(neg(x))));

/** The notebook's hand derivation of the sigmoid's gradient (`grad_manual`). */
function sigmoidGradManual(x: number): number {
  const a = -x;
  const b = Math.exp(a);
  const c = 1 + b;
  const dedc = -1.0 / c ** 2;
  const dedb = dedc * 1;
  const deda = dedb * Math.exp(a);
  return deda * -1;
}

/** Q1's z(a, b) written with webgrad ops, returning a and b for their gradients. */
function q1(pa: number, pb: number): { a: Tensor; b: Tensor } {
  const a = requires(pa);
  const b = requires(pb);
  const x = add(mul(2, a), mul(3, b));
  const y = add(mul(mul(5, a), a), mul(mul(mul(3, b), b), b));
  const z = add(mul(2, x), mul(3, y));
  z.backward();
  return { a, b };
}

/** Q2: u = w x, v = u + b, a = relu(v), with the intermediate gradients retained as in the notebook. */
function q2(px: number, pw: number, pb: number): { w: Tensor; b: Tensor } {
  const x = tensor(px);
  const w = requires(pw);
  const b = requires(pb);
  const u = w.mul(x);
  u.retainGrad();
  const v = u.add(b);
  v.retainGrad();
  const a = relu(v);
  a.retainGrad();
  a.backward();
  return { w, b };
}

/** Q3: the same neuron with a sigmoid. */
function q3(px: number, pw: number, pb: number): { w: Tensor; b: Tensor } {
  const x = tensor(px);
  const w = requires(pw);
  const b = requires(pb);
  sigmoid(w.mul(x).add(b)).backward();
  return { w, b };
}

/** Q6's f(x, y, z) = tanh(ln(1 + z·2x / sin y)). */
function q6(px: number, py: number, pz: number): Record<'x' | 'y' | 'z', Tensor> {
  const [x, y, z] = [requires(px), requires(py), requires(pz)];
  tanh(log(add(1, div(mul(z, mul(2, x)), sin(y))))).backward();
  return { x, y, z };
}

/** Q6's gradient by hand: with u = 1 + 2xz/sin y and s = 1 − tanh²(ln u), ∂f/∂x = s/u · 2z/sin y, … */
function q6Grad({ x, y, z }: Readonly<Record<string, number>>): Record<'x' | 'y' | 'z', number> {
  const sy = Math.sin(y!);
  const u = 1 + (2 * x! * z!) / sy;
  const s = 1 - Math.tanh(Math.log(u)) ** 2;
  return {
    x: ((s / u) * 2 * z!) / sy,
    y: (-(s / u) * 2 * x! * z! * Math.cos(y!)) / (sy * sy),
    z: ((s / u) * 2 * x!) / sy,
  };
}

const Q1 = '2 * (2a + 3b) + 3 * (5a a + 3b b b)';
const Q2 = 'relu(w x + b)';
const Q2_MATHJS = '((w x + b) + abs(w x + b)) / 2';
const Q3 = 'sigmoid(w x + b)';
const Q3_MATHJS = '1 / (1 + exp(-(w x + b)))';
const Q4 = 'exp(-x^2 - 2x - sin(x))';
const Q5 = '8x^4 + 3x^3 + 7x^2 + 6x + 3';
const Q6 = 'tanh(log(1 + (z * 2x) / sin(y)))';
const Q6_POINT = { x: 1, y: 1, z: 1 };

/** Every exercise of the notebook, one derivative per row. */
export const EXERCISES: readonly Exercise[] = [
  {
    title: '#1',
    fn: '(x - 2)^2',
    mathjs: '(x - 2)^2',
    point: { x: 1 },
    wrt: 'x',
    autograd: async () => {
      const x = requires(1.0);
      pow(sub(x, 2), 2).backward();
      return gradOf(x);
    },
    formulaText: '2(x − 2)',
    analytical: ({ x }) => 2 * (x! - 2),
  },
  {
    title: 'sigmoid',
    fn: '1 / (1 + exp(-x))',
    mathjs: '1 / (1 + exp(-x))',
    point: { x: 2 },
    wrt: 'x',
    autograd: async () => {
      const x = requires(2.0);
      sigmoidNb(x).backward();
      return gradOf(x);
    },
    formulaText: 'grad_manual: dedc = −1/c², dedb = dedc, deda = dedb·eᵃ, dedx = −deda',
    analytical: ({ x }) => sigmoidGradManual(x!),
  },
  {
    title: 'Q1',
    fn: Q1,
    mathjs: Q1,
    point: { a: 1, b: 2 },
    wrt: 'a',
    autograd: async () => gradOf(q1(1.0, 2.0).a),
    formulaText: '2·2 + 3·5·2·a',
    analytical: ({ a }) => 2 * 2 + 3 * 5 * 2 * a!,
  },
  {
    title: 'Q1',
    fn: Q1,
    mathjs: Q1,
    point: { a: 1, b: 2 },
    wrt: 'b',
    autograd: async () => gradOf(q1(1.0, 2.0).b),
    formulaText: '2·3·1 + 3·3·3·b·b',
    analytical: ({ b }) => 2 * 3 * 1 + 3 * 3 * 3 * b! * b!,
  },
  {
    title: 'Q2 (ReLU)',
    fn: Q2,
    mathjs: Q2_MATHJS,
    point: { x: 3, w: 4, b: 5 },
    wrt: 'w',
    autograd: async () => gradOf(q2(3.0, 4.0, 5.0).w),
    formulaText: 'a = 0 ? 0 : x',
    analytical: ({ x, w, b }) => (Math.max(0, w! * x! + b!) === 0 ? 0 : x!),
  },
  {
    title: 'Q2 (ReLU)',
    fn: Q2,
    mathjs: Q2_MATHJS,
    point: { x: 3, w: 4, b: 5 },
    wrt: 'b',
    autograd: async () => gradOf(q2(3.0, 4.0, 5.0).b),
    formulaText: 'a = 0 ? 0 : 1',
    analytical: ({ x, w, b }) => (Math.max(0, w! * x! + b!) === 0 ? 0 : 1),
  },
  {
    title: 'Q3 (sigmoid)',
    fn: Q3,
    mathjs: Q3_MATHJS,
    point: { x: 5, w: 1, b: 1 },
    wrt: 'w',
    autograd: async () => gradOf(q3(5.0, 1.0, 1.0).w),
    formulaText: 'sigmoid_grad_manual(v)·x, v = w x + b',
    analytical: ({ x, w, b }) => sigmoidGradManual(w! * x! + b!) * x!,
  },
  {
    title: 'Q3 (sigmoid)',
    fn: Q3,
    mathjs: Q3_MATHJS,
    point: { x: 5, w: 1, b: 1 },
    wrt: 'b',
    autograd: async () => gradOf(q3(5.0, 1.0, 1.0).b),
    formulaText: 'sigmoid_grad_manual(v), v = w x + b',
    analytical: ({ x, w, b }) => sigmoidGradManual(w! * x! + b!),
  },
  {
    title: 'Q4',
    fn: Q4,
    mathjs: Q4,
    point: { x: 2 },
    wrt: 'x',
    autograd: async () => {
      const x = requires(2.0);
      exp(sub(sub(neg(pow(x, 2)), mul(2, x)), sin(x))).backward();
      return gradOf(x);
    },
    formulaText: 'f(x)·(−2x − 2 − cos x)',
    analytical: ({ x }) => Math.exp(-(x! ** 2) - 2 * x! - Math.sin(x!)) * (-2 * x! - 2 - Math.cos(x!)),
  },
  {
    title: 'Q5',
    fn: Q5,
    mathjs: Q5,
    point: { x: 2 },
    wrt: 'x',
    autograd: async () => {
      const x = requires(2.0);
      add(add(add(add(mul(8, pow(x, 4)), mul(3, pow(x, 3))), mul(7, pow(x, 2))), mul(6, x)), 3).backward();
      return gradOf(x);
    },
    formulaText: '32x³ + 9x² + 14x + 6',
    analytical: ({ x }) => 32 * x! ** 3 + 9 * x! ** 2 + 14 * x! + 6,
  },
  ...(['x', 'y', 'z'] as const).map((v): Exercise => ({
    title: 'Q6',
    fn: Q6,
    mathjs: Q6,
    point: Q6_POINT,
    wrt: v,
    autograd: async () => gradOf(q6(1.0, 1.0, 1.0)[v]),
    formulaText: {
      x: 's/u · 2z / sin y',
      y: '−s/u · 2xz cos y / sin² y',
      z: 's/u · 2x / sin y',
    }[v],
    analytical: (p) => q6Grad(p)[v],
  })),
];

/**
 * Float32 autograd against float64 formulas: a few roundings along a chain of ops, and the cancellation in
 * sigmoid's y·(1 − y) (as PyTorch computes it), which at v = 6 loses about 9 bits.
 */
const RTOL = 1e-4;
const ATOL = 1e-7;
/** The two float64 references must agree to rounding. */
const RTOL64 = 1e-9;

/** Runs one exercise on the active backend and checks it against both references. */
export async function runExercise(ex: Exercise): Promise<ExerciseResult> {
  const analytical = ex.analytical(ex.point);
  const d = derivative(ex.mathjs, ex.wrt);
  const symbolic = Number(d.evaluate({ ...ex.point }));
  const symbolicTex = d.toTex();
  try {
    const autograd = await ex.autograd();
    const diff = autograd - analytical;
    const ok =
      Math.abs(diff) <= RTOL * Math.abs(analytical) + ATOL &&
      Math.abs(symbolic - analytical) <= RTOL64 * Math.abs(analytical) + 1e-15;
    return { autograd, analytical, symbolic, symbolicTex, ok, diff };
  } catch (e) {
    const error = e instanceof Error ? e.message : String(e);
    return { autograd: NaN, analytical, symbolic, symbolicTex, ok: false, diff: NaN, error };
  }
}

/** The function of an exercise in TeX. */
export function exerciseTex(ex: Exercise): string {
  return parse(ex.fn).toTex({ implicit: 'hide', parenthesis: 'auto' });
}
