/** checkGrads: autodiff gradients against float64 central differences, in random directions and per coordinate. */
import { CpuBackend } from './backend/cpu.js';
import { add, mul, sum } from './api.js';
import { Tensor, tensor, tensorF64, type TensorData } from './tensor.js';
import { grad } from './transforms.js';
import { activeBackend, withoutHints } from './schedule/scheduler.js';
import { storageNode } from './schedule/fuse.js';
import { topoSort, type Node } from './graph/node.js';
import { checkOptions, optionNames, written } from './options.js';

/** Options of `checkGrads`. */
export interface CheckOptions {
  /** Highest derivative order to check (default 1; 2 also checks the gradient of the gradient). */
  order?: number;
  /** Step of the central differences (default 1e-6; they are taken in float64). */
  eps?: number;
  /** Relative tolerance, against the size of the terms of each directional derivative (default 1e-3, float32-aware). */
  rtol?: number;
  /** Absolute tolerance (default 1e-5). */
  atol?: number;
  /** Random directions per order (default 3). */
  directions?: number;
  /** Check every coordinate separately when the inputs have at most this many elements in all (default 32). */
  perCoordinateMax?: number;
  /** Seed of the random directions (default 1), so a failure can be reproduced. */
  seed?: number;
}

/** One comparison of the check. */
export interface CheckRow {
  order: number;
  /** 'direction k' or 'input i[j]'. */
  what: string;
  analytic: number;
  numeric: number;
  error: number;
  tolerance: number;
  ok: boolean;
  /** Why the row fails though its error is within the tolerance (the check could not resolve it). */
  note?: string;
}

/** What `checkGrads` compared; it throws instead of returning when any row fails. */
export interface CheckReport {
  ok: boolean;
  rows: CheckRow[];
  /** Largest error / tolerance over all rows (≤ 1 passes). */
  worst: number;
}

type Fn = (...xs: Tensor[]) => Tensor;

// The largest finite float32.
const FLOAT32_MAX = 3.4028234663852886e38;

const CHECK_OPTIONS = optionNames<CheckOptions>({
  order: true,
  eps: true,
  rtol: true,
  atol: true,
  directions: true,
  perCoordinateMax: true,
  seed: true,
});

/** Checks the gradients (and, with `order`, higher derivatives) of scalar `f` at `inputs`. */
export async function checkGrads(
  f: Fn,
  inputs: readonly (Tensor | TensorData)[],
  opts: CheckOptions = {},
): Promise<CheckReport> {
  checkOptions('checkGrads', opts, CHECK_OPTIONS);
  const o = {
    order: opts.order ?? 1,
    eps: opts.eps ?? 1e-6,
    rtol: opts.rtol ?? 1e-3,
    atol: opts.atol ?? 1e-5,
    directions: opts.directions ?? 3,
    perCoordinateMax: opts.perCoordinateMax ?? 32,
  };
  if (typeof f !== 'function') throw new Error(`checkGrads: f must be a function, got ${typeof f}`);
  if (!Number.isInteger(o.order) || o.order < 1)
    throw new Error(`checkGrads: order must be a positive integer, got ${o.order}`);
  if (!(o.eps > 0 && Number.isFinite(o.eps)))
    throw new Error(`checkGrads: eps must be a positive number, got ${o.eps}`);
  for (const k of ['rtol', 'atol'] as const)
    if (!(o[k] >= 0 && Number.isFinite(o[k])))
      throw new Error(`checkGrads: ${k} must be a number >= 0, got ${o[k]}`);
  for (const k of ['directions', 'perCoordinateMax'] as const)
    if (!(Number.isInteger(o[k]) && o[k] >= 0))
      throw new Error(`checkGrads: ${k} must be an integer >= 0, got ${o[k]}`);
  if (opts.seed !== undefined && !Number.isSafeInteger(opts.seed))
    throw new Error(`checkGrads: seed must be an integer, got ${written(opts.seed)}`);
  // A bare number or tensor (checkGrads(f, 3)) is the one argument it stands for, said as such rather than
  // failing inside on an array method.
  if (!Array.isArray(inputs))
    throw new Error(
      `checkGrads: inputs must be an array of f's arguments (checkGrads(f, [x]) for f(x)), got ${written(inputs)}`,
    );
  if (inputs.length === 0) throw new Error('checkGrads: no inputs');
  const xs = inputs.map((v) => (v instanceof Tensor ? v : tensor(v)));
  const size = xs.reduce((n, x) => n + x.size, 0);
  if (o.directions === 0 && size > o.perCoordinateMax)
    throw new Error(
      `checkGrads: nothing to check: directions is 0 and the inputs have ${size} elements, more than perCoordinateMax (${o.perCoordinateMax})`,
    );
  const out = withoutHints(() => f(...xs));
  if (!(out instanceof Tensor) || out.size !== 1)
    throw new Error(
      `checkGrads: f must return a scalar Tensor, got ${out instanceof Tensor ? `shape [${out.shape.join(', ')}]` : typeof out}`,
    );
  const rand = mulberry32(opts.seed ?? 1);
  const rows: CheckRow[] = [];
  let g: Fn = f;
  for (let order = 1; order <= o.order; order++) {
    rows.push(...(await checkFirstOrder(g, xs, order, o, rand)));
    if (order < o.order) g = projectGrad(g, xs, rand);
  }
  const worst = Math.max(
    ...rows.map((r) => (r.tolerance > 0 ? r.error / r.tolerance : r.error > 0 ? Infinity : 0)),
  );
  const report = { ok: rows.every((r) => r.ok), rows, worst };
  if (!report.ok)
    throw new Error(`checkGrads: gradients do not match finite differences\n${formatRows(rows)}`);
  return report;
}

/** x ↦ Σ_i <grad_i f(x), u_i> for fixed random u: its gradient holds f's second derivatives. */
function projectGrad(f: Fn, xs: readonly Tensor[], rand: () => number): Fn {
  const us = xs.map((x) => tensor(gaussian(x.size, rand), { shape: x.shape }));
  const all = xs.map((_, i) => i);
  return (...ts) => {
    const gs = grad(f, all)(...ts);
    return gs.map((gi, i) => sum(mul(gi, us[i]!))).reduce((a, b) => add(a, b));
  };
}

async function checkFirstOrder(
  f: Fn,
  xs: readonly Tensor[],
  order: number,
  o: { eps: number; rtol: number; atol: number; directions: number; perCoordinateMax: number },
  rand: () => number,
): Promise<CheckRow[]> {
  const all = xs.map((_, i) => i);
  const analytic = await Promise.all(grad(f, all)(...xs).map((t) => t.data()));
  const base = await Promise.all(xs.map(async (x) => Float64Array.from(await x.data())));
  const cpu = new CpuBackend();
  // The float64 graph is built right here: hints would have the active backend compute it too.
  const build = (vals: readonly Float64Array[]): Node =>
    withoutHints(() => f(...vals.map((v, i) => tensorF64(v, xs[i]!.shape)))).node;
  const given = await capturedValues(build(base));
  const F = (vals: readonly Float64Array[]): number => cpu.evaluateF64([build(vals)], given)[0]![0]!;
  // The same gradient formula evaluated in float64: how far the float32 gradient is from it is its own
  // rounding (terms that cancel inside a sum: a least-squares loss at its minimum, 1000 terms of about 6 that
  // add up to 0.003), which the tolerance takes in; a wrong formula is as wrong in float64, and gains nothing.
  const analytic64 = withoutHints(() =>
    cpu.evaluateF64(
      grad(f, all)(...base.map((v, i) => tensorF64(v, xs[i]!.shape))).map((t) => t.node),
      given,
    ),
  );
  const rows: CheckRow[] = [];
  const compare = (what: string, dirs: readonly Float64Array[]): void => {
    let a = 0;
    let a64 = 0;
    let scale = 0;
    dirs.forEach((d, i) => {
      const gi = analytic[i]!;
      for (let j = 0; j < d.length; j++) {
        if (d[j] === 0) continue;
        a += gi[j]! * d[j]!;
        a64 += analytic64[i]![j]! * d[j]!;
        scale += Math.abs(gi[j]! * d[j]!);
      }
    });
    const rounding = Number.isFinite(a64) ? 2 * Math.abs(a - a64) : 0;
    const shifted = (s: number): Float64Array[] => base.map((b, i) => b.map((v, j) => v + s * dirs[i]![j]!));
    const [up, down] = [F(shifted(o.eps)), F(shifted(-o.eps))];
    const numeric = (up - down) / (2 * o.eps);
    let error = Math.abs(a - numeric);
    // Plus what float64's rounding of f's two values makes of their difference: next to a value of 1e38,
    // a change of 10 is lost, and the difference says nothing about it.
    const noise = ((Math.abs(up) + Math.abs(down)) * 2 ** -52) / (2 * o.eps);
    const asked = o.atol + o.rtol * Math.max(scale, Math.abs(numeric));
    let tolerance = asked + noise + rounding;
    let ok = error <= tolerance || (Number.isNaN(a) && Number.isNaN(numeric));
    // Where that noise is larger than the tolerance asked for, the difference cannot tell a right derivative
    // from a wrong one, and would pass anything (x * x + 1e12: a gradient off by 2x passed): not a check.
    let note: string | undefined;
    // (A direction with nothing in it, every coordinate infinite, checks nothing and is only a formality.)
    if (ok && noise > asked && dirs.some((d) => d.some((v) => v !== 0))) {
      ok = false;
      note = `f's value (${up.toPrecision(3)}) is too large next to its change for float64 differences to resolve it: subtract a constant from f, or raise eps or atol`;
    }
    if (a === Infinity || a === -Infinity) {
      // (One coordinate: see below for directions.) An infinite term would make the tolerance infinite and
      // pass anything. Infinite is right where the float32 derivative overflowed: the float64 difference is
      // beyond float32's range, of the same sign.
      ok = Math.sign(numeric) === Math.sign(a) && Math.abs(numeric) > FLOAT32_MAX;
      error = ok ? 0 : Infinity;
      tolerance = o.atol;
    }
    rows.push({ order, what, analytic: a, numeric, error, tolerance, ok, ...(note ? { note } : {}) });
  };
  // A random direction leaves out the coordinates where the gradient is infinite: their sum with the rest
  // would be infinite whatever the rest, which would go unchecked (each is checked alone, as a coordinate).
  const finitePart = (dirs: Float64Array[]): Float64Array[] =>
    dirs.map((d, i) => d.map((v, j) => (Math.abs(analytic[i]![j]!) === Infinity ? 0 : v)));
  for (let k = 0; k < o.directions; k++)
    compare(`direction ${k}`, finitePart(xs.map((x) => gaussian(x.size, rand))));
  const total = xs.reduce((s, x) => s + x.size, 0);
  if (total <= o.perCoordinateMax) {
    xs.forEach((x, i) => {
      for (let j = 0; j < x.size; j++) {
        const dirs = xs.map((y) => new Float64Array(y.size));
        dirs[i]![j] = 1;
        compare(`input ${i}[${j}]`, dirs);
      }
    });
  }
  return rows;
}

/**
 * The values that tensors `f` captures already hold (computed earlier, with the leaves, on the active backend),
 * by storage node: the float64 reference takes them as the analytic gradient does, where computing them again
 * would need their history, which may be disposed (a parameter updated step by step: see the README).
 */
async function capturedValues(out: Node): Promise<Map<Node, Float32Array>> {
  const backend = activeBackend();
  const held = (n: Node): boolean => n.op !== 'leaf' && backend.has(storageNode(n));
  const nodes = [...new Set(topoSort([out], held).filter(held).map(storageNode))];
  const values = await Promise.all(nodes.map((n) => backend.read(n)));
  return new Map(nodes.map((n, i) => [n, values[i]!]));
}

function formatRows(rows: readonly CheckRow[]): string {
  const head = ['order', 'what', 'analytic', 'numeric', 'error', 'tolerance', ''];
  const body = rows.map((r) => [
    String(r.order),
    r.what,
    r.analytic.toPrecision(8),
    r.numeric.toPrecision(8),
    r.error.toExponential(2),
    r.tolerance.toExponential(2),
    r.ok ? 'ok' : 'MISMATCH',
  ]);
  const widths = head.map((h, c) => Math.max(h.length, ...body.map((b) => b[c]!.length)));
  const table = [head, ...body].map((cells) => cells.map((s, c) => s.padEnd(widths[c]!)).join('  '));
  const notes = [...new Set(rows.flatMap((r) => (r.note ? [r.note] : [])))];
  return [...table, ...notes].join('\n');
}

function gaussian(n: number, rand: () => number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  return out;
}

/** Small seeded PRNG, so checks are reproducible. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
