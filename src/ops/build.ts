/** Node builders: shape inference, constant folding and the few algebraic shortcuts that keep gradient graphs small. */
import { Node, type Reduction } from '../graph/node.js';
import {
  broadcastShapes,
  broadcastsTo,
  fmtShape,
  padShape,
  sameShape,
  sizeOf,
  type Shape,
} from '../graph/shape.js';
import { opRow, type Builders, type OpName } from './table.js';

/** A scalar constant node. */
export function constant(v: number): Node {
  return new Node('const', [], [], false, v);
}

/** A leaf node holding host data. */
export function leaf(data: Float32Array | Float64Array, shape: Shape, requiresGrad: boolean): Node {
  const n = new Node('leaf', [], shape, requiresGrad);
  n.host = data;
  return n;
}

/**
 * A leaf with the values of `n` and none of its history, made without reading them: `n` is read through a
 * detach, so no gradient flows back, and the node has a buffer of its own (a copy: freeing either leaves
 * the other), so the run that stores it can settle it into a plain leaf (see the scheduler) once the
 * history behind it grows.
 */
export function leafOf(n: Node, requiresGrad: boolean): Node {
  return new Node('leafcopy', [apply('detach', [n])], n.shape, requiresGrad);
}

/**
 * The value of a constant node, broadcast or not (a broadcast constant, such as the seed of a sum's
 * gradient, is still that constant at every point); null for any other node.
 */
export function constantValue(n: Node): number | null {
  if (n.op === 'expand') return constantValue(n.inputs[0]!);
  return n.op === 'const' ? n.attr : null;
}

const isConst = (n: Node, v: number): boolean => Object.is(constantValue(n), v);

/** Applies table op `name` to its operands with broadcasting; folds constants. */
export function apply(name: OpName, args: readonly Node[], p = 0): Node {
  const row = opRow(name);
  if (!row) throw new Error(`unknown op '${name}'`);
  if (args.length !== row.arity)
    throw new Error(`${name}: expected ${row.arity} operand(s), got ${args.length}`);
  const [a, b] = args as [Node, Node | undefined];
  const shape = args.slice(1).reduce((s, n) => broadcastShapes(s, n.shape, name), a.shape);
  // Constants fold as a kernel would compute them: float32 operands, the result rounded to float32. A
  // broadcast constant folds too (the seed of a gradient is one: d(6x)/dx would otherwise compute 1 * 6 at
  // every point), broadcast to the shape the op would have had.
  const values = args.map(constantValue);
  if (values.every((v) => v !== null)) {
    const [va, vb = 0, vc = 0] = values.map((v) => Math.fround(v!));
    return expand(constant(Math.fround(row.cpu(va!, vb, p, vc))), shape);
  }
  const simpler = simplify(name, a, b);
  if (simpler) return simpler;
  const rg = args.some((n, i) => n.requiresGrad && !row.inert?.includes(i));
  return new Node(name, args, shape, rg, p);
}

// Identities that are exact in IEEE arithmetic for every operand (x*1, x/1, x+0 up to the sign of zero,
// --x). x*0 is deliberately not folded: 0*NaN and 0*Inf are NaN.
function simplify(name: OpName, a: Node, b: Node | undefined): Node | null {
  const keep = (x: Node, other: Node): Node | null => (sameShapeAfter(x, other) ? x : null);
  switch (name) {
    case 'mul':
      if (isConst(b!, 1)) return keep(a, b!);
      if (isConst(a, 1)) return keep(b!, a);
      return null;
    case 'div':
      return isConst(b!, 1) ? keep(a, b!) : null;
    case 'add':
      // x + (-0) is x for every x; x + 0 is not (-0 + 0 = +0), so that one is computed.
      if (isConst(b!, -0)) return keep(a, b!);
      if (isConst(a, -0)) return keep(b!, a);
      return null;
    case 'sub':
      return isConst(b!, 0) ? keep(a, b!) : null;
    case 'neg':
      return a.op === 'neg' ? a.inputs[0]! : null;
    default:
      return null;
  }
}

const sameShapeAfter = (x: Node, other: Node): boolean =>
  sameShape(broadcastShapes(x.shape, other.shape, 'op'), x.shape);

/** `x ** n` for a constant integer n. */
export function powi(x: Node, n: number): Node {
  if (!Number.isInteger(n)) throw new Error(`powi: exponent ${n} is not an integer`);
  if (n === 1) return x;
  return apply('powi', [x], n);
}

/** Sum of `x` down to `keep`, a shape of the same rank with 1 on each summed axis. */
export function sumKeep(x: Node, keep: Shape): Node {
  return reduceKeep(x, keep, 'sum');
}

/** `x` reduced (summed, or its largest or smallest values) down to `keep`, 1 on each reduced axis. */
export function reduceKeep(x: Node, keep: Shape, how: Reduction): Node {
  if (sameShape(keep, x.shape)) return x;
  return new Node(how, [x], keep, x.requiresGrad);
}

/** `x` viewed with another shape of the same size (a realized buffer is reused as is). */
export function reshape(x: Node, shape: Shape): Node {
  if (sizeOf(shape) !== x.size) {
    throw new Error(`reshape: cannot view ${fmtShape(x.shape)} (${x.size} elements) as ${fmtShape(shape)}`);
  }
  if (sameShape(shape, x.shape)) return x;
  if (x.op === 'reshape') return reshape(x.inputs[0]!, shape);
  // A single value reads the same under any shape, so it stays fusible instead of becoming a buffer view.
  if (x.size === 1) return expand(x, shape);
  return new Node('reshape', [x], shape, x.requiresGrad);
}

/** `x` broadcast to `shape` (a single value broadcasts to any shape, whatever its rank). */
export function expand(x: Node, shape: Shape): Node {
  if (sameShape(shape, x.shape)) return x;
  if (x.op === 'expand') return expand(x.inputs[0]!, shape);
  if (x.size !== 1 && !broadcastsTo(x.shape, shape)) {
    throw new Error(`expand: ${fmtShape(x.shape)} does not broadcast to ${fmtShape(shape)}`);
  }
  return new Node('expand', [x], shape, x.requiresGrad);
}

/** `g` brought to `shape`: summed over the axes broadcasting added (the adjoint of a broadcast), or broadcast up. */
export function sumTo(g: Node, shape: Shape): Node {
  if (sameShape(g.shape, shape)) return g;
  if (g.size === 1 || broadcastsTo(g.shape, shape)) return expand(g, shape);
  if (sizeOf(shape) === 1)
    return reshape(
      sumKeep(
        g,
        g.shape.map(() => 1),
      ),
      shape,
    );
  if (!broadcastsTo(shape, g.shape)) {
    throw new Error(`sumTo: ${fmtShape(g.shape)} cannot be reduced to ${fmtShape(shape)}`);
  }
  return reshape(sumKeep(g, padShape(shape, g.shape.length)), shape);
}

/** Builders handed to derivative rules. */
export const builders: Builders = {
  c: constant,
  op: (name, ...args) => apply(name as OpName, args),
  powi,
  value: constantValue,
};
