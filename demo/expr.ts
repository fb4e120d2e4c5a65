/** Reads a formula typed by the user: mathjs parses it, and it becomes a small tree of webgrad's ops. */
import {
  isAssignmentNode,
  isBlockNode,
  isConditionalNode,
  isConstantNode,
  isFunctionAssignmentNode,
  isFunctionNode,
  isOperatorNode,
  isParenthesisNode,
  isSymbolNode,
  parse,
} from 'mathjs';
import type { MathNode } from 'mathjs';

/** The operations a formula may use: one per webgrad op. */
export type OpKey =
  | 'add'
  | 'sub'
  | 'mul'
  | 'div'
  | 'pow'
  | 'neg'
  | 'exp'
  | 'exp2'
  | 'log'
  | 'sin'
  | 'cos'
  | 'tan'
  | 'tanh'
  | 'atan'
  | 'asin'
  | 'acos'
  | 'sinh'
  | 'cosh'
  | 'asinh'
  | 'acosh'
  | 'atanh'
  | 'log1p'
  | 'expm1'
  | 'sqrt'
  | 'abs'
  | 'sigmoid'
  | 'relu'
  | 'max'
  | 'min'
  | 'lt'
  | 'le'
  | 'gt'
  | 'ge'
  | 'eq'
  | 'ne'
  | 'where'
  | 'atan2'
  | 'erf'
  | 'floor'
  | 'ceil'
  | 'round'
  | 'trunc'
  | 'sign'
  | 'log2'
  | 'log10'
  | 'softplus';

/** A parsed formula: numbers, the variables x and y, and ops applied to subformulas. */
export type Expr =
  { kind: 'num'; value: number } | { kind: 'var'; name: string } | { kind: 'op'; op: OpKey; args: Expr[] };

/** A formula that was read, with the variables it uses (x, or x and y). */
export interface Parsed {
  expr: Expr;
  vars: string[];
  /** The mathjs tree, for printing the formula as TeX. */
  node: MathNode;
}

/** A mistake in the formula, said so that the user can fix it. */
export class ExprError extends Error {}

/** The variables a formula may use. */
export const VARIABLES = ['x', 'y'];

/** Functions by name, with their arity; `ln` is the notebook's spelling of log. */
const FUNCTIONS: Record<string, { op: OpKey; arity: number }> = {
  sin: { op: 'sin', arity: 1 },
  cos: { op: 'cos', arity: 1 },
  tan: { op: 'tan', arity: 1 },
  exp: { op: 'exp', arity: 1 },
  exp2: { op: 'exp2', arity: 1 },
  log: { op: 'log', arity: 1 },
  ln: { op: 'log', arity: 1 },
  log2: { op: 'log2', arity: 1 },
  log10: { op: 'log10', arity: 1 },
  sqrt: { op: 'sqrt', arity: 1 },
  abs: { op: 'abs', arity: 1 },
  tanh: { op: 'tanh', arity: 1 },
  atan: { op: 'atan', arity: 1 },
  asin: { op: 'asin', arity: 1 },
  acos: { op: 'acos', arity: 1 },
  sinh: { op: 'sinh', arity: 1 },
  cosh: { op: 'cosh', arity: 1 },
  asinh: { op: 'asinh', arity: 1 },
  acosh: { op: 'acosh', arity: 1 },
  atanh: { op: 'atanh', arity: 1 },
  log1p: { op: 'log1p', arity: 1 },
  expm1: { op: 'expm1', arity: 1 },
  sigmoid: { op: 'sigmoid', arity: 1 },
  softplus: { op: 'softplus', arity: 1 },
  relu: { op: 'relu', arity: 1 },
  atan2: { op: 'atan2', arity: 2 },
  erf: { op: 'erf', arity: 1 },
  floor: { op: 'floor', arity: 1 },
  ceil: { op: 'ceil', arity: 1 },
  round: { op: 'round', arity: 1 },
  trunc: { op: 'trunc', arity: 1 },
  sign: { op: 'sign', arity: 1 },
  max: { op: 'max', arity: 2 },
  min: { op: 'min', arity: 2 },
};

/** Names of the functions a formula may call, for help texts. */
export const FUNCTION_NAMES = Object.keys(FUNCTIONS);

const OPERATORS: Partial<Record<string, OpKey>> = {
  add: 'add',
  subtract: 'sub',
  multiply: 'mul',
  divide: 'div',
  pow: 'pow',
  unaryMinus: 'neg',
  smaller: 'lt',
  smallerEq: 'le',
  larger: 'gt',
  largerEq: 'ge',
  equal: 'eq',
  unequal: 'ne',
};

const CONSTANTS: Record<string, number> = { pi: Math.PI, e: Math.E };

/** Parses `src` (ordinary math syntax) into a formula of x (and y), or throws an ExprError saying what is wrong. */
export function parseFormula(src: string): Parsed {
  if (src.trim() === '') throw new ExprError('Enter a formula in x, for example sin(x) * x^2.');
  let node: MathNode;
  try {
    // A pasted line's newline, or a ; after the formula, ends it (mathjs would read a block of statements).
    node = parse(src.replace(/[\s;]+$/, ''));
  } catch (e) {
    throw new ExprError(`Cannot read the formula: ${(e as Error).message}${symbolHint(src)}.`);
  }
  if (isBlockNode(node))
    throw new ExprError('Write one formula: the ; or new line makes it several statements.');
  if (isAssignmentNode(node))
    throw new ExprError(`'${node.toString()}' assigns a value: write a formula of x (== compares).`);
  // `f(x) = …` and `f(x, y) = …` name the function and its variables; the body is the formula.
  if (isFunctionAssignmentNode(node)) {
    const extra = node.params.filter((p) => !VARIABLES.includes(p));
    if (extra.length) throw new ExprError(`Unknown variable '${extra[0]}': use x and y.`);
    node = node.expr;
  }
  const vars = new Set<string>();
  const expr = convert(node, vars);
  return { expr, vars: VARIABLES.filter((v) => vars.has(v)), node };
}

/**
 * How `src` was read where a number written against a name after ^ or / (e^2x, 1/2x, x/2x) made
 * mathjs's rules for implicit multiplication read it otherwise than many people would: e^2x is e^2 times x,
 * 1/2x is x/2, while x/2x is x/(2x). Null where there is no such number. `node` is what src parsed to.
 */
export function readingNote(src: string, node: MathNode): string | null {
  // After ^ only a number glued to a name (x^2 y and x^2(x + 1) are read as meant); after / spaced too.
  if (!/\^\s*[\d.]+[a-zA-Z_]|\/\s*[\d.]+\s*[a-zA-Z_(]/.test(src)) return null;
  const implicit = (n: MathNode | undefined): boolean => n !== undefined && isOperatorNode(n) && n.implicit;
  const found: string[] = [];
  node.traverse((n) => {
    if (!isOperatorNode(n) || found.length >= 3) return;
    const [a, b] = n.args;
    const binds =
      (implicit(n) && a !== undefined && isOperatorNode(a) && (a.op === '^' || a.op === '/')) ||
      (n.op === '/' && implicit(b));
    if (binds) found.push(n.toString({ parenthesis: 'all', implicit: 'show' }));
  });
  if (found.length === 0) return null;
  return `Read as ${found.join('; ')}: add parentheses if you meant otherwise (e^(2x), 1/(2x)).`;
}

/** A hint for symbols that mathjs does not read (|x|, ², ×, π, ·), or nothing. */
function symbolHint(src: string): string {
  const hints: string[] = [];
  if (src.includes('|')) hints.push('|x| is abs(x)');
  if (/[²³]/.test(src)) hints.push('x² is x^2');
  if (/[×·]/.test(src)) hints.push('× is *');
  if (src.includes('π')) hints.push('π is pi');
  if (src.includes('√')) hints.push('√x is sqrt(x)');
  return hints.length > 0 ? ` (${hints.join(', ')})` : '';
}

/** A hint for a name that runs a product or a call together (xy, 2pix, sinx) or is a symbol (π, ×), or nothing. */
function spelled(name: string): string {
  const symbols = symbolHint(name);
  if (symbols !== '') return symbols.replace(/^ \((.*)\)$/, '; $1');
  // A function name followed by its argument, without brackets (sinx, expx).
  const fn = FUNCTION_NAMES.filter((f) => name.startsWith(f) && name.length > f.length).sort(
    (a, b) => b.length - a.length,
  )[0];
  if (fn !== undefined)
    return `; for ${fn} of ${name.slice(fn.length)}, write ${fn}(${name.slice(fn.length)})`;
  // Variables and constants run together (xy, pix): a product needs a * or a space between them.
  const parts = name.match(/pi|[xye]/g);
  if (parts && parts.join('') === name && parts.length > 1)
    return `; for a product, write ${parts.join(' * ')}`;
  return '';
}

function convert(node: MathNode, vars: Set<string>): Expr {
  if (isParenthesisNode(node)) return convert(node.content, vars);
  // c ? a : b: a piecewise formula, a where c holds (is nonzero), else b.
  if (isConditionalNode(node))
    return {
      kind: 'op',
      op: 'where',
      args: [node.condition, node.trueExpr, node.falseExpr].map((a) => convert(a, vars)),
    };
  if (isConstantNode(node)) {
    if (typeof node.value !== 'number')
      throw new ExprError(`Only numbers are allowed, not ${node.toString()}.`);
    return { kind: 'num', value: node.value };
  }
  if (isSymbolNode(node)) {
    if (VARIABLES.includes(node.name)) {
      vars.add(node.name);
      return { kind: 'var', name: node.name };
    }
    // Own names only: a plain object also answers to constructor, toString, __proto__...
    if (Object.hasOwn(CONSTANTS, node.name)) return { kind: 'num', value: CONSTANTS[node.name]! };
    if (Object.hasOwn(FUNCTIONS, node.name))
      throw new ExprError(`${node.name} is a function: write ${node.name}(x).`);
    throw new ExprError(
      `Unknown variable '${node.name}': use x and y (constants: pi, e)${spelled(node.name)}.`,
    );
  }
  if (isOperatorNode(node)) {
    if (node.fn === 'unaryPlus') return convert(node.args[0]!, vars);
    const op = OPERATORS[node.fn];
    if (!op)
      throw new ExprError(
        `The operator '${node.op}' is not supported: use + - * / ^, comparisons < <= > >= == != and c ? a : b.`,
      );
    return { kind: 'op', op, args: node.args.map((a) => convert(a, vars)) };
  }
  if (isFunctionNode(node)) {
    const name = isSymbolNode(node.fn) ? node.fn.name : String(node.fn as unknown);
    const fn = Object.hasOwn(FUNCTIONS, name) ? FUNCTIONS[name] : undefined;
    if (!fn) {
      // x(x + 1) reads as a call of x: the product needs its *.
      if (VARIABLES.includes(name))
        throw new ExprError(`${name}(...) reads as a function call: write ${name}*(...) for a product.`);
      throw new ExprError(`Unsupported function '${name}': use ${FUNCTION_NAMES.join(', ')}.`);
    }
    if (node.args.length !== fn.arity) {
      const want = fn.arity === 1 ? 'one argument' : `${fn.arity} arguments`;
      throw new ExprError(`${name}() takes ${want}, got ${node.args.length}.`);
    }
    return { kind: 'op', op: fn.op, args: node.args.map((a) => convert(a, vars)) };
  }
  throw new ExprError(
    `'${node.toString()}' is not a formula of x: use numbers, x, y, + - * / ^, functions, comparisons of ` +
      `two values (0 < x < 1 is (0 < x) * (x < 1)) and c ? a : b.`,
  );
}

/** `a op b` (or `-a`) for the arithmetic ops, in mathjs syntax; undefined for functions. */
export function infix(op: OpKey, a: string, b?: string, c?: string): string | undefined {
  switch (op) {
    case 'lt':
      return `${a} < ${b}`;
    case 'le':
      return `${a} <= ${b}`;
    case 'gt':
      return `${a} > ${b}`;
    case 'ge':
      return `${a} >= ${b}`;
    case 'eq':
      return `${a} == ${b}`;
    case 'ne':
      return `${a} != ${b}`;
    case 'where':
      return `${a} ? ${b} : ${c}`;
    case 'add':
      return `${a} + ${b}`;
    case 'sub':
      return `${a} - ${b}`;
    case 'mul':
      return `${a} * ${b}`;
    case 'div':
      return `${a} / ${b}`;
    case 'pow':
      return `${a}^${b}`;
    case 'neg':
      return `-${a}`;
    default:
      return undefined;
  }
}

/**
 * The formula in mathjs syntax with only functions mathjs can differentiate: sigmoid, relu, max and min
 * are written out with exp and abs (equal everywhere, so mathjs's derivative is an independent check).
 */
export function toDifferentiable(e: Expr): string {
  if (e.kind === 'num') return e.value < 0 ? `(${e.value})` : String(e.value);
  if (e.kind === 'var') return e.name;
  // mathjs's derivative takes no conditionals (nor comparisons, whose derivative is 0 but for jumps).
  if (e.op === 'where') throw new Error('mathjs does not differentiate piecewise formulas (c ? a : b)');
  if (['lt', 'le', 'gt', 'ge', 'eq', 'ne', 'floor', 'ceil', 'round', 'trunc', 'sign'].includes(e.op))
    throw new Error(`mathjs does not differentiate ${e.op} (a step)`);
  if (e.op === 'erf') throw new Error('mathjs does not differentiate erf');
  const [a, b] = e.args.map((x) => `(${toDifferentiable(x)})`);
  const arithmetic = infix(e.op, a!, b);
  if (arithmetic !== undefined) return arithmetic;
  switch (e.op) {
    case 'sigmoid':
      return `1 / (1 + exp(-${a}))`;
    case 'relu':
      return `(${a} + abs(${a})) / 2`;
    case 'max':
      return `(${a} + ${b} + abs(${a} - ${b})) / 2`;
    case 'min':
      return `(${a} + ${b} - abs(${a} - ${b})) / 2`;
    // mathjs evaluates log1p and expm1 but cannot differentiate them.
    case 'log1p':
      return `log(1 + ${a})`;
    case 'log2':
      return `(log(${a}) / log(2))`;
    case 'softplus':
      return `log(1 + exp(${a}))`;
    case 'expm1':
      return `(exp(${a}) - 1)`;
    case 'exp2':
      return `2^(${a})`;
    // The half-angle form, which mathjs differentiates (its atan2 it does not); equal but on the negative x axis.
    case 'atan2':
      return `2 * atan(${a} / (sqrt(${b}^2 + ${a}^2) + ${b}))`;
    default:
      return `${e.op}${a}`;
  }
}
