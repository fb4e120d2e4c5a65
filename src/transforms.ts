/** JAX-style function transforms: grad, valueAndGrad, hessian and jvp, composable to any order. */
import { gradients, onesLike, zerosLike } from './autodiff/grad.js';
import { fmtShape, sameShape } from './graph/shape.js';
import type { Node } from './graph/node.js';
import { sum } from './api.js';
import { apply, constant, constantValue, expand, leaf } from './ops/build.js';
import { hint, withoutHints } from './schedule/scheduler.js';
import { written } from './options.js';
import { isTensorData, Tensor, tensor, type TensorData } from './tensor.js';

/** An argument of a transformed function: tensors and numbers are differentiable, anything else passes through. */
export type Arg = Tensor | TensorData | unknown;

/**
 * Arguments of a transformed function: where f takes a Tensor at a differentiated position (one of `N`),
 * numbers and arrays are accepted too (they become Tensors); the other arguments reach f unchanged, as in
 * JAX, so they must be what f takes. A differentiated position whose parameter cannot take a Tensor (an
 * object or an array of tensors) takes nothing, where the types know the argnums: f would get a Tensor.
 */
export type Lifted<A extends unknown[], N extends number = number> = {
  // A rest parameter's elements (key type number) are lifted whichever of them are differentiated.
  [K in keyof A]: K extends `${N}` | number
    ? A[K] extends Tensor
      ? Tensor | TensorData
      : Tensor extends A[K]
        ? A[K]
        : number extends N
          ? A[K] // argnums not known to the types (explicit type arguments): nothing is ruled out
          : never
    : A[K];
};

/**
 * The gradients for a list of argnums: one Tensor each, as a tuple of the list's length where the list is
 * written out (`const [gw, gb] = grad(f, [0, 1])(w, b)`).
 */
export type GradsOf<N extends readonly number[]> = { -readonly [K in keyof N]: Tensor };

/** Result of `valueAndGrad`: the value and the gradient (one Tensor, or one per argnum when argnums is a list). */
export interface ValueAndGrad<G> {
  value: Tensor;
  grad: G;
}

function checkArgnums(argnums: number | readonly number[], nargs: number, what: string): number[] {
  const list = typeof argnums === 'number' ? [argnums] : [...argnums];
  if (list.length === 0) throw new Error(`${what}: argnums is empty`);
  for (const a of list) {
    if (!Number.isInteger(a)) throw new Error(`${what}: argnums must be integers, got ${written(a)}`);
    if (a < 0 || a >= nargs) {
      throw new Error(`${what}: argnum ${a} is out of range for ${nargs} argument${nargs === 1 ? '' : 's'}`);
    }
  }
  if (new Set(list).size !== list.length)
    throw new Error(`${what}: argnums ${JSON.stringify(list)} repeats an index`);
  return list;
}

function asTensor(v: unknown, i: number, what: string): Tensor {
  if (v instanceof Tensor) {
    v.assertLive(what);
    return v;
  }
  if (Array.isArray(v) && (v as unknown[]).flat(Infinity).some((e) => e instanceof Tensor)) {
    throw new Error(
      `${what}: argument ${i} is differentiated but is an array of Tensors: differentiate with respect to ` +
        'each Tensor as an argument of its own (argnums lists several)',
    );
  }
  if (isTensorData(v)) {
    try {
      return tensor(v);
    } catch (e) {
      throw new Error(`${what}: argument ${i}: ${(e as Error).message}`, { cause: e });
    }
  }
  throw new Error(
    `${what}: argument ${i} is differentiated but is ${v === null ? 'null' : typeof v}, not a Tensor or numbers`,
  );
}

/** f's result, checked to be a one-element Tensor. */
function scalarOutput(out: unknown, what: string): Tensor {
  if (!(out instanceof Tensor)) {
    // Name the class of objects: a Promise here means f was async, which grad cannot differentiate.
    const got =
      out === null || out === undefined
        ? String(out)
        : typeof out === 'object'
          ? (out.constructor?.name ?? 'an object')
          : `${typeof out} ${String(out)}`;
    throw new Error(`${what}: f must return a Tensor, but it returned ${got}`);
  }
  if (out.size !== 1) {
    throw new Error(
      `${what}: f must return a scalar, but it returned shape ${fmtShape(out.shape)}; for many points use x => sum(f(x))`,
    );
  }
  return out;
}

function evaluate(
  f: (...args: never[]) => unknown,
  argnums: number | readonly number[],
  args: readonly unknown[],
  what: string,
): { value: Tensor; grads: Tensor[] } {
  const nums = checkArgnums(argnums, args.length, what);
  // Each differentiated argument enters through a fresh identity node, so passing one tensor twice
  // still gives each argument its own partial derivative.
  const wrapped = args.map((a, i) =>
    nums.includes(i) ? new Tensor(apply('id', [asTensor(a, i, what).node])) : a,
  );
  // f's own intermediates are not hinted (a grad() called inside f would otherwise have its gradient
  // stored as an extra output of the fused kernel): only what this call returns is.
  const out = scalarOutput(
    withoutHints(() => (f as (...a: unknown[]) => unknown)(...wrapped)),
    what,
  );
  const wrt = nums.map((i) => (wrapped[i] as Tensor).node);
  const gs = gradients([out.node], [onesLike(out.node)], wrt).map(
    (g, k) => new Tensor(g ?? zerosLike(wrt[k]!)),
  );
  // The gradients are computed together; f's value only where it is returned (valueAndGrad): a value
  // nobody reads would cost a reduction and a second dispatch.
  hint([...(what.startsWith('valueAndGrad') ? [out.node] : []), ...gs.map((g) => g.node)]);
  return { value: out, grads: gs };
}

/** The gradient function of scalar-valued `f` with respect to argument `argnums` (default 0). */
export function grad<F extends (...args: never[]) => Tensor, const N extends number = 0>(
  f: F,
  argnums?: N,
): (...args: Lifted<Parameters<F>, N>) => Tensor;
/** The gradient function with respect to several arguments: one Tensor each. */
export function grad<F extends (...args: never[]) => Tensor, const N extends readonly number[]>(
  f: F,
  argnums: N,
): (...args: Lifted<Parameters<F>, N[number]>) => GradsOf<N>;
/** The gradient function, for calls that give the argument types explicitly (numbers accepted at every Tensor). */
export function grad<A extends unknown[]>(
  f: (...args: A) => Tensor,
  argnums?: number,
): (...args: Lifted<A>) => Tensor;
/** The gradient functions, for calls that give the argument types explicitly. */
export function grad<A extends unknown[]>(
  f: (...args: A) => Tensor,
  argnums: readonly number[],
): (...args: Lifted<A>) => Tensor[];
export function grad(f: (...args: never[]) => unknown, argnums: number | readonly number[] = 0) {
  if (typeof f !== 'function') throw new Error(`grad(f): f must be a function, got ${typeof f}`);
  return (...args: unknown[]) => {
    const { grads } = evaluate(f, argnums, args, 'grad(f)');
    return typeof argnums === 'number' ? grads[0]! : grads;
  };
}

/** Like `grad`, also returning f's value (computed in the same kernel). */
export function valueAndGrad<F extends (...args: never[]) => Tensor, const N extends number = 0>(
  f: F,
  argnums?: N,
): (...args: Lifted<Parameters<F>, N>) => ValueAndGrad<Tensor>;
/** `valueAndGrad` with respect to several arguments. */
export function valueAndGrad<F extends (...args: never[]) => Tensor, const N extends readonly number[]>(
  f: F,
  argnums: N,
): (...args: Lifted<Parameters<F>, N[number]>) => ValueAndGrad<GradsOf<N>>;
/** `valueAndGrad`, for calls that give the argument types explicitly (numbers accepted at every Tensor). */
export function valueAndGrad<A extends unknown[]>(
  f: (...args: A) => Tensor,
  argnums?: number,
): (...args: Lifted<A>) => ValueAndGrad<Tensor>;
/** `valueAndGrad` with respect to several arguments, for calls that give the argument types explicitly. */
export function valueAndGrad<A extends unknown[]>(
  f: (...args: A) => Tensor,
  argnums: readonly number[],
): (...args: Lifted<A>) => ValueAndGrad<Tensor[]>;
export function valueAndGrad(f: (...args: never[]) => unknown, argnums: number | readonly number[] = 0) {
  if (typeof f !== 'function') throw new Error(`valueAndGrad(f): f must be a function, got ${typeof f}`);
  return (...args: unknown[]) => {
    const { value, grads } = evaluate(f, argnums, args, 'valueAndGrad(f)');
    return { value, grad: typeof argnums === 'number' ? grads[0]! : grads };
  };
}

/** The second derivatives for a list of argnums: a matrix, as tuples where the list is written out. */
export type HessianOf<N extends readonly number[]> = { -readonly [K in keyof N]: GradsOf<N> };

/**
 * Second derivatives of scalar-valued `f` with respect to argument `argnums` (default 0), or a matrix of
 * them for a list: row i, column j the derivative with respect to argument j of the sum of the gradient
 * with respect to argument i. The differentiated arguments must have one shape. Of one element each, that
 * is the Hessian; holding one value per point, with `f` a sum of terms of one point each (`sum(g(x, y))` for
 * elementwise `g`), it is each point's Hessian, point by point; in general, each block of the Hessian
 * applied to a vector of ones.
 */
export function hessian<F extends (...args: never[]) => Tensor, const N extends number = 0>(
  f: F,
  argnums?: N,
): (...args: Lifted<Parameters<F>, N>) => Tensor;
/** The matrix of second derivatives for several arguments (see the single-argument form). */
export function hessian<F extends (...args: never[]) => Tensor, const N extends readonly number[]>(
  f: F,
  argnums: N,
): (...args: Lifted<Parameters<F>, N[number]>) => HessianOf<N>;
export function hessian(f: (...args: never[]) => unknown, argnums: number | readonly number[] = 0) {
  if (typeof f !== 'function') throw new Error(`hessian(f): f must be a function, got ${typeof f}`);
  const g = f as (...args: unknown[]) => Tensor;
  return (...args: unknown[]) => {
    const what = 'hessian(f)';
    const nums = checkArgnums(argnums, args.length, what);
    const xs = args.map((a, i) => (nums.includes(i) ? asTensor(a, i, what) : a));
    // A parameter shared by the points (broadcast) would get the total over them in its row and each point's
    // value in its column: neither the Hessian nor each point's.
    const first = xs[nums[0]!] as Tensor;
    for (const i of nums) {
      const x = xs[i] as Tensor;
      if (!sameShape(x.shape, first.shape))
        throw new Error(
          `${what}: the differentiated arguments must have one shape, but argument ${nums[0]} has ` +
            `${fmtShape(first.shape)} and argument ${i} ${fmtShape(x.shape)}; give a shared parameter the ` +
            "points' shape (full(shape, w)), or take grad of grad",
        );
    }
    // f's result checked here, so that a mistake is named as hessian's.
    scalarOutput(
      withoutHints(() => g(...xs)),
      what,
    );
    // Row i: the gradient of f with respect to argument i, summed (its points are independent for a sum of
    // per-point terms), then differentiated with respect to every argnum.
    const rows = nums.map((i) => {
      const gi = (...a: unknown[]): Tensor => sum(grad(g, i)(...(a as Lifted<unknown[]>)));
      return grad(gi, nums)(...(xs as Lifted<unknown[]>));
    });
    return typeof argnums === 'number' ? rows[0]![0]! : rows;
  };
}

/** Result of `jvp`: f's value and its derivative along the tangents, both of f's shape. */
export interface ValueAndTangent {
  value: Tensor;
  tangent: Tensor;
}

/**
 * f's value at `primals` and its derivative along `tangents` (JAX's jvp, forward mode): the sum over the
 * arguments of ∂f/∂xᵢ · tᵢ, with each tangent of its primal's shape. f may return any shape, and so may
 * its tangent: the derivative at every point with respect to a parameter shared by all of them
 * (`jvp(f, [w, x], [1, zerosLike(x)])`), which grad would sum over the points. Computed as the transpose of
 * f's vector-Jacobian product (reverse mode applied twice), fused with the value.
 */
export function jvp(
  f: (...args: never[]) => Tensor,
  primals: readonly (Tensor | TensorData)[],
  tangents: readonly (Tensor | TensorData)[],
): ValueAndTangent {
  const what = 'jvp(f)';
  if (typeof f !== 'function') throw new Error(`${what}: f must be a function, got ${typeof f}`);
  if (!Array.isArray(primals) || !Array.isArray(tangents))
    throw new Error(`${what}: primals and tangents must be arrays (one entry per argument of f)`);
  if (primals.length !== tangents.length)
    throw new Error(`${what}: ${primals.length} primals but ${tangents.length} tangents`);
  // Each argument enters through a fresh identity node, as in grad: one tensor passed twice gets both terms.
  const xs = primals.map((p, i) => new Tensor(apply('id', [asTensor(p, i, what).node])));
  const ts = tangents.map((t, i) => {
    const v = asTensor(t, i, `${what} (tangents)`);
    if (!sameShape(v.shape, xs[i]!.shape))
      throw new Error(
        `${what}: tangent ${i} has shape ${fmtShape(v.shape)}, but its primal ${fmtShape(xs[i]!.shape)}`,
      );
    return v;
  });
  const out = withoutHints(() => (f as (...a: Tensor[]) => unknown)(...xs));
  if (!(out instanceof Tensor)) throw new Error(`${what}: f must return a Tensor`);
  // A cotangent u of f's shape (one stored value, broadcast): J^T u is linear in u, so the derivative of
  // sum over i of (J_i^T u) · t_i with respect to u is J t, whatever u's value.
  const u = expand(leaf(new Float32Array(1), [], true), out.node.shape);
  const vjps = gradients(
    [out.node],
    [u],
    xs.map((x) => x.node),
  );
  // A tangent of zeros (zerosLike, a number 0) leaves its argument out: that argument does not move, and its
  // partial, infinite or NaN as it may be (sqrt at 0), is not multiplied by the zeros (0 * Inf is NaN).
  let s = constant(0);
  vjps.forEach((g, i) => {
    if (g && !knownZero(ts[i]!.node))
      s = apply('add', [s, sum(new Tensor(apply('mul', [g, ts[i]!.node]))).node]);
  });
  const [jt] = gradients([s], [onesLike(s)], [u]);
  const tangent = new Tensor(jt ?? zerosLike(out.node));
  hint([out.node, tangent.node]);
  return { value: out, tangent };
}

/** True for a constant 0 or a leaf whose values on the host are all zeros (±0). */
function knownZero(n: Node): boolean {
  const c = constantValue(n);
  if (c !== null) return c === 0;
  return n.op === 'leaf' && n.host !== null && n.host.every((v) => v === 0);
}
