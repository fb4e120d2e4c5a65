// Differential fuzzing of whole graphs: random expressions (shared subexpressions, broadcasting, every
// op, first and second derivatives) at ordinary points and at the edges of every op's domain, run on
// WebGPU, on the CPU in float32 and in the float64 reference mode, and held to the model of model.ts.
//
// Cases are run in batches that share their input tensors, and every output of a batch is read in one
// Promise.all, so the scheduler fuses a batch into a few kernels. On a software GPU the cost is shader
// compilation, which grows with the number of call sites of the long prelude functions (sin, cos, tan,
// pow, log: tens of milliseconds each on SwiftShader): a batch of several small graphs, each with
// cases sharing its subexpressions, compiles fastest per case. Hints are off while building, so that
// only what is read is stored (each stored output takes one of a dozen bindings).
//
// The rules, per output element (d: float64 value, s: strict float32 value, e: error bound, K = SAFETY):
// - uncertain elements (the bound reaches a discontinuity, a domain edge or the float32 overflow
//   threshold somewhere upstream) are not compared at all, and are counted;
// - WebGPU computes in float32 throughout, so it must have the NaN/+Inf/-Inf/finite class of s, and
//   be within K·e of s when finite (a float32 overflow that float64 does not see is a legitimate
//   difference from the float64 reference, and the strict float32 simulation predicts it);
// - the CPU float32 backend rounds every op's result to float32 with the table's own formulas, as the
//   simulation does, so it must give s exactly, at every element (uncertain ones included);
// - the float64 reference mode must have the class of d and be within K·e·2^-29 of it (the same bound
//   with float64's unit roundoff).
import fc from 'fast-check';
import * as wg from '../../src/index.js';
import { CpuBackend } from '../../src/backend/cpu.js';
import type { Node } from '../../src/graph/node.js';
import { activeBackend, setBackend, withoutHints } from '../../src/schedule/scheduler.js';
import type { Backend } from '../../src/schedule/backend.js';
import { amax, amin, grad, mean, opNames, pow, sum, tensor, type Tensor } from '../../src/index.js';
import { cls, model, SAFETY, type Modeled } from './model.js';

/** Points per batch: x0 and x1 hold one value per point, x2 is a scalar broadcast to all. */
export const POINTS = 32;
/**
 * Input shapes. Gradients of full-size inputs are stored per point; the gradient of the broadcast
 * scalar x2 is a sum over the points (a reduction and a finishing pass), asked of a few cases per batch.
 */
export const SHAPES: readonly (readonly number[])[] = [[POINTS], [POINTS], []];

/** One step of an expression: a variable, a constant, or an op over earlier steps. */
export type Step =
  { k: 'var'; i: number } | { k: 'const'; v: number } | { k: 'op'; op: string; args: number[]; p: number };

/** A random graph: steps that may share earlier ones; each root is one fuzz case. */
export interface Batch {
  steps: Step[];
  roots: number[];
}

/** One fuzz case: the function computed by step `root`. */
export interface Case {
  steps: Step[];
  root: number;
}

/** The input values of a batch: x0, x1 (POINTS values each) and x2 (one). */
export type Inputs = [Float32Array, Float32Array, Float32Array];

/** Unary ops the generator applies (detach and sum/mean along axis 0 as structural extras). */
const UNARY = [
  'neg',
  'exp',
  'exp2',
  'log',
  'log2',
  'log10',
  'log1p',
  'expm1',
  'erf',
  'sin',
  'cos',
  'tan',
  'atan',
  'asin',
  'acos',
  'tanh',
  'sinh',
  'cosh',
  'asinh',
  'acosh',
  'atanh',
  'sigmoid',
  'softplus',
  'relu',
  'abs',
  'sqrt',
  'floor',
  'ceil',
  'round',
  'trunc',
  'sign',
];
const EXTRA = ['detach', 'square', 'sum0', 'mean0', 'amax0', 'amin0'];
// clampmin and clampmax: clamp with a lower or an upper bound.
const BINARY = [
  'add',
  'sub',
  'mul',
  'div',
  'pow',
  'maximum',
  'minimum',
  'clampmin',
  'clampmax',
  'atan2',
  'lt',
  'le',
  'gt',
  'ge',
  'eq',
  'ne',
];
/** Every public op is generated (checked by the test against opNames). */
export const GENERATED = new Set([...UNARY, ...BINARY]);

const f = Math.fround;
/** Values at the edges of some op's domain (all exact float32). */
export const SPECIAL: readonly number[] = [
  0,
  -0,
  1,
  -1,
  0.5,
  -0.5,
  2,
  -2,
  3,
  f(Math.PI / 2),
  f(-Math.PI / 2),
  f(Math.PI),
  Infinity,
  -Infinity,
  NaN,
  f(3e38),
  f(-3e38),
  f(1e30),
  f(-1e30),
  f(1e20),
  f(1e-20),
  f(1e-30),
  f(1.2e-38),
  f(-1.2e-38),
  f(1e-45),
  f(-1e-45),
  f(88.72),
  f(88.73),
  f(-87.3),
  f(-103.9),
  // exp2's overflow and the ends of its normal and subnormal results.
  128,
  f(127.99999),
  -126,
  -149,
  -150,
  f(1e-7),
  f(1 + 2 ** -23),
  f(1 - 2 ** -24),
  20,
  -20,
  f(1e4),
  f(1e7),
];

/** Constants in expressions: ordinary ones, and a few special values. */
const CONSTS: readonly number[] = [0, 1, -1, 2, 0.5, -3, 0.25, f(0.1), f(1e-3), 1e3, Infinity, NaN, -0];
const EXPONENTS = [-3, -2, -1, 0, 2, 3, 4, 9];
const REAL_EXPONENTS = [0.5, -0.5, 1.5, f(2.2)];

/** Longest chain of ops from an input to a case's result. */
export const MAX_DEPTH = 8;

/**
 * A random graph of `size` steps over the three inputs, each step of depth at most MAX_DEPTH, sharing
 * earlier steps at random; its last `cases` steps are the cases.
 */
function graphArb(size: number, cases: number): fc.Arbitrary<Batch> {
  const pick = fc.nat({ max: 1 << 30 });
  const stepArb = fc.record({
    // 'w': where, its condition often a comparison among the earlier steps.
    kind: fc.constantFrom('u', 'u', 'u', 'b', 'b', 'b', 'b', 'x', 'powi', 'powr', 'w'),
    unary: fc.constantFrom(...UNARY),
    extra: fc.constantFrom(...EXTRA),
    binary: fc.constantFrom(...BINARY),
    a: pick,
    b: pick,
    c: pick,
    p: fc.constantFrom(...EXPONENTS),
    pr: fc.constantFrom(...REAL_EXPONENTS),
  });
  return fc
    .record({
      consts: fc.array(fc.constantFrom(...CONSTS), { minLength: 1, maxLength: 3 }),
      steps: fc.array(stepArb, { minLength: size, maxLength: size }),
    })
    .map(({ consts, steps }) => {
      const out: Step[] = [0, 1, 2].map((i): Step => ({ k: 'var', i }));
      out.push(...consts.map((v): Step => ({ k: 'const', v })));
      const depth: number[] = out.map(() => 0);
      // Steps prefer recent items, so that chains grow deep, but any earlier item can be shared.
      const choose = (r: number): number => {
        const ok = out.map((_, j) => j).filter((j) => depth[j]! < MAX_DEPTH);
        const recent = ok.slice(-4);
        return r % 3 !== 0 ? recent[(r >> 2) % recent.length]! : ok[(r >> 2) % ok.length]!;
      };
      for (const s of steps) {
        const a = choose(s.a);
        let st: Step;
        if (s.kind === 'u') st = { k: 'op', op: s.unary, args: [a], p: 0 };
        else if (s.kind === 'x') st = { k: 'op', op: s.extra, args: [a], p: 0 };
        else if (s.kind === 'powi') st = { k: 'op', op: 'powi', args: [a], p: s.p };
        else if (s.kind === 'powr') st = { k: 'op', op: 'powr', args: [a], p: s.pr };
        else if (s.kind === 'w') st = { k: 'op', op: 'where', args: [a, choose(s.b), choose(s.c)], p: 0 };
        else st = { k: 'op', op: s.binary, args: [a, choose(s.b)], p: 0 };
        out.push(st);
        depth.push(1 + Math.max(...(st.k === 'op' ? st.args.map((j) => depth[j]!) : [0])));
      }
      const roots = out.map((_, j) => j).slice(-cases);
      return { steps: out, roots };
    });
}

/**
 * A batch: `groups` independent random graphs of `size` steps, the last `perGroup` steps of each being
 * cases. Cases of one graph share subexpressions; separate graphs keep each kernel program (a dozen
 * outputs at most, for the binding limit) from compiling the same shared code again.
 */
export function batchArb(size: number, perGroup: number, groups = 1): fc.Arbitrary<Batch> {
  return fc.array(graphArb(size, perGroup), { minLength: groups, maxLength: groups }).map((gs) => {
    const steps: Step[] = [];
    const roots: number[] = [];
    for (const g of gs) {
      const off = steps.length;
      steps.push(
        ...g.steps.map((st): Step => (st.k === 'op' ? { ...st, args: st.args.map((a) => a + off) } : st)),
      );
      roots.push(...g.roots.map((r) => r + off));
    }
    return { steps, roots };
  });
}

/** Inputs: ordinary values, or (in half the batches) mostly values at the edges of the ops' domains. */
export function inputsArb(): fc.Arbitrary<Inputs> {
  const ordinary = fc.double({ min: -3, max: 3, noNaN: true }).map(f);
  const wide = fc.float({ noDefaultInfinity: false });
  const edge = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...SPECIAL) },
    { weight: 2, arbitrary: ordinary },
    { weight: 1, arbitrary: wide },
  );
  const arr = (n: number, v: fc.Arbitrary<number>) =>
    fc.array(v, { minLength: n, maxLength: n }).map((x) => Float32Array.from(x));
  return fc.boolean().chain((edgy) => {
    const v = edgy ? edge : ordinary;
    return fc.tuple(arr(POINTS, v), arr(POINTS, v), arr(1, v));
  });
}

/** The cases of a batch. */
export function casesOf(b: Batch): Case[] {
  return b.roots.map((root) => ({ steps: b.steps, root }));
}

/** Input tensors holding the inputs. */
export function inputTensors(data: Inputs): Tensor[] {
  return SHAPES.map((shape, i) => tensor(data[i]!, { shape }));
}

type Fn = (...xs: Tensor[]) => Tensor;
const api = wg as unknown as Record<string, (...args: (Tensor | number)[]) => Tensor>;

/** Indices of the steps that `root` depends on (itself included), in order. */
function reachable(steps: readonly Step[], root: number): number[] {
  const seen = new Set<number>();
  const stack = [root];
  while (stack.length > 0) {
    const j = stack.pop()!;
    if (seen.has(j)) continue;
    seen.add(j);
    const s = steps[j]!;
    if (s.k === 'op') stack.push(...s.args);
  }
  return [...seen].sort((a, b) => a - b);
}

/** The case as a function of the three inputs (whichever it uses). */
export function caseFn(c: Case): Fn {
  const order = reachable(c.steps, c.root);
  return (...xs) => {
    const vals = new Map<number, Tensor | number>();
    for (const j of order) {
      const s = c.steps[j]!;
      if (s.k === 'var') vals.set(j, xs[s.i]!);
      else if (s.k === 'const') vals.set(j, s.v);
      else {
        const [a, b, c3] = s.args.map((q) => vals.get(q)!);
        vals.set(j, applyStep(s.op, a!, b, s.p, c3));
      }
    }
    const out = vals.get(c.root)!;
    // A constant result still needs a tensor to be read as one.
    return typeof out === 'number' ? wg.add(wg.mul(xs[0]!, 0), out) : out;
  };
}

function applyStep(
  op: string,
  a: Tensor | number,
  b: Tensor | number | undefined,
  p: number,
  c: Tensor | number | undefined,
): Tensor | number {
  const t = (v: Tensor | number): Tensor => (typeof v === 'number' ? tensor(v) : v);
  switch (op) {
    case 'detach':
      return t(a).detach();
    case 'square':
      return wg.square(a);
    case 'sum0':
      return t(a).ndim === 2 ? sum(t(a), 0) : sum(a);
    case 'mean0':
      return t(a).ndim === 2 ? mean(t(a), 0) : mean(a);
    case 'amax0':
      return t(a).ndim === 2 ? amax(t(a), 0) : amax(a);
    case 'amin0':
      return t(a).ndim === 2 ? amin(t(a), 0) : amin(a);
    case 'powi':
    case 'powr':
      return pow(a, p);
    case 'clampmin':
      return wg.clamp(a, b);
    case 'clampmax':
      return wg.clamp(a, null, b);
    case 'where':
      return wg.where(a, b!, c!);
    default:
      return b === undefined ? api[op]!(a) : api[op]!(a, b);
  }
}

/** Variables the case reads. */
export function usedVars(c: Case): number[] {
  const vs = reachable(c.steps, c.root).flatMap((j) => {
    const s = c.steps[j]!;
    return s.k === 'var' ? [s.i] : [];
  });
  return [...new Set(vs)].sort();
}

/** A number as TypeScript source, exact for float32 values and the special ones. */
export function numLit(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  if (Object.is(v, -0)) return '-0';
  return String(v);
}

/** The case as code: a function of x0, x1, x2 in the public API. */
export function caseCode(c: Case): string {
  const name = (j: number): string => {
    const s = c.steps[j]!;
    if (s.k === 'var') return `x${s.i}`;
    if (s.k === 'const') return numLit(s.v);
    return `t${j}`;
  };
  const isTensor = (x: string): boolean => /^[tx]\d/.test(x);
  const tt = (x: string): string => (isTensor(x) ? x : `tensor(${x})`);
  const lines: string[] = [];
  for (const j of reachable(c.steps, c.root)) {
    const s = c.steps[j]!;
    if (s.k !== 'op') continue;
    const [a, b, c3] = s.args.map(name) as [string, string | undefined, string | undefined];
    let e: string;
    if (s.op === 'detach') e = `${tt(a)}.detach()`;
    else if (s.op === 'sum0') e = `${tt(a)}.ndim === 2 ? sum(${a}, 0) : sum(${a})`;
    else if (s.op === 'mean0') e = `${tt(a)}.ndim === 2 ? mean(${a}, 0) : mean(${a})`;
    else if (s.op === 'amax0') e = `${tt(a)}.ndim === 2 ? amax(${a}, 0) : amax(${a})`;
    else if (s.op === 'amin0') e = `${tt(a)}.ndim === 2 ? amin(${a}, 0) : amin(${a})`;
    else if (s.op === 'powi' || s.op === 'powr') e = `pow(${a}, ${numLit(s.p)})`;
    else if (s.op === 'clampmin') e = `clamp(${a}, ${b})`;
    else if (s.op === 'clampmax') e = `clamp(${a}, null, ${b})`;
    else if (s.op === 'where') e = `where(${a}, ${b}, ${c3})`;
    else e = `${s.op}(${a}${b === undefined ? '' : `, ${b}`})`;
    lines.push(`  const t${j} = ${e};`);
  }
  const last = name(c.root);
  lines.push(`  return ${isTensor(last) ? last : `add(mul(x0, 0), ${last})`};`);
  return `(x0: Tensor, x1: Tensor, x2: Tensor): Tensor => {\n${lines.join('\n')}\n}`;
}

/** What one case asks for: its value, first derivatives and a second derivative. */
export interface Outputs {
  /** Label of each output: 'value', 'd/dx1', 'd/dx0 d/dx0'… */
  labels: string[];
  tensors: Tensor[];
}

/**
 * Builds the outputs of a case over the inputs: f, ∂Σf/∂xv for each variable v it reads (x2 only when
 * `gradX2`), and ∂(Σ∂Σf/∂xv0)/∂xv0, the second derivative in its first variable.
 */
export function caseOutputs(c: Case, xs: readonly Tensor[], gradX2 = true): Outputs {
  const fn = caseFn(c);
  const read = usedVars(c);
  const vars = read.filter((v) => v !== 2 || gradX2);
  // A case that reads no variable still has a derivative (zero) with respect to x0.
  const wrt = vars.length > 0 ? vars : read.length > 0 ? read : [0];
  const F = (...ys: Tensor[]) => sum(fn(ys[0]!, ys[1]!, ys[2]!));
  const value = fn(xs[0]!, xs[1]!, xs[2]!);
  const g = grad(F, wrt)(...xs);
  const v0 = wrt[0]!;
  const h = grad((...ys: Tensor[]) => sum(grad(F, v0)(...ys)), v0)(...xs);
  return {
    labels: ['value', ...wrt.map((v) => `d/dx${v}`), `d/dx${v0} d/dx${v0}`],
    tensors: [value, ...g, h],
  };
}

/** A disagreement at one element of one output of one case. */
export interface Mismatch {
  caseIndex: number;
  label: string;
  element: number;
  backend: 'webgpu' | 'cpu' | 'f64';
  got: number;
  want: number;
  tolerance: number;
  /** The model's float64 and float32 values there. */
  d: number;
  s: number;
}

/** Adds `t`'s counts to `total`. */
export function addTally(total: Tally, t: Tally): void {
  total.values += t.values;
  total.uncertain += t.uncertain;
  total.nonFinite += t.nonFinite;
}

/** Counts of what was compared. */
export interface Tally {
  /** Output elements (per case and output). */
  values: number;
  /** Of those, uncertain ones (not compared). */
  uncertain: number;
  /** Of the compared ones, NaN or infinite in float32. */
  nonFinite: number;
}

/** Compares a backend's values with the model's `want`, element by element. */
function compare(
  got: ArrayLike<number>,
  m: Modeled,
  want: Float64Array,
  scale: number,
  base: Omit<Mismatch, 'element' | 'got' | 'want' | 'tolerance' | 'd' | 's'>,
): Mismatch[] {
  const out: Mismatch[] = [];
  for (let i = 0; i < want.length; i++) {
    if (base.backend === 'cpu') {
      const [g, w] = [got[i]!, Math.fround(want[i]!)];
      if (!Object.is(g, w) && !(Number.isNaN(g) && Number.isNaN(w)))
        out.push({ ...base, element: i, got: g, want: w, tolerance: 0, d: m.d[i]!, s: m.s[i]! });
      continue;
    }
    if (m.unc[i]) continue;
    const w = base.backend === 'f64' ? want[i]! : Math.fround(want[i]!);
    const g = got[i]!;
    const tol = SAFETY * m.e[i]! * scale;
    const bad = cls(g) !== cls(w) || (Number.isFinite(w) && !(Math.abs(g - w) <= tol));
    if (bad) out.push({ ...base, element: i, got: g, want: w, tolerance: tol, d: m.d[i]!, s: m.s[i]! });
  }
  return out;
}

/** The backends a batch runs on. */
export interface Backends {
  /** The WebGPU backend, or null where there is none. */
  webgpu: Backend | null;
  cpu: Backend;
}

/** The WebGPU backend `gpu` (or none) and a CPU float32 backend. */
export function backends(gpu: Backend | null): Backends {
  return { webgpu: gpu, cpu: new CpuBackend() };
}

/** How many cases of a batch ask for the gradient of x2 (a sum over the points). */
const GRAD_X2 = 1;

/**
 * Runs `cases` on every backend (every case's outputs requested together, so that they fuse) and
 * compares with the model; returns mismatches and counts.
 */
export async function runBatch(
  cases: readonly Case[],
  data: Inputs,
  be: Backends,
): Promise<{ mismatches: Mismatch[]; tally: Tally }> {
  const mismatches: Mismatch[] = [];
  const tally: Tally = { values: 0, uncertain: 0, nonFinite: 0 };
  const gx2 = (ci: number): boolean => ci < GRAD_X2;
  const before = activeBackend();
  // got[backend][case][output]
  const got = new Map<'webgpu' | 'cpu', Float32Array[][]>();
  try {
    for (const [name, b] of [
      ['webgpu', be.webgpu],
      ['cpu', be.cpu],
    ] as const) {
      if (!b) continue;
      setBackend(b);
      const xs = inputTensors(data);
      // Without hints, only what is read is stored: the intermediate gradients stay inside the kernel.
      const outs = withoutHints(() => cases.map((c, ci) => caseOutputs(c, xs, gx2(ci))));
      const flat = await Promise.all(outs.flatMap((o) => o.tensors.map((t) => t.data())));
      let k = 0;
      got.set(
        name,
        outs.map((o) => o.tensors.map(() => flat[k++]!)),
      );
      for (const o of outs) for (const t of o.tensors) t.dispose();
      for (const x of xs) x.dispose();
    }
  } finally {
    setBackend(before);
  }
  // The model and the float64 reference, on graphs built without hints (never run by a backend).
  const ref = new CpuBackend();
  cases.forEach((c, ci) => {
    withoutHints(() => {
      const xs = inputTensors(data);
      const outs = caseOutputs(c, xs, gx2(ci));
      const nodes: Node[] = outs.tensors.map((t) => t.node);
      const m = model(nodes);
      const r64 = ref.evaluateF64(nodes);
      outs.tensors.forEach((t, oi) => {
        const mo = m.get(t.node)!;
        tally.values += mo.d.length;
        for (let i = 0; i < mo.d.length; i++) {
          if (mo.unc[i]) tally.uncertain++;
          else if (!Number.isFinite(mo.s[i]!)) tally.nonFinite++;
        }
        const base = { caseIndex: ci, label: outs.labels[oi]! };
        mismatches.push(...compare(r64[oi]!, mo, mo.d, 2 ** -29, { ...base, backend: 'f64' }));
        for (const [name, vals] of got) {
          mismatches.push(...compare(vals[ci]![oi]!, mo, mo.s, 1, { ...base, backend: name }));
        }
      });
    });
  });
  return { mismatches, tally };
}

/** Describes mismatches for a failure message. */
export function describeMismatches(ms: readonly Mismatch[], limit = 8): string {
  const lines = ms
    .slice(0, limit)
    .map(
      (m) =>
        `case ${m.caseIndex} ${m.label}[${m.element}] on ${m.backend}: got ${m.got}, want ${m.want} ` +
        `(tolerance ${m.tolerance.toExponential(2)}; float64 ${m.d}, float32 ${m.s})`,
    );
  if (ms.length > limit) lines.push(`… ${ms.length - limit} more`);
  return lines.join('\n');
}

/** Runnable code reproducing one case on its inputs. */
export function reproCode(c: Case, data: Inputs, note: string): string {
  const vars = usedVars(c);
  const arr = (a: Float32Array): string => `[${Array.from(a, numLit).join(', ')}]`;
  return [
    ...note.split('\n').map((l) => `// ${l}`),
    `import { init, tensor, grad, sum, mean, amax, amin, pow, square, clamp, where, ${opNames.filter((n) => n !== 'pow').join(', ')}, type Tensor } from 'webgrad';`,
    `await init({ backend: 'webgpu' }); // and { backend: 'cpu' } to compare`,
    `const f = ${caseCode(c)};`,
    `const x0 = tensor(${arr(data[0])});`,
    `const x1 = tensor(${arr(data[1])});`,
    `const x2 = tensor(${numLit(data[2][0]!)});`,
    `const F = (a: Tensor, b: Tensor, c: Tensor) => sum(f(a, b, c));`,
    `const first = grad(F, ${JSON.stringify(vars.length > 0 ? vars : [0])})(x0, x1, x2);`,
    `const second = grad((a: Tensor, b: Tensor, c: Tensor) => sum(grad(F, ${vars[0] ?? 0})(a, b, c)), ${vars[0] ?? 0})(x0, x1, x2);`,
    `console.log(await f(x0, x1, x2).data(), ...(await Promise.all([...first, second].map((g) => g.data()))));`,
  ].join('\n');
}

/** Mismatches of one case alone, or null when it agrees (or cannot be built). */
async function fails(c: Case, data: Inputs, be: Backends): Promise<Mismatch[] | null> {
  try {
    const { mismatches } = await runBatch([c], data, be);
    return mismatches.length > 0 ? mismatches : null;
  } catch {
    return null;
  }
}

/**
 * Shrinks a failing case greedily: bypasses steps (their users read an operand instead), then keeps
 * only the first failing point (all others set to 1), while the disagreement persists; returns
 * runnable code.
 */
export async function minimize(c0: Case, d0: Inputs, be: Backends, budget = 40): Promise<string> {
  let c = prune(c0);
  let data: Inputs = [d0[0].slice(), d0[1].slice(), d0[2].slice()];
  let last = await fails(c, data, be);
  if (!last) return reproCode(c, data, 'disagrees only together with the rest of its batch');
  let tries = 0;
  let progress = true;
  while (progress && tries < budget) {
    progress = false;
    for (const j of reachable(c.steps, c.root).reverse()) {
      const s = c.steps[j]!;
      if (s.k !== 'op') continue;
      for (const to of new Set(s.args)) {
        if (tries >= budget) break;
        const steps = c.steps.map((t): Step =>
          t.k === 'op' ? { ...t, args: t.args.map((x) => (x === j ? to : x)) } : t,
        );
        const cand = prune({ steps, root: j === c.root ? to : c.root });
        tries++;
        const m = await fails(cand, data, be);
        if (m) {
          c = cand;
          last = m;
          progress = true;
          break;
        }
      }
      if (progress) break;
    }
  }
  // Keep one failing point (the others become 1) where the failing output is per point: sums over
  // points (the gradient of the scalar x2) need them all. Kept only if it still fails.
  const at = last[0]!.label.includes('x2') ? -1 : last[0]!.element;
  if (at >= 0) {
    const one = (a: Float32Array): Float32Array => a.map((v, i) => (i === at ? v : 1));
    const cand: Inputs = [one(data[0]), one(data[1]), data[2]];
    const m = await fails(c, cand, be);
    if (m) {
      data = cand;
      last = m;
    }
  }
  return reproCode(c, data, `disagreement:\n${describeMismatches(last)}`);
}

/** Keeps only the steps the root reads (variables always), renumbered. */
function prune(c: Case): Case {
  const keep = new Set(reachable(c.steps, c.root));
  c.steps.forEach((s, j) => s.k === 'var' && keep.add(j));
  const map = new Map<number, number>();
  const steps: Step[] = [];
  c.steps.forEach((s, j) => {
    if (!keep.has(j)) return;
    map.set(j, steps.length);
    steps.push(s.k === 'op' ? { ...s, args: s.args.map((a) => map.get(a)!) } : s);
  });
  return { steps, root: map.get(c.root)! };
}
