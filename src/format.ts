/** Prints a tensor's graph as an infix formula (mathjs syntax), to show what a derivative was built from. */
import { topoSort, type Node } from './graph/node.js';
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
  sin: 'sin',
  cos: 'cos',
  tan: 'tan',
  tanh: 'tanh',
  sigmoid: 'sigmoid',
  relu: 'relu',
  abs: 'abs',
  sqrt: 'sqrt',
  maximum: 'max',
  minimum: 'min',
  step: 'step',
  sign: 'sign',
  tiehalf: 'tiehalf',
  xlogy: 'xlogy',
  xmask: 'xmask',
  sum: 'sum',
};

// Nodes that only move values around print as their input.
const TRANSPARENT = new Set(['detach', 'id', 'expand', 'reshape']);

interface Printed {
  text: string;
  prec: number;
}

/**
 * The formula `t` computes, e.g. `formula(x.grad, { x })` after `sum(f(x)).backward()`. Leaves print as
 * their name in `names`, unnamed one-element leaves as their value, other leaves as `t<id>`. Shared
 * subexpressions are written out at each use; a formula longer than `maxLength` throws.
 */
export function formula(
  t: Tensor,
  names: Readonly<Record<string, Tensor>> = {},
  opts: FormulaOptions = {},
): string {
  if (!(t instanceof Tensor)) throw new Error('formula(t): t must be a Tensor');
  checkOptions('formula()', opts, optionNames<FormulaOptions>({ maxLength: true }));
  const maxLength = opts.maxLength ?? 20_000;
  const named = new Map<Node, string>();
  for (const [name, v] of Object.entries(names)) {
    if (!(v instanceof Tensor)) throw new Error(`formula(): names.${name} is not a Tensor`);
    named.set(v.node, name);
  }
  const memo = new Map<Node, Printed>();
  const print = (n: Node): Printed => {
    const hit = memo.get(n);
    if (hit) return hit;
    const out = printNode(n, print, named);
    if (out.text.length > maxLength) {
      throw new Error(`formula(): the formula is longer than ${maxLength} characters`);
    }
    memo.set(n, out);
    return out;
  };
  // Inputs first (an iterative walk), so that printing a node finds its operands printed: a deep graph
  // must not overflow the JS stack. Named nodes print as their name, whatever computed them, and leaves made
  // from tensors as leaves.
  for (const n of topoSort([t.node], (m) => named.has(m) || m.op === 'leafcopy')) print(n);
  return print(t.node).text;
}

function printNode(n: Node, print: (n: Node) => Printed, named: ReadonlyMap<Node, string>): Printed {
  const name = named.get(n);
  if (name !== undefined) return { text: name, prec: ATOM };
  const [a, b] = n.inputs;
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
      return { text: `${wrap(a!, PRODUCT)} * ${wrap(b!, PRODUCT)}`, prec: PRODUCT };
    case 'div':
      return { text: `${wrap(a!, PRODUCT)} / ${wrap(b!, UNARY)}`, prec: PRODUCT };
    case 'neg':
      return { text: `-${wrap(a!, UNARY)}`, prec: UNARY };
    case 'powi':
      return { text: `${wrap(a!, ATOM)}^${n.attr < 0 ? `(${n.attr})` : n.attr}`, prec: POWER };
    case 'pow':
      return { text: `${wrap(a!, ATOM)}^${wrap(b!, ATOM)}`, prec: POWER };
    case 'dtanh':
      // tanh'(a) as readers write it.
      return { text: `1 - tanh(${print(a!).text})^2`, prec: SUM };
    case 'dsigmoid':
      // sigmoid'(a), spelled with the function mathjs and readers know.
      return { text: `sigmoid(${print(a!).text}) * sigmoid(-${wrap(a!, UNARY)})`, prec: PRODUCT };
  }
  if (TRANSPARENT.has(n.op)) return print(a!);
  const fn = CALLS[n.op];
  if (fn === undefined) throw new Error(`formula(): no spelling for op '${n.op}'`);
  return { text: `${fn}(${n.inputs.map((x) => print(x).text).join(', ')})`, prec: ATOM };
}

function number(v: number): Printed {
  const text = Number.isNaN(v)
    ? 'NaN'
    : v === Infinity
      ? 'Infinity'
      : v === -Infinity
        ? '-Infinity'
        : String(v);
  return { text, prec: text.startsWith('-') ? UNARY : ATOM };
}
