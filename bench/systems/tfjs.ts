// TensorFlow.js on its WebGPU backend: tf.valueAndGrads over the case formula (tf.grad twice for f'').
import { gradOfInputs, type BenchCase, type MathOps } from '../cases.js';
import { provideNavigator } from './navigator.js';
import type { System } from './system.js';

type Tf = typeof import('@tensorflow/tfjs-core');
type T = import('@tensorflow/tfjs-core').Tensor;

/** The case formulas over TensorFlow.js tensors (functional ops: chained methods need another import). */
function tfOps(tf: Tf): MathOps<T> {
  return {
    add: (a, b) => tf.add(a, b),
    sub: (a, b) => tf.sub(a, b),
    mul: (a, b) => tf.mul(a, b),
    div: (a, b) => tf.div(a, b),
    neg: (a) => tf.neg(a),
    exp: (a) => tf.exp(a),
    log: (a) => tf.log(a),
    sin: (a) => tf.sin(a),
    cos: (a) => tf.cos(a),
    tanh: (a) => tf.tanh(a),
    sigmoid: (a) => tf.sigmoid(a),
    relu: (a) => tf.relu(a),
    powi: (a, n) => {
      let p = a;
      for (let k = 1; k < n; k++) p = tf.mul(p, a);
      return p;
    },
  };
}

type Fn = (xs: T[], ps: T[]) => T[];

function build(tf: Tf, c: BenchCase): Fn {
  const m = tfOps(tf);
  if (c.order === 2) {
    const f = (x: T): T => c.f(m, [x], []);
    const d1 = tf.grad(f);
    const d2 = tf.grad((x: T) => d1(x));
    return ([x]) => [d1(x!), d2(x!)];
  }
  if (gradOfInputs(c)) {
    const vg = tf.valueAndGrads((...xs: T[]) => c.f(m, xs, []));
    return (xs) => {
      const { value, grads } = vg(xs);
      return [value, ...grads];
    };
  }
  // The points are data: only the parameters are differentiated, with the points closed over.
  return (xs, ps) => {
    const { value, grads } = tf.valueAndGrads((...p: T[]) => c.f(m, xs, p))(ps);
    return [value, ...grads];
  };
}

/** TensorFlow.js on WebGPU through the given GPU. */
export function tfjsSystem(gpu: GPU): System {
  let tf: Tf | null = null;
  const fns = new Map<string, Fn>();
  /** The points as 1-D tensors and the parameters as scalars. */
  const tensors = (xs: readonly Float32Array[], ps: readonly number[]): [T[], T[]] => [
    xs.map((x) => tf!.tensor1d(x)),
    ps.map((p) => tf!.scalar(p)),
  ];
  /** Reads the outputs back as Float32Arrays, then frees them and `more`. */
  const readOutputs = async (outs: T[], more: T[] = []): Promise<Float32Array[]> => {
    try {
      const data = await Promise.all(outs.map((o) => o.data()));
      return data.map((d) => (d instanceof Float32Array ? d : Float32Array.from(d as ArrayLike<number>)));
    } finally {
      tf!.dispose([...more, ...outs]);
    }
  };
  return {
    id: 'tfjs',
    label: 'TensorFlow.js (WebGPU)',
    phase: 'gpu',
    async setup() {
      // The WebGPU backend registers itself only if navigator.gpu exists when it is imported.
      provideNavigator(gpu);
      tf = await import('@tensorflow/tfjs-core');
      await import('@tensorflow/tfjs-core/dist/register_all_gradients');
      await import('@tensorflow/tfjs-backend-webgpu');
      if (!(await tf.setBackend('webgpu')))
        throw new Error('TensorFlow.js: the WebGPU backend did not start');
      await tf.ready();
    },
    prepare(c) {
      if (!fns.has(c.id)) fns.set(c.id, build(tf!, c));
    },
    async run(c, xs, ps) {
      const [xt, pt] = tensors(xs, ps);
      return readOutputs(fns.get(c.id)!(xt, pt), [...xt, ...pt]);
    },
    async resident(c, xs, ps) {
      const t = tf!;
      const [xt, pt] = tensors(xs, ps);
      // The WebGPU backend batches kernels in a command encoder until something is read, and submitting
      // its queue from outside (submitQueue) leaves later results wrong: the timed call waits by reading
      // one element of the last output through the public API (a one-element slice kernel and a 4-byte
      // readback, after the whole in-order queue). Inputs reach the GPU at their first use (the check)
      // and stay there.
      const fn = fns.get(c.id)!;
      return {
        run: async () => {
          const outs = fn(xt, pt);
          const last = outs.at(-1)!;
          const probe = last.rank === 0 ? last : t.slice(t.reshape(last, [-1]), [0], [1]);
          await probe.data();
          t.dispose([...outs, probe]);
        },
        read: () => readOutputs(fn(xt, pt)),
        release: () => t.dispose([...xt, ...pt]),
      };
    },
    async teardown() {
      fns.clear();
    },
  };
}
