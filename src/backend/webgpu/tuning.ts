/** webgrad's defaults per kind of adapter, kept out of open.ts (which init() loads only when needed). */
import { SOFTWARE_POINTS, type ReduceMode } from './program.js';
import { inNode } from './idle.js';
import type { WebGpuOptions } from '../../init.js';

/** How webgrad runs on an adapter: its defaults (defaultTuning), or init()'s options over them (tuningFor). */
export interface Tuning {
  /** How scalar sums are split. */
  readonly reduce: ReduceMode;
  /** Points per invocation of kernels without sums. */
  readonly points: number;
  /** Sleep through most of a run's expected time before waiting on it. */
  readonly sleepWhileWaiting: boolean;
  /** Submit nothing every so often while waiting, so that a browser looks for finished work sooner. */
  readonly nudgeWhileWaiting: boolean;
  /** sin, cos and tan with their full range reduction from the start, rather than redone when flagged. */
  readonly exactRangeReduction: boolean;
  /** Work of fewer points than this, with every input on the host, runs on the CPU backend. */
  readonly cpuBelow: number;
}

/**
 * cpuBelow's default on a GPU: below it the round trip (upload, submit, map: 0.1–0.3 ms in Node on an H200,
 * milliseconds in a browser) costs more than the arithmetic on the CPU.
 */
export const GPU_CPU_BELOW = 256;
/**
 * cpuBelow's default on a CPU implementation of WebGPU, where the "GPU" is the same processor behind a
 * round trip: on SwiftShader (2 cores) webgrad's CPU backend computed the benchmark's cases at 2^12
 * points in 0.03–0.69x the time of its WebGPU backend in Chromium and 0.15–0.54x in Node, except the
 * 20-op chain in Node (1.19x); at 2^14 the chain took 1.1–2.2x and exp(-x^2-2x-sin x) 0.4–1.0x.
 */
export const SOFTWARE_CPU_BELOW = 8192;

/**
 * The defaults for a GPU, or for a CPU implementation of WebGPU (`software`): there, barriers and
 * workgroups are expensive, in Node Dawn's busy polling takes a core from the kernels, and every point
 * pays for a branch that any point takes (the full range reduction of sin, cos and tan), where a GPU skips
 * the branch when no invocation of a group takes it. Browsers are nudged on every adapter (Dawn in Node
 * looks for finished work without being asked).
 */
export function defaultTuning(software: boolean): Tuning {
  return {
    reduce: software ? 'invocation' : 'workgroup',
    points: software ? SOFTWARE_POINTS : 1,
    sleepWhileWaiting: software && inNode(),
    nudgeWhileWaiting: !inNode(),
    exactRangeReduction: !software,
    cpuBelow: software ? SOFTWARE_CPU_BELOW : GPU_CPU_BELOW,
  };
}

/** The tuning on an adapter: each of init()'s options (checked there) where given, else the default. */
export function tuningFor(software: boolean, opts: WebGpuOptions): Tuning {
  const t = defaultTuning(software);
  const given = (v: 'auto' | boolean | undefined, d: boolean): boolean => (typeof v === 'boolean' ? v : d);
  return {
    reduce: opts.reduce === 'workgroup' || opts.reduce === 'invocation' ? opts.reduce : t.reduce,
    points: typeof opts.pointsPerInvocation === 'number' ? opts.pointsPerInvocation : t.points,
    sleepWhileWaiting: given(opts.sleepWhileWaiting, t.sleepWhileWaiting),
    nudgeWhileWaiting: given(opts.nudgeWhileWaiting, t.nudgeWhileWaiting),
    exactRangeReduction: given(opts.exactRangeReduction, t.exactRangeReduction),
    cpuBelow: typeof opts.cpuBelow === 'number' ? opts.cpuBelow : t.cpuBelow,
  };
}
