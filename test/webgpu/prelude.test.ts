// Accuracy and special values of shaders/prelude.wgsl on a real WebGPU adapter, against float64.
// Every expression is the op table's own `wgsl` template over the prelude, and every reference its `cpu`
// formula, evaluated on the float32-rounded inputs.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPS, type OpName } from '../../src/ops/table.js';
import { testAdapter } from '../gpu.js';

const prelude = readFileSync(fileURLToPath(new URL('../../shaders/prelude.wgsl', import.meta.url)), 'utf8');

const f32 = Math.fround;
const FLT_MAX = 3.4028234663852886e38;
const MIN_NORMAL = 2 ** -126;

/** Deterministic generator (mulberry32), so that a failing point reproduces. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = rng(12345);
const uniform = (n: number, lo: number, hi: number): number[] =>
  Array.from({ length: n }, () => lo + (hi - lo) * rand());
/** n points with log10 uniform in [lo, hi] (both > 0). */
const logSpaced = (n: number, lo: number, hi: number): number[] =>
  Array.from({ length: n }, () => 10 ** (Math.log10(lo) + (Math.log10(hi) - Math.log10(lo)) * rand()));
const withSigns = (xs: number[]): number[] => xs.map((x) => (rand() < 0.5 ? -x : x));

/**
 * One function under test: the op (and its constant parameter), sample points and special points.
 * Sampled points pass when |gpu - ref| <= rtol |ref| + atol (plus 2^-126 where ref is subnormal, for
 * devices that flush subnormals); `exact` groups and all special points must match bit for bit
 * (NaN matching any NaN), except special points whose reference is not a float32, which take the tolerance.
 */
interface Group {
  label: string;
  op: OpName;
  p?: number;
  rtol: number;
  atol: number;
  exact?: boolean;
  a: number[];
  b?: number[];
  /** A third operand (where's second branch). */
  c?: number[];
  specials: [number, number, number?][];
}

const NaN32 = NaN;
const Inf = Infinity;

// pi/2 multiples are where sin/cos/tan lose the most to a poor reduction.
const nearPio2 = Array.from({ length: 20000 }, (_, k) => f32(((k + 1) * Math.PI) / 2)).flatMap((x) => [
  x,
  nextUp(x),
  nextDown(x),
]);
const trigPoints = [
  ...uniform(150000, -20, 20),
  ...uniform(100000, -1e4, 1e4),
  ...withSigns(logSpaced(30000, 1e4, 3e38)),
  ...withSigns(logSpaced(10000, 1e-30, 1)),
  ...withSigns(nearPio2),
];
const trigSpecials: [number, number][] = [NaN32, Inf, -Inf, 0, -0, 1e-30, -1e-30, FLT_MAX, -FLT_MAX].map(
  (x) => [x, 0],
);

const pairsWithTies = (n: number): [number[], number[]] => {
  const pick = () => (rand() < 0.5 ? Math.floor(rand() * 7 - 3) / 2 : (rand() - 0.5) * 100);
  const a = Array.from({ length: n }, pick);
  const b = a.map((v) => (rand() < 0.3 ? v : pick()));
  return [a, b];
};
const pairSpecials: [number, number][] = [
  [NaN32, 1],
  [1, NaN32],
  [NaN32, NaN32],
  [-Inf, NaN32],
  [-0, 0],
  [0, -0],
  [-0, -0],
  [Inf, -Inf],
  [-Inf, Inf],
  [Inf, Inf],
  [1, 1],
  [2, 1],
  [1, 2],
];

function powSamples(): [number[], number[]] {
  const a: number[] = [];
  const b: number[] = [];
  const add = (x: number, y: number) => void (a.push(x), b.push(y));
  for (let i = 0; i < 100000; i++) add(logSpaced(1, 1e-5, 1e5)[0]!, uniform(1, -8, 8)[0]!);
  for (let i = 0; i < 50000; i++) add(uniform(1, 0, 3)[0]!, uniform(1, -30, 30)[0]!);
  // Negative bases with integer exponents: signed results.
  for (let i = 0; i < 20000; i++) add(uniform(1, -10, -0.1)[0]!, Math.round(uniform(1, -20, 20)[0]!));
  // Bases near 1 with huge exponents: the product y ln x must not lose the low bits of ln x.
  for (let i = 0; i < 10000; i++) add(uniform(1, 0.999, 1.001)[0]!, uniform(1, -1e5, 1e5)[0]!);
  // Bases near sqrt(2) 2^k and sqrt(1/2) 2^k, where ln a's series term is largest against its high part, with
  // |b ln a| from 60 to the edge of the float32 range (the pair was once left unnormalised there: 3000 ulp
  // off, and +Inf for 1.42^252 = 2.38e38).
  for (let i = 0; i < 20000; i++) {
    const x =
      (rand() < 0.5 ? Math.SQRT2 : Math.SQRT1_2) *
      2 ** Math.round(uniform(1, -4, 4)[0]!) *
      (1 + uniform(1, -0.02, 0.02)[0]!);
    const z = uniform(1, 60, 88.7)[0]! * (rand() < 0.5 ? 1 : -1);
    if (Math.abs(Math.log(x)) > 1e-3) add(x, z / Math.log(x));
  }
  add(1.42, 252);
  add(1.42, 252.5);
  add(0.70581168, -251.23228);
  return [a, b];
}
const powSpecialA = [NaN32, -Inf, -2, -1, -0.5, -0, 0, 0.5, 1, 2, Inf, 1e-40, -3];
const powSpecialB = [
  NaN32,
  -Inf,
  -3,
  -2,
  -1.5,
  -1,
  -0.5,
  -0,
  0,
  0.5,
  1,
  1.5,
  2,
  3,
  Inf,
  1e30,
  -1e30,
  16777218,
  1e-30,
];
const powSpecials: [number, number][] = powSpecialA.flatMap((x) =>
  powSpecialB.map((y): [number, number] => [x, y]),
);

/** A condition (0 and 1 mostly, and other values) and two branches with special values among them. */
function whereSamples(n: number): { a: number[]; b: number[]; c: number[] } {
  const conds = [0, -0, 1, 1, 0, -2.5, NaN32, 1e-30];
  const vals = [NaN32, Inf, -Inf, -0, 0];
  const branch = () => (rand() < 0.2 ? vals[Math.floor(rand() * vals.length)]! : (rand() - 0.5) * 100);
  return {
    a: Array.from({ length: n }, () => conds[Math.floor(rand() * conds.length)]!),
    b: Array.from({ length: n }, branch),
    c: Array.from({ length: n }, branch),
  };
}

function groups(): Group[] {
  const [mxA, mxB] = pairsWithTies(20000);
  const [powA, powB] = powSamples();
  const xlogyA = [...uniform(50000, -10, 10), ...new Array<number>(1000).fill(0)];
  const xlogyB = [...logSpaced(50000, 1e-10, 1e10), ...logSpaced(1000, 1e-10, 1e10)];
  const steps = [...uniform(5000, -10, 10), ...uniform(100, -1e-30, 1e-30)];
  const powiX = [...uniform(20000, -3, 3), ...uniform(5000, -20, 20)];
  const powiSpecials: [number, number][] = [
    NaN32,
    Inf,
    -Inf,
    0,
    -0,
    1,
    -1,
    2,
    -2,
    0.5,
    -0.5,
    1e5,
    -1e5,
    1e-30,
  ].map((x) => [x, 0]);
  return [
    {
      label: 'exp',
      op: 'exp',
      rtol: 2.4e-7,
      atol: 0,
      a: [...uniform(200000, -100, 100), ...uniform(50000, -1, 1), ...uniform(5000, -1e-6, 1e-6)],
      specials: [NaN32, Inf, -Inf, 0, -0, 89, 100, 1e30, FLT_MAX, -104, -200, -1e30, -FLT_MAX].map((x) => [
        x,
        0,
      ]),
    },
    {
      label: 'log',
      op: 'log',
      rtol: 2.4e-7,
      atol: 0,
      a: [...logSpaced(200000, 1e-30, 1e30), ...uniform(50000, 0.5, 2), ...uniform(5000, 1 - 1e-4, 1 + 1e-4)],
      specials: [NaN32, 0, -0, -1, -1e-30, -Inf, Inf, 1, FLT_MAX].map((x) => [x, 0]),
    },
    ...(['log2', 'log10'] as const).map((op): Group => ({
      label: op,
      op,
      rtol: 1.2e-7,
      atol: 0,
      a: [...logSpaced(200000, 1e-38, 3e38), ...uniform(50000, 0.5, 2), ...logSpaced(10000, 1e-45, 1e-38)],
      // Powers of the base: their logarithms are floats, and must come out exact.
      specials: [
        NaN32,
        0,
        -0,
        -1,
        -Inf,
        Inf,
        1,
        FLT_MAX,
        ...Array.from({ length: 77 }, (_, k) => f32((op === 'log2' ? 2 : 10) ** (k - 38))),
      ].map((x) => [x, 0]),
    })),
    {
      label: 'exp2',
      op: 'exp2',
      rtol: 2.4e-7,
      atol: 0,
      // Results from the subnormal range (as exp's) to beyond overflow.
      a: [...uniform(200000, -150, 140), ...uniform(50000, -1, 1), ...uniform(5000, -1e-6, 1e-6)],
      specials: [
        NaN32,
        Inf,
        -Inf,
        0,
        -0,
        1,
        -1,
        127,
        128,
        127.99999,
        -126,
        -150,
        -200,
        1e30,
        -1e30,
        FLT_MAX,
      ].map((x) => [x, 0]),
    },
    {
      label: 'log1p',
      op: 'log1p',
      rtol: 4.8e-7,
      atol: 0,
      a: [
        ...uniform(100000, -1, 10),
        ...logSpaced(100000, 1e-30, 1e30),
        ...uniform(50000, -0.3, 0.42),
        ...uniform(5000, -1e-6, 1e-6),
      ],
      specials: [NaN32, 0, -0, -1, -1 - 1e-7, -2, -Inf, Inf, 1e-30, -1e-30, FLT_MAX].map((x) => [x, 0]),
    },
    {
      label: 'expm1',
      op: 'expm1',
      rtol: 4.8e-7,
      atol: 0,
      a: [...uniform(200000, -100, 100), ...uniform(50000, -1, 1), ...uniform(5000, -1e-6, 1e-6)],
      specials: [NaN32, Inf, -Inf, 0, -0, 89, 100, FLT_MAX, -104, -FLT_MAX, 1e-30, -1e-30].map((x) => [x, 0]),
    },
    {
      label: 'erf',
      op: 'erf',
      rtol: 2.4e-7,
      atol: 0,
      a: [
        ...uniform(100000, -5, 5),
        ...withSigns(logSpaced(50000, 1e-30, 1e30)),
        ...withSigns(uniform(10000, 0.999, 1.001)),
        ...withSigns(uniform(10000, 3.99, 4.01)),
      ],
      specials: [NaN32, Inf, -Inf, 0, -0, 1, -1, 4, -4, 1e-30, FLT_MAX].map((x) => [x, 0]),
    },
    { label: 'sin', op: 'sin', rtol: 2.4e-7, atol: 1e-12, a: trigPoints, specials: trigSpecials },
    { label: 'cos', op: 'cos', rtol: 2.4e-7, atol: 1e-12, a: trigPoints, specials: trigSpecials },
    { label: 'tan', op: 'tan', rtol: 3.6e-7, atol: 1e-12, a: trigPoints, specials: trigSpecials },
    {
      label: 'tanh',
      op: 'tanh',
      rtol: 2.4e-7,
      atol: 0,
      a: [
        ...uniform(150000, -10, 10),
        ...uniform(50000, -1, 1),
        ...uniform(10000, -1e-3, 1e-3),
        ...uniform(10000, -50, 50),
      ],
      specials: [NaN32, Inf, -Inf, 0, -0, 50, -50, 20, -20, 10, -10, 1e-30, -1e-30].map((x) => [x, 0]),
    },
    {
      label: 'sigmoid',
      op: 'sigmoid',
      rtol: 3e-7,
      atol: 0,
      a: [...uniform(200000, -100, 100), ...uniform(50000, -20, 20)],
      specials: [NaN32, Inf, -Inf, 0, -0, 100, 200, -200, -1e30].map((x) => [x, 0]),
    },
    {
      label: 'softplus',
      op: 'softplus',
      rtol: 3.6e-7,
      atol: 0,
      a: [
        ...uniform(200000, -100, 100),
        ...uniform(50000, -20, 20),
        ...withSigns(logSpaced(20000, 1e-30, 1e30)),
      ],
      specials: [NaN32, Inf, -Inf, 0, -0, 100, -100, 89, -104, FLT_MAX, -FLT_MAX, 1e-30].map((x) => [x, 0]),
    },
    {
      label: 'dtanh',
      op: 'dtanh',
      rtol: 4.8e-7,
      atol: 0,
      a: [...uniform(200000, -50, 50), ...uniform(50000, -10, 10), ...uniform(10000, -1e-3, 1e-3)],
      specials: [NaN32, Inf, -Inf, 0, -0, 50, -50, 100, -1e30].map((x) => [x, 0]),
    },
    {
      label: 'dsigmoid',
      op: 'dsigmoid',
      rtol: 4.8e-7,
      atol: 0,
      a: [...uniform(200000, -100, 100), ...uniform(50000, -20, 20)],
      specials: [NaN32, Inf, -Inf, 0, -0, 100, 200, -200, -1e30].map((x) => [x, 0]),
    },
    {
      label: 'atan',
      op: 'atan',
      rtol: 2.4e-7,
      atol: 0,
      a: [
        ...uniform(100000, -5, 5),
        ...withSigns(logSpaced(100000, 1e-30, 3e38)),
        // Both sides of the reduction's switch points, tan(pi/8) and tan(3pi/8).
        ...[0.41421357, 2.4142137].flatMap((v) => uniform(5000, v * (1 - 1e-4), v * (1 + 1e-4))),
      ],
      specials: [NaN32, Inf, -Inf, 0, -0, 1, -1, 1e-30, -1e-30, FLT_MAX, -FLT_MAX].map((x) => [x, 0]),
    },
    {
      label: 'atan2',
      op: 'atan2',
      rtol: 2.4e-7,
      atol: 0,
      a: [...uniform(100000, -10, 10), ...withSigns(logSpaced(50000, 1e-30, 3e38))],
      b: [...uniform(100000, -10, 10), ...withSigns(logSpaced(50000, 1e-30, 3e38))],
      specials: [NaN32, Inf, -Inf, 0, -0, 1, -1, 1e-30, FLT_MAX].flatMap((y) =>
        [NaN32, Inf, -Inf, 0, -0, 1, -1, 1e-30, FLT_MAX].map((x): [number, number] => [y, x]),
      ),
    },
    ...(['asin', 'acos'] as const).map((op): Group => ({
      label: op,
      op,
      rtol: 2.4e-7,
      atol: 0,
      a: [
        ...uniform(100000, -1, 1),
        ...withSigns(logSpaced(50000, 1e-30, 1)),
        ...withSigns(uniform(20000, 0.499, 0.501)),
        ...withSigns(uniform(20000, 1 - 1e-4, 1)),
      ],
      specials: [NaN32, Inf, -Inf, 0, -0, 1, -1, 0.5, -0.5, 1.0000001, -1.0000001, 2, 1e-30].map((x) => [
        x,
        0,
      ]),
    })),
    ...(['sinh', 'cosh'] as const).map((op): Group => ({
      label: op,
      op,
      rtol: 3.6e-7,
      atol: 0,
      a: [
        ...uniform(100000, -95, 95),
        ...uniform(50000, -2, 2),
        ...withSigns(logSpaced(50000, 1e-30, 1)),
        ...withSigns(uniform(10000, 19.99, 20.01)),
        ...withSigns(uniform(10000, 88, 89.5)),
      ],
      specials: [NaN32, Inf, -Inf, 0, -0, 20, -20, 89.4, 89.5, 100, FLT_MAX, -FLT_MAX, 1e-30, -1e-30].map(
        (x) => [x, 0],
      ),
    })),
    {
      label: 'asinh',
      op: 'asinh',
      rtol: 3.6e-7,
      atol: 0,
      a: [
        ...uniform(100000, -10, 10),
        ...withSigns(logSpaced(100000, 1e-30, 3e38)),
        ...withSigns(uniform(10000, 4095, 4097)),
        ...withSigns(uniform(10000, 2 ** -12 * 0.99, 2 ** -12 * 1.01)),
      ],
      specials: [NaN32, Inf, -Inf, 0, -0, 1e-30, -1e-30, 4096, -4096, FLT_MAX, -FLT_MAX].map((x) => [x, 0]),
    },
    {
      label: 'acosh',
      op: 'acosh',
      rtol: 3.6e-7,
      atol: 0,
      a: [
        ...uniform(100000, 1, 10),
        ...logSpaced(100000, 1, 3e38),
        ...uniform(20000, 1, 1 + 1e-3),
        ...uniform(10000, 4095, 4097),
      ],
      specials: [NaN32, Inf, -Inf, 0, -0, 1, 0.9999999, -1, 4096, FLT_MAX, 1.0000001].map((x) => [x, 0]),
    },
    {
      label: 'atanh',
      op: 'atanh',
      rtol: 3.6e-7,
      atol: 0,
      a: [
        ...uniform(100000, -1, 1),
        ...withSigns(logSpaced(50000, 1e-30, 1)),
        ...withSigns(uniform(20000, 1 - 1e-4, 1)),
        ...withSigns(uniform(20000, 0.499, 0.501)),
        ...withSigns(uniform(10000, 2 ** -12 * 0.99, 2 ** -12 * 1.01)),
      ],
      specials: [NaN32, Inf, -Inf, 0, -0, 1, -1, 0.5, 1.0000001, -2, 1e-30, -1e-30].map((x) => [x, 0]),
    },
    {
      label: 'sqrt',
      op: 'sqrt',
      rtol: 6e-8,
      atol: 0,
      a: [...logSpaced(200000, 1e-38, 3e38), ...uniform(20000, 0, 4)],
      specials: [NaN32, -1, -Inf, -1e-30, 0, -0, Inf, 4, 1, 0.25, FLT_MAX].map((x) => [x, 0]),
    },
    {
      label: 'relu',
      op: 'relu',
      rtol: 0,
      atol: 0,
      exact: true,
      a: steps,
      specials: [NaN32, 0, -0, -Inf, Inf, -1, 2].map((x) => [x, 0]),
    },
    ...(['floor', 'ceil', 'round', 'trunc'] as const).map((op): Group => ({
      label: op,
      op,
      rtol: 0,
      atol: 0,
      exact: true,
      a: [...uniform(20000, -10, 10), ...Array.from({ length: 41 }, (_, k) => (k - 20) / 2)],
      specials: [
        NaN32,
        Inf,
        -Inf,
        0,
        -0,
        0.5,
        -0.5,
        1.5,
        -1.5,
        2.5,
        -2.5,
        -0.4,
        16777217,
        8388609.5,
        FLT_MAX,
      ].map((x) => [x, 0]),
    })),
    {
      label: 'step',
      op: 'step',
      rtol: 0,
      atol: 0,
      exact: true,
      a: steps,
      specials: [NaN32, 0, -0, -Inf, Inf, -1, 1].map((x) => [x, 0]),
    },
    {
      label: 'sign',
      op: 'sign',
      rtol: 0,
      atol: 0,
      exact: true,
      a: steps,
      specials: [NaN32, 0, -0, -Inf, Inf, -5, 5].map((x) => [x, 0]),
    },
    // The exact ops of two operands: choices, masks and comparisons, on pairs with ties and special values.
    ...(
      [
        'maximum',
        'minimum',
        'clampmin',
        'clampmax',
        'tiehalf',
        'atleast',
        'lt',
        'le',
        'gt',
        'ge',
        'eq',
        'ne',
      ] as const
    ).map((op): Group => ({
      label: op,
      op,
      rtol: 0,
      atol: 0,
      exact: true,
      a: mxA,
      b: mxB,
      specials: pairSpecials,
    })),
    {
      label: 'where',
      op: 'where',
      rtol: 0,
      atol: 0,
      exact: true,
      ...whereSamples(20000),
      // The condition by its bits: -0 is 0, NaN and subnormals are nonzero; the branches as they are.
      specials: [0, -0, 1, -1, NaN32, Inf, 1e-40, -1e-40].flatMap((m) =>
        [
          [-0, 2],
          [NaN32, Inf],
          [-Inf, -0],
        ].map(([a, b]): [number, number, number] => [m, a!, b!]),
      ),
    },
    {
      label: 'xlogy',
      op: 'xlogy',
      rtol: 3e-7,
      atol: 0,
      a: xlogyA,
      b: xlogyB,
      specials: [
        [0, NaN32],
        [0, 0],
        [0, -1],
        [0, Inf],
        [-0, 2],
        [NaN32, 1],
        [NaN32, 0],
        [1, 0],
        [-1, 0],
        [2, 0],
        [Inf, 0],
        [-Inf, -0],
        [2, -1],
        [1, 1],
        [Inf, 1],
        [1, Inf],
        [-2, Inf],
      ],
    },
    { label: 'pow', op: 'pow', rtol: 2.4e-7, atol: 0, a: powA, b: powB, specials: powSpecials },
    {
      label: 'omsq',
      op: 'omsq',
      // Within an ulp, near ±1 too, where 1 - a * a loses a^2's rounding.
      rtol: 1.2e-7,
      atol: 0,
      a: [
        ...uniform(100000, -2, 2),
        ...withSigns(uniform(50000, 1 - 1e-3, 1 + 1e-3)),
        ...withSigns(logSpaced(20000, 1e-30, 1e15)),
      ],
      specials: [NaN32, Inf, -Inf, 0, -0, 1, -1, FLT_MAX].map((x) => [x, 0]),
    },
    {
      label: 'mulz',
      op: 'mulz',
      // A product of float32s, rounded once (half an ulp).
      rtol: 6e-8,
      atol: 0,
      a: mxA,
      b: mxB,
      specials: [...pairSpecials, [0, Inf], [-0, -Inf], [0, NaN32], [-0, 3], [Inf, 0], [NaN32, 0], [2, Inf]],
    },
    ...[9, 12, 17, 30, -9].map((p): Group => ({
      label: `powi ${p}`,
      op: 'powi',
      p,
      rtol: 1.2e-7,
      atol: 0,
      a: powiX,
      specials: powiSpecials,
    })),
    // Long squarings, near 1 where the power stays a float: the pair once grew unnormalised (x^262145 130 ulp
    // off).
    ...[65537, 262145].map((p): Group => ({
      label: `powi ${p}`,
      op: 'powi',
      p,
      rtol: 1.2e-7,
      atol: 0,
      a: [...uniform(5000, 0.99966, 1.00034), 1.0001, 1.0011637],
      specials: powiSpecials,
    })),
    // Negative powers whose product x^|p| is below float32's normal range (flushed to 0 by a device)
    // while its reciprocal is a float: 1.6e-5 ** -8 = 2.3e38 (once +Inf).
    ...(
      [
        [-8, 1.3e-5, 2e-5],
        [-2, 5e-20, 1.2e-19],
        [-9, 5e-5, 7e-5],
      ] as const
    ).map(([p, lo, hi]): Group => ({
      label: `powi ${p} near the top of the range`,
      op: 'powi',
      p,
      rtol: 1.2e-7,
      atol: 0,
      a: [...logSpaced(3000, lo, hi), ...logSpaced(1000, lo, hi).map((v) => -v)],
      specials: powiSpecials,
    })),
  ];
}

function nextUp(x: number): number {
  const b = new Float32Array([x]);
  const u = new Uint32Array(b.buffer);
  u[0] = x >= 0 ? u[0]! + 1 : u[0]! - 1;
  return b[0]!;
}
function nextDown(x: number): number {
  return -nextUp(-x);
}

const TINY = 2 ** -100;

/** x, or a zero of its sign where x is subnormal (what a flushing device reads). */
const flush = (x: number): number => (x !== 0 && Math.abs(x) < MIN_NORMAL ? (x < 0 ? -0 : 0) : x);

/** Same float32, NaN matching any NaN and -0 distinct from 0. */
const sameF32 = (g: number, r: number): boolean => (Number.isNaN(r) ? Number.isNaN(g) : Object.is(g, r));

/** Units in the last place of a float32 of magnitude |v| (subnormal spacing below 2^-126). */
function ulp(v: number): number {
  const a = Math.abs(v);
  if (a < MIN_NORMAL) return 2 ** -149;
  return 2 ** (Math.floor(Math.log2(a)) - 23);
}

interface Stats {
  points: number;
  maxUlp: number;
  maxRel: number;
  maxAbs: number;
  failures: string[];
}

function check(
  g: Group,
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  out: Float32Array,
  start: number,
  nSample: number,
): Stats {
  const row = OPS[g.op];
  const st: Stats = { points: 0, maxUlp: 0, maxRel: 0, maxAbs: 0, failures: [] };
  const total = nSample + g.specials.length;
  for (let i = 0; i < total; i++) {
    const x = a[start + i]!;
    const y = b[start + i]!;
    const z = c[start + i]!;
    const got = out[start + i]!;
    const ref = row.cpu(x, y, g.p ?? 0, z);
    const refF = f32(ref);
    const special = i >= nSample;
    st.points++;
    // WGSL lets a device flush subnormal operands to zero (SwiftShader does): then the answer for the
    // flushed operands is right too.
    const flushed = row.cpu(flush(x), flush(y), g.p ?? 0, flush(z));
    if (
      (flush(x) !== x || flush(y) !== y || flush(z) !== z) &&
      (sameF32(got, f32(flushed)) || Math.abs(got - flushed) <= g.rtol * Math.abs(flushed) + MIN_NORMAL)
    ) {
      continue;
    }
    let ok: boolean;
    if (g.exact || Number.isNaN(ref) || !Number.isFinite(refF) || (special && refF === ref)) {
      // Where the float64 result overflows float32, +-Inf is the right answer (FLT_MAX too when it is
      // within the tolerance).
      ok = sameF32(got, refF) || (!Number.isFinite(refF) && Math.abs(got - ref) <= g.rtol * Math.abs(ref));
    } else {
      const err = Math.abs(got - ref);
      const sub = Math.abs(ref) < MIN_NORMAL ? MIN_NORMAL : 0;
      // powi multiplies double-float pairs; where a power falls below 2^-100 (or a negative power's
      // reciprocal comes from one) the low halves would be subnormal and are dropped, leaving plain
      // float32 products: one rounding per multiplication, up to 2 log2|p| of them.
      const tiny = g.op === 'powi' && (Math.abs(ref) < TINY || Math.abs(ref) > 1 / TINY);
      const rtol = tiny ? Math.max(g.rtol, 2 * Math.log2(Math.abs(g.p!)) * 1.2e-7) : g.rtol;
      ok = err <= rtol * Math.abs(ref) + g.atol + sub;
      if (Number.isFinite(err)) {
        st.maxAbs = Math.max(st.maxAbs, err);
        if (Math.abs(ref) >= MIN_NORMAL) {
          st.maxUlp = Math.max(st.maxUlp, err / ulp(refF));
          st.maxRel = Math.max(st.maxRel, err / Math.abs(ref));
        }
      }
    }
    if (!ok && st.failures.length < 8) {
      st.failures.push(
        `${g.label}(${x}${g.b || special ? `, ${y}` : ''}${g.c ? `, ${z}` : ''}) = ${got}, want ${ref}`,
      );
    }
    if (!ok && st.failures.length >= 8) st.failures.length = 8;
  }
  return st;
}

const adapter = await testAdapter();

describe('prelude.wgsl declarations', () => {
  it('defines every wg_* helper the table templates call', () => {
    const used = new Set<string>();
    for (const row of Object.values(OPS)) {
      for (const p of [0, 2, 9, -9])
        for (const m of row.wgsl('a', 'b', p, 'c').matchAll(/\bwg_\w+/g)) used.add(m[0]);
    }
    expect(used.size).toBeGreaterThan(10);
    for (const name of used) expect(prelude, name).toMatch(new RegExp(`\\bfn ${name}\\(`));
  });

  it('is self-contained: no bindings or entry points, and every top-level name starts with wg_', () => {
    expect(prelude).not.toMatch(/@(group|binding|compute|vertex|fragment)\b/);
    const names = [...prelude.matchAll(/^(?:fn|const|var(?:<\w+>)?|struct|alias|override)\s+(\w+)/gm)].map(
      (m) => m[1]!,
    );
    expect(names.length).toBeGreaterThan(20);
    for (const n of names) expect(n, n).toMatch(/^wg_/);
  });
});

describe.skipIf(!adapter)('prelude.wgsl on WebGPU', () => {
  let device: GPUDevice;
  beforeAll(async () => {
    device = await adapter!.requestDevice();
  });
  afterAll(() => device?.destroy());

  it('matches float64 to float32 accuracy and gets every special value bit-exact', async () => {
    const gs = groups();
    const starts: number[] = [];
    let n = 0;
    for (const g of gs) {
      starts.push(n);
      n += g.a.length + g.specials.length;
    }
    const a = new Float32Array(n);
    const b = new Float32Array(n);
    const c = new Float32Array(n);
    const sel = new Uint32Array(n);
    gs.forEach((g, gi) => {
      const s = starts[gi]!;
      const xs = [...g.a, ...g.specials.map(([x]) => x)];
      const ys = [...(g.b ?? new Array<number>(g.a.length).fill(0)), ...g.specials.map(([, y]) => y)];
      const zs = [...(g.c ?? new Array<number>(g.a.length).fill(0)), ...g.specials.map(([, , z]) => z ?? 0)];
      a.set(xs, s);
      b.set(ys, s);
      c.set(zs, s);
      sel.fill(gi, s, s + xs.length);
    });

    // The table's own templates over operands named like the generated kernels' locals (`v3`, `v4`,
    // `v5`), so `wg_powi(v3, 9)` is compiled exactly as a kernel would write it.
    const cases = gs
      .map((g, gi) => `    case ${gi}u: { r = ${OPS[g.op].wgsl('v3', 'v4', g.p ?? 0, 'v5')}; }`)
      .join('\n');
    const code = `${prelude}
@group(0) @binding(0) var<storage, read> xa: array<f32>;
@group(0) @binding(1) var<storage, read> xb: array<f32>;
@group(0) @binding(2) var<storage, read> sel: array<u32>;
@group(0) @binding(3) var<storage, read_write> res: array<f32>;
@group(0) @binding(4) var<storage, read> xc: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= arrayLength(&res)) {
    return;
  }
  let v3 = xa[i];
  let v4 = xb[i];
  let v5 = xc[i];
  var r: f32;
  switch sel[i] {
${cases}
    default: { r = 0.0; }
  }
  res[i] = r;
}
`;
    device.pushErrorScope('validation');
    const module = device.createShaderModule({ code });
    const info = await module.getCompilationInfo();
    const messages = info.messages.map((m) => `${m.type} ${m.lineNum}:${m.linePos} ${m.message}`);
    if (info.messages.some((m) => m.type === 'error')) {
      console.error(messages.join('\n'));
      throw new Error(`prelude.wgsl does not compile:\n${messages.join('\n')}`);
    }
    const pipeline = device.createComputePipeline({
      layout: 'auto',
      compute: { module, entryPoint: 'main' },
    });
    const err = await device.popErrorScope();
    if (err) throw new Error(`pipeline: ${err.message}\n${messages.join('\n')}`);

    const upload = (data: ArrayBufferView & { byteLength: number }): GPUBuffer => {
      const buf = device.createBuffer({
        size: data.byteLength,
        usage: GPUBufferUsage.STORAGE,
        mappedAtCreation: true,
      });
      new Uint8Array(buf.getMappedRange()).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      buf.unmap();
      return buf;
    };
    const bufA = upload(a);
    const bufB = upload(b);
    const bufC = upload(c);
    const bufSel = upload(sel);
    const bufOut = device.createBuffer({
      size: n * 4,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
    });
    const staging = device.createBuffer({
      size: n * 4,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    const bind = device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [bufA, bufB, bufSel, bufOut, bufC].map((buffer, binding) => ({
        binding,
        resource: { buffer },
      })),
    });
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bind);
    const groupsNeeded = Math.ceil(n / 256);
    expect(groupsNeeded).toBeLessThanOrEqual(device.limits.maxComputeWorkgroupsPerDimension);
    pass.dispatchWorkgroups(groupsNeeded);
    pass.end();
    enc.copyBufferToBuffer(bufOut, 0, staging, 0, n * 4);
    device.queue.submit([enc.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const out = new Float32Array(staging.getMappedRange().slice(0));
    staging.unmap();
    for (const buf of [bufA, bufB, bufC, bufSel, bufOut, staging]) buf.destroy();

    const table: Record<
      string,
      { points: number; ulp: string; rel: string; abs: string; rtol: number; atol: number }
    > = {};
    const failures: string[] = [];
    gs.forEach((g, gi) => {
      const st = check(g, a, b, c, out, starts[gi]!, g.a.length);
      table[g.label] = {
        points: st.points,
        ulp: st.maxUlp.toFixed(2),
        rel: st.maxRel.toExponential(2),
        abs: st.maxAbs.toExponential(2),
        rtol: g.rtol,
        atol: g.atol,
      };
      failures.push(...st.failures);
      if (g.op === 'sigmoid') {
        // The lower tail must stay a (possibly flushed) non-negative number.
        const s = starts[gi]!;
        for (let i = 0; i < g.a.length; i++)
          if (!(out[s + i]! >= 0)) failures.push(`sigmoid(${a[s + i]}) = ${out[s + i]}`);
      }
    });
    console.log(`worst errors against float64 on ${adapter!.info.description || adapter!.info.vendor}:`);
    console.table(table);
    expect(failures).toEqual([]);
  });
});
