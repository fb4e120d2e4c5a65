/** Prints a tensor's graph as an infix formula (mathjs syntax), to show what a derivative was built from. */
import { isReduction, topoSort, type Node } from './graph/node.js';
import { constantValue } from './ops/build.js';
import { checkOptions, optionNames } from './options.js';
import { Tensor } from './tensor.js';

/** Options of `formula`. */
export interface FormulaOptions {
  /** Longest formula to print, in characters (default 20 000); a shared DAG can expand exponentially. */
  maxLength?: number;
}

// Binding strength: a subformula needs parentheses where its context binds tighter.
const SUM = 1;
const PRODUCT = 2;
const UNARY = 3;
const POWER = 4;
const ATOM = 5;

/** Function-call spellings of table ops; mathjs names where mathjs has one. */
const CALLS: Record<string, string> = {
  exp: 'exp',
  log: 'log',
  log2: 'log2',
  log10: 'log10',
  log1p: 'log1p',
  expm1: 'expm1',
  erf: 'erf',
  sin: 'sin',
  cos: 'cos',
  tan: 'tan',
  atan: 'atan',
  asin: 'asin',
  acos: 'acos',
  atan2: 'atan2',
  tanh: 'tanh',
  sinh: 'sinh',
  cosh: 'cosh',
  asinh: 'asinh',
  acosh: 'acosh',
  atanh: 'atanh',
  sigmoid: 'sigmoid',
  relu: 'relu',
  abs: 'abs',
  sqrt: 'sqrt',
  floor: 'floor',
  ceil: 'ceil',
  round: 'round',
  trunc: 'fix',
  maximum: 'max',
  minimum: 'min',
  clampmin: 'max',
  clampmax: 'min',
  sign: 'sign',
  sum: 'sum',
  amax: 'max',
  amin: 'min',
};

/** The comparisons, as mathjs spells them (its results are booleans: the conditionals make them 1 or 0). */
const COMPARISONS: Record<string, string> = { lt: '<', le: '<=', gt: '>', ge: '>=', eq: '==', ne: '!=' };

// Nodes that only move values around print as their input.
const TRANSPARENT = new Set(['detach', 'id', 'expand', 'reshape']);

interface Printed {
  text: string;
  prec: number;
}

/**
 * The formula `t` computes, e.g. `formula(x.grad, { x })` after `sum(f(x)).backward()`. Leaves print as
 * their name in `names`, unnamed one-element leaves as their value, other leaves as `t<id>`. Shared
 * subexpressions are written out at each use; a formula longer than `maxLength` throws. Constants print in
 * the fewest digits that give back the float32 the kernels use, and the derivative helpers as conditionals
 * with exact comparisons: mathjs evaluates the text in float64 and compares within its tolerances
 * (`relTol`, `absTol`), so its values agree with webgrad's to float32 accuracy except at ties and at
 * arguments within those tolerances of a condition's edge. Of tensors of several elements, the formula is
 * each element's (mathjs evaluates it with a number for each name), or, where it reduces several elements
 * (`sum(m .* m, 2)`), the arrays': there products, quotients and powers of arrays are mathjs's elementwise ones.
 */
export function formula(
  t: Tensor,
  names: Readonly<Record<string, Tensor>> = {},
  opts: FormulaOptions = {},
): string {
  if (!(t instanceof Tensor))
    throw new Error(
      typeof t === 'function'
        ? 'formula(t): t must be a Tensor, got a function: pass what it computes, formula(f(x), { x })'
        : 'formula(t): t must be a Tensor',
    );
  checkOptions('formula()', opts, optionNames<FormulaOptions>({ maxLength: true }));
  const maxLength = opts.maxLength ?? 20_000;
  const named = new Map<Node, string>();
  for (const [name, v] of Object.entries(names)) {
    if (!(v instanceof Tensor)) throw new Error(`formula(): names.${name} is not a Tensor`);
    named.set(v.node, name);
  }
  const memo = new Map<Node, Printed>();
  // Inputs first (an iterative walk), so that printing a node finds its operands printed: a deep graph
  // must not overflow the JS stack. Named nodes print as their name, whatever computed them, and leaves made
  // from tensors as leaves.
  const order = topoSort([t.node], (m) => named.has(m) || m.op === 'leafcopy');
  const arrays = order.some((m) => isReduction(m.op) && m.inputs[0]!.size > 1);
  const print = (n: Node): Printed => {
    const hit = memo.get(n);
    if (hit) return hit;
    const out = printNode(n, print, named, arrays);
    if (out.text.length > maxLength) {
      throw new Error(`formula(): the formula is longer than ${maxLength} characters`);
    }
    memo.set(n, out);
    return out;
  };
  for (const n of order) print(n);
  return print(t.node).text;
}

function printNode(
  n: Node,
  print: (n: Node) => Printed,
  named: ReadonlyMap<Node, string>,
  arrays: boolean,
): Printed {
  const name = named.get(n);
  if (name !== undefined) return { text: name, prec: ATOM };
  const [a, b] = n.inputs;
  // In a formula that reduces several elements, which mathjs evaluates with arrays for the names, products,
  // quotients and powers of several elements are its elementwise ones (.*, ./, .^): its *, / and ^ of
  // matrices are the matrix product and power (sum(m * m, 2) of a 2x2 m is not webgrad's sum(m.mul(m), 1)).
  // A product with a number, and a quotient by one, are elementwise as they are.
  const dot = (...of: (Node | undefined)[]): string =>
    arrays && of.every((x) => x !== undefined && x.size > 1) ? '.' : '';
  // Wraps operand `x` in parentheses unless it binds at least as tightly as `min`.
  const wrap = (x: Node, min: number): string => {
    const p = print(x);
    return p.prec >= min ? p.text : `(${p.text})`;
  };
  switch (n.op) {
    case 'const':
      return number(n.attr);
    case 'leaf':
      return n.size === 1 && n.host ? number(n.host[0]!) : { text: `t${n.id}`, prec: ATOM };
    case 'leafcopy':
      // A leaf made from a tensor (see tensor()): its history is not part of the formula.
      return { text: `t${n.id}`, prec: ATOM };
    case 'add':
      return { text: `${wrap(a!, SUM)} + ${wrap(b!, SUM)}`, prec: SUM };
    case 'sub':
      return { text: `${wrap(a!, SUM)} - ${wrap(b!, PRODUCT)}`, prec: SUM };
    case 'mul':
      return { text: `${wrap(a!, PRODUCT)} ${dot(a, b)}* ${wrap(b!, PRODUCT)}`, prec: PRODUCT };
    case 'div':
      return { text: `${wrap(a!, PRODUCT)} ${dot(b)}/ ${wrap(b!, UNARY)}`, prec: PRODUCT };
    case 'neg':
      return { text: `-${wrap(a!, UNARY)}`, prec: UNARY };
    case 'powi':
      return { text: `${wrap(a!, ATOM)}${dot(n)}^${n.attr < 0 ? `(${n.attr})` : n.attr}`, prec: POWER };
    case 'pow':
      return { text: `${wrap(a!, ATOM)}${dot(n)}^${wrap(b!, ATOM)}`, prec: POWER };
    case 'exp2':
      // mathjs has no exp2.
      return { text: `2${dot(n)}^${wrap(a!, ATOM)}`, prec: POWER };
    case 'omsq':
      return { text: `1 - ${wrap(a!, ATOM)}^2`, prec: SUM };
    case 'dtanh':
      // tanh'(a) as readers write it.
      return { text: `1 - tanh(${print(a!).text})^2`, prec: SUM };
    case 'dsigmoid':
      // sigmoid'(a), spelled with the function mathjs and readers know.
      return { text: `sigmoid(${print(a!).text}) * sigmoid(-${wrap(a!, UNARY)})`, prec: PRODUCT };
    // The derivative helpers as the conditionals they are (mathjs evaluates `c ? p : q`), and without the
    // condition where an operand is a constant that decides it.
    case 'step':
      return { text: `(${print(a!).text} > 0 ? 1 : 0)`, prec: ATOM };
    case 'tiehalf': {
      const [p, q] = [print(a!).text, print(b!).text];
      return { text: `(${p} > ${q} ? 1 : ${p} == ${q} ? 0.5 : 0)`, prec: ATOM };
    }
    case 'where': {
      // A comparison as the condition is printed as the comparison itself, not as its 1 or 0.
      const compare = named.has(a!) ? undefined : COMPARISONS[a!.op];
      const cond = compare
        ? `${print(a!.inputs[0]!).text} ${compare} ${print(a!.inputs[1]!).text}`
        : `${print(a!).text} != 0`;
      return { text: `(${cond} ? ${print(b!).text} : ${print(n.inputs[2]!).text})`, prec: ATOM };
    }
    case 'softplus': {
      // softplus(p a) / p, p its beta (0 and 1 stand for 1).
      const beta = n.attr === 0 ? 1 : n.attr;
      if (beta === 1) return { text: `softplus(${print(a!).text})`, prec: ATOM };
      const k = number(beta).text;
      return { text: `softplus(${k} * ${wrap(a!, PRODUCT)}) / ${k}`, prec: PRODUCT };
    }
    case 'atleast':
      return { text: `(${print(a!).text} >= ${print(b!).text} ? 1 : 0)`, prec: ATOM };
    case 'mulz': {
      // pow's derivative takes its power as 0 where base and exponent are both 0 (a factor sign(|p| + |q|)):
      // the mask around it gives 0 there anyway, so the power alone prints the same values.
      const inner = a!.op === 'sign' ? a!.inputs[0] : undefined;
      if (inner?.op === 'add' && inner.inputs.every((i) => i.op === 'abs')) return print(b!);
      // PyTorch's where(a == 0, 0, a * b) in pow's derivatives: a is often the constant exponent.
      const product = `${wrap(a!, PRODUCT)} * ${wrap(b!, PRODUCT)}`;
      const c = constOf(a!);
      if (c !== null && c !== 0 && !Number.isNaN(c)) return { text: product, prec: PRODUCT };
      return { text: `(${print(a!).text} == 0 ? 0 : ${product})`, prec: ATOM };
    }
    case 'xlogy': {
      // a * log(b), and 0 where b == 0 and a is finite.
      const product = `${wrap(a!, PRODUCT)} * log(${print(b!).text})`;
      const c = constOf(b!);
      if (c !== null && c !== 0) return { text: product, prec: PRODUCT };
      const finite = constOf(a!);
      const cond =
        finite !== null && Number.isFinite(finite)
          ? `${print(b!).text} == 0`
          : `${print(b!).text} == 0 and abs(${print(a!).text}) < Infinity`;
      return { text: `(${cond} ? 0 : ${product})`, prec: ATOM };
    }
  }
  const compare = COMPARISONS[n.op];
  if (compare) return { text: `(${print(a!).text} ${compare} ${print(b!).text} ? 1 : 0)`, prec: ATOM };
  if (n.op === 'reshape') {
    // A reduction along axes without keepdim: mathjs's calls drop the same axes, but not axes of length 1
    // the reduction also folded (sum over [1, 2] of a [3, 1, 4]): reshaped to this shape then.
    const along = alongAxes(a!, print);
    if (along)
      return {
        text: sameDims(n.shape, along.dims) ? along.text : `reshape(${along.text}, [${n.shape.join(', ')}])`,
        prec: ATOM,
      };
  }
  if (TRANSPARENT.has(n.op)) return print(a!);
  const fn = CALLS[n.op];
  if (fn === undefined) throw new Error(`formula(): no spelling for op '${n.op}'`);
  // With keepdim, reshaped to the kept dimensions, which mathjs's calls drop: m - max(m, 2) would broadcast
  // the row maxima along the wrong axis.
  const along = alongAxes(n, print);
  if (along) return { text: `reshape(${along.text}, [${n.shape.join(', ')}])`, prec: ATOM };
  return { text: `${fn}(${n.inputs.map((x) => print(x).text).join(', ')})`, prec: ATOM };
}

/**
 * A reduction along some axes (those its keepdims shape reduces to 1, not all): one call per axis, as
 * mathjs's sum(A, dim) with its expressions' dimensions counted from 1, the last axis innermost so that the
 * earlier ones keep their numbers; and the dimensions mathjs gives it (the reduced ones dropped). Null for
 * anything else.
 */
function alongAxes(n: Node, print: (n: Node) => Printed): { text: string; dims: number[] } | null {
  const fn = CALLS[n.op];
  const a = n.inputs[0];
  if (!isReduction(n.op) || fn === undefined || a === undefined) return null;
  const axes = a.shape.flatMap((d, i) => (d !== 1 && n.shape[i] === 1 ? [i] : []));
  if (axes.length >= a.shape.filter((d) => d !== 1).length) return null;
  let text = print(a).text;
  for (const ax of [...axes].reverse()) text = `${fn}(${text}, ${ax + 1})`;
  return { text, dims: a.shape.filter((_, i) => !axes.includes(i)) };
}

const sameDims = (x: readonly number[], y: readonly number[]): boolean =>
  x.length === y.length && x.every((d, i) => d === y[i]);

/** The float32 value the kernels use for a constant, broadcast or not; null for any other node. */
function constOf(n: Node): number | null {
  const v = constantValue(n);
  return v === null ? null : Math.fround(v);
}

/** A value as the kernels use it, a float32, in the fewest digits that give that float32 back. */
function number(v: number): Printed {
  const f = Math.fround(v);
  // NaN and the infinities print as JavaScript names them, which mathjs reads.
  let text = String(f);
  if (Number.isFinite(f))
    for (let digits = 1; digits <= 9; digits++) {
      const short = Number(f.toPrecision(digits));
      if (Math.fround(short) === f) {
        text = String(short);
        break;
      }
    }
  return { text, prec: text.startsWith('-') ? UNARY : ATOM };
}
