// jax-js on its WebGPU backend: jit(vmap(valueAndGrad(f))), the idiomatic way to get per-point gradients.
import type { BenchCase, MathOps } from '../cases.js';
import { provideNavigator } from './navigator.js';
import type { System } from './system.js';

type Jax = typeof import('@jax-js/jax');
type Arr = import('@jax-js/jax').Array;
type Compiled = (...args: Arr[]) => unknown;

/** The case formulas over jax-js arrays. jax-js functions consume their arguments, so every use takes a `.ref`. */
function jaxOps(jax: Jax): MathOps<Arr> {
  const { numpy: np, nn } = jax;
  const r = (v: Arr | number): Arr | number => (typeof v === 'number' ? v : v.ref);
  return {
    add: (a, b) => a.ref.add(r(b)),
    sub: (a, b) => a.ref.sub(r(b)),
    mul: (a, b) => a.ref.mul(r(b)),
    div: (a, b) => a.ref.div(r(b)),
    neg: (a) => a.ref.neg(),
    exp: (a) => np.exp(a.ref),
    log: (a) => np.log(a.ref),
    sin: (a) => np.sin(a.ref),
    cos: (a) => np.cos(a.ref),
    tanh: (a) => np.tanh(a.ref),
    sigmoid: (a) => nn.sigmoid(a.ref),
    relu: (a) => nn.relu(a.ref),
    powi: (a, n) => {
      let p = a.ref;
      for (let k = 1; k < n; k++) p = p.mul(a.ref);
      return p;
    },
  };
}

/** The jitted value-and-gradient function of a case, returning its outputs in the benchmark's order. */
function build(jax: Jax, c: BenchCase): Compiled {
  const m = jaxOps(jax);
  const { jit, vmap, valueAndGrad, grad } = jax;
  if (c.order === 2) {
    const f = (x: Arr): Arr => c.f(m, [x], []);
    const d1 = grad(f);
    const d2 = grad((x: Arr) => d1(x));
    return jit(vmap((x: Arr) => [d1(x.ref), d2(x)])) as Compiled;
  }
  const nv = c.vars;
  const np = c.params.length;
  const f = (...a: Arr[]): Arr => c.f(m, a.slice(0, nv), a.slice(nv));
  const wrt = (from: number, count: number): number[] => Array.from({ length: count }, (_, k) => from + k);
  if (np === 0) return jit(vmap(valueAndGrad(f, { argnums: wrt(0, nv) }))) as Compiled;
  const vg = valueAndGrad(f, { argnums: wrt(nv, np) });
  const axes = wrt(0, nv + np).map((k) => (k < nv ? 0 : null));
  // Per-point parameter gradients from vmap, summed over the points inside the same jitted function.
  return jit((...a: Arr[]) => {
    const [y, gs] = vmap(vg, axes)(...a) as [Arr, Arr[]];
    return [y, ...gs.map((g) => g.sum())];
  }) as Compiled;
}

/** A compiled function's outputs as one flat list of arrays. */
const flatten = (out: unknown): Arr[] => (Array.isArray(out) ? out.flat(2) : [out]) as Arr[];

/** Reads arrays back (consuming them) as Float32Arrays. */
async function readArrays(flat: Arr[]): Promise<Float32Array[]> {
  const data: ArrayLike<number>[] = await Promise.all(flat.map((a) => a.data()));
  return data.map((d) => (d instanceof Float32Array ? d : Float32Array.from(d)));
}

/** jax-js on WebGPU through the given GPU. */
export function jaxSystem(gpu: GPU): System {
  let jax: Jax | null = null;
  const fns = new Map<string, Compiled>();
  /** The points and parameters as jax-js arrays, in the compiled functions' argument order. */
  const arrays = (xs: readonly Float32Array[], ps: readonly number[]): Arr[] => {
    const np = jax!.numpy;
    return [...xs.map((x) => np.array(x)), ...ps.map((p) => np.array(p))];
  };
  return {
    id: 'jax',
    label: 'jax-js (WebGPU)',
    phase: 'gpu',
    async setup() {
      provideNavigator(gpu);
      jax = await import('@jax-js/jax');
      const devices = await jax.init('webgpu');
      if (!devices.includes('webgpu')) throw new Error('jax-js: no WebGPU device');
      jax.defaultDevice('webgpu');
    },
    prepare(c) {
      if (!fns.has(c.id)) fns.set(c.id, build(jax!, c));
    },
    run: (c, xs, ps) => readArrays(flatten(fns.get(c.id)!(...arrays(xs, ps)))),
    async resident(c, xs, ps) {
      const j = jax!;
      const args = arrays(xs, ps);
      await j.blockUntilReady(args);
      // Each call takes new references: jax-js functions consume their arguments.
      const call = (): Arr[] => flatten(fns.get(c.id)!(...args.map((a) => a.ref)));
      return {
        run: async () => {
          const flat = call();
          await j.blockUntilReady(flat);
          for (const a of flat) a.dispose();
        },
        read: () => readArrays(call()),
        release: () => {
          for (const a of args) a.dispose();
        },
      };
    },
    async teardown() {
      for (const f of fns.values()) (f as { dispose?: () => void }).dispose?.();
      fns.clear();
    },
  };
}
