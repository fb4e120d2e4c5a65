// A second, independent evaluation of a graph for differential testing: the float64 value, a strict
// float32 simulation (every op rounded, as both backends compute), and a first-order bound on how far
// any float32 evaluation may stray from them. Points where that bound reaches a discontinuity or a domain edge of some op
// are marked uncertain: there, float32 rounding may legitimately change even NaN/Inf placement.
import type { Node } from '../../src/graph/node.js';
import { padShape, type Shape } from '../../src/graph/shape.js';
import { OPS, type OpName } from '../../src/ops/table.js';

/** Unit roundoff of float32 (half an ulp of 1). */
const U = 2 ** -24;
/** Smallest normal float32: devices may flush anything smaller to zero. */
export const MIN_NORMAL = 2 ** -126;
/** Largest finite float32. */
export const F32_MAX = 3.4028234663852886e38;
/**
 * Safety factor on the running error bound: the bound is first order and each op's accuracy is a
 * measured worst case, so the comparison allows a few times more.
 */
export const SAFETY = 4;

/**
 * Accuracy of each op's float32 result, in ulps of the result: 1 for IEEE arithmetic (WGSL allows 2.5
 * for division), the prelude's measured figures (shaders/prelude.wgsl) with a margin for the rest.
 */
const ULPS: Record<OpName, number> = {
  add: 1,
  sub: 1,
  mul: 1,
  div: 3,
  pow: 4,
  powi: 2,
  neg: 0,
  exp: 3,
  exp2: 3,
  log: 3,
  log2: 3,
  log10: 3,
  log1p: 5,
  expm1: 5,
  erf: 3,
  sin: 3,
  cos: 3,
  tan: 4,
  atan: 3,
  asin: 3,
  acos: 3,
  atan2: 4,
  tanh: 4,
  sigmoid: 4,
  softplus: 4,
  dsigmoid: 5,
  dtanh: 5,
  sinh: 4,
  cosh: 3,
  asinh: 5,
  acosh: 5,
  atanh: 5,
  relu: 0,
  abs: 0,
  sqrt: 2,
  maximum: 0,
  minimum: 0,
  clampmin: 0,
  clampmax: 0,
  atleast: 0,
  lt: 0,
  le: 0,
  gt: 0,
  ge: 0,
  eq: 0,
  ne: 0,
  where: 0,
  floor: 0,
  ceil: 0,
  round: 0,
  trunc: 0,
  step: 0,
  sign: 0,
  tiehalf: 0,
  xlogy: 4,
  mulz: 1,
  omsq: 1,
  detach: 0,
  leafcopy: 0,
  id: 0,
};

/** Per-element results of the model for one node (all arrays over the node's own shape). */
export interface Modeled {
  /** Float64 evaluation (what the backend's float64 reference mode computes). */
  readonly d: Float64Array;
  /** Every op rounded to float32 (what both backends compute, up to each op's accuracy). */
  readonly s: Float64Array;
  /** Bound on |float32 evaluation - d| (first order, before the safety factor). */
  readonly e: Float64Array;
  /** 1 where the bound reaches a discontinuity or domain edge: no placement or value is checked. */
  readonly unc: Uint8Array;
}

/** Element index of an operand of `from` shape for each flat point of the broadcast `to` shape. */
function broadcastIndex(from: Shape, to: Shape): Int32Array {
  const n = to.reduce((a, b) => a * b, 1);
  const out = new Int32Array(n);
  const p = padShape(from, to.length);
  const strides = new Array<number>(p.length).fill(0);
  let s = 1;
  for (let d = p.length - 1; d >= 0; d--) {
    strides[d] = p[d] === 1 ? 0 : s;
    s *= p[d]!;
  }
  for (let i = 0; i < n; i++) {
    let rem = i;
    let idx = 0;
    for (let d = to.length - 1; d >= 0; d--) {
      const coord = rem % to[d]!;
      rem = Math.floor(rem / to[d]!);
      idx += coord * strides[d]!;
    }
    out[i] = idx;
  }
  return out;
}

const f32 = Math.fround;
const finite = Number.isFinite;

/** A value's IEEE class: NaN, +Inf, -Inf or finite. */
export const cls = (v: number): string =>
  Number.isNaN(v) ? 'NaN' : v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : 'finite';

/** True when [v - r, v + r] contains `edge` and the value is not exactly known (r > 0). */
const straddles = (v: number, r: number, edge = 0): boolean => r > 0 && Math.abs(v - edge) <= r;

/** Sensitivities |∂y/∂a|, |∂y/∂b| of op `op` at float64 operands a, b with result y. */
function sensitivity(op: OpName, a: number, b: number, y: number, p: number): [number, number] {
  switch (op) {
    case 'add':
    case 'sub':
    case 'maximum':
    case 'minimum':
    case 'clampmin':
    case 'clampmax':
      return [1, 1];
    case 'mul':
    case 'mulz':
      return [Math.abs(b), Math.abs(a)];
    case 'omsq':
      return [Math.abs(2 * a), 0];
    case 'div':
      return [Math.abs(1 / b), Math.abs(y / b)];
    case 'pow':
      return [Math.abs(b * Math.pow(a, b - 1)), Math.abs(y * Math.log(Math.abs(a)))];
    case 'powi':
      return [Math.abs(p * Math.pow(a, p - 1)), 0];
    case 'neg':
    case 'relu':
    case 'abs':
    case 'detach':
    case 'leafcopy':
    case 'id':
      return [1, 0];
    case 'exp':
      return [Math.abs(y), 0];
    case 'exp2':
      return [Math.abs(y * Math.LN2), 0];
    case 'expm1':
      return [Math.abs(y + 1), 0];
    case 'log':
      return [Math.abs(1 / a), 0];
    case 'log2':
      return [Math.abs(1 / (a * Math.LN2)), 0];
    case 'log10':
      return [Math.abs(1 / (a * Math.LN10)), 0];
    case 'log1p':
      return [Math.abs(1 / (1 + a)), 0];
    case 'softplus':
      return [1 / (1 + Math.exp(-(p || 1) * a)), 0];
    case 'sin':
    case 'cos':
    case 'tanh':
    case 'sigmoid':
    case 'dsigmoid':
    case 'dtanh':
      return [1, 0];
    case 'tan':
      return [1 + y * y, 0];
    case 'atan':
      return [1 / (1 + a * a), 0];
    case 'erf':
      return [(2 / Math.sqrt(Math.PI)) * Math.exp(-a * a), 0];
    case 'atan2':
      return [Math.abs(b) / (a * a + b * b), Math.abs(a) / (a * a + b * b)];
    case 'asin':
    case 'acos':
      return [1 / Math.sqrt((1 - a) * (1 + a)), 0];
    case 'sinh':
      return [Math.cosh(a), 0];
    case 'cosh':
      return [Math.abs(Math.sinh(a)), 0];
    case 'asinh':
      return [1 / Math.sqrt(1 + a * a), 0];
    case 'acosh':
      return [1 / Math.sqrt((a - 1) * (a + 1)), 0];
    case 'atanh':
      return [1 / Math.abs((1 - a) * (1 + a)), 0];
    case 'sqrt':
      return [1 / (2 * Math.abs(y)), 0];
    case 'floor':
    case 'ceil':
    case 'round':
    case 'trunc':
    case 'step':
    case 'sign':
    case 'tiehalf':
    case 'atleast':
    case 'lt':
    case 'le':
    case 'gt':
    case 'ge':
    case 'eq':
    case 'ne':
    case 'where':
      return [0, 0];
    case 'xlogy':
      return [Math.abs(Math.log(b)), Math.abs(a / b)];
  }
}

/**
 * Whether a float32 evaluation of `op` near (a ± ra, b ± rb) may land on the other side of a
 * discontinuity or domain edge, or so far that the first-order bound no longer holds.
 */
function nearEdge(op: OpName, a: number, ra: number, b: number, rb: number, p: number): boolean {
  // Relative perturbations beyond this make a first-order bound of a curved op unreliable.
  const LIN = 1e-3;
  const nonFinite = !finite(a) || !finite(b);
  switch (op) {
    case 'mul':
      // Inf * 0 is NaN, Inf * ±tiny is ±Inf.
      return nonFinite && (straddles(a, ra) || straddles(b, rb));
    case 'mulz':
      // 0 where a is 0, whatever b is; else mul's edges.
      return straddles(a, ra) || (nonFinite && straddles(b, rb));
    case 'div':
      return straddles(b, rb) || (b === 0 && straddles(a, ra)) || rb > LIN * Math.abs(b);
    case 'pow': {
      if (straddles(a, ra) || ra > LIN * Math.abs(a)) return true;
      // A negative base is NaN unless the exponent is an integer; 0 and Inf bases flip on the exponent's sign.
      if (a - ra < 0 && rb > 0 && Math.abs(b - Math.round(b)) <= rb) return true;
      if ((a === 0 || !finite(a)) && straddles(b, rb)) return true;
      if (!finite(b) && (straddles(a, ra, 1) || straddles(a, ra, -1))) return true;
      return rb * Math.abs(Math.log(Math.abs(a))) > LIN;
    }
    case 'powi':
      // A negative power is 1 / a^|p|: where a^|p| is below the normal range a device that flushes
      // subnormals divides by zero, so results beyond 2^126 may come out infinite.
      return (
        (p < 0 && (straddles(a, ra) || Math.abs(a) ** -p < MIN_NORMAL)) ||
        ra * Math.abs(p) > LIN * Math.abs(a)
      );
    case 'exp':
    case 'expm1':
    case 'sinh':
    case 'cosh':
      return ra > LIN;
    case 'exp2':
      return ra * Math.LN2 > LIN;
    case 'asin':
    case 'acos':
    case 'atanh':
      // Domain edges at ±1, where the slope is infinite.
      return straddles(a, ra, 1) || straddles(a, ra, -1) || ra > LIN * Math.abs(1 - Math.abs(a));
    case 'acosh':
      return straddles(a, ra, 1) || ra > LIN * Math.abs(a - 1);
    case 'atan2':
      // The jump from pi to -pi along the negative x axis, and the origin; curvature grows as 1 / r^2.
      return (
        (straddles(a, ra) && b - rb <= 0) ||
        (straddles(b, rb) && straddles(a, ra)) ||
        ra + rb > LIN * Math.hypot(a, b) ||
        !finite(a) ||
        !finite(b)
      );
    case 'log':
    case 'log2':
    case 'log10':
    case 'sqrt':
      return straddles(a, ra) || ra > LIN * Math.abs(a);
    case 'log1p':
      return straddles(a, ra, -1) || ra > LIN * Math.abs(1 + a);
    case 'tan': {
      const k = Math.round((a - Math.PI / 2) / Math.PI);
      const dist = Math.abs(a - (Math.PI / 2 + k * Math.PI));
      return ra > LIN * dist;
    }
    case 'step':
    case 'sign':
      return straddles(a, ra);
    case 'floor':
    case 'ceil':
    case 'trunc':
      // Jumps at the integers (and the sign of a zero result at 0).
      return ra > 0 && (Math.abs(a - Math.round(a)) <= ra || straddles(a, ra));
    case 'round':
      // Jumps halfway between integers.
      return ra > 0 && (Math.abs(a - Math.floor(a) - 0.5) <= ra || straddles(a, ra));
    case 'tiehalf':
    case 'atleast':
    case 'lt':
    case 'le':
    case 'gt':
    case 'ge':
    case 'eq':
    case 'ne':
      return straddles(a - b, ra + rb);
    case 'xlogy':
      return straddles(b, rb) || rb > LIN * Math.abs(b) || (nonFinite && straddles(a, ra));
    default:
      return false;
  }
}

/** Curvature term of ops with a bounded second derivative (|f''| ≤ 1): half the squared input error. */
const CURVED = new Set<OpName>([
  'sin',
  'cos',
  'tanh',
  'sigmoid',
  'dsigmoid',
  'dtanh',
  'atan',
  'asinh',
  'erf',
  'softplus',
]);

/** Evaluates every node that `roots` depend on. Nodes must have host data at their leaves. */
export function model(roots: readonly Node[]): Map<Node, Modeled> {
  const memo = new Map<Node, Modeled>();
  const visit = (n: Node): Modeled => {
    const hit = memo.get(n);
    if (hit) return hit;
    const ins = n.inputs.map(visit);
    const m = evalNode(n, ins);
    memo.set(n, m);
    return m;
  };
  // Inputs first, iteratively in id order (ids grow with creation, so this is topological).
  const all = new Set<Node>();
  const stack = [...roots];
  while (stack.length > 0) {
    const x = stack.pop()!;
    if (all.has(x)) continue;
    all.add(x);
    stack.push(...x.inputs);
  }
  for (const x of [...all].sort((p, q) => p.id - q.id)) visit(x);
  return memo;
}

function evalNode(n: Node, ins: readonly Modeled[]): Modeled {
  const size = n.size;
  const d = new Float64Array(size);
  const s = new Float64Array(size);
  const e = new Float64Array(size);
  const unc = new Uint8Array(size);
  switch (n.op) {
    case 'leaf': {
      const h = n.host;
      if (!h) throw new Error(`model: leaf ${n.id} has no host values`);
      for (let i = 0; i < size; i++) {
        const v = h[i]!;
        d[i] = s[i] = v;
        // A device that flushes subnormals reads a subnormal input as zero.
        e[i] = v !== 0 && Math.abs(v) < MIN_NORMAL ? Math.abs(v) : 0;
      }
      break;
    }
    case 'const': {
      const v = n.attr;
      d.fill(v);
      s.fill(f32(v));
      // NaN and ±Inf are exact in float32 (|Inf - Inf| would make the bound NaN, which nothing passes).
      e.fill(v === f32(v) || Number.isNaN(v) ? 0 : Math.abs(v - f32(v)));
      break;
    }
    case 'expand': {
      const src = ins[0]!;
      const idx = broadcastIndex(n.inputs[0]!.shape, n.shape);
      for (let i = 0; i < size; i++) {
        const j = idx[i]!;
        d[i] = src.d[j]!;
        s[i] = src.s[j]!;
        e[i] = src.e[j]!;
        unc[i] = src.unc[j]!;
      }
      break;
    }
    case 'reshape': {
      const src = ins[0]!;
      d.set(src.d);
      s.set(src.s);
      e.set(src.e);
      unc.set(src.unc);
      break;
    }
    case 'amax':
    case 'amin': {
      // Exact on every backend: the largest (smallest) value, NaN if any is NaN (Math.max and Math.min take
      // 0 above -0, as the backends do); within the largest error of the values it is chosen from.
      const src = ins[0]!;
      const idx = broadcastIndex(n.shape, n.inputs[0]!.shape);
      const pick = n.op === 'amax' ? Math.max : Math.min;
      d.fill(n.op === 'amax' ? -Infinity : Infinity);
      s.fill(n.op === 'amax' ? -Infinity : Infinity);
      for (let i = 0; i < idx.length; i++) {
        const o = idx[i]!;
        d[o] = pick(d[o]!, src.d[i]!);
        s[o] = pick(s[o]!, src.s[i]!);
        e[o] = Math.max(e[o]!, src.e[i]!);
        if (src.unc[i]) unc[o] = 1;
      }
      break;
    }
    case 'sum': {
      const src = ins[0]!;
      const from = n.inputs[0]!.shape;
      // Which output element each input point adds to: the sum's keepdims shape, broadcast back.
      const idx = broadcastIndex(n.shape, from);
      const mag = new Float64Array(size);
      const magFinite = new Float64Array(size);
      const sumS = new Float64Array(size);
      const count = n.inputs[0]!.size / size;
      for (let i = 0; i < idx.length; i++) {
        const o = idx[i]!;
        d[o] = d[o]! + src.d[i]!;
        sumS[o] = sumS[o]! + src.s[i]!;
        e[o] = e[o]! + src.e[i]!;
        mag[o] = mag[o]! + Math.abs(src.d[i]!);
        if (finite(src.d[i]!)) magFinite[o] = magFinite[o]! + Math.abs(src.d[i]!);
        if (src.unc[i]) unc[o] = 1;
      }
      const grow = (Math.log2(Math.max(2, count)) + 4) * U;
      for (let o = 0; o < size; o++) {
        s[o] = f32(sumS[o]!);
        e[o] = e[o]! + grow * mag[o]! + (d[o] !== 0 && Math.abs(d[o]!) < MIN_NORMAL ? MIN_NORMAL : 0);
        // Partial sums may overflow float32 on the way, in an order each backend chooses: a finite total
        // can come back ±Inf, and an infinite term can meet an overflowed partial of the other sign
        // (Inf - Inf = NaN on the GPU, whose workgroup tree adds in float32; Inf on the CPU, which
        // accumulates in float64).
        if (magFinite[o]! + (finite(e[o]!) ? SAFETY * e[o]! : 0) >= F32_MAX) unc[o] = 1;
        if (!finite(e[o]!) && finite(d[o]!)) unc[o] = 1;
      }
      break;
    }
    case 'where': {
      // The branch the condition picks, with its error; where the condition may be 0 on one evaluation
      // and not on another (within its error), either branch may come out.
      const [M, A, B] = ins as [Modeled, Modeled, Modeled];
      const [im, ia, ib] = n.inputs.map((x) => broadcastIndex(x.shape, n.shape)) as [
        Int32Array,
        Int32Array,
        Int32Array,
      ];
      for (let i = 0; i < size; i++) {
        const [jm, ja, jb] = [im[i]!, ia[i]!, ib[i]!];
        const branch = (m: number): [Modeled, number] => (m !== 0 ? [A, ja] : [B, jb]);
        const md = M.d[jm]!;
        const [pick, j] = branch(md);
        d[i] = pick.d[j]!;
        // float32 may pick the other branch (its condition went another way upstream: see diverged); the
        // bound is then that of either.
        const [pickS, jS] = branch(M.s[jm]!);
        s[i] = pickS.s[jS]!;
        e[i] = Math.max(pick.e[j]!, pickS.e[jS]!);
        unc[i] = pick.unc[j]! | M.unc[jm]! | (straddles(md, SAFETY * M.e[jm]!) ? 1 : 0);
      }
      break;
    }
    default: {
      const op = n.op as OpName;
      const row = OPS[op];
      if (!row) throw new Error(`model: unknown op ${n.op}`);
      const [A, B] = ins as [Modeled, Modeled | undefined];
      const ia = broadcastIndex(n.inputs[0]!.shape, n.shape);
      const ib = B ? broadcastIndex(n.inputs[1]!.shape, n.shape) : null;
      const p = n.attr;
      const ulps = ULPS[op];
      for (let i = 0; i < size; i++) {
        const ja = ia[i]!;
        const jb = ib ? ib[i]! : 0;
        const ad = A.d[ja]!;
        const bd = B ? B.d[jb]! : 0;
        const y = row.cpu(ad, bd, p, 0);
        d[i] = y;
        s[i] = f32(row.cpu(A.s[ja]!, B ? B.s[jb]! : 0, p, 0));
        unc[i] = A.unc[ja]! | (B ? B.unc[jb]! : 0);
        const ea = A.e[ja]!;
        const eb = B ? B.e[jb]! : 0;
        const as = A.s[ja]!;
        const bs = B ? B.s[jb]! : 0;
        // The error of this op's float32 evaluation at operands (a, b) with result yv: the operands' errors
        // carried through, and its own rounding.
        const errAt = (a: number, b: number, yv: number): number => {
          const [sa, sb] = sensitivity(op, a, b, yv, p);
          const term = (sens: number, err: number): number =>
            err === 0 ? 0 : Number.isNaN(sens * err) ? Infinity : sens * err;
          let err = term(sa, ea) + term(sb, eb);
          if (CURVED.has(op)) err += 0.5 * (ea * ea + eb * eb);
          if (op === 'mul') err += ea * eb;
          err += ulps * 2 * U * Math.abs(yv);
          if (op === 'sin' || op === 'cos' || op === 'tan') err += 2 ** -40;
          // Results below the normal range may be flushed to zero.
          if (yv !== 0 && Math.abs(yv) < MIN_NORMAL) err += MIN_NORMAL;
          return err;
        };
        // Where float32 went another way upstream (an overflow float64 does not see, then a NaN on one side
        // and a number on the other, or a comparison flipped), the bound around the float64 operands says
        // nothing of the float32 ones: the op's error at those counts too.
        const diverged = (x: number, xs: number, ex: number): boolean =>
          cls(x) !== cls(xs) || (finite(x) && Math.abs(x - xs) > SAFETY * ex);
        const ys = s[i]!;
        const sErr =
          finite(ys) && (diverged(ad, as, ea) || (B !== undefined && diverged(bd, bs, eb)))
            ? errAt(as, bs, ys)
            : 0;
        if (!finite(y)) {
          // Non-finite results are exact by the IEEE rules, unless an edge check below says otherwise.
          e[i] = sErr;
        } else {
          const err = Math.max(errAt(ad, bd, y), sErr);
          e[i] = err;
          if (!finite(err)) unc[i] = 1;
          // A float32 result may overflow where the float64 one is just finite, or the other way.
          if (Math.abs(y) + SAFETY * err >= F32_MAX && Math.abs(y) - SAFETY * err <= F32_MAX * (1 + U))
            unc[i] = 1;
        }
        // Edges are looked for around the float64 values and around the float32 ones (where an
        // overflow to Inf meets a value that may round to zero, say).
        if (
          nearEdge(op, ad, SAFETY * ea, bd, SAFETY * eb, p) ||
          nearEdge(op, as, SAFETY * ea, bs, SAFETY * eb, p)
        )
          unc[i] = 1;
      }
    }
  }
  return { d, s, e, unc };
}
