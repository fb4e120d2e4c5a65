// webgrad as a benchmarked system, on WebGPU or on its CPU backend, through the public API only.
import {
  exp,
  grad,
  init,
  log,
  relu,
  sigmoid,
  sin,
  cos,
  stats,
  sum,
  tanh,
  tensor,
  type InitInfo,
  type Tensor,
} from '../../src/index.js';
import { gradOfInputs, type BenchCase, type MathOps } from '../cases.js';
import type { System } from './system.js';

/** The case formulas over webgrad tensors, as a user would write them. */
export const webgradOps: MathOps<Tensor> = {
  add: (a, b) => a.add(b),
  sub: (a, b) => a.sub(b),
  mul: (a, b) => a.mul(b),
  div: (a, b) => a.div(b),
  neg: (a) => a.neg(),
  exp: (a) => exp(a),
  log: (a) => log(a),
  sin: (a) => sin(a),
  cos: (a) => cos(a),
  tanh: (a) => tanh(a),
  sigmoid: (a) => sigmoid(a),
  relu: (a) => relu(a),
  powi: (a, n) => a.pow(n),
};

/**
 * Value and gradients of a first-order case: backward() on the sum, then every output read together. The
 * point arrays are shared, not copied (copy: false), as the other systems upload them straight from the
 * caller's arrays too.
 */
async function firstOrder(c: BenchCase, xs: readonly Float32Array[], ps: readonly number[]) {
  const xt = xs.map((x) => tensor(x, { requiresGrad: gradOfInputs(c), copy: false }));
  const pt = ps.map((p) => tensor(p, { requiresGrad: true }));
  const y = c.f(webgradOps, xt, pt);
  sum(y).backward();
  const grads = [...(gradOfInputs(c) ? xt : []), ...pt].map((t) => t.grad!);
  const out = await Promise.all([y.data(), ...grads.map((g) => g.data())]);
  // Freed now rather than at the next garbage collection, so big runs do not pile up device memory.
  for (const t of [y, ...grads, ...xt, ...pt]) t.dispose();
  return out;
}

/** f' and f'' per point: grad of the summed gradient, both read together. */
async function secondOrder(c: BenchCase, xs: readonly Float32Array[]) {
  const f1 = (x: Tensor): Tensor => sum(c.f(webgradOps, [x], []));
  const d1 = grad(f1) as (x: Tensor) => Tensor;
  const d2 = grad((x: Tensor) => sum(d1(x))) as (x: Tensor) => Tensor;
  const x = tensor(xs[0]!, { copy: false });
  const g1 = d1(x);
  const g2 = d2(x);
  const out = await Promise.all([g1.data(), g2.data()]);
  for (const t of [g1, g2, x]) t.dispose();
  return out;
}

/** webgrad on WebGPU (with the given GPU, e.g. Dawn's in Node) or on the CPU backend. */
export function webgradSystem(
  backend: 'webgpu' | 'cpu',
  gpu?: GPU,
): System & { info: () => InitInfo | null } {
  let info: InitInfo | null = null;
  return {
    id: backend === 'webgpu' ? 'webgrad' : 'webgrad-cpu',
    label: backend === 'webgpu' ? 'webgrad (WebGPU)' : 'webgrad (CPU)',
    phase: backend === 'webgpu' ? 'gpu' : 'cpu',
    info: () => info,
    async setup() {
      info = await init(backend === 'webgpu' ? { backend, ...(gpu ? { gpu } : {}) } : { backend });
    },
    prepare() {},
    run: (c, xs, ps) => (c.order === 2 ? secondOrder(c, xs) : firstOrder(c, xs, ps)),
    async teardown() {},
    counters: () => {
      const s = stats();
      return {
        dispatches: s.dispatches,
        submits: s.submits,
        bytesUploaded: s.bytesUploaded,
        bytesReadBack: s.bytesReadBack,
      };
    },
  };
}
