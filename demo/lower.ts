/** Turns a parsed formula into webgrad ops, so the formula runs on whichever backend is active. */
import {
  abs,
  add,
  cos,
  div,
  exp,
  log,
  maximum,
  minimum,
  mul,
  neg,
  pow,
  relu,
  sigmoid,
  sin,
  sqrt,
  sub,
  tan,
  tanh,
  atan,
  asin,
  acos,
  sinh,
  cosh,
  asinh,
  acosh,
  atanh,
  log1p,
  expm1,
  exp2,
  lt,
  le,
  gt,
  ge,
  eq,
  ne,
  where,
  atan2,
  erf,
  floor,
  ceil,
  round,
  trunc,
  sign,
  log2,
  log10,
  softplus,
  type Operand,
  type Tensor,
} from '../src/index.js';
import type { Expr, OpKey } from './expr.js';

const UNARY: Partial<Record<OpKey, (a: Operand) => Tensor>> = {
  neg,
  exp,
  exp2,
  log,
  log2,
  log10,
  sin,
  cos,
  tan,
  tanh,
  atan,
  asin,
  acos,
  sinh,
  cosh,
  asinh,
  acosh,
  atanh,
  log1p,
  expm1,
  erf,
  floor,
  ceil,
  round,
  trunc,
  sign,
  sqrt,
  abs,
  sigmoid,
  softplus,
  relu,
};

const BINARY: Partial<Record<OpKey, (a: Operand, b: Operand) => Tensor>> = {
  add,
  sub,
  mul,
  div,
  pow,
  atan2,
  max: maximum,
  min: minimum,
  lt,
  le,
  gt,
  ge,
  eq,
  ne,
};

/**
 * Builds `e` from webgrad ops over the tensors in `env` (one per variable). A formula without variables
 * stays a plain number, since there is nothing to differentiate.
 */
export function toTensor(e: Expr, env: Readonly<Record<string, Tensor>>): Tensor | number {
  if (e.kind === 'num') return e.value;
  if (e.kind === 'var') {
    const t = env[e.name];
    if (!t) throw new Error(`No value for ${e.name}`);
    return t;
  }
  const args = e.args.map((a) => toTensor(a, env));
  if (e.op === 'where') return where(args[0]!, args[1]!, args[2]!);
  const u = UNARY[e.op];
  if (u) return u(args[0]!);
  const b = BINARY[e.op];
  if (b) return b(args[0]!, args[1]!);
  throw new Error(`No webgrad op for ${e.op}`);
}
