/** The interface every backend implements; the scheduler owns it. */
import type { Node } from '../graph/node.js';
import type { Kernel } from './kernel.js';
import type { OpName } from '../ops/table.js';

/** Counters of what a backend did, for tests that prove fusion and for users who want to see. */
export interface Stats {
  /** Kernel launches (GPU dispatches, CPU loops). */
  dispatches: number;
  /** Queue submissions (GPU); CPU counts one per batch of kernels. */
  submits: number;
  /** Kernels compiled (pipelines, JS functions). */
  pipelinesCompiled: number;
  /** Kernels found already compiled. */
  cacheHits: number;
  /** Runs that reused the plan and generated code of an earlier run of the same kernels (WebGPU). */
  plansReused: number;
  /** Bytes copied to the device. */
  bytesUploaded: number;
  /** Bytes copied back to the host. */
  bytesReadBack: number;
  /** Kernels a WebGPU backend ran on the CPU instead: small work, work beyond its limits, after a loss. */
  cpuFallbacks: number;
  /**
   * Runs a WebGPU backend redid with the exact range reduction of sin, cos and tan, because an argument
   * was beyond 8192 in magnitude (the first attempt reduces by Cody-Waite alone).
   */
  exactReruns: number;
  /**
   * Empty submits made while waiting for a result, so that a browser looks for finished work sooner
   * (WebGPU; see `webgpu.nudgeWhileWaiting`). Not counted in `submits`.
   */
  nudges: number;
  /** Device buffers alive now. */
  liveBuffers: number;
  /** Bytes in device buffers alive now. */
  liveBytes: number;
  /** Bytes in released device buffers kept for reuse (up to the most ever live at once, at least 256 MiB). */
  idleBytes: number;
  /** Device buffers made so far (the rest of the acquisitions reused a kept one). */
  buffersCreated: number;
}

/** A place kernels run: the CPU or a WebGPU device. */
export interface Backend {
  /** 'cpu' or 'webgpu'. */
  readonly name: 'cpu' | 'webgpu';
  /** True when the node's values can be read by this backend's kernels without recomputation. */
  has(node: Node): boolean;
  /**
   * Runs kernels in order (they are sorted by level), leaving each output's values on its node.
   * `reads`: nodes about to be read, which a device backend may copy back with the run itself.
   */
  run(kernels: readonly Kernel[], reads?: readonly Node[]): Promise<void> | void;
  /** A fresh host copy of a realized node's values. */
  read(node: Node): Promise<Float32Array>;
  /** Counters since start (live figures are current). */
  stats(): Stats;
  /** Resolves once everything submitted so far has finished (a device queue drains; the CPU has nothing pending). */
  sync(): Promise<void>;
  /**
   * Called when a later init() replaces this backend: lets go of what it keeps for reuse, and of the
   * device once the values it holds are gone (the scheduler brings those that are needed to the host).
   */
  retire?(): void;
  /** True while a replaced backend still holds values of nodes (see retire). */
  holdsValues?(): boolean;
  /** What a device binds per kernel (none on the CPU): see planKernels. */
  readonly bindings?: Bindings;
}

/** A device's bindings, by which planKernels weighs a plan: its limit, and what a kernel's outputs need. */
export interface Bindings {
  /** A string equal for bindings by which plans come out alike (plans are kept by it: see plan-memo.ts). */
  readonly key: string;
  /** The most buffers one program may bind. */
  readonly limit: number;
  /** The most buffers any one output of the kernel needs bound. */
  need(k: Kernel): number;
  /** need(k) <= limit, known without counting where a bound shows it (planning runs at every call). */
  fits(k: Kernel): boolean;
  /**
   * What a value of `op` weighs for the device's compiler, in plain ops (see LARGE_KERNEL in fuse.ts); each
   * value weighs 1 where this is missing (the CPU's loops call their functions).
   */
  weight?(op: OpName, p: number): number;
}

/** Zeroed counters. */
export function emptyStats(): Stats {
  return {
    dispatches: 0,
    submits: 0,
    pipelinesCompiled: 0,
    cacheHits: 0,
    plansReused: 0,
    bytesUploaded: 0,
    bytesReadBack: 0,
    cpuFallbacks: 0,
    exactReruns: 0,
    nudges: 0,
    liveBuffers: 0,
    liveBytes: 0,
    idleBytes: 0,
    buffersCreated: 0,
  };
}
