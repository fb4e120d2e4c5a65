/**
 * The chain rule spelled out for one point, in float64 on the page: every node of the formula's graph with
 * its value, its local derivatives and its adjoint ∂f/∂node, accumulated in reverse as done by hand.
 */
import { erf as mathErf } from 'mathjs';
import { infix, type Expr, type OpKey } from './expr.js';
import { diffText } from './format.js';

/** One input of a node: another node, or a constant written into the formula. */
export interface ChainInput {
  /** Index of the input node in `Chain.nodes`, or null for a constant. */
  node: number | null;
  /** How the input is written in the node's definition (a node name or a number). */
  label: string;
  /** ∂node/∂input as a formula of input names. */
  localText: string;
  /** ∂node/∂input at the point. */
  local: number;
}

/** One node of the graph: a variable, or an op applied to inputs. */
export interface ChainNode {
  name: string;
  op: OpKey | 'var';
  /** The node's definition in terms of its inputs, e.g. `sin(v1)`. */
  definition: string;
  value: number;
  /**
   * The value as webgrad computes it, in float32 with every op rounded: comparisons are decided on it, so that
   * the view takes the branches webgrad takes (at x = 0.1, x + 0.2 > 0.3 holds in float64, not in float32).
   */
  value32: number;
  inputs: ChainInput[];
  /** ∂f/∂node at the point. */
  adjoint: number;
  /** The adjoint as the sum over the node's users, e.g. `df/dv3 · cos(v1) + df/dv4 · 2`. */
  adjointText: string;
}

/** The whole derivation: nodes in forward (topological) order, the output last. */
export interface Chain {
  nodes: ChainNode[];
  value: number;
  /** ∂f/∂variable for every variable the formula uses. */
  grads: Record<string, number>;
}

const f32 = Math.fround;

/** The comparisons, steps whose side webgrad decides in float32. */
const COMPARES = new Set<OpKey>(['lt', 'le', 'gt', 'ge', 'eq', 'ne']);
// Steps: a value that jumps, derivative 0 (webgrad passes them no gradient at all).
const STEPS = new Set<OpKey>(['floor', 'ceil', 'round', 'trunc', 'sign']);
// Ops whose value or derivative turns on which side of a point their input is: decided, as webgrad decides
// it, from the float32 values (x - 0.1 at x = 0.1 is 1.5e-9 in float64 and 0 in float32).
const DECIDED = new Set<OpKey>([...COMPARES, ...STEPS, 'relu', 'abs', 'max', 'min']);
// Ops through which webgrad passes no gradient where their local derivative is 0 (it multiplies nothing).
const NO_GRADIENT = new Set<string>([...COMPARES, ...STEPS, 'where']);

const fmt = (v: number): string => (v < 0 ? `(${v})` : String(v));

/** Float64 logistic function, exact in both tails. */
const sigmoid64 = (v: number): number => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v)));

/** Float64 value of each op. */
const VALUE: Record<OpKey, (a: number, b: number, c: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: (a, b) => Math.pow(a, b),
  neg: (a) => -a,
  exp: Math.exp,
  exp2: (a) => Math.pow(2, a),
  log: Math.log,
  sin: Math.sin,
  cos: Math.cos,
  tan: Math.tan,
  tanh: Math.tanh,
  atan: Math.atan,
  asin: Math.asin,
  acos: Math.acos,
  sinh: Math.sinh,
  cosh: Math.cosh,
  asinh: Math.asinh,
  acosh: Math.acosh,
  atanh: Math.atanh,
  log1p: Math.log1p,
  expm1: Math.expm1,
  sqrt: Math.sqrt,
  abs: Math.abs,
  sigmoid: sigmoid64,
  relu: (a) => (a > 0 ? a : a <= 0 ? 0 : NaN),
  lt: (a, b) => (a < b ? 1 : 0),
  le: (a, b) => (a <= b ? 1 : 0),
  gt: (a, b) => (a > b ? 1 : 0),
  ge: (a, b) => (a >= b ? 1 : 0),
  eq: (a, b) => (a === b ? 1 : 0),
  ne: (a, b) => (a !== b ? 1 : 0),
  // As webgrad's where: any nonzero condition, NaN included, is true.
  where: (m, a, b) => (m !== 0 ? a : b),
  atan2: Math.atan2,
  erf: (a) => mathErf(a),
  floor: Math.floor,
  ceil: Math.ceil,
  // Ties to even, as webgrad's round (Math.round takes ties up).
  round: (a) => {
    const r = Math.round(a);
    return r - a === 0.5 && r % 2 !== 0 ? r - 1 : r;
  },
  trunc: Math.trunc,
  // 0 for ±0 (Math.sign keeps -0), as webgrad's sign.
  sign: (a) => (a > 0 ? 1 : a < 0 ? -1 : a === 0 ? 0 : NaN),
  log2: Math.log2,
  softplus: (a) => Math.max(a, 0) + Math.log1p(Math.exp(-Math.abs(a))),
  log10: Math.log10,
  max: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b)),
  min: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b)),
};

/** How a node is defined from its input labels. */
function definition(op: OpKey, [a, b, c]: string[]): string {
  return infix(op, a!, b, c) ?? `${op}(${b === undefined ? a : `${a}, ${b}`})`;
}

/** n·a^(n−1), with the exponent worked out when it is a number. */
function powerRule(a: string, b: string): string {
  const n = Number(b.replace(/[()]/g, ''));
  if (!Number.isFinite(n)) return `${b} * ${a}^(${b} - 1)`;
  if (n === 0) return '0';
  if (n === 1) return '1';
  return n === 2 ? `2 * ${a}` : `${fmt(n)} * ${a}^${fmt(n - 1)}`;
}

/**
 * ∂out/∂input for each input of an op, as text and as a float64 value; the same conventions as webgrad's
 * op table (relu'(0) = 0, abs'(0) = 0, ties of max/min split evenly).
 */
function locals(op: OpKey, [a, b]: string[], [x, y]: number[], out: number): [string, number][] {
  const va = x!;
  const vb = y ?? NaN;
  switch (op) {
    case 'add':
      return [
        ['1', 1],
        ['1', 1],
      ];
    case 'sub':
      return [
        ['1', 1],
        ['-1', -1],
      ];
    case 'mul':
      return [
        [b!, vb],
        [a!, va],
      ];
    case 'div':
      return [
        [`1 / ${b}`, 1 / vb],
        [`-${a} / ${b}^2`, -va / (vb * vb)],
      ];
    case 'pow':
      return [
        [powerRule(a!, b!), vb === 0 ? 0 : vb * Math.pow(va, vb - 1)],
        // None at a zero base with an exponent >= 0, as webgrad and PyTorch mask it (0^y is 0 or 1 there).
        [`${a}^${b} * log(${a})`, va === 0 && vb >= 0 ? 0 : out * Math.log(va)],
      ];
    case 'neg':
      return [['-1', -1]];
    case 'exp':
      return [[`exp(${a})`, out]];
    case 'exp2':
      return [[`2^${a} * log(2)`, out * Math.LN2]];
    case 'log':
      return [[`1 / ${a}`, 1 / va]];
    case 'log2':
      return [[`1 / (${a} * log(2))`, 1 / (va * Math.LN2)]];
    case 'log10':
      return [[`1 / (${a} * log(10))`, 1 / (va * Math.LN10)]];
    case 'sin':
      return [[`cos(${a})`, Math.cos(va)]];
    case 'cos':
      return [[`-sin(${a})`, -Math.sin(va)]];
    case 'tan':
      return [[`1 + tan(${a})^2`, 1 + out * out]];
    case 'tanh':
      return [[`1 - tanh(${a})^2`, 1 - out * out]];
    case 'atan':
      return [[`1 / (1 + ${a}^2)`, 1 / (1 + va * va)]];
    case 'asin':
      return [[`1 / sqrt(1 - ${a}^2)`, 1 / Math.sqrt(1 - va * va)]];
    case 'acos':
      return [[`-1 / sqrt(1 - ${a}^2)`, -1 / Math.sqrt(1 - va * va)]];
    case 'sinh':
      return [[`cosh(${a})`, Math.cosh(va)]];
    case 'cosh':
      return [[`sinh(${a})`, Math.sinh(va)]];
    case 'asinh':
      return [[`1 / sqrt(${a}^2 + 1)`, 1 / Math.sqrt(va * va + 1)]];
    case 'acosh':
      return [[`1 / sqrt(${a}^2 - 1)`, 1 / Math.sqrt(va * va - 1)]];
    case 'atanh':
      return [[`1 / (1 - ${a}^2)`, 1 / (1 - va * va)]];
    case 'log1p':
      return [[`1 / (1 + ${a})`, 1 / (1 + va)]];
    case 'expm1':
      return [[`exp(${a})`, Math.exp(va)]];
    case 'sqrt':
      return [[`1 / (2 * sqrt(${a}))`, 1 / (2 * out)]];
    case 'abs':
      return [[`sign(${a})`, VALUE.sign(va, 0, 0)]];
    case 'sigmoid':
      return [[`sigmoid(${a}) * (1 - sigmoid(${a}))`, out * (1 - out)]];
    case 'softplus':
      return [[`sigmoid(${a})`, sigmoid64(va)]];
    case 'relu':
      return [[`step(${a})`, va > 0 ? 1 : va <= 0 ? 0 : NaN]];
    case 'floor':
    case 'ceil':
    case 'round':
    case 'trunc':
    case 'sign':
      return [['0', 0]];
    case 'lt':
    case 'le':
    case 'gt':
    case 'ge':
    case 'eq':
    case 'ne':
      // A step: 0 on either side of its jump.
      return [
        ['0', 0],
        ['0', 0],
      ];
    case 'where': {
      const chosen = va !== 0 ? 1 : 0;
      return [
        ['0', 0],
        [`[${a} ≠ 0]`, chosen],
        [`[${a} = 0]`, 1 - chosen],
      ];
    }
    case 'erf':
      return [[`2 / sqrt(pi) * exp(-${a}^2)`, (2 / Math.sqrt(Math.PI)) * Math.exp(-va * va)]];
    case 'atan2': {
      const r = va * va + vb * vb;
      return [
        [`${b} / (${a}^2 + ${b}^2)`, vb / r],
        [`-${a} / (${a}^2 + ${b}^2)`, -va / r],
      ];
    }
    case 'max':
    case 'min': {
      const first = op === 'max' ? va > vb : va < vb;
      const second = op === 'max' ? va < vb : va > vb;
      const wa = first ? 1 : second ? 0 : va === vb ? 0.5 : NaN;
      const rel = op === 'max' ? '>' : '<';
      return [
        [`[${a} ${rel} ${b}]`, wa],
        [`[${b} ${rel} ${a}]`, Number.isNaN(wa) ? NaN : 1 - wa],
      ];
    }
  }
}

/**
 * Derives `e` at `point` (a value per variable). Equal subformulas become one node, so a variable used
 * twice collects two terms in its adjoint, as the chain rule says.
 */
export function chainRule(e: Expr, point: Readonly<Record<string, number>>): Chain {
  const nodes: ChainNode[] = [];
  const byKey = new Map<string, number>();
  let counter = 0;

  // Post-order walk: a node's inputs get their names and values before it.
  type Visited = { key: string; index: number | null; value: number; value32: number; label: string };
  const visit = (x: Expr): Visited => {
    if (x.kind === 'num')
      return { key: `#${x.value}`, index: null, value: x.value, value32: f32(x.value), label: fmt(x.value) };
    const kids = x.kind === 'var' ? [] : x.args.map(visit);
    const key = x.kind === 'var' ? x.name : `${x.op}(${kids.map((k) => k.key).join(',')})`;
    const seen = byKey.get(key);
    if (seen !== undefined) {
      const n = nodes[seen]!;
      return { key, index: seen, value: n.value, value32: n.value32, label: n.name };
    }
    let node: ChainNode;
    if (x.kind === 'var') {
      const v = point[x.name];
      if (v === undefined) throw new Error(`No value for ${x.name}`);
      node = {
        name: x.name,
        op: 'var',
        definition: 'input',
        value: v,
        value32: f32(v),
        inputs: [],
        adjoint: 0,
        adjointText: '',
      };
    } else {
      const labels = kids.map((k) => k.label);
      const values = kids.map((k) => k.value);
      const v32 = kids.map((k) => k.value32);
      const at = (vs: number[]) => VALUE[x.op](vs[0]!, vs[1] ?? NaN, vs[2] ?? NaN);
      // Comparisons, steps, kinks and where's choice are decided as webgrad decides them, in float32 (see
      // value32 and DECIDED); relu keeps the float64 value on its side.
      if (x.op === 'where') values[0] = v32[0]!;
      const decided = DECIDED.has(x.op);
      const value =
        COMPARES.has(x.op) || STEPS.has(x.op)
          ? at(v32)
          : x.op === 'relu'
            ? at(v32) === 0
              ? 0
              : at(values)
            : at(values);
      const value32 = f32(at(v32));
      const ls = locals(x.op, labels, decided ? v32 : values, value);
      node = {
        name: `v${++counter}`,
        op: x.op,
        definition: definition(x.op, labels),
        value,
        value32,
        inputs: kids.map((k, i) => ({
          node: k.index,
          label: k.label,
          localText: ls[i]![0],
          local: ls[i]![1],
        })),
        adjoint: 0,
        adjointText: '',
      };
    }
    nodes.push(node);
    byKey.set(key, nodes.length - 1);
    return { key, index: nodes.length - 1, value: node.value, value32: node.value32, label: node.name };
  };

  const root = visit(e);
  const grads: Record<string, number> = {};
  if (root.index === null) return { nodes, value: root.value, grads };
  const out = nodes[root.index]!;
  // The output is the last node, so no definition refers to it by its old name.
  if (out.op !== 'var') out.name = 'f';

  // Reverse sweep: each node hands adjoint × local derivative to its inputs.
  const terms: string[][] = nodes.map(() => []);
  out.adjoint = 1;
  terms[root.index] = ['1'];
  for (let k = nodes.length - 1; k >= 0; k--) {
    const n = nodes[k]!;
    n.adjointText = terms[k]!.join(' + ') || '0';
    for (const inp of n.inputs) {
      if (inp.node === null) continue;
      // A step, a comparison, where's condition and its branch not taken pass nothing, not adjoint × 0 (NaN
      // where the adjoint is infinite: sqrt(floor(x)) at 0.5).
      const none = inp.local === 0 && NO_GRADIENT.has(n.op);
      if (!none) nodes[inp.node]!.adjoint += n.adjoint * inp.local;
      const local = /[ ]/.test(inp.localText) ? `(${inp.localText})` : inp.localText;
      terms[inp.node]!.push(`df/d${n.name} · ${local}`);
    }
  }
  for (const n of nodes) if (n.op === 'var') grads[n.name] = n.adjoint;
  return { nodes, value: out.value, grads };
}

/**
 * Whether webgrad's derivative `got` agrees with the float64 adjoint `want` of a chain of `nodes` nodes: equal
 * (the same infinity included), both NaN, the infinity that `want` rounds to in float32 (beyond its range), or
 * within a float32 rounding or so per node, relative to the size of the result. A finite value never agrees
 * with an infinite one.
 */
export function agrees(got: number, want: number, nodes: number): boolean {
  if (got === want || (Number.isNaN(got) && Number.isNaN(want))) return true;
  if (!Number.isFinite(got) && got === Math.fround(want)) return true;
  const tol = 1e-6 * Math.max(4, nodes) * Math.max(Math.abs(want), 1e-4);
  return Number.isFinite(want) && Math.abs(got - want) <= tol;
}

/** How webgrad's `got` stands against the float64 `want`, in words, for the chain rule's check. */
export function howClose(got: number, want: number): string {
  if (Number.isNaN(got) && Number.isNaN(want)) return 'both NaN';
  if (got === want) return 'equal';
  if (!Number.isFinite(got) && Number.isFinite(want))
    return got === Math.fround(want)
      ? 'beyond float32 (its largest is 3.4e38): the infinity it rounds to'
      : 'overflowed in float32 on the way';
  return `Δ = ${diffText(got - want)}`;
}
