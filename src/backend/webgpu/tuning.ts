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
}

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
  };
}
