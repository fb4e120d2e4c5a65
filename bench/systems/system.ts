// What every benchmarked system provides, and the WebGPU call counters that measure all of them alike.
import type { InitInfo } from '../../src/index.js';
import type { BenchCase } from '../cases.js';

/** The systems, by id. */
export const SYSTEM_IDS = ['webgrad', 'hand', 'hand-acc', 'jax', 'tfjs', 'webgrad-cpu'] as const;

/** A system's id. */
export type SystemId = (typeof SYSTEM_IDS)[number];

/** One way of computing a case's values and gradients from host arrays to host arrays. */
export interface System {
  readonly id: SystemId;
  /** Human-readable name for tables. */
  readonly label: string;
  /** Systems of one phase are timed interleaved; the CPU phase runs before the GPU one (one webgrad backend at a time). */
  readonly phase: 'gpu' | 'cpu';
  /** Starts the system (device, backend); called once, before its phase. */
  setup(): Promise<void>;
  /** Readies a case (e.g. builds the jitted function); called before the case's first run. */
  prepare(c: BenchCase): void;
  /** Value + gradient of the case at the given points: uploads, computes, reads every output back. */
  run(c: BenchCase, xs: readonly Float32Array[], params: readonly number[]): Promise<Float32Array[]>;
  /** Releases what setup() made, where that is possible. */
  teardown(): Promise<void>;
  /** The system's own counters, where it keeps them (webgrad's stats()). */
  counters?(): OwnCounters;
  /** What init() reported, where the system is webgrad (after setup). */
  info?(): InitInfo | null;
  /** Puts a case's inputs on the device once, for timing the computation alone (GPU systems). */
  resident?(c: BenchCase, xs: readonly Float32Array[], params: readonly number[]): Promise<Resident>;
}

/** A case's inputs kept on a system's device. */
export interface Resident {
  /**
   * Value + gradient from the resident inputs, outputs left on the device (and freed): resolves once the
   * device has finished.
   */
  run(): Promise<void>;
  /** The same computation with its outputs read back, to check the resident path before it is timed. */
  read(): Promise<Float32Array[]>;
  /** Frees the resident inputs. */
  release(): void;
}

/** Counters a system keeps about itself. */
export interface OwnCounters {
  dispatches: number;
  submits: number;
  bytesUploaded: number;
  bytesReadBack: number;
  /** Empty submits made while waiting (see webgpu.nudgeWhileWaiting); absent from runs saved before them. */
  nudges: number;
}

/** Dispatches and submits of every WebGPU user in the process (counted by wrapping the prototypes). */
export const gpuCalls = { dispatches: 0, submits: 0 };

/**
 * Counts compute dispatches and queue submits of every library at once, by wrapping the WebGPU
 * prototypes; a no-op where they are not globals (no WebGPU). Submits of no command buffers (webgrad's
 * and the hand kernel's nudges while waiting in a browser) carry no work and are not counted.
 */
export function installCallCounters(): void {
  const g = globalThis as unknown as {
    GPUComputePassEncoder?: { prototype: Record<string, unknown> };
    GPUQueue?: { prototype: Record<string, unknown> };
  };
  const wrap = (
    proto: Record<string, unknown> | undefined,
    name: string,
    key: keyof typeof gpuCalls,
    counts: (args: unknown[]) => boolean = () => true,
  ): void => {
    const orig = proto?.[name];
    if (!proto || typeof orig !== 'function' || (orig as { counted?: boolean }).counted) return;
    const counted = function (this: unknown, ...args: unknown[]): unknown {
      if (counts(args)) gpuCalls[key]++;
      return (orig as (...a: unknown[]) => unknown).apply(this, args);
    };
    (counted as { counted?: boolean }).counted = true;
    proto[name] = counted;
  };
  wrap(g.GPUComputePassEncoder?.prototype, 'dispatchWorkgroups', 'dispatches');
  wrap(g.GPUQueue?.prototype, 'submit', 'submits', (args) => {
    const buffers = args[0] as { length?: number } | undefined;
    return (buffers?.length ?? 0) > 0;
  });
}

/** The adapter as the reports name it: vendor | architecture | description (init()'s summary of it too). */
export const adapterLabel = (
  info: Pick<GPUAdapterInfo, 'vendor' | 'architecture' | 'description'> & { device?: string },
): string => [info.vendor, info.architecture, info.description || info.device].filter(Boolean).join(' | ');
