// The autograd notebook (shared/seeds/autograd-exercises.txt), written the notebook's way: every
// number it prints, then each exercise batched over many points against its float64 derivative.
import { beforeAll, describe, expect, it } from 'vitest';
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
  sum,
  tanh,
  tensor,
  type Tensor,
} from '../src/index.js';
import { testBackends } from './backends.js';
import { expectClose, rng, uniform } from './numeric.js';

// The exercises chain up to about eight float32 operations and each may round once, so composite
// results are held to CHAIN single-op tolerances, relative to the size of the terms.
const CHAIN = 8;
// Gradients of scalar w, b over many points are sums of 1e5 float32 terms; a GPU sums partials in
// float32 (error up to ~sqrt(n)·ulp of the sum of magnitudes), so sums get 1e-4 of Σ|term|.
const SUM_RTOL = 1e-4;
const N = 100_000;

/** The notebook's functions, built from the ops as the notebook writes them. */
const square2 = (x: Tensor) => pow(sub(x, 2), 2);
const sigmoidNb = (x: Tensor) => div(1, add(1, exp(neg(x))));
const q1 = (a: Tensor, b: Tensor) => {
  const x = add(mul(2, a), mul(3, b));
  const y = add(mul(mul(5, a), a), mul(mul(mul(3, b), b), b));
  return { x, y, z: add(mul(2, x), mul(3, y)) };
};
const q4 = (x: Tensor) => exp(sub(sub(neg(pow(x, 2)), mul(2, x)), sin(x)));
const q5 = (x: Tensor) =>
  add(add(add(add(mul(8, pow(x, 4)), mul(3, pow(x, 3))), mul(7, pow(x, 2))), mul(6, x)), 3);
const q6 = (x: Tensor, y: Tensor, z: Tensor) => tanh(log(add(1, div(mul(z, mul(2, x)), sin(y)))));

/** Float64 logistic function, stable in both tails. */
const sig64 = (v: number) => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v)));

/**
 * Hand-derived gradient of q6: with u = 1 + 2xz/sin y and s = 1 - tanh²(ln u),
 * df/dx = s/u · 2z/sin y, df/dy = -s/u · 2xz cos y/sin² y, df/dz = s/u · 2x/sin y.
 */
function q6Grad(x: number, y: number, z: number): [number, number, number] {
  const u = 1 + (2 * x * z) / Math.sin(y);
  const s = 1 - Math.tanh(Math.log(u)) ** 2;
  const sy = Math.sin(y);
  return [((s / u) * 2 * z) / sy, (-(s / u) * 2 * x * z * Math.cos(y)) / (sy * sy), ((s / u) * 2 * x) / sy];
}

/** A pointwise exercise over many points: its analytic partials and the size of their terms. */
interface Batched {
  name: string;
  domains: [number, number][];
  f: (...xs: Tensor[]) => Tensor;
  /** [partial, sum of |terms| of the partial] for each variable, in float64. */
  df: (...xs: number[]) => [number, number][];
}

const BATCHED: Batched[] = [
  {
    name: '(x-2)^2',
    domains: [[-5, 5]],
    f: square2,
    df: (x) => [[2 * (x - 2), 2 * (Math.abs(x) + 2)]],
  },
  {
    name: 'sigmoid as 1/(1+exp(-x))',
    domains: [[-15, 15]],
    f: sigmoidNb,
    df: (x) => [[sig64(x) * (1 - sig64(x)), sig64(x) * (1 - sig64(x))]],
  },
  {
    name: 'sigmoid op',
    domains: [[-15, 15]],
    f: sigmoid,
    df: (x) => [[sig64(x) * (1 - sig64(x)), sig64(x) * (1 - sig64(x))]],
  },
  {
    name: 'Q1 z(a, b)',
    domains: [
      [-3, 3],
      [-3, 3],
    ],
    f: (a, b) => q1(a, b).z,
    df: (a, b) => [
      [4 + 30 * a, 4 + 30 * Math.abs(a)],
      [6 + 27 * b * b, 6 + 27 * b * b],
    ],
  },
  {
    name: 'Q4 exp(-x^2-2x-sin x)',
    domains: [[-4, 3]],
    f: q4,
    df: (x) => {
      const f = Math.exp(-x * x - 2 * x - Math.sin(x));
      return [[f * (-2 * x - 2 - Math.cos(x)), f * (2 * Math.abs(x) + 2 + Math.abs(Math.cos(x)))]];
    },
  },
  {
    name: 'Q5 polynomial',
    domains: [[-3, 3]],
    f: q5,
    df: (x) => {
      const a = Math.abs(x);
      return [[32 * x ** 3 + 9 * x ** 2 + 14 * x + 6, 32 * a ** 3 + 9 * a ** 2 + 14 * a + 6]];
    },
  },
  {
    name: 'Q6 tanh(ln(1 + 2xz/sin y))',
    domains: [
      [0.1, 2],
      [0.3, 2.8],
      [0.1, 2],
    ],
    f: q6,
    df: (x, y, z) => q6Grad(x, y, z).map((g) => [g, Math.abs(g)]),
  },
];

describe.each(testBackends())('notebook exercises on $name', (b) => {
  beforeAll(() => b.setup());

  /** Checks a scalar against the notebook's number. */
  const expectNear = async (t: Tensor | null, want: number, atol = b.atol): Promise<void> => {
    expect(t, 'a gradient was expected').not.toBeNull();
    const got = await t!.item();
    expect(Math.abs(got - want), `got ${got}, want ${want}`).toBeLessThanOrEqual(
      CHAIN * b.rtol * Math.abs(want) + atol,
    );
  };

  it("f(x) = (x-2)^2: f'(1) = -2", async () => {
    const x = tensor(1.0, { requiresGrad: true });
    square2(x).backward();
    await expectNear(x.grad, -2);
  });

  it("sigmoid'(2) = 0.1049935854…, written as 1/(1+exp(-x))", async () => {
    const x = tensor(2.0, { requiresGrad: true });
    sigmoidNb(x).backward();
    await expectNear(x.grad, 0.1049935854035065);
  });

  it("sigmoid'(2) = 0.1049935854…, with the sigmoid op", async () => {
    const x = tensor(2.0, { requiresGrad: true });
    sigmoid(x).backward();
    await expectNear(x.grad, 0.1049935854035065);
  });

  it('Q1: x, y, z = 8, 29, 103; dz/da = 34, dz/db = 114', async () => {
    const a = tensor(1.0, { requiresGrad: true });
    const bb = tensor(2.0, { requiresGrad: true });
    const { x, y, z } = q1(a, bb);
    z.backward();
    await expectNear(x, 8);
    await expectNear(y, 29);
    await expectNear(z, 103);
    await expectNear(a.grad, 34);
    await expectNear(bb.grad, 114);
  });

  it('Q2 ReLU: dw = 3, db = 1, and the retained grads of u, v, a are 1', async () => {
    const x = tensor(3.0);
    const w = tensor(4.0, { requiresGrad: true });
    const bias = tensor(5.0, { requiresGrad: true });
    const u = w.mul(x);
    u.retainGrad();
    const v = u.add(bias);
    v.retainGrad();
    const a = relu(v);
    a.retainGrad();
    a.backward();
    await expectNear(w.grad, 3);
    await expectNear(bias.grad, 1);
    await expectNear(u.grad, 1);
    await expectNear(v.grad, 1);
    await expectNear(a.grad, 1);
    expect(x.grad).toBeNull();
  });

  it('Q3 sigmoid (x=5, w=1, b=1): dw = 0.0123325…, db = 0.0024665…', async () => {
    for (const act of [sigmoid, sigmoidNb]) {
      const x = tensor(5.0);
      const w = tensor(1.0, { requiresGrad: true });
      const bias = tensor(1.0, { requiresGrad: true });
      act(w.mul(x).add(bias)).backward();
      await expectNear(w.grad, 0.012332546456800243);
      await expectNear(bias.grad, 0.0024665092913600485);
    }
  });

  it("Q4: exp(-x^2-2x-sin x)' at 2 = -0.000754527…", async () => {
    const x = tensor(2.0, { requiresGrad: true });
    q4(x).backward();
    // The value is ~7.5e-4, so the absolute floor is scaled down with it to keep the check relative.
    await expectNear(x.grad, -0.0007545278582400674, b.atol * 1e-3);
  });

  it("Q5: (8x^4+3x^3+7x^2+6x+3)' at 2 = 326", async () => {
    const x = tensor(2.0, { requiresGrad: true });
    q5(x).backward();
    await expectNear(x.grad, 326);
  });

  it('Q6: tanh(ln(1 + 2xz/sin y)) matches its hand-derived gradient at several points', async () => {
    const points: [number, number, number][] = [
      [1, 1, 1],
      [0.5, 2, 1.5],
      [2, 0.7, 0.3],
      [-0.2, 1.2, 0.8],
      [1.5, -1, -0.5],
    ];
    for (const p of points) {
      const [x, y, z] = p.map((v) => tensor(v, { requiresGrad: true })) as [Tensor, Tensor, Tensor];
      q6(x, y, z).backward();
      const want = q6Grad(...(p.map(Math.fround) as [number, number, number]));
      await expectNear(x.grad, want[0]);
      await expectNear(y.grad, want[1]);
      await expectNear(z.grad, want[2]);
    }
  });

  describe(`batched over ${N} points`, () => {
    it.each(BATCHED)('$name: the gradient at every point', async ({ domains, f, df }) => {
      const rand = rng(7);
      const xs = domains.map(([lo, hi]) => uniform(N, lo, hi, rand));
      const ts = xs.map((x) => tensor(x, { requiresGrad: true }));
      sum(f(...ts)).backward();
      const want = domains.map(() => new Float64Array(N));
      const scale = domains.map(() => new Float64Array(N));
      for (let i = 0; i < N; i++) {
        df(...xs.map((x) => x[i]!)).forEach(([g, s], k) => {
          want[k]![i] = g;
          scale[k]![i] = s;
        });
      }
      for (const [k, t] of ts.entries()) {
        const got = await t.grad!.data();
        const at = (i: number) => `(${xs.map((v) => v[i]).join(', ')})`;
        const tol = (i: number) => CHAIN * b.rtol * scale[k]![i]! + b.atol;
        expectClose(got, want[k]!, tol, `d/dx${k}`, at);
      }
    });

    /** A vector of x with |w x + b| away from 0, so the ReLU kink is never sampled. */
    const pointsAwayFromKink = (w: number, bias: number) =>
      uniform(N, -4, 4, rng(11), (x) => Math.abs(w * x + bias) < 1e-3);

    it('ReLU exercise with scalar w, b against a vector of x', async () => {
      const [w0, b0] = [Math.fround(1.5), Math.fround(-2)];
      const xs = pointsAwayFromKink(w0, b0);
      const w = tensor(w0, { requiresGrad: true });
      const bias = tensor(b0, { requiresGrad: true });
      const u = w.mul(tensor(xs));
      u.retainGrad();
      const v = u.add(bias);
      v.retainGrad();
      const a = relu(v);
      a.retainGrad();
      sum(a).backward();
      const on = Float64Array.from(xs, (x) => (w0 * x + b0 > 0 ? 1 : 0));
      // ReLU's derivative is 0 or 1: exact in any arithmetic.
      const exact = () => 0;
      expectClose(await a.grad!.data(), new Float64Array(N).fill(1), exact, 'da');
      expectClose(await v.grad!.data(), on, exact, 'dv');
      expectClose(await u.grad!.data(), on, exact, 'du');
      const dw = xs.reduce((s, x, i) => s + on[i]! * x, 0);
      const absDw = xs.reduce((s, x, i) => s + on[i]! * Math.abs(x), 0);
      const db = on.reduce((s, o) => s + o, 0);
      expect(Math.abs((await w.grad!.item()) - dw)).toBeLessThanOrEqual(SUM_RTOL * absDw);
      expect(Math.abs((await bias.grad!.item()) - db)).toBeLessThanOrEqual(SUM_RTOL * db);
    });

    it('sigmoid exercise with scalar w, b against a vector of x', async () => {
      const [w0, b0] = [Math.fround(0.7), Math.fround(0.3)];
      const xs = uniform(N, -8, 8, rng(13));
      const w = tensor(w0, { requiresGrad: true });
      const bias = tensor(b0, { requiresGrad: true });
      const u = w.mul(tensor(xs));
      u.retainGrad();
      const v = u.add(bias);
      v.retainGrad();
      sum(sigmoid(v)).backward();
      const ds = Float64Array.from(xs, (x) => sig64(w0 * x + b0) * (1 - sig64(w0 * x + b0)));
      const tol = (i: number) => CHAIN * b.rtol * ds[i]! + b.atol;
      expectClose(await v.grad!.data(), ds, tol, 'dv');
      expectClose(await u.grad!.data(), ds, tol, 'du');
      const dw = xs.reduce((s, x, i) => s + ds[i]! * x, 0);
      const absDw = xs.reduce((s, x, i) => s + ds[i]! * Math.abs(x), 0);
      const db = ds.reduce((s, d) => s + d, 0);
      expect(Math.abs((await w.grad!.item()) - dw)).toBeLessThanOrEqual(SUM_RTOL * absDw);
      expect(Math.abs((await bias.grad!.item()) - db)).toBeLessThanOrEqual(SUM_RTOL * db);
    });
  });
});
