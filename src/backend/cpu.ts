/** The CPU backend: fused kernels as generated JS loops; also the float64 reference evaluator. */
import { copyToF32, type Node } from '../graph/node.js';
import { emptyStats, type Backend, type Stats } from '../schedule/backend.js';
import { planKernels, storageNode } from '../schedule/fuse.js';
import { loopKey, type Kernel } from '../schedule/kernel.js';
import {
  canGenerateCode,
  compileSource,
  constantsOf,
  indexWide,
  interpret,
  kernelSource,
  type CompiledLoop,
  type CpuKernelFn,
  type HostArray,
} from './cpu-kernel.js';

/** Options of the CPU backend. */
export interface CpuOptions {
  /** Generate JS for each fused kernel (default: when the environment allows `new Function`). */
  jit?: boolean;
}

// Compiled loops by kernel structure. Keys carry no data or sizes, so the cache stays small;
// the bound protects programs that build endless distinct graphs.
const MAX_CACHED = 512;

/** Runs kernels on the CPU, compiling each distinct kernel once. */
export class CpuBackend implements Backend {
  readonly name = 'cpu' as const;
  /** Whether kernels are compiled to JS (false: interpreted). */
  readonly jit: boolean;
  private readonly cache = new Map<string, CompiledLoop>();
  private readonly counters: Stats = emptyStats();

  constructor(opts: CpuOptions = {}) {
    this.jit = opts.jit ?? canGenerateCode();
  }

  has(node: Node): boolean {
    return storageNode(node).host !== null;
  }

  /**
   * The runnable form of a kernel, its loop cached by its structure without its constants or sizes
   * (loopKey): a repeated computation (the notebook's one point at a time, say), or one with other
   * constants (a parameter swept, a learning rate changed step by step) or sizes (batches of another
   * length), finds its loop without generating the source again. `f32`: values rounded to float32 op by op
   * (false for the float64 reference).
   */
  compile(k: Kernel, f32 = true): CpuKernelFn {
    if (!this.jit) return interpret(k, f32);
    const key = (f32 ? 'f32 ' : 'f64 ') + (indexWide(k) ? 'wide ' : '') + loopKey(k);
    let loop = this.cache.get(key);
    if (loop) {
      this.counters.cacheHits++;
      // Re-insert so the map's order is least-recently-used first.
      this.cache.delete(key);
      this.cache.set(key, loop);
    } else {
      loop = compileSource(kernelSource(k, f32));
      this.counters.pipelinesCompiled++;
      this.cache.set(key, loop);
      if (this.cache.size > MAX_CACHED) this.cache.delete(this.cache.keys().next().value!);
    }
    const K = constantsOf(k, f32);
    const run = loop;
    return (ins, outs, n) => run(ins, outs, n, K);
  }

  run(kernels: readonly Kernel[]): void {
    this.runWith(
      kernels,
      (n) => hostOf(n),
      (n, a) => (n.host = a),
      Float32Array,
    );
    this.counters.submits++;
  }

  /** Runs kernels reading inputs and storing outputs through the given functions. */
  runWith(
    kernels: readonly Kernel[],
    get: (n: Node) => HostArray,
    set: (n: Node, a: HostArray) => void,
    Arr: Float32ArrayConstructor | Float64ArrayConstructor,
  ): void {
    for (const k of kernels) {
      const fn = this.compile(k, Arr === Float32Array);
      const ins = k.inputs.map((inp) => get(inp.node));
      const outs = k.outputs.map((o) => hostArray(Arr, o.node.size));
      fn(ins, outs, k.size);
      k.outputs.forEach((o, j) => set(o.node, outs[j]!));
      this.counters.dispatches++;
    }
  }

  async read(node: Node): Promise<Float32Array> {
    return copyToF32(hostOf(node));
  }

  async sync(): Promise<void> {}

  stats(): Stats {
    return { ...this.counters };
  }

  /**
   * Values of `targets` computed from the leaves in float64 arithmetic and storage (the reference
   * that gradient checks compare against), and from `given` values of other nodes (by storage node)
   * taken as they are. Nothing is stored on the nodes.
   */
  evaluateF64(targets: readonly Node[], given: ReadonlyMap<Node, HostArray> = new Map()): Float64Array[] {
    const store = new Map<Node, HostArray>();
    const isLeaf = (n: Node): boolean => (n.op === 'leaf' && n.host !== null) || given.has(n);
    const get = (n: Node): HostArray => {
      const s = storageNode(n);
      return given.get(s) ?? (isLeaf(s) ? s.host! : store.get(s)!);
    };
    this.runWith(planKernels(targets, isLeaf), get, (n, a) => store.set(n, a), Float64Array);
    return targets.map((t) => Float64Array.from(get(t)));
  }
}

/** Storage for `n` values, or an error that says so where no array can hold them (a broadcast of 1e10 points). */
function hostArray(Arr: Float32ArrayConstructor | Float64ArrayConstructor, n: number): HostArray {
  try {
    return new Arr(n);
  } catch (e) {
    if (e instanceof RangeError)
      throw new Error(`a result of ${n} values is more than one array can hold`, { cause: e });
    throw e;
  }
}

/** Host values of a node (through reshape views); the scheduler guarantees they exist. */
function hostOf(n: Node): HostArray {
  const s = storageNode(n);
  if (!s.host) throw new Error(`internal: node ${s.id} (${s.op}) has no host values`);
  return s.host;
}
