/** webgrad: automatic differentiation with fused elementwise kernels on WebGPU, and a CPU backend that gives the same answers. */
export {
  Tensor,
  tensor,
  type TensorData,
  type TensorOptions,
  type NestedArray,
  type BackwardOptions,
} from './tensor.js';
export {
  add,
  sub,
  mul,
  div,
  pow,
  neg,
  exp,
  log,
  log1p,
  expm1,
  sin,
  cos,
  tan,
  atan,
  asin,
  acos,
  tanh,
  sinh,
  cosh,
  asinh,
  acosh,
  atanh,
  sigmoid,
  relu,
  abs,
  sqrt,
  maximum,
  minimum,
  clamp,
  square,
  sum,
  mean,
  reshape,
  opNames,
  type Operand,
} from './api.js';
export { zeros, ones, full, linspace, type MakeOptions } from './create.js';
export { grad, valueAndGrad, type ValueAndGrad, type Lifted, type GradsOf } from './transforms.js';
export { checkGrads, type CheckOptions, type CheckReport } from './check.js';
export {
  init,
  backendInfo,
  stats,
  synchronize,
  type InitOptions,
  type InitInfo,
  type AdapterSummary,
  type BackendName,
  type WebGpuOptions,
} from './init.js';
export type { Stats } from './schedule/backend.js';
export { formula, type FormulaOptions } from './format.js';
