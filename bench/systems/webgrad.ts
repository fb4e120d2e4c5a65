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
  synchronize,
  tanh,
  tensor,
  type InitInfo,
  type Tensor,
  type WebGpuOptions,
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
 * The outputs of a case as lazy tensors, in the benchmark's order: for a first-order case backward() on the
 * sum, then the value and every gradient; for the second-order case f′ and f″ through grad of grad.
 */
function outputs(c: BenchCase, xt: Tensor[], pt: Tensor[]): Tensor[] {
  if (c.order === 2) {
    const f1 = (x: Tensor): Tensor => sum(c.f(webgradOps, [x], []));
    const d1 = grad(f1) as (x: Tensor) => Tensor;
    const d2 = grad((x: Tensor) => sum(d1(x))) as (x: Tensor) => Tensor;
    return [d1(xt[0]!), d2(xt[0]!)];
  }
  const wrt = [...(gradOfInputs(c) ? xt : []), ...pt];
  for (const t of wrt) t.grad = null;
  const y = c.f(webgradOps, xt, pt);
  sum(y).backward();
  return [y, ...wrt.map((t) => t.grad!)];
}

/**
 * The case's inputs as tensors. The point arrays are shared, not copied (copy: false), as the other
 * systems upload them straight from the caller's arrays too.
 */
function inputs(c: BenchCase, xs: readonly Float32Array[], ps: readonly number[]): [Tensor[], Tensor[]] {
  const rg = c.order === 1 && gradOfInputs(c);
  return [
    xs.map((x) => tensor(x, { requiresGrad: rg, copy: false })),
    ps.map((p) => tensor(p, { requiresGrad: true })),
  ];
}

/** Every output read together; everything freed now rather than at the next garbage collection. */
async function readAll(outs: Tensor[], more: Tensor[] = []): Promise<Float32Array[]> {
  const data = await Promise.all(outs.map((t) => t.data()));
  for (const t of [...outs, ...more]) t.dispose();
  return data;
}

/** webgrad on WebGPU (with the given GPU, e.g. Dawn's in Node) or on the CPU backend. */
export function webgradSystem(
  backend: 'webgpu' | 'cpu',
  gpu?: GPU,
  webgpu: WebGpuOptions = {},
): System & { info: () => InitInfo | null } {
  let info: InitInfo | null = null;
  return {
    id: backend === 'webgpu' ? 'webgrad' : 'webgrad-cpu',
    label: backend === 'webgpu' ? 'webgrad (WebGPU)' : 'webgrad (CPU)',
    phase: backend === 'webgpu' ? 'gpu' : 'cpu',
    info: () => info,
    async setup() {
      info = await init(backend === 'webgpu' ? { backend, webgpu, ...(gpu ? { gpu } : {}) } : { backend });
    },
    prepare() {},
    run: async (c, xs, ps) => {
      const [xt, pt] = inputs(c, xs, ps);
      return readAll(outputs(c, xt, pt), [...xt, ...pt]);
    },
    // A leaf's values stay on the device once a kernel has read them: after the first call (the check),
    // only the scalar parameters travel, inside the uniform block.
    async resident(c, xs, ps) {
      const [xt, pt] = inputs(c, xs, ps);
      return {
        run: async () => {
          const outs = outputs(c, xt, pt);
          await Promise.all(outs.map((t) => t.realize()));
          await synchronize();
          for (const t of outs) t.dispose();
        },
        read: () => readAll(outputs(c, xt, pt)),
        release: () => {
          for (const t of [...xt, ...pt]) t.dispose();
        },
      };
    },
    async teardown() {},
    counters: () => {
      const s = stats();
      return {
        dispatches: s.dispatches,
        submits: s.submits,
        bytesUploaded: s.bytesUploaded,
        bytesReadBack: s.bytesReadBack,
        nudges: s.nudges,
      };
    },
  };
}
