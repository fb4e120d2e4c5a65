// Every op of the table against a float64 reference (values and derivatives), the §5 numerics
// conventions, broadcasting, reductions and the gradient machinery (higher order, accumulation, reuse).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { erf as mathErf } from 'mathjs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as wg from '../src/index.js';
import {
  checkGrads,
  exp,
  grad,
  log,
  maximum,
  mean,
  minimum,
  mul,
  opNames,
  pow,
  relu,
  sigmoid,
  sin,
  sqrt,
  sum,
  tanh,
  tensor,
  Tensor,
  valueAndGrad,
} from '../src/index.js';
import { topoSort } from '../src/graph/node.js';
import { apply } from '../src/ops/build.js';
import { OPS, type OpName } from '../src/ops/table.js';
import { testBackends } from './backends.js';
import { expectClose, rng } from './numeric.js';

/** How an op is tested: where to sample it, and a float64 formula written independently of the table. */
interface Row {
  /** Sampling interval of each operand. */
  domain: [number, number][];
  /** The value in float64 (a third operand after the parameter, as in the table). */
  f: (a: number, b: number, p: number, c: number) => number;
  /** Operands drawn from a list of values rather than an interval (where's condition). */
  values?: (readonly number[] | undefined)[];
  /** NaN in an operand gives what `f` gives, not necessarily NaN (a comparison's 0 or 1, where's other branch). */
  nanChooses?: true;
  /** Points not to sample: kinks, ties and poles, where a central difference means nothing. */
  avoid?: (a: number, b: number) => boolean;
  /** Values of the integer parameter to test (powi's exponent). */
  params?: number[];
  /** The op defines no gradient at all (detach), whatever its formula's derivative. */
  zeroGrad?: true;
  /** Operands whose own partial does not depend on their value, so a NaN there leaves their gradient finite. */
  gradIgnores?: number[];
}

const wide: [number, number] = [-5, 5];
const nearZero = (a: number) => Math.abs(a) < 1e-3;
const tie = (a: number, b: number) => Math.abs(a - b) < 1e-3;
const nearInteger = (a: number) => Math.abs(a - Math.round(a)) < 1e-3;

const ROWS: Record<string, Row> = {
  add: { domain: [wide, wide], f: (a, b) => a + b, gradIgnores: [0, 1] },
  sub: { domain: [wide, wide], f: (a, b) => a - b, gradIgnores: [0, 1] },
  mul: { domain: [wide, wide], f: (a, b) => a * b, gradIgnores: [0, 1] },
  div: { domain: [wide, wide], f: (a, b) => a / b, avoid: (_, b) => Math.abs(b) < 0.25, gradIgnores: [0] },
  pow: {
    domain: [
      [0.1, 4],
      [-3, 3],
    ],
    f: (a, b) => a ** b,
  },
  powi: {
    domain: [[-3, 3]],
    f: (a, _, p) => a ** p,
    avoid: (a) => Math.abs(a) < 0.25,
    params: [-3, -2, -1, 0, 1, 2, 3, 5, 9, 12],
  },
  neg: { domain: [wide], f: (a) => -a, gradIgnores: [0] },
  exp: { domain: [[-10, 10]], f: Math.exp },
  exp2: { domain: [[-20, 20]], f: (a) => 2 ** a },
  log1p: { domain: [[-0.9, 5]], f: Math.log1p },
  expm1: { domain: [[-10, 10]], f: Math.expm1 },
  // mathjs's erf (W. J. Cody's rational approximations), independent of the table's series.
  erf: { domain: [[-5, 5]], f: (a) => mathErf(a) },
  log: { domain: [[1e-3, 100]], f: Math.log },
  log2: { domain: [[1e-3, 100]], f: (a) => Math.log(a) / Math.LN2 },
  log10: { domain: [[1e-3, 100]], f: (a) => Math.log(a) / Math.LN10 },
  sin: { domain: [[-10, 10]], f: Math.sin },
  cos: { domain: [[-10, 10]], f: Math.cos },
  tan: { domain: [[-4, 4]], f: Math.tan, avoid: (a) => Math.abs(Math.cos(a)) < 0.2 },
  atan: { domain: [[-10, 10]], f: Math.atan },
  asin: { domain: [[-0.95, 0.95]], f: Math.asin },
  acos: { domain: [[-0.95, 0.95]], f: Math.acos },
  // Away from the origin and from the jump along the negative x axis.
  atan2: {
    domain: [wide, wide],
    f: Math.atan2,
    avoid: (a, b) => Math.hypot(a, b) < 0.25 || (b < 0 && Math.abs(a) < 1e-3),
  },
  tanh: { domain: [[-6, 6]], f: (a) => (Math.exp(2 * a) - 1) / (Math.exp(2 * a) + 1) },
  sinh: { domain: [[-10, 10]], f: (a) => (Math.exp(a) - Math.exp(-a)) / 2 },
  cosh: { domain: [[-10, 10]], f: (a) => (Math.exp(a) + Math.exp(-a)) / 2 },
  asinh: { domain: [[-10, 10]], f: (a) => Math.sign(a) * Math.log(Math.abs(a) + Math.sqrt(a * a + 1)) },
  acosh: { domain: [[1.05, 10]], f: (a) => Math.log(a + Math.sqrt(a * a - 1)) },
  atanh: { domain: [[-0.95, 0.95]], f: (a) => 0.5 * Math.log((1 + a) / (1 - a)) },
  sigmoid: { domain: [[-15, 15]], f: (a) => 1 / (1 + Math.exp(-a)) },
  softplus: {
    domain: [[-15, 15]],
    f: (a, _, p) => Math.log(1 + Math.exp(p * a)) / p,
    params: [1, 2, -0.5],
  },
  dtanh: { domain: [[-8, 8]], f: (a) => 4 / (Math.exp(a) + Math.exp(-a)) ** 2 },
  dsigmoid: { domain: [[-15, 15]], f: (a) => 1 / (1 + Math.exp(-a)) / (1 + Math.exp(a)) },
  relu: { domain: [wide], f: (a) => (a > 0 ? a : 0), avoid: nearZero },
  abs: { domain: [wide], f: Math.abs, avoid: nearZero },
  sqrt: { domain: [[1e-3, 100]], f: Math.sqrt },
  maximum: { domain: [wide, wide], f: (a, b) => (a > b ? a : b), avoid: tie },
  minimum: { domain: [wide, wide], f: (a, b) => (a < b ? a : b), avoid: tie },
  floor: { domain: [wide], f: Math.floor, avoid: nearInteger, gradIgnores: [0] },
  ceil: { domain: [wide], f: Math.ceil, avoid: nearInteger, gradIgnores: [0] },
  round: {
    domain: [wide],
    f: (a) => Math.floor(a + 0.5),
    avoid: (a) => nearInteger(a + 0.5),
    gradIgnores: [0],
  },
  trunc: {
    domain: [wide],
    f: (a) => (a < 0 ? -Math.floor(-a) : Math.floor(a)),
    avoid: nearInteger,
    gradIgnores: [0],
  },
  step: { domain: [wide], f: (a) => (a > 0 ? 1 : 0), avoid: nearZero, gradIgnores: [0] },
  sign: { domain: [wide], f: (a) => (a > 0 ? 1 : -1), avoid: nearZero, gradIgnores: [0] },
  tiehalf: { domain: [wide, wide], f: (a, b) => (a > b ? 1 : 0), avoid: tie, gradIgnores: [0, 1] },
  clampmin: { domain: [wide, wide], f: (a, b) => (a < b ? b : a), avoid: tie },
  clampmax: { domain: [wide, wide], f: (a, b) => (a > b ? b : a), avoid: tie },
  atleast: { domain: [wide, wide], f: (a, b) => (a >= b ? 1 : 0), avoid: tie, gradIgnores: [0, 1] },
  lt: {
    domain: [wide, wide],
    f: (a, b) => (a < b ? 1 : 0),
    avoid: tie,
    gradIgnores: [0, 1],
    nanChooses: true,
  },
  le: {
    domain: [wide, wide],
    f: (a, b) => (a <= b ? 1 : 0),
    avoid: tie,
    gradIgnores: [0, 1],
    nanChooses: true,
  },
  gt: {
    domain: [wide, wide],
    f: (a, b) => (a > b ? 1 : 0),
    avoid: tie,
    gradIgnores: [0, 1],
    nanChooses: true,
  },
  ge: {
    domain: [wide, wide],
    f: (a, b) => (a >= b ? 1 : 0),
    avoid: tie,
    gradIgnores: [0, 1],
    nanChooses: true,
  },
  // Integers, so that ties are sampled (their derivative is 0 as everywhere).
  eq: {
    domain: [wide, wide],
    values: [
      [-1, 0, 1, 2],
      [-1, 0, 1, 2],
    ],
    f: (a, b) => (a === b ? 1 : 0),
    gradIgnores: [0, 1],
    nanChooses: true,
  },
  ne: {
    domain: [wide, wide],
    values: [
      [-1, 0, 1, 2],
      [-1, 0, 1, 2],
    ],
    f: (a, b) => (a !== b ? 1 : 0),
    gradIgnores: [0, 1],
    nanChooses: true,
  },
  where: {
    domain: [[0, 1], wide, wide],
    values: [[0, -0, 1, -2.5]],
    f: (m, a, _, b) => (m !== 0 ? a : b),
    gradIgnores: [0, 1, 2],
    nanChooses: true,
  },
  xlogy: { domain: [wide, [0.01, 10]], f: (a, b) => a * Math.log(b), gradIgnores: [0] },
  omsq: { domain: [[-3, 3]], f: (a) => 1 - a * a },
  // 0 where a is 0, whatever b is (NaN too); NaN in a is not 0, and makes the product NaN.
  mulz: { domain: [wide, wide], f: (a, b) => (a === 0 ? 0 : a * b), gradIgnores: [0, 1] },
  detach: { domain: [wide], f: (a) => a, zeroGrad: true, gradIgnores: [0] },
  leafcopy: { domain: [wide], f: (a) => a, zeroGrad: true, gradIgnores: [0] },
  id: { domain: [wide], f: (a) => a, gradIgnores: [0] },
};

// A derivative rule chains up to three float32 operations (tan' = 1 + y·y, pow' = b·a^(b-1)), each
// rounding once on a float32 backend, so derivatives get this many single-op tolerances.
const GRAD = 4;
// Composites (polynomials, third derivatives) chain more operations.
const CHAIN = 8;
const POINTS = 2000;

const api = wg as unknown as Record<string, (...args: Tensor[]) => Tensor>;

/** Applies a table op: public ops through the public API, internal ones through the graph builder. */
function applyOp(name: string, args: Tensor[], p: number): Tensor {
  // A public op with a parameter (softplus's beta) is its row, whatever the public function adds around it.
  if ((opNames as readonly string[]).includes(name) && !ROWS[name]?.params) return api[name]!(...args);
  return new Tensor(
    apply(
      name as OpName,
      args.map((t) => t.node),
      p,
    ),
  );
}

/** Samples a row's operands: float32 points inside its domain, away from what it avoids. */
function sample(row: Row, n: number, seed: number): Float32Array[] {
  const rand = rng(seed);
  const cols = row.domain.map(() => new Float32Array(n));
  for (let i = 0; i < n;) {
    const pt = row.domain.map(([lo, hi], k) => {
      const list = row.values?.[k];
      return list ? list[Math.floor(rand() * list.length)]! : Math.fround(lo + (hi - lo) * rand());
    });
    if (row.avoid?.(pt[0]!, pt[1] ?? 0)) continue;
    pt.forEach((v, k) => (cols[k]![i] = v));
    i++;
  }
  return cols;
}

/** Float64 central difference of a row's formula in operand `k` at point `pt`. */
function centralDiff(row: Row, pt: number[], k: number, p: number): number {
  const h = 1e-6 * Math.max(1, Math.abs(pt[k]!));
  const at = (d: number) => {
    const q = [...pt];
    q[k]! += d;
    return row.f(q[0]!, q[1] ?? 0, p, q[2] ?? 0);
  };
  return (at(h) - at(-h)) / (2 * h);
}

describe('the op table and its tests', () => {
  it('every op of the table has a test row', () => {
    expect(Object.keys(OPS).filter((name) => !(name in ROWS))).toEqual([]);
  });

  it('every test row is an op of the table, with one domain per operand', () => {
    for (const [name, row] of Object.entries(ROWS)) {
      expect(name in OPS, name).toBe(true);
      expect(row.domain.length, name).toBe(OPS[name as OpName].arity);
    }
  });

  it('every public op is exported as a function and a Tensor method', () => {
    const x = tensor(1);
    for (const name of opNames) {
      expect(typeof api[name], name).toBe('function');
      expect(typeof (x as unknown as Record<string, unknown>)[name], name).toBe('function');
    }
  });

  it("the README's list of functions names every public op and every function it lists exists", () => {
    const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');
    const section = readme.slice(readme.indexOf('## Functions'), readme.indexOf('## Coming from PyTorch'));
    // The list's items, each with the indented lines that continue it.
    const items = section.split(/\n(?! {2})/).filter((l) => l.startsWith('- '));
    const listed = new Set(items.flatMap((l) => [...l.matchAll(/`(\w+)`/g)].map((m) => m[1]!)));
    // Every op and every function that is a Tensor method too (square, clamp, where, sum, ...).
    const proto = Tensor.prototype as unknown as Record<string, unknown>;
    const methods = Object.getOwnPropertyNames(proto).filter(
      (n) =>
        typeof Object.getOwnPropertyDescriptor(proto, n)!.value === 'function' &&
        typeof api[n] === 'function',
    );
    expect(methods.length).toBeGreaterThan(opNames.length);
    expect([...opNames, ...methods].filter((name) => !listed.has(name))).toEqual([]);
    expect([...listed].filter((name) => typeof api[name] !== 'function')).toEqual([]);
  });
});

describe.each(testBackends())('ops on $name', (b) => {
  beforeAll(() => b.setup());

  describe.each(Object.keys(OPS))('%s', (name) => {
    const row = ROWS[name];
    const params = row?.params ?? [0];

    it.each(params)('values across the domain match float64 (parameter %d)', async (p) => {
      expect(row, `no test row for op '${name}'`).toBeDefined();
      const cols = sample(row!, POINTS, 1);
      const got = await applyOp(
        name,
        cols.map((c) => tensor(c)),
        p,
      ).data();
      const want = Float64Array.from(cols[0]!, (a, i) => row!.f(a, cols[1]?.[i] ?? 0, p, cols[2]?.[i] ?? 0));
      const at = (i: number) => `(${cols.map((c) => c[i]).join(', ')})`;
      const tol = (i: number) => b.rtol * Math.abs(want[i]!) + b.atol;
      expectClose(got, want, tol, name, at);
    });

    it.each(params)('derivatives match float64 central differences (parameter %d)', async (p) => {
      expect(row, `no test row for op '${name}'`).toBeDefined();
      const cols = sample(row!, POINTS, 2);
      const idx = cols.map((_, k) => k);
      const f = (...xs: Tensor[]) => sum(applyOp(name, xs, p));
      const gs = grad(f, idx)(...cols.map((c) => tensor(c)));
      for (const k of idx) {
        const got = await gs[k]!.data();
        const want = Float64Array.from(cols[0]!, (_, i) =>
          row!.zeroGrad ? 0 : centralDiff(row!, [...cols.map((c) => c[i]!)], k, p),
        );
        const at = (i: number) => `(${cols.map((c) => c[i]).join(', ')})`;
        const tol = (i: number) => GRAD * b.rtol * Math.abs(want[i]!) + b.atol;
        expectClose(got, want, tol, `d${name}/dx${k}`, at);
      }
    });

    it('NaN in any operand gives NaN, and a NaN gradient where the partial depends on it', async () => {
      expect(row, `no test row for op '${name}'`).toBeDefined();
      const pt = sample(row!, 1, 3).map((c) => c[0]!);
      // NaN^0 = 1 (IEEE pow) and (a^1)' = 1 hold for every a, NaN or not: powi's exponents 0 and 1 are left out.
      for (const p of params.filter((q) => name !== 'powi' || (q !== 0 && q !== 1))) {
        for (let k = 0; k < pt.length; k++) {
          const args = pt.map((v, j) => tensor(j === k ? NaN : v));
          const idx = args.map((_, j) => j);
          const { value, grad: gs } = valueAndGrad((...xs: Tensor[]) => applyOp(name, xs, p), idx)(...args);
          const v = await value.item();
          if (row!.nanChooses) {
            const at = args.map((_, j) => (j === k ? NaN : pt[j]!));
            expect(v, `${name} with NaN operand ${k}`).toBe(
              Math.fround(row!.f(at[0]!, at[1] ?? 0, p, at[2] ?? 0)),
            );
          } else expect(v, `${name} with NaN operand ${k}`).toBeNaN();
          const gk = await gs[k]!.item();
          if (row!.gradIgnores?.includes(k)) expect(Number.isNaN(gk), `d${name}/dx${k}`).toBe(false);
          else expect(gk, `d${name}/dx${k} at NaN`).toBeNaN();
        }
      }
    });
  });

  /** The derivative of pointwise `f` at `x`. */
  const d = async (f: (x: Tensor) => Tensor, x: number): Promise<number> =>
    grad((t: Tensor) => sum(f(t)))(x).item();
  const value = async (t: Tensor): Promise<number> => t.item();
  const close = (got: number, want: number, k = 1) =>
    expect(Math.abs(got - want), `got ${got}, want ${want}`).toBeLessThanOrEqual(
      k * b.rtol * Math.abs(want) + b.atol,
    );

  describe('numerics conventions (§5)', () => {
    // The README's account of integer powers: correctly rounded on the CPU (products in float64); on WebGPU a
    // float32 product up to |n| = 8 (|n| - 1 roundings), a double-float one beyond, and for negative n a
    // division on top, which WGSL allows 2.5 ulp.
    it('integer powers: correctly rounded on the CPU, within the stated ulp on WebGPU', async () => {
      const r = rng(20261128);
      const xs = Float32Array.from({ length: 20000 }, () => (r() < 0.5 ? -1 : 1) * (0.5 + 2.5 * r()));
      const cpu = b.name.startsWith('cpu');
      for (const n of [2, 3, 4, 5, 8, 9, 12, 30, -1, -2, -3, -8, -9, -12]) {
        const got = await tensor(xs).pow(n).data();
        const m = Math.abs(n);
        // Each rounding is within 2^-24 relative, which is at most one ulp of the exact power.
        const bound = (m <= 8 ? Math.max(0.5, m - 1) : 0.75) + (n < 0 ? 2.5 : 0);
        let worst = 0;
        let wrong: string | null = null;
        xs.forEach((x, i) => {
          const exact = Math.pow(x, n);
          if (cpu && got[i] !== Math.fround(exact))
            wrong ??= `${x}^${n} = ${got[i]}, not ${Math.fround(exact)}`;
          worst = Math.max(
            worst,
            Math.abs(got[i]! - exact) / 2 ** (Math.floor(Math.log2(Math.abs(exact))) - 23),
          );
        });
        expect(wrong).toBeNull();
        expect(worst, `x^${n}: worst ${worst.toFixed(2)} ulp`).toBeLessThanOrEqual(cpu ? 0.5 : bound);
      }
    });
    // Found wrong on WebGPU once: the pair ln x was not renormalised (pow(1.42, 252) = Inf), a squaring pair
    // grew without bound (x^262145 130 ulp off), products below the normal range were flushed before their
    // reciprocal was taken, and log2's derivative divided by x ln 2, subnormal for x just above 1.18e-38.
    it('values and derivatives that are floats stay floats where an intermediate is tiny or the result huge', async () => {
      const exact = (v: number, want: number, ulps: number): void =>
        void expect(
          Math.abs(v - want) / 2 ** (Math.floor(Math.log2(want)) - 23),
          `${v} against ${want}`,
        ).toBeLessThanOrEqual(ulps);
      exact(await value(pow(tensor(1.42), tensor(252))), 2.38045226e38, 2);
      exact(await value(pow(tensor(1.42), 252.5)), 2.8366361e38, 2);
      exact(await value(pow(tensor(0.70581168), tensor(-251.23228))), 1.033352e38, 2);
      exact(await value(pow(tensor(1.0001), 262145)), 2.43294613e11, 2);
      exact(await value(pow(tensor(1.6e-5), -8)), 2.3283064e38, 2);
      exact(await value(pow(tensor(7e-20), -2)), 2.0408165e38, 4);
      exact(await d(wg.log2, 1.2e-38), 1.2022459e38, 2);
      exact(await d(wg.log2, 1.5e-38), 9.6179663e37, 2);
    });
    it("softplus's beta is a float32, as every constant, on every backend", async () => {
      // 0.1 as a double and as a float32 give softplus values an ulp apart at these points.
      const xs = [0.37, 3.3, -7.1, 12.5];
      const k = Math.fround(0.1);
      const want = xs.map((x) => {
        const kx = k * Math.fround(x);
        return Math.fround((Math.max(kx, 0) + Math.log1p(Math.exp(-Math.abs(kx)))) / k);
      });
      const got = Array.from(await wg.softplus(tensor(xs), 0.1).data());
      got.forEach((g, i) =>
        expect(Math.abs(g - want[i]!), `softplus(${xs[i]}, 0.1)`).toBeLessThanOrEqual(
          b.name.startsWith('cpu') ? 0 : 3 * 2 ** -23 * want[i]!,
        ),
      );
    });
    it('log(0) = -Inf', async () => {
      expect(await value(log(tensor(0)))).toBe(-Infinity);
    });
    it("log'(0) = Inf", async () => {
      expect(await d(log, 0)).toBe(Infinity);
    });
    it('1/0 = Inf and -1/0 = -Inf', async () => {
      expect(await value(wg.div(1, tensor(0)))).toBe(Infinity);
      expect(await value(wg.div(-1, tensor(0)))).toBe(-Infinity);
    });
    // A GPU's compiler may fold x / x to 1 and x - x to 0, and divide by way of 1 / b, which is 0 beyond
    // |b| = 2^126 (an NVIDIA driver did both): IEEE's answers on every backend.
    it('x / x and x - x at 0, ±Inf, NaN and the largest floats, and quotients by divisors beyond 2^126', async () => {
      const x = tensor([0, -0, Infinity, -Infinity, NaN, 3e38, -2.5e38, 2]);
      // NaN exactly; the finite quotients within WGSL's 2.5 ulp (a GPU divides approximately).
      const xx = Array.from(await wg.div(x, x).data());
      expect(xx.slice(0, 5)).toEqual([NaN, NaN, NaN, NaN, NaN]);
      // 3 ulp: 2^-23 above 1, 2^-24 below.
      for (const v of xx.slice(5))
        expect(Math.abs(v - 1)).toBeLessThanOrEqual(3 * (v >= 1 ? 2 ** -23 : 2 ** -24));
      expect(Array.from(await wg.sub(x, x).data())).toEqual([0, 0, NaN, NaN, NaN, 0, 0, 0]);
      const q = await wg.div(tensor([88.72, -3e38, 1e30]), tensor([3e38, 3.3e38, -2e38])).data();
      const want = [88.72 / 3e38, -3e38 / 3.3e38, 1e30 / -2e38];
      want.forEach((w, i) => expect(Math.abs(q[i]! - w)).toBeLessThan(1e-6 * Math.abs(w)));
      expect(Math.abs((await value(wg.atan2(tensor(3.4e38), tensor(3.4e38)))) - Math.PI / 4)).toBeLessThan(
        1e-6,
      );
      // Finite over infinite: zeros signed as IEEE's; infinite over infinite: NaN.
      const inf = await wg
        .div(
          tensor([1, -1, 0, -3e38, Infinity]),
          tensor([Infinity, Infinity, -Infinity, -Infinity, Infinity]),
        )
        .data();
      expect(Array.from(inf)).toEqual([0, -0, -0, 0, NaN]);
      // softplus divides by its beta too (below PyTorch's threshold of beta x = 20).
      const xs = [5e-38, 2e-38, 6e-38];
      const sp = await wg.softplus(tensor(xs), 3e38).data();
      const b = Math.fround(3e38);
      xs.forEach((v, i) => {
        const w = Math.log1p(Math.exp(b * Math.fround(v))) / b;
        expect(Math.abs(sp[i]! - w)).toBeLessThan(1e-6 * w);
      });
    });
    it('exp2 is exact at integers, and its special values are IEEE', async () => {
      const ks = Array.from({ length: 254 }, (_, i) => i - 126);
      expect(Array.from(await wg.exp2(tensor(ks)).data())).toEqual(ks.map((k) => 2 ** k));
      const sp = await wg.exp2(tensor([128, -Infinity, Infinity, NaN, -0, -200])).data();
      expect(Array.from(sp)).toEqual([Infinity, 0, Infinity, NaN, 1, 0]);
    });
    it("relu'(0) = 0, and relu(-0) = +0 (toEqual tells the zeros apart)", async () => {
      expect(await d(relu, 0)).toBe(0);
      expect(Array.from(await relu(tensor([-0, 0, -1, 2, NaN])).data())).toEqual([0, 0, 0, 2, NaN]);
      expect(Object.is((await relu(tensor([-0])).data())[0], 0)).toBe(true);
    });
    it("abs'(0) = 0", async () => {
      expect(await d(wg.abs, 0)).toBe(0);
    });
    it('maximum and minimum of subnormals give one of the operands, flushed or not', async () => {
      // A device may take subnormals for 0 in comparisons (SwiftShader does): 1e-40 == 2e-40 there, and either
      // is a right answer, but not a mix of their bits (which gave 6.9e-40 for min(3e-40, 5e-40)).
      const a = [1e-40, 1e-40, -1e-40, 3e-40, 5e-40, -0, 0];
      const b = [2e-40, -0, -2e-40, 5e-40, -0, 0, -0];
      const bits = (v: number): number => new Uint32Array(Float32Array.of(v).buffer)[0]!;
      for (const [op, zero] of [
        [maximum, 0],
        [minimum, -0],
      ] as const) {
        const got = await op(tensor(a), tensor(b)).data();
        got.forEach((v, i) => {
          if (a[i] === 0 && b[i] === 0) expect(Object.is(v, zero), `${op.name}(${a[i]}, ${b[i]})`).toBe(true);
          else
            expect([bits(a[i]!), bits(b[i]!), 0, bits(-0)], `${op.name}(${a[i]}, ${b[i]}) = ${v}`).toContain(
              bits(v),
            );
        });
      }
      for (const [r, v] of [
        [wg.amin, [1e-40, 2e-40]],
        [wg.amax, [-1e-40, -2e-40]],
      ] as const)
        expect([...v.map(bits), 0, bits(-0)]).toContain(bits(await r(tensor([...v])).item()));
    });
    it('maximum and minimum split the gradient 0.5/0.5 on ties', async () => {
      for (const op of [maximum, minimum]) {
        const gs = grad((a: Tensor, c: Tensor) => op(a, c), [0, 1])(2, 2);
        expect(await Promise.all(gs.map((g) => g.item()))).toEqual([0.5, 0.5]);
      }
    });
    it("clamp is PyTorch's: the ends belong inside, min > max gives max, NaN stays NaN", async () => {
      const x = tensor([NaN, -0, 0, 1, 2, 3, -1]);
      const y = wg.clamp(x, 0, 2);
      const gx = grad((t: Tensor) => sum(wg.clamp(t, 0, 2)))(x);
      // PyTorch 1.13: [nan, -0, 0, 1, 2, 2, 0] with gradient [0, 1, 1, 1, 1, 0, 0] (0 at NaN: see README).
      expect(Array.from(await y.data())).toEqual([NaN, -0, 0, 1, 2, 2, 0]);
      expect(Array.from(await gx.data())).toEqual([NaN, 1, 1, 1, 1, 0, 0]);
      // One bound left out, either way, and the method.
      expect(Array.from(await x.clamp(null, 0.5).data())).toEqual([NaN, -0, 0, 0.5, 0.5, 0.5, -1]);
      expect(Array.from(await wg.clamp(x, undefined, 0.5).data())).toEqual([NaN, -0, 0, 0.5, 0.5, 0.5, -1]);
      expect(Array.from(await x.clamp(1).data())).toEqual([NaN, 1, 1, 1, 2, 3, 1]);
      // min > max: max everywhere, and no gradient to x.
      const [g2, gmax] = grad((t: Tensor, hi: Tensor) => sum(wg.clamp(t, 2, hi)), [0, 1])(x, tensor(1));
      expect(Array.from(await g2.data())).toEqual([NaN, 0, 0, 0, 0, 0, 0]);
      expect(await gmax.item()).toBeNaN();
      expect(Array.from(await wg.clamp(tensor([0, 5]), 2, 1).data())).toEqual([1, 1]);
    });
    it('where and the comparisons make piecewise functions, each branch differentiated where it is chosen', async () => {
      const x = tensor([-2, -0.5, 0, 0.5, 2]);
      const f = (t: Tensor) => wg.where(t.lt(0), t.pow(2), sin(t));
      const { value, grad: g } = valueAndGrad((t: Tensor) => sum(f(t)))(x);
      const want = [4, 0.25, 0, Math.sin(0.5), Math.sin(2)];
      close(
        await value.item(),
        want.reduce((a, b) => a + b),
        4,
      );
      const gx = Array.from(await g.data());
      [-4, -1, 1, Math.cos(0.5), Math.cos(2)].forEach((w, i) => close(gx[i]!, w, 4));
      // Second derivatives through the choice.
      const d2 = grad((t: Tensor) => sum(grad((u: Tensor) => sum(f(u)))(t)))(x);
      const g2 = Array.from(await d2.data());
      [2, 2, -0, -Math.sin(0.5), -Math.sin(2)].forEach((w, i) => close(g2[i]!, w, 4));
      // The comparisons: 1 or 0, IEEE's NaN, no gradient, broadcasting, and methods.
      const a = tensor([1, 2, NaN, -0]);
      const rows = await Promise.all(
        [a.lt(2), a.le(2), a.gt(1), a.ge(1), a.eq(0), a.ne(0), wg.lt(0, a)].map(async (t) =>
          Array.from(await t.data()),
        ),
      );
      expect(rows).toEqual([
        [1, 0, 0, 1],
        [1, 1, 0, 1],
        [0, 1, 0, 0],
        [1, 1, 0, 0],
        [0, 0, 0, 1],
        [1, 1, 1, 0],
        [1, 1, 0, 0],
      ]);
      expect(tensor([1, 2], { requiresGrad: true }).gt(1).requiresGrad).toBe(false);
    });
    it('where: any nonzero condition is true (NaN too, -0 is 0), branches broadcast, gradients reduced', async () => {
      // 1e-40 is subnormal: a device that flushes it still reads the condition's bits as nonzero.
      const m = tensor([1, 0, -0, NaN, -3, 1e-30, 1e-40]);
      const a = tensor(7, { requiresGrad: true });
      const b = tensor([10, 20, 30, 40, 50, 60, 70], { requiresGrad: true });
      const y = wg.where(m, a, b);
      expect(Array.from(await y.data())).toEqual([7, 20, 30, 7, 7, 7, 7]);
      sum(y).backward();
      expect(await a.grad!.item()).toBe(5);
      expect(Array.from(await b.grad!.data())).toEqual([0, 1, 1, 0, 0, 0, 0]);
      // A NaN in the branch not chosen stays out of the value, and that branch gets a zero gradient.
      const t = tensor([1, -1], { requiresGrad: true });
      const z = wg.where(t.gt(0), t.mul(2), NaN);
      sum(z).backward();
      expect(Array.from(await z.data())).toEqual([2, NaN]);
      expect(Array.from(await t.grad!.data())).toEqual([2, 0]);
      // But an infinite derivative inside the branch not chosen still meets that 0, as in PyTorch.
      const u = tensor([4, -4]);
      const gs = grad((v: Tensor) => sum(wg.where(v.gt(0), sqrt(v), 0)))(u);
      expect(Array.from(await gs.data())).toEqual([0.25, NaN]);
      // The method is PyTorch's Tensor.where: this where the condition holds, else the other.
      expect(
        Array.from(
          await tensor([1, 2])
            .where(tensor([0, 1]), 9)
            .data(),
        ),
      ).toEqual([9, 2]);
    });
    it('clamp with tensor bounds: the gradient goes to the bound where it decides, ties to x', async () => {
      const x = tensor([0, 1, 2, 5, NaN, 1]);
      const lo = tensor([1, 1, 1, 1, 1, NaN]);
      const hi = tensor([3, 3, 2, 3, 3, 3]);
      const gs = grad((a: Tensor, l: Tensor, h: Tensor) => sum(wg.clamp(a, l, h)), [0, 1, 2])(x, lo, hi);
      const [gx, gl, gh] = await Promise.all(gs.map(async (g) => Array.from(await g.data())));
      expect(await wg.clamp(x, lo, hi).data()).toEqual(Float32Array.from([1, 1, 2, 3, NaN, NaN]));
      expect(gx).toEqual([0, 1, 1, 0, NaN, NaN]);
      expect(gl).toEqual([1, 0, 0, 0, NaN, NaN]);
      expect(gh).toEqual([0, 0, 0, 1, NaN, NaN]);
      // A scalar bound gets the sum of its points' gradients.
      const gb = grad((b: Tensor) => sum(wg.clamp(tensor([-3, -2, 0, 4]), b)))(tensor(-1));
      expect(await gb.item()).toBe(2);
    });
    it('the inverse, hyperbolic, special, rounding and logarithm functions at their special points', async () => {
      const at = async (f: (t: Tensor) => Tensor, xs: number[]) => Array.from(await f(tensor(xs)).data());
      const f32 = Math.fround;
      expect(await at(wg.asin, [1, -1, 0, -0, 1.5, -2])).toEqual([
        f32(Math.PI / 2),
        -f32(Math.PI / 2),
        0,
        -0,
        NaN,
        NaN,
      ]);
      expect(await at(wg.acos, [1, -1, 0, 1.5])).toEqual([0, f32(Math.PI), f32(Math.PI / 2), NaN]);
      expect(await at(wg.atan, [Infinity, -Infinity, -0])).toEqual([f32(Math.PI / 2), -f32(Math.PI / 2), -0]);
      expect(await at(wg.atanh, [1, -1, 0, -0, 1.5])).toEqual([Infinity, -Infinity, 0, -0, NaN]);
      expect(await at(wg.acosh, [1, 0.5, Infinity])).toEqual([0, NaN, Infinity]);
      expect(await at(wg.asinh, [Infinity, -Infinity, -0])).toEqual([Infinity, -Infinity, -0]);
      expect(await at(wg.sinh, [100, -100, -0])).toEqual([Infinity, -Infinity, -0]);
      expect(await at(wg.cosh, [100, -100, 0])).toEqual([Infinity, Infinity, 1]);
      // Just below the float32 overflow of e^x (88.72), sinh and cosh are still finite (e^x / 2).
      for (const f of [wg.sinh, wg.cosh]) {
        const [v] = await at(f, [89]);
        close(v!, Math.exp(89) / 2, 4);
      }
      expect(await at(wg.erf, [Infinity, -Infinity, -0, 5, -5])).toEqual([1, -1, -0, 1, -1]);
      // log2 and log10: exact where the result is a float, IEEE's special values.
      expect(await at(wg.log2, [8, 0.125, 2 ** 100, 2 ** -120, 0, -1, Infinity])).toEqual([
        3,
        -3,
        100,
        -120,
        -Infinity,
        NaN,
        Infinity,
      ]);
      const tens = Array.from({ length: 21 }, (_, k) => k - 10);
      expect(
        await at(
          wg.log10,
          tens.map((k) => 10 ** k),
        ),
      ).toEqual(tens);
      // Rounding: ties to even (PyTorch's round), signed zeros kept, infinities and large values as they are.
      const r = [2.5, 3.5, -2.5, -0.5, 0.5, -0.4, 1.5, Infinity, -Infinity, 16777217, -0];
      expect(await at(wg.round, r)).toEqual([2, 4, -2, -0, 0, -0, 2, Infinity, -Infinity, 16777216, -0]);
      expect(await at(wg.floor, [-0.5, -0, 2.7, -Infinity])).toEqual([-1, -0, 2, -Infinity]);
      expect(await at(wg.ceil, [-0.5, 0.2, -0, Infinity])).toEqual([-0, 1, -0, Infinity]);
      expect(await at(wg.trunc, [-2.7, 2.7, -0.5])).toEqual([-2, 2, -0]);
      // Their derivative is 0 and, as in PyTorch, the result still requires grad (even at NaN, 0).
      const xr = tensor([1.5, NaN], { requiresGrad: true });
      sum(wg.floor(xr)).backward();
      expect(Array.from(await xr.grad!.data())).toEqual([0, 0]);
      // sign: 0 for both zeros (PyTorch's), NaN kept (PyTorch 1.13 gives 0); derivative 0, still requiring grad.
      expect(await at(wg.sign, [-0, 0, -1e-30, 3e38, -Infinity, NaN])).toEqual([0, 0, -1, 1, -1, NaN]);
      const xsg = tensor([-2, 0, 5], { requiresGrad: true });
      const ysg = wg.sign(xsg);
      expect(ysg.requiresGrad).toBe(true);
      sum(ysg.mul(xsg)).backward();
      expect(Array.from(await xsg.grad!.data())).toEqual([-1, 0, 1]);
      // softplus: no overflow, x itself far out, and its derivative (the sigmoid) 1/2 at the kinkless 0.
      expect(await at(wg.softplus, [Infinity, -Infinity, 100, 1000, 0])).toEqual([
        Infinity,
        0,
        100,
        1000,
        f32(Math.LN2),
      ]);
      expect(await d(wg.softplus, 0)).toBe(0.5);
      expect(await d(wg.softplus, 1000)).toBe(1);
      // PyTorch's beta and threshold: log(1 + e^(beta x)) / beta, and x itself where beta x > threshold.
      const sx = tensor([-1, 0, 1, 15]);
      const spv = Array.from(await wg.softplus(sx, 2).data());
      [Math.log1p(Math.exp(-2)) / 2, Math.LN2 / 2, Math.log1p(Math.exp(2)) / 2, 15].forEach((w, i) =>
        close(spv[i]!, w, 2),
      );
      const gsp = Array.from(await grad((t: Tensor) => sum(t.softplus(2)))(sx).data());
      [1 / (1 + Math.exp(2)), 0.5, 1 / (1 + Math.exp(-2)), 1].forEach((w, i) => close(gsp[i]!, w, 2));
      // A large beta: the gradient is the sigmoid of beta x itself, not (dy / beta) ... times beta.
      const gbig = grad((t: Tensor) => sum(wg.softplus(t, 1e30)))(tensor([-4e-29, 5e-32]));
      const gb = Array.from(await gbig.data());
      close(gb[0]!, 1 / (1 + Math.exp(40)), 2);
      close(gb[1]!, 1 / (1 + Math.exp(-0.05)), 2);
      expect(() => wg.softplus(tensor(1), 2.9e-39)).toThrow(
        "beta must be a nonzero number of float32's normal range",
      );
      expect(Array.from(await wg.softplus(tensor([0.5, 2]), 1, 1).data())).toEqual([
        f32(Math.log1p(Math.exp(0.5))),
        2,
      ]);
      // atan2 is C's at the signed zeros and the infinities, in every quadrant.
      const sp = [0, -0, 1, -1, Infinity, -Infinity, NaN];
      const ys = sp.flatMap((y) => sp.map(() => y));
      const xs = sp.flatMap(() => sp);
      const got = Array.from(await wg.atan2(tensor(ys), tensor(xs)).data());
      expect(got).toEqual(ys.map((y, i) => f32(Math.atan2(y, xs[i]!))));
      // The gradient: (x, -y) / (x^2 + y^2).
      const [gy, gx] = grad((y: Tensor, x: Tensor) => wg.atan2(y, x), [0, 1])(tensor(3), tensor(-4));
      close(await gy.item(), -4 / 25);
      close(await gx.item(), -3 / 25);
      // PyTorch's derivatives at the ends: Inf at ±1 (asin, acos, atanh, acosh at 1), 0 at ±Inf (atan).
      expect(await d(wg.asin, 1)).toBe(Infinity);
      expect(await d(wg.acos, -1)).toBe(-Infinity);
      expect(await d(wg.atanh, -1)).toBe(Infinity);
      expect(await d(wg.acosh, 1)).toBe(Infinity);
      expect(await d(wg.atan, Infinity)).toBe(0);
      expect(await d(wg.asinh, 1e30)).toBe(0);
    });
    it('pow with an integer exponent: negative and zero bases', async () => {
      expect(await value(pow(tensor(-2), 3))).toBe(-8);
      expect(await d((x) => pow(x, 3), -2)).toBe(12);
      expect(await d((x) => pow(x, 2), 0)).toBe(0);
      expect(await d((x) => pow(x, 1), 0)).toBe(1);
      expect(await d((x) => pow(x, 0), 0)).toBe(0);
      expect(await d((x) => pow(x, 3), 0)).toBe(0);
      expect(await value(pow(tensor(0), 0))).toBe(1);
    });
    it('pow at special values follows C and PyTorch: pow(1, y) = 1 for every y, pow(-1, ±Inf) = 1', async () => {
      const p = async (a: number, c: number) => value(pow(tensor(a), tensor(c)));
      for (const c of [NaN, Infinity, -Infinity, 0.5, -3]) expect(await p(1, c), `pow(1, ${c})`).toBe(1);
      expect(await p(-1, Infinity)).toBe(1);
      expect(await p(-1, -Infinity)).toBe(1);
      expect(await p(NaN, 0)).toBe(1);
      expect(await p(2, NaN)).toBeNaN();
      expect(await p(-1, NaN)).toBeNaN();
      expect(await p(0.5, Infinity)).toBe(0);
    });
    it('pow gradients are masked as PyTorch masks them (no NaN from 0 * Inf at a zero base)', async () => {
      const gs = async (a: number, c: number) =>
        Promise.all(grad((x: Tensor, y: Tensor) => pow(x, y), [0, 1])(a, c).map((t) => t.item()));
      // No base derivative where the exponent is 0 (0 * 0^-1), whatever the base, NaN included.
      expect(await gs(0, 0)).toEqual([0, 0]);
      expect((await gs(NaN, 0))[0]).toBe(0);
      close((await gs(2, 0))[1]!, Math.LN2);
      // No exponent derivative at a zero base with an exponent >= 0 (0^y log 0 would be 0 * -Inf).
      expect(await gs(0, 2)).toEqual([0, 0]);
      expect(await gs(0, 0.5)).toEqual([Infinity, 0]);
      // A negative exponent is not masked: 0^-1 log 0 is Inf * -Inf.
      expect(await gs(0, -1)).toEqual([-Infinity, -Infinity]);
      // Polynomial features x^k with k = 0, 1, 2 at x = 0: a finite gradient.
      const ks = tensor(Float32Array.of(0, 1, 2));
      const g = grad((x: Tensor) => sum(pow(x, ks)))(tensor(0));
      expect(await g.item()).toBe(1);
    });
    it('pow masks as PyTorch does and no wider: the whole base term, the exponent term at a zero base only', async () => {
      const T = (v: number) => tensor([v]);
      // The base derivative is 0 where the exponent is 0 even when the gradient coming in is infinite:
      // d/dp sqrt(p^q - 1) at q = 0 is 0 (sqrt' of 0 is Inf), as in PyTorch.
      const [dp] = grad((p: Tensor, q: Tensor) => sum(wg.sqrt(pow(p, q).sub(1))), [0, 1])(T(2), T(0));
      expect(await dp!.item()).toBe(0);
      // So the mixed second derivative ∂/∂p (∂y/∂q) = ∂/∂p (p^q log p) at q = 0 is 1/p, the log's part alone.
      const dq = (p: Tensor, q: Tensor) =>
        sum(grad((a: Tensor, c: Tensor) => sum(pow(a, c)), [0, 1])(p, q)[1]!);
      const mixed = async (a: number, c: number) => grad(dq, [0, 1])(T(a), T(c))[0]!.item();
      expect(await mixed(-2, 0)).toBe(-0.5);
      expect(await mixed(Infinity, 0)).toBe(0);
      close(await mixed(-1e30, 0), -1e-30);
      // The exponent derivative y log p is masked at a zero base only: where y is 0 from underflow, it is
      // what the product gives (NaN for a negative base, whose log is NaN; PyTorch's too).
      const dy = async (a: number, c: number) =>
        grad((p: Tensor, q: Tensor) => sum(pow(p, q)), 1)(T(a), T(c)).item();
      expect(await dy(-2, -150)).toBeNaN();
      expect(await dy(-0.5, 127)).toBeNaN();
      expect(await dy(Infinity, -1)).toBeNaN();
      expect(await dy(0.5, 200)).toBe(-0);
      expect(await dy(0, 3)).toBe(0);
      // Second derivatives of the exponent term at a zero base are PyTorch's: its mask zeroes the incoming
      // gradient, which then meets log 0 (or 1/0), so they are NaN or infinite there, not 0.
      const d1 = (q: Tensor, p: Tensor) => grad((a: Tensor, c: Tensor) => sum(pow(c, a)), 0)(q, p);
      const second = async (pv: number, qv: number) =>
        Promise.all(grad((q: Tensor, p: Tensor) => sum(d1(q, p)), [0, 1])(T(qv), T(pv)).map((t) => t.item()));
      expect(await second(0, -1)).toEqual([Infinity, Infinity]);
      expect(await second(-0, -2)).toEqual([Infinity, -Infinity]);
      const [qq, qp] = await second(0, 2);
      expect(qq).toBeNaN();
      expect(qp).toBeNaN();
    });
    it("pow's base derivative keeps its dependence on the exponent where that is 0: higher derivatives and a symmetric Hessian", async () => {
      // Exact values (mathjs's symbolic derivatives): the mask of the base term must not cut q out of it.
      const nth = async (f: (x: Tensor) => Tensor, n: number, x: number) => {
        let g = (t: Tensor) => sum(f(t));
        for (let k = 0; k < n; k++) {
          const inner = g;
          g = (t: Tensor) => sum(grad(inner)(t));
        }
        return g(tensor([x])).item();
      };
      const cases: [string, (x: Tensor) => Tensor, number, number, number][] = [
        ['x^(x-1)', (x) => pow(x, x.sub(1)), 2, 1, 2],
        ['x^(x-1)', (x) => pow(x, x.sub(1)), 3, 1, -3],
        ['x^(x-1)', (x) => pow(x, x.sub(1)), 3, 2, 7.766291429092135],
        ['x^(2-x)', (x) => pow(x, wg.sub(2, x)), 2, 2, -0.5195469860817985],
        ['x^(2-x)', (x) => pow(x, wg.sub(2, x)), 3, 2, 2.4964168896909067],
        ['x^x', (x) => pow(x, x), 3, 1, 3],
      ];
      for (const [name, f, n, x, want] of cases) {
        const got = await nth(f, n, x);
        expect(Math.abs(got - want), `d^${n}/dx^${n} ${name} at ${x}`).toBeLessThanOrEqual(
          1e-5 * Math.abs(want),
        );
      }
      // ∂²/∂b∂a pow(a, b) at b = 0 is 1/a in either order.
      const [[, hab], [hba]] = wg.hessian((a: Tensor, c: Tensor) => sum(pow(a, c)), [0, 1])(
        tensor(2),
        tensor(0),
      );
      expect([await hab!.item(), await hba!.item()]).toEqual([0.5, 0.5]);
    });
    it('pow(-2, 0.5) = NaN', async () => {
      expect(await value(pow(tensor(-2), 0.5))).toBeNaN();
    });
    it('asin, acos, acosh and atanh have derivatives accurate to float32 near ±1 (1 - a² with a² exact)', async () => {
      const f32 = Math.fround;
      const cases: [string, (t: Tensor) => Tensor, number, (x: number) => number][] = [
        ['asin', wg.asin, f32(-0.999864), (x) => 1 / Math.sqrt(1 - x * x)],
        ['acos', wg.acos, f32(0.9999), (x) => -1 / Math.sqrt(1 - x * x)],
        ['acosh', wg.acosh, f32(1.000226), (x) => 1 / Math.sqrt(x * x - 1)],
        ['atanh', wg.atanh, f32(-0.999822), (x) => 1 / (1 - x * x)],
      ];
      for (const [name, fn, x, want] of cases) {
        const got = await d(fn, x);
        // 1 - a * a in float32 was off by up to 8e-5 of the result here.
        expect(Math.abs(got - want(x)) / Math.abs(want(x)), `${name}'(${x})`).toBeLessThan(2e-6);
      }
      // Their poles stay infinite, with PyTorch's signs.
      expect([await d(wg.asin, 1), await d(wg.acos, -1), await d(wg.acosh, 1), await d(wg.atanh, 1)]).toEqual(
        [Infinity, -Infinity, Infinity, Infinity],
      );
    });
    it('tanh(±30) = ±1 exactly, with the gradient accurate in the tails (sech² x, not 1 - 1)', async () => {
      expect(await value(tanh(tensor(30)))).toBe(1);
      expect(await value(tanh(tensor(-30)))).toBe(-1);
      for (const x of [-30, -9, 6, 12, 30]) {
        const want = 1 / Math.cosh(x) ** 2;
        expect(Math.abs((await d(tanh, x)) - want) / want, `tanh'(${x})`).toBeLessThan(1e-5);
      }
      expect(await d(tanh, 100)).toBe(0);
    });
    it("sigmoid's gradient is accurate in both tails (σ(x) σ(-x), not y (1 - y))", async () => {
      for (const x of [-20, -6, 6, 20, 60]) {
        const want = Math.exp(-Math.abs(x)) / (1 + Math.exp(-Math.abs(x))) ** 2;
        expect(Math.abs((await d(sigmoid, x)) - want) / want, `sigmoid'(${x})`).toBeLessThan(1e-5);
      }
    });
    it('sigmoid tails: sigmoid(-100) ≥ 0 finite, sigmoid(100) = 1, gradients finite', async () => {
      const lo = await value(sigmoid(tensor(-100)));
      expect(lo).toBeGreaterThanOrEqual(0);
      expect(lo).toBeLessThan(1e-30);
      expect(await value(sigmoid(tensor(100)))).toBe(1);
      for (const x of [-100, 100, -1000, 1000]) {
        const g = await d(sigmoid, x);
        expect(Number.isFinite(g) && g >= 0, `sigmoid'(${x}) = ${g}`).toBe(true);
      }
    });
    it('exp overflow gives +Inf', async () => {
      expect(await value(exp(tensor(100)))).toBe(Infinity);
      expect(await value(exp(tensor(89)))).toBe(Infinity);
    });
    it("sqrt'(0) = Inf", async () => {
      expect(await d(sqrt, 0)).toBe(Infinity);
    });
    it('every op rounds to float32, fused or not: log(exp(100)) = Inf, (1e8 + 1) - 1e8 = 0', async () => {
      const x = tensor(100);
      expect(await value(log(exp(x)))).toBe(Infinity);
      const e = exp(x);
      await e.data();
      expect(await value(log(e))).toBe(Infinity);
      expect(await d((t) => log(exp(t)), 100)).toBeNaN();
      const big = tensor(1e8);
      expect(await value(big.add(1).sub(big))).toBe(0);
      expect(await value(tensor(1).mul(1e20).mul(1e20).div(1e30))).toBe(Infinity);
      // A constant is a float32 too: x * 0.1 is the float32 product of float32(x) and float32(0.1).
      const third = tensor(1 / 3);
      const f = Math.fround;
      expect(await value(third.mul(0.1))).toBe(f(f(1 / 3) * f(0.1)));
      // Ops on plain numbers are folded as the graph is built, in float32 as well.
      expect(await value(log(exp(100)))).toBe(Infinity);
      expect(await value(wg.sub(wg.add(1e8, 1), 1e8))).toBe(0);
      expect(await value(wg.div(1, 1e-38))).toBe(f(1 / f(1e-38)));
      expect(await value(mul(1 / 3, 0.1))).toBe(f(f(1 / 3) * f(0.1)));
    });
    it('adding 0 is IEEE addition: -0 + 0 = +0 either way round, -0 + -0 = -0', async () => {
      const z = tensor(-0);
      expect(Object.is(await value(z.add(0)), 0)).toBe(true);
      expect(Object.is(await value(wg.add(0, z)), 0)).toBe(true);
      expect(Object.is(await value(z.add(-0)), -0)).toBe(true);
      expect(Object.is(await value(z.sub(0)), -0)).toBe(true);
      expect(await value(wg.div(1, z.add(0)))).toBe(Infinity);
    });
  });

  describe('broadcasting', () => {
    it('scalar against vector, gradients reduced to each shape', async () => {
      const w = tensor(1.5, { requiresGrad: true });
      const x = tensor([1, 2, 3], { requiresGrad: true });
      const y = mul(w, x);
      expect(y.shape).toEqual([3]);
      expect(Array.from(await y.data())).toEqual([1.5, 3, 4.5]);
      sum(y).backward();
      expect(w.grad!.shape).toEqual([]);
      expect(await w.grad!.item()).toBe(6);
      expect(Array.from(await x.grad!.data())).toEqual([1.5, 1.5, 1.5]);
    });

    it('[3,1] against [1,4]', async () => {
      const a = tensor([[1], [2], [3]], { requiresGrad: true });
      const c = tensor([[1, 2, 3, 4]], { requiresGrad: true });
      const weights = tensor([1, 10, 100, 1000, 2, 20, 200, 2000, 3, 30, 300, 3000], { shape: [3, 4] });
      const y = mul(a, c);
      expect(y.shape).toEqual([3, 4]);
      expect(Array.from(await y.data())).toEqual([1, 2, 3, 4, 2, 4, 6, 8, 3, 6, 9, 12]);
      sum(mul(y, weights)).backward();
      // d/da_i = Σ_j w_ij c_j; d/dc_j = Σ_i w_ij a_i.
      expect(a.grad!.shape).toEqual([3, 1]);
      expect(Array.from(await a.grad!.data())).toEqual([4321, 8642, 12963]);
      expect(c.grad!.shape).toEqual([1, 4]);
      expect(Array.from(await c.grad!.data())).toEqual([14, 140, 1400, 14000]);
    });

    it('[2,3] against [3]', async () => {
      const m = tensor(
        [
          [1, 2, 3],
          [4, 5, 6],
        ],
        { requiresGrad: true },
      );
      const v = tensor([10, 20, 30], { requiresGrad: true });
      const y = wg.sub(m, v);
      expect(Array.from(await y.data())).toEqual([-9, -18, -27, -6, -15, -24]);
      sum(mul(y, m)).backward();
      // d/dm = 2m - v, d/dv = -Σ_i m_i.
      expect(m.grad!.shape).toEqual([2, 3]);
      expect(Array.from(await m.grad!.data())).toEqual([-8, -16, -24, -2, -10, -18]);
      expect(v.grad!.shape).toEqual([3]);
      expect(Array.from(await v.grad!.data())).toEqual([-5, -7, -9]);
    });
  });

  describe('sum and mean', () => {
    const m = () =>
      tensor(
        [
          [1, 2, 3],
          [4, 5, 6],
        ],
        { requiresGrad: true },
      );

    it('over all elements, with gradients', async () => {
      const x = m();
      const s = sum(x);
      expect(s.shape).toEqual([]);
      expect(await s.item()).toBe(21);
      s.backward();
      expect(Array.from(await x.grad!.data())).toEqual([1, 1, 1, 1, 1, 1]);
      const y = m();
      const mu = mean(y);
      close(await mu.item(), 3.5);
      mu.backward();
      for (const g of await y.grad!.data()) close(g, 1 / 6);
    });

    it('over one axis, also negative, with gradients', async () => {
      const x = m();
      expect(Array.from(await sum(x, 0).data())).toEqual([5, 7, 9]);
      expect(Array.from(await sum(x, 1).data())).toEqual([6, 15]);
      expect(Array.from(await sum(x, -1).data())).toEqual([6, 15]);
      expect(sum(x, -2).shape).toEqual([3]);
      expect(Array.from(await mean(x, -2).data())).toEqual([2.5, 3.5, 4.5]);
      expect(Array.from(await mean(x, 1).data())).toEqual([2, 5]);
      // Weighting each reduced entry tells the gradient's broadcast direction apart.
      sum(mul(sum(x, -1), tensor([1, 10]))).backward();
      expect(Array.from(await x.grad!.data())).toEqual([1, 1, 1, 10, 10, 10]);
      const y = m();
      sum(mul(mean(y, 0), tensor([2, 4, 6]))).backward();
      expect(Array.from(await y.grad!.data())).toEqual([1, 2, 3, 1, 2, 3]);
    });

    it('over a list of axes, and with the reduced axes kept (keepdim), with gradients', async () => {
      const z = tensor(
        Array.from({ length: 24 }, (_, i) => i),
        { shape: [2, 3, 4], requiresGrad: true },
      );
      // Sums over axes 0 and 2 (torch.arange(24).reshape(2, 3, 4).sum((0, 2))).
      expect(Array.from(await sum(z, [0, 2]).data())).toEqual([60, 92, 124]);
      expect(sum(z, [2, -3]).shape).toEqual([3]);
      expect(sum(z, [0, 2], true).shape).toEqual([1, 3, 1]);
      expect(z.sum(1, true).shape).toEqual([2, 1, 4]);
      expect(sum(z, undefined, true).shape).toEqual([1, 1, 1]);
      expect(Array.from(await mean(z, [0, 1, 2], true).data())).toEqual([11.5]);
      expect(Array.from(await z.mean([0, 2]).data())).toEqual([7.5, 11.5, 15.5]);
      // keepdim broadcasts back against the input: z - mean(z, 2, keepdim) has rows that sum to 0.
      const centred = z.sub(mean(z, 2, true));
      expect(Array.from(await sum(centred, 2).data())).toEqual([0, 0, 0, 0, 0, 0]);
      sum(mul(mean(z, [0, 2], true), tensor([1, 2, 3], { shape: [1, 3, 1] }))).backward();
      const g = await z.grad!.data();
      for (let i = 0; i < 24; i++) expect(g[i]).toBeCloseTo((1 + (Math.floor(i / 4) % 3)) / 8, 7);
      expect(() => sum(z, [0, 0])).toThrow('sum: axis 0 appears twice in [0,0]');
      expect(() => sum(z, [1, -2])).toThrow('sum: axis -2 appears twice in [1,-2]');
      expect(() => mean(z, [])).toThrow('mean: the list of axes is empty (omit it to reduce every axis)');
      expect(() => sum(z, 0, 1 as unknown as boolean)).toThrow('sum: keepdim must be a boolean, got 1');
    });
  });

  describe('gradient machinery', () => {
    const poly = (x: Tensor) =>
      wg.add(wg.add(wg.add(wg.add(mul(8, pow(x, 4)), mul(3, pow(x, 3))), mul(7, pow(x, 2))), mul(6, x)), 3);

    it('second and third derivatives of sin, exp and a polynomial', async () => {
      const x = 0.7;
      const s = (t: Tensor) => sin(t);
      const e = (t: Tensor) => exp(t);
      close(await grad(grad(s))(x).item(), -Math.sin(Math.fround(x)), CHAIN);
      close(await grad(grad(grad(s)))(x).item(), -Math.cos(Math.fround(x)), CHAIN);
      close(await grad(grad(e))(x).item(), Math.exp(Math.fround(x)), CHAIN);
      close(await grad(grad(grad(e)))(x).item(), Math.exp(Math.fround(x)), CHAIN);
      close(await grad(poly)(2).item(), 326, CHAIN);
      close(await grad(grad(poly))(2).item(), 96 * 4 + 18 * 2 + 14, CHAIN);
      close(await grad(grad(grad(poly)))(2).item(), 192 * 2 + 18, CHAIN);
    });

    it('tensor() copies a Float32Array unless copy: false, which shares it until computed', async () => {
      const a = Float32Array.of(1, 2, 3);
      const copied = mul(tensor(a), 2);
      const shared = mul(tensor(a, { copy: false }), 2);
      a[0] = 10;
      expect([...(await copied.data())]).toEqual([2, 4, 6]);
      expect([...(await shared.data())]).toEqual([20, 4, 6]);
      // The caller's array is read, never written: the shared tensor's own values are the array's.
      expect([...a]).toEqual([10, 2, 3]);
    });

    it('synchronize() resolves once submitted work is done, with the values left where they were', async () => {
      const y = mul(tensor(Float32Array.of(1, 2, 3)), 2);
      await y.realize();
      await wg.synchronize();
      expect([...(await y.data())]).toEqual([2, 4, 6]);
    });

    it('a gradient made with createGraph through a kink (relu, abs) requires grad and differentiates again', async () => {
      for (const f of [relu, wg.abs]) {
        const x = tensor([-1, 2, 3], { requiresGrad: true });
        sum(f(x)).backward(undefined, { createGraph: true });
        const g = x.grad!;
        expect(g.requiresGrad).toBe(true);
        x.grad = null;
        sum(g.mul(x)).backward();
        expect(Array.from(await x.grad!.data())).toEqual(f === relu ? [0, 1, 1] : [-1, 1, 1]);
      }
    });
    it('backward through derivatives that are 0 everywhere gives zeros (PyTorch), through inert operands nothing', async () => {
      for (const f of [relu, wg.abs]) {
        const y = tensor([-1, 2], { requiresGrad: true });
        sum(f(y)).backward(undefined, { createGraph: true });
        const h = y.grad!;
        y.grad = null;
        sum(h).backward();
        expect(Array.from(await y.grad!.data())).toEqual([0, 0]);
      }
      const c = tensor([1, 0], { requiresGrad: true });
      const a = tensor([3, 4], { requiresGrad: true });
      sum(wg.where(c, a, 2).add(c.gt(0))).backward();
      expect(c.grad).toBeNull();
      expect(Array.from(await a.grad!.data())).toEqual([1, 0]);
    });
    it("where's condition passes no gradient and does not make the result require grad (PyTorch's bool)", async () => {
      const c = tensor([1, 0], { requiresGrad: true });
      expect(wg.where(c, 1, 2).requiresGrad).toBe(false);
      const a = tensor([3, 4], { requiresGrad: true });
      sum(wg.where(c, a, 2)).backward();
      expect(Array.from(await a.grad!.data())).toEqual([1, 0]);
      expect(c.grad).toBeNull();
    });
    it('backward accumulates into .grad, and assigning null resets it', async () => {
      const x = tensor(3, { requiresGrad: true });
      const y = mul(x, x);
      y.backward();
      expect(await x.grad!.item()).toBe(6);
      y.backward();
      expect(await x.grad!.item()).toBe(12);
      x.grad = null;
      y.backward();
      expect(await x.grad!.item()).toBe(6);
      // retainGraph (PyTorch's retain_graph) is accepted and changes nothing: the graph is always kept.
      y.backward(undefined, { retainGraph: true });
      expect(await x.grad!.item()).toBe(12);
      // An assigned gradient of the tensor's shape is added to; the tensor held before is not changed.
      const held = x.grad!;
      x.grad = tensor(100);
      y.backward();
      expect(await x.grad.item()).toBe(106);
      expect(await held.item()).toBe(12);
      // A disposed .grad counts as none: the next backward() starts from zero.
      x.grad.dispose();
      y.backward();
      expect(await x.grad.item()).toBe(6);
    });

    it('an identity (x * 1, x + 0, --x, x ** 1, the sum of a scalar) is a tensor of its own', async () => {
      const ids: [string, (t: Tensor) => Tensor][] = [
        ['x * 1', (t) => mul(t, 1)],
        ['1 * x', (t) => mul(1, t)],
        ['x / 1', (t) => wg.div(t, 1)],
        ['x + 0', (t) => wg.add(t, 0)],
        ['x - 0', (t) => wg.sub(t, 0)],
        ['--x', (t) => wg.neg(wg.neg(t))],
        ['x ** 1', (t) => pow(t, 1)],
        ['sum(x)', (t) => wg.sum(t)],
        ['mean(x)', (t) => wg.mean(t)],
      ];
      for (const [label, f] of ids) {
        const x = tensor(2, { requiresGrad: true });
        const y = f(x);
        expect(y.isLeaf, label).toBe(false);
        // As in PyTorch, a tensor that does not require grad is a leaf, computed or not.
        expect(f(tensor(2)).isLeaf, label).toBe(true);
        // Its own gradient slot: x's gradient still flows through it.
        y.retainGrad();
        mul(y, 3).backward();
        expect(await y.grad!.item(), label).toBe(3);
        expect(await x.grad!.item(), label).toBe(3);
        // Its own disposal: x lives on.
        y.dispose();
        expect(x.isDisposed, label).toBe(false);
        expect(await mul(x, 5).item(), label).toBe(10);
      }
      // Disposing the identity leaves a computed tensor's values where they are (nothing recomputed).
      const z = exp(tensor(Float32Array.of(1, 2)));
      const want = await z.data();
      mul(z, 1).dispose();
      const before = wg.stats().dispatches;
      expect(await z.data()).toEqual(want);
      expect(wg.stats().dispatches - before).toBe(0);
    });

    it('a parameter updated step by step keeps a bounded history and the values of one restarted each step', async () => {
      const x = tensor(Float32Array.from({ length: 64 }, (_, i) => i / 32 - 1));
      const y = tensor(Float32Array.from({ length: 64 }, (_, i) => (i > 40 ? 1 : 0)));
      const step = valueAndGrad(
        (w: Tensor, c: Tensor) => sum(sigmoid(mul(w, x).add(c)).sub(y).square()),
        [0, 1],
      );
      const train = async (how: 'lazy' | 'realize' | 'restart') => {
        let w = tensor(0.5);
        let c = tensor(0);
        const losses: number[] = [];
        for (let k = 0; k < 120; k++) {
          const { value, grad: g } = step(w, c);
          losses.push(await value.item());
          w = w.sub(g[0]!.mul(0.05));
          c = c.sub(g[1]!.mul(0.05));
          if (how === 'restart') [w, c] = [tensor(await w.item()), tensor(await c.item())];
          if (how === 'realize') await Promise.all([w.realize(), c.realize()]);
        }
        return { losses, history: topoSort([w.node, c.node]).length };
      };
      const eager = await train('restart');
      for (const how of ['lazy', 'realize'] as const) {
        const r = await train(how);
        r.losses.forEach((l, k) => close(l, eager.losses[k]!));
        // A few steps of graph behind the parameters, not all 120 (2500 nodes).
        expect(r.history, how).toBeLessThan(600);
      }
    });

    it('a PyTorch-style loop makes its new leaves without reading them, with the values of one that reads them', async () => {
      const x = tensor(Float32Array.from({ length: 64 }, (_, i) => i / 32 - 1));
      const y = tensor(Float32Array.from({ length: 64 }, (_, i) => (i > 40 ? 1 : 0)));
      const train = async (how: 'read' | 'lazy' | 'realize' | 'never') => {
        let w = tensor(0.5, { requiresGrad: true });
        let c = tensor(0, { requiresGrad: true });
        const losses: number[] = [];
        for (let k = 0; k < 120; k++) {
          const loss = sum(sigmoid(mul(w, x).add(c)).sub(y).square());
          loss.backward();
          if (how !== 'never' || k === 119) losses.push(await loss.item());
          const [nw, nc] = [w.sub(w.grad!.mul(0.05)), c.sub(c.grad!.mul(0.05))];
          const before = w;
          if (how === 'read') {
            w = tensor(await nw.data(), { shape: [], requiresGrad: true });
            c = tensor(await nc.data(), { shape: [], requiresGrad: true });
          } else {
            w = tensor(nw, { requiresGrad: true });
            c = tensor(nc, { requiresGrad: true });
          }
          if (how === 'realize') await Promise.all([w.realize(), c.realize()]);
          expect(w.isLeaf && w.requiresGrad && w.grad === null).toBe(true);
          // The next backward() fills the new leaves' gradients only.
          if (k === 60 && how !== 'never') {
            const g = before.grad;
            sum(mul(w, x)).backward();
            expect(before.grad).toBe(g);
            expect(await w.grad!.item()).toBe(-1);
            w.grad = null;
          }
        }
        return { losses, history: topoSort([w.node, c.node]).length };
      };
      const read = await train('read');
      for (const how of ['lazy', 'realize', 'never'] as const) {
        const r = await train(how);
        const want = how === 'never' ? read.losses.slice(-1) : read.losses;
        r.losses.forEach((l, k) => close(l, want[k]!));
        // A few steps of graph behind the parameters, not all 120 (3000 nodes), even where the one run at
        // the end computed every step.
        expect(r.history, how).toBeLessThan(600);
      }
    });

    it("a loop read only at its end computes its steps' gradients inside the update, not as outputs of their own", async () => {
      const x = tensor(Float32Array.from({ length: 4096 }, (_, i) => i / 4096));
      let w = tensor(new Float32Array(4096).fill(1), { requiresGrad: true });
      for (let k = 0; k < 50; k++) {
        wg.sum(w.mul(x).sub(1).square()).backward();
        w = tensor(w.sub(w.grad!.mul(0.01)), { requiresGrad: true });
      }
      const before = wg.stats().dispatches;
      const got = await w.data();
      // One kernel: each step's .grad went into the next step's w and is not stored (were they outputs, a
      // buffer each, and on WebGPU a kernel per few of them).
      expect(wg.stats().dispatches - before).toBe(1);
      for (const i of [0, 1000, 4095]) {
        let v = 1;
        const xi = Math.fround(i / 4096);
        for (let k = 0; k < 50; k++) v -= 0.01 * 2 * xi * (v * xi - 1);
        expect(Math.abs(got[i]! - v)).toBeLessThan(1e-5);
      }
      // JAX's style: each step's value (a sum) goes unread with its superseded gradient, and is not computed.
      const step = valueAndGrad((v: Tensor) => wg.sum(v.mul(x).sub(1).square()));
      let u = tensor(new Float32Array(4096).fill(1));
      for (let k = 0; k < 50; k++) u = u.sub(step(u).grad.mul(0.01));
      const start = wg.stats().dispatches;
      expect(await u.data()).toEqual(got);
      // The last step's value and gradient are still computed with it, in case they are read: its sum adds
      // a finishing pass on WebGPU.
      expect(wg.stats().dispatches - start).toBeLessThanOrEqual(2);
    });

    it('a gradient that only a read used (its norm) is stored with that run, for the read that follows', async () => {
      const x = tensor(
        Float32Array.from({ length: 1024 }, (_, i) => i / 1024),
        { requiresGrad: true },
      );
      wg.sum(x.mul(x).sin()).backward();
      const norm = wg.sqrt(wg.sum(x.grad!.square()));
      await norm.item();
      const before = wg.stats().dispatches;
      await x.grad!.data();
      expect(wg.stats().dispatches - before).toBe(0);
      // So is a value that its own call's gradient was built from (sqrt' reads sqrt), read after it.
      const { value, grad: g } = valueAndGrad((t: Tensor) => wg.sqrt(wg.sum(t.mul(t))))(tensor([1, 2, 3, 4]));
      await g.data();
      const mid = wg.stats().dispatches;
      expect(await value.item()).toBeCloseTo(Math.sqrt(30), 5);
      expect(wg.stats().dispatches - mid).toBe(0);
    });

    it('tensor() of a tensor: its values cut off from its history, computed when needed', async () => {
      const x = tensor([1, 2, 3, 4], { requiresGrad: true });
      const y = mul(x, x);
      const d = tensor(y);
      expect([d.requiresGrad, d.isLeaf]).toEqual([false, true]);
      const w = tensor(y, { requiresGrad: true, shape: [2, 2] });
      expect([w.shape, w.requiresGrad, w.isLeaf, w.grad]).toEqual([[2, 2], true, true, null]);
      wg.sum(mul(w, w)).backward();
      expect(x.grad).toBeNull();
      expect([...(await w.grad!.data())]).toEqual([2, 8, 18, 32]);
      expect([...(await d.data())]).toEqual([1, 4, 9, 16]);
      // Higher derivatives with respect to the new leaf: d/dw sum(w^3) = 3w^2, then 6w.
      const g = grad((t: Tensor) => wg.sum(grad((u: Tensor) => wg.sum(u.pow(3)))(t)))(w);
      expect([...(await g.data())]).toEqual([6, 24, 54, 96]);
      expect(() => tensor(y, { shape: [3] })).toThrow(
        'tensor(): shape [3] has 3 elements but the data has 4',
      );
      const gone = mul(x, 2);
      gone.dispose();
      expect(() => tensor(gone, { requiresGrad: true })).toThrow('tensor(): the tensor was disposed');
      // A copy: once computed, it outlives its source, and disposing it leaves the source (here a view of
      // a sum's buffer) whole.
      const a = tensor([1, 2, 3]);
      const l = wg.sum(a.mul(3));
      const [ca, cl] = [tensor(a), tensor(l)];
      await Promise.all([ca.realize(), cl.realize(), l.realize()]);
      a.dispose();
      cl.dispose();
      expect([...(await ca.data())]).toEqual([1, 2, 3]);
      expect(await l.item()).toBe(18);
      // Copied from an array the source shares (copy: false), unless copy: false again.
      const shared = Float32Array.of(1, 2);
      const s = tensor(shared, { copy: false });
      const [copied, kept] = [tensor(s), tensor(s, { copy: false })];
      shared[0] = 9;
      expect([...(await copied.data())]).toEqual([1, 2]);
      expect([...(await kept.data())]).toEqual([9, 2]);
      // In a formula, a leaf made from a tensor is a leaf.
      expect(wg.formula(w.add(1))).toMatch(/^t\d+ \+ 1$/);
    });

    it("a gradient that is another tensor's node is a tensor of its own", async () => {
      const w = tensor(Float32Array.of(4, 5));
      // d(x * w)/dx is w itself: with createGraph, through grad(), and with w captured by f.
      const x = tensor(Float32Array.of(1, 2), { requiresGrad: true });
      mul(x, w).backward(tensor(Float32Array.of(1, 1)), { createGraph: true });
      const g = grad((t: Tensor) => wg.sum(mul(t, w)))(tensor(Float32Array.of(1, 2)));
      for (const t of [x.grad!, g]) {
        expect([...(await t.data())]).toEqual([4, 5]);
        t.dispose();
        expect(w.isDisposed).toBe(false);
        expect([...(await w.data())]).toEqual([4, 5]);
      }
    });

    it('detach stops gradients', async () => {
      const x = tensor(3, { requiresGrad: true });
      const dx = x.detach();
      expect(dx.requiresGrad).toBe(false);
      expect(await dx.item()).toBe(3);
      mul(x, dx).backward();
      expect(await x.grad!.item()).toBe(3);
    });

    it('grad(f, [0, 2]) gives one gradient per argnum', async () => {
      const f = (a: Tensor, c: Tensor, e: Tensor) => wg.add(mul(a, c), mul(mul(e, e), c));
      const gs = grad(f, [0, 2])(2, tensor(3), 5);
      expect(gs).toHaveLength(2);
      expect(await gs[0]!.item()).toBe(3);
      expect(await gs[1]!.item()).toBe(30);
    });

    it('numbers become Tensors at differentiated positions only; other arguments reach f as they are', async () => {
      const f = (x: Tensor, y: Tensor) => y.mul(x);
      expect(await grad(f, 1)(tensor(2), 3).item()).toBe(2);
      // @ts-expect-error y is not differentiated, so a number passed for it stays a number (f calls y.mul)
      expect(() => grad(f, 0)(2, 3)).toThrow(TypeError);
      // Rest parameters take numbers too, and so do calls that give the argument types explicitly.
      const r = grad((...xs: Tensor[]) => xs[0]!.mul(xs[1]!), [0, 1])(2, 3);
      expect(await Promise.all(r.map((t) => t.item()))).toEqual([3, 2]);
      expect(await grad<[Tensor, Tensor]>(f, 1)(tensor(2), 3).item()).toBe(2);
      expect(await valueAndGrad<[Tensor, Tensor]>(f, [0, 1])(2, 3).value.item()).toBe(6);
      // A parameter that f takes as a number gets one.
      const g = (x: Tensor, n: number) => x.pow(n);
      expect(await grad(g)(2, 3).item()).toBe(12);
      expect(await valueAndGrad(g, [0])(2, 3).grad[0]!.item()).toBe(12);
    });

    it('grad takes functions with default parameters, and a written-out argnums list gives a tuple', async () => {
      const scaled = grad((x: Tensor, scale = 2) => x.mul(scale));
      expect(await scaled(3).item()).toBe(2);
      expect(await scaled(3, 5).item()).toBe(5);
      const f = (w: Tensor, b: Tensor) => w.mul(b);
      // A tuple: no `!` needed under noUncheckedIndexedAccess.
      const [gw, gb] = grad(f, [0, 1])(tensor(3), 4);
      expect(await gw.mul(2).item()).toBe(8);
      expect(await gb.item()).toBe(3);
      const { grad: both } = valueAndGrad(f, [1, 0])(3, 4);
      expect(await both[0].item()).toBe(3);
      // @ts-expect-error there are two gradients
      expect(grad(f, [0, 1])(1, 2)[2]).toBeUndefined();
      // A differentiated parameter that cannot take a Tensor (an object, an array of tensors) takes nothing.
      // @ts-expect-error f would get a Tensor for p
      expect(() => grad((p: { w: Tensor }) => p.w)({ w: tensor(1) })).toThrow('not a Tensor or numbers');
      // @ts-expect-error f would get a Tensor for ps
      expect(() => grad((ps: Tensor[]) => ps[0]!)([tensor(1)])).toThrow('an array of Tensors');
      expect(await grad((x: Tensor, p: { k: number }) => x.mul(p.k))(1, { k: 2 }).item()).toBe(2);
      const list: number[] = [0, 1];
      // A list known only at run time gives an array.
      expect(grad(f, list)(1, 2).map((g) => g.shape)).toEqual([[], []]);
    });

    it('a tensor reads as its description in strings (template literals, String(), console.log)', () => {
      const t = tensor([[1, 2]], { requiresGrad: true });
      expect(`${t}`).toBe('Tensor(shape=[1,2], requiresGrad)');
      expect(String(t)).toBe('Tensor(shape=[1,2], requiresGrad)');
      expect(inspect(t)).toBe('Tensor(shape=[1,2], requiresGrad)');
    });

    it('reshape views the values in another shape, -1 inferred, and gradients flow through it', async () => {
      const x = tensor([1, 2, 3, 4, 5, 6], { shape: [2, 3], requiresGrad: true });
      const y = x.mul(2).reshape([3, -1]);
      expect(y.shape).toEqual([3, 2]);
      expect([...(await y.data())]).toEqual([2, 4, 6, 8, 10, 12]);
      // Weights by position in the new shape reach x in row-major order.
      wg.sum(y.mul(tensor([[1, 10]]))).backward();
      expect(x.grad!.shape).toEqual([2, 3]);
      expect([...(await x.grad!.data())]).toEqual([2, 20, 2, 20, 2, 20]);
      expect(wg.reshape(tensor(5), [1, 1, -1]).shape).toEqual([1, 1, 1]);
      expect(wg.reshape(x, [6]).reshape([-1, 1]).shape).toEqual([6, 1]);
      expect(() => x.reshape([4, -1])).toThrow('reshape: cannot view [2,3] (6 elements) as [4,-1]');
      expect(() => x.reshape([5])).toThrow('reshape: cannot view [2,3] (6 elements) as [5]');
      expect(() => x.reshape([-1, -1])).toThrow('reshape: only one dimension can be -1, got [-1,-1]');
      expect(() => x.reshape([2.5, 2])).toThrow(
        'reshape: shape must be an array of integers >= 0 (one may be -1), got [2.5,2]',
      );
    });

    it('a tensor of shape [] has one axis to reduce, 0 or -1, as in PyTorch', async () => {
      const x = tensor(3, { requiresGrad: true });
      for (const y of [wg.sum(x, 0), wg.sum(x, -1), wg.mean(x, 0, true), wg.mean(x, [-1])]) {
        expect(y.shape).toEqual([]);
        expect(await y.item()).toBe(3);
      }
      wg.mean(x, 0).backward();
      expect(await x.grad!.item()).toBe(1);
      expect(() => wg.sum(x, 1)).toThrow('sum: axis 1 is out of range for a tensor of shape []');
      expect(() => wg.sum(x, [0, -1])).toThrow('sum: axis -1 appears twice in [0,-1]');
    });

    it('the gradient of an output with respect to itself has its shape ([1, 1], not [])', async () => {
      const w = tensor([4], { requiresGrad: true });
      w.backward();
      expect(w.grad!.shape).toEqual([1]);
      const y = tensor([[2]], { requiresGrad: true }).mul(3);
      y.retainGrad();
      y.backward();
      expect(y.grad!.shape).toEqual([1, 1]);
      expect(await y.grad!.data()).toEqual(new Float32Array([1]));
      expect(grad((x: Tensor) => x)(tensor([2])).shape).toEqual([1]);
      expect(valueAndGrad((x: Tensor) => x.mul(x))(tensor([[[3]]])).grad.shape).toEqual([1, 1, 1]);
    });

    it('hessian: second derivatives of every pair of arguments, point by point for a sum of per-point terms', async () => {
      const xs = [1, 2];
      const ys = [0.5, 1];
      const f = (x: Tensor, y: Tensor) => sum(x.pow(2).mul(y).add(sin(y)));
      const H = wg.hessian(f, [0, 1])(tensor(xs), tensor(ys));
      const got = await Promise.all(
        H.map((row) => Promise.all(row.map(async (h) => Array.from(await h.data())))),
      );
      const want = [
        [ys.map((y) => 2 * y), xs.map((x) => 2 * x)],
        [xs.map((x) => 2 * x), ys.map((y) => -Math.sin(y))],
      ];
      want.forEach((row, i) => row.forEach((w, j) => w.forEach((v, k) => close(got[i]![j]![k]!, v, 4))));
      // One argument: the second derivative itself; numbers are arguments too.
      expect(
        await wg
          .hessian((x: Tensor) => x.pow(3))(2)
          .item(),
      ).toBe(12);
      // In general the Hessian times a vector of ones: (mean x)^2 over two points has every entry 1/2.
      const m = wg.hessian((x: Tensor) => mean(x).pow(2))(tensor([3, 5]));
      expect(Array.from(await m.data())).toEqual([1, 1]);
      expect(() => wg.hessian(f, [])(tensor(1), tensor(2))).toThrow('hessian(f): argnums is empty');
      // A written-out list gives tuples.
      const [[hxx, hxy], [hyx, hyy]] = wg.hessian(f, [0, 1])(tensor(xs), tensor(ys));
      for (const h of [hxx, hxy, hyx, hyy]) expect(h.shape).toEqual([2]);
      // A parameter shared by the points would get a total in its row and per-point values in its column.
      const loss = (w: Tensor, x: Tensor) => sum(w.mul(x).sub(1).pow(2));
      expect(() => wg.hessian(loss, [0, 1])(tensor(0.5), tensor([1, 2, 3]))).toThrow(
        'hessian(f): the differentiated arguments must have one shape, but argument 0 has [] and argument 1 [3]',
      );
      // f's mistakes are named as hessian's.
      expect(() => wg.hessian((x: Tensor) => x.mul(x))(tensor([1, 2]))).toThrow(
        'hessian(f): f must return a scalar, but it returned shape [2]',
      );
    });
    it('valueAndGrad gives the value and the gradient', async () => {
      const { value: v, grad: g } = valueAndGrad((t: Tensor) => mul(t, t))(4);
      expect(await v.item()).toBe(16);
      expect(await g.item()).toBe(8);
      const r = valueAndGrad((a: Tensor, c: Tensor) => mul(a, c), [0, 1])(2, 5);
      expect(await r.value.item()).toBe(10);
      expect(await Promise.all(r.grad.map((t) => t.item()))).toEqual([5, 2]);
    });

    it('the same tensor passed twice gets each partial separately', async () => {
      const x = tensor(3, { requiresGrad: true });
      const gs = grad((a: Tensor, c: Tensor) => wg.add(mul(a, c), a), [0, 1])(x, x);
      expect(await gs[0]!.item()).toBe(4);
      expect(await gs[1]!.item()).toBe(3);
    });

    it.each([30, 2000])(
      'a deep graph with heavy reuse (%d levels) differentiates in linear size',
      async (n) => {
        const x = tensor(1.25, { requiresGrad: true });
        let h = x;
        for (let i = 0; i < n; i++) h = h.add(h).mul(0.5);
        h.backward();
        expect(await h.item()).toBe(1.25);
        expect(await x.grad!.item()).toBe(1);
        // Without sharing adjoints the gradient graph would have 2^n paths; linear means O(n) nodes.
        expect(topoSort([x.grad!.node]).length).toBeLessThanOrEqual(10 * n);
      },
    );

    const notebook: [string, (...xs: Tensor[]) => Tensor, number[]][] = [
      ['(x-2)^2', (x) => pow(wg.sub(x, 2), 2), [1]],
      ['1/(1+exp(-x))', (x) => wg.div(1, wg.add(1, exp(wg.neg(x)))), [2]],
      [
        'Q1',
        (a, c) =>
          wg.add(mul(2, wg.add(mul(2, a), mul(3, c))), mul(3, wg.add(mul(5, mul(a, a)), mul(3, pow(c, 3))))),
        [1, 2],
      ],
      ['Q2 relu', (w, c) => relu(wg.add(mul(w, 3), c)), [4, 5]],
      ['Q3 sigmoid', (w, c) => sigmoid(wg.add(mul(w, 5), c)), [1, 1]],
      ['Q4', (x) => exp(wg.sub(wg.sub(wg.neg(pow(x, 2)), mul(2, x)), sin(x))), [2]],
      ['Q5', poly, [2]],
      ['Q6', (x, y, z) => tanh(log(wg.add(1, wg.div(mul(z, mul(2, x)), sin(y))))), [1, 1, 1]],
    ];
    it.each(notebook)('checkGrads passes on %s (order 1 and 2)', async (_, f, at) => {
      const report = await checkGrads(f, at, { order: 2 });
      expect(report.ok).toBe(true);
      expect(report.rows.some((r) => r.order === 2)).toBe(true);
    });

    it('checkGrads throws with a readable table for a wrong gradient', async () => {
      // x·detach(x) has true derivative 2x, but its gradient graph only sees x.
      const f = (x: Tensor) => sum(mul(x, x.detach()));
      await expect(checkGrads(f, [[1, 2, 3]])).rejects.toThrow(/analytic\s+numeric[\s\S]*MISMATCH/);
    });

    it('checkGrads takes the values of captured tensors as they are, their history disposed', async () => {
      // A parameter updated step by step, the old one disposed once the new one is computed (see the README).
      let w = tensor([0.5, 1.5], { requiresGrad: true });
      sum(w.mul(w)).backward();
      const next = tensor(w.sub(w.grad!.mul(0.1)), { requiresGrad: true });
      await next.realize();
      w.dispose();
      w = next;
      const f = (x: Tensor) => sum(x.mul(w).mul(x));
      expect(Array.from(await grad(f)(tensor([1, 2])).data())).toEqual([Math.fround(0.8), Math.fround(4.8)]);
      expect((await checkGrads(f, [[1, 2]])).ok).toBe(true);
      const a = tensor([1, 2]);
      const c = exp(a);
      await c.realize();
      a.dispose();
      expect((await checkGrads((x: Tensor) => sum(x.mul(c)), [[1, 2]])).ok).toBe(true);
    });

    it("pow's masks hold for first derivatives, as PyTorch's: higher ones at a zero base meet 0^-1", async () => {
      const d3 = (f: (x: Tensor) => Tensor) => grad(grad(grad(f))) as (x: Tensor) => Tensor;
      expect(await d3((x) => wg.pow(x, tensor(1)))(tensor(0)).item()).toBeNaN();
      expect(await d3((x) => wg.pow(x, 1))(tensor(0)).item()).toBe(0);
      expect(await d3((x) => wg.pow(x, tensor(3)))(tensor(0)).item()).toBe(6);
    });
    it("checkGrads takes in the float32 gradient's own rounding, and refuses a check its differences cannot resolve", async () => {
      // A least-squares loss at its minimum: 1000 terms of about 6 cancel to a gradient of 0.003, which float32
      // computes 0.0075 off (as numpy's float32 does); the float64 evaluation of the same gradient measures it.
      const xs = wg.linspace(0, 10, 1000);
      const xv = Array.from(await xs.data());
      const yv = xv.map((x) => Math.fround(3 * x + 1 + Math.sin(7 * x)));
      const ys = tensor(yv);
      const n = xv.length;
      const [mx, my] = [xv, yv].map((v) => v.reduce((a, c) => a + c) / n) as [number, number];
      let [sxy, sxx] = [0, 0];
      for (let i = 0; i < n; i++)
        [sxy, sxx] = [sxy + (xv[i]! - mx) * (yv[i]! - my), sxx + (xv[i]! - mx) ** 2];
      const loss = (w: Tensor, c: Tensor) => sum(w.mul(xs).add(c).sub(ys).square());
      expect((await checkGrads(loss, [[sxy / sxx], [my - (sxy / sxx) * mx]])).ok).toBe(true);
      // A wrong gradient (tensor() cuts the history: d/dx x * x read as x) is as wrong in float64: caught.
      const cut = (x: Tensor) => sum(x.mul(tensor(x)));
      await expect(checkGrads(cut, [[1, 2, 3]])).rejects.toThrow(/MISMATCH/);
      // Next to 1e12, float64 differences cannot see the change at all: once a pass that checked nothing.
      await expect(checkGrads((x: Tensor) => cut(x).add(1e12), [[1, 2, 3]])).rejects.toThrow(
        /too large next to its change for float64 differences to resolve it/,
      );
      await expect(checkGrads(cut, [[1]], { seed: 1.5 })).rejects.toThrow(
        'checkGrads: seed must be an integer, got 1.5',
      );
    });
    it('checkGrads: an infinite derivative passes only where float32 overflowed, and hides no other', async () => {
      // exp'(89) = 4.5e38 is beyond float32: Infinity is its float32 value.
      expect((await checkGrads((x: Tensor) => sum(exp(x)), [[89]])).ok).toBe(true);
      // exp(x) - detach(exp(x)) has derivative 0, its gradient graph says exp(x): Infinity is wrong.
      const wrong = (x: Tensor) => sum(exp(x).sub(exp(x).detach()));
      await expect(checkGrads(wrong, [[89]])).rejects.toThrow(/MISMATCH/);
      // sqrt'(0) = Infinity in every random direction: the rest of the gradient is still checked there.
      const f = (x: Tensor, y: Tensor) => sum(sqrt(x)).add(sum(mul(y, y)));
      expect((await checkGrads(f, [[0], [3]], { perCoordinateMax: 0 })).ok).toBe(true);
      const g = (x: Tensor, y: Tensor) => sum(sqrt(x)).add(sum(mul(y, y.detach())));
      await expect(checkGrads(g, [[0], [3]], { perCoordinateMax: 0 })).rejects.toThrow(/MISMATCH/);
    });
  });
});
