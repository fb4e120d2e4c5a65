/** What every generated WebGPU program shares: workgroup and reduction sizes, and the shape of a program. */
import type { Ref } from '../../schedule/kernel.js';

/** Invocations per workgroup in every template. */
export const WG = 256;

/**
 * Points each invocation of a kernel with scalar sums adds up before the workgroup reduction. The
 * reduction's barriers then cost per 16 points, not per point: they dominate on CPU implementations of
 * WebGPU (SwiftShader runs each invocation of a workgroup with barriers as a coroutine), and a GPU
 * still has N / 4096 workgroups to spread (16384 at 2^26 points).
 */
export const REDUCE_POINTS = 16;

/**
 * How a kernel's scalar sums are split before the finishing pass. 'workgroup': a tree in workgroup
 * memory, one partial per workgroup (few partials; barriers are cheap on GPUs). 'invocation': every
 * invocation keeps its own partial and there is no barrier at all: CPU implementations of WebGPU run a
 * workgroup's invocations as coroutines, so each barrier round is a context switch per invocation
 * (15x slower sums on SwiftShader), while the extra partials are a few percent more memory traffic.
 */
export type ReduceMode = 'workgroup' | 'invocation';

/** Points each invocation adds up in 'invocation' mode: one partial per 32 points. */
export const INVOCATION_POINTS = 32;

/**
 * Points per invocation of kernels without sums on a CPU implementation of WebGPU. SwiftShader pays a
 * fixed cost per workgroup that, at one point per invocation, is most of a memory-bound kernel's time
 * ((x-2)^2 over 2^22 points: 2.5x faster at 32). A GPU wants many resident invocations instead, and
 * keeps 1.
 */
export const SOFTWARE_POINTS = 32;

/** Points per invocation of a kernel with scalar sums in `mode`. */
export const reducePoints = (mode: ReduceMode): number =>
  mode === 'invocation' ? INVOCATION_POINTS : REDUCE_POINTS;

/**
 * Invocations of the finishing pass of sums in `mode`: a GPU's full workgroup, or for the per-invocation
 * split of a CPU implementation of WebGPU the width of a CPU's vector unit, which runs the tree's barriers
 * without switching between groups of lanes.
 */
export const finishWidth = (mode: ReduceMode): number => (mode === 'invocation' ? 4 : WG);

/** Partials one workgroup writes per sum in `mode`. */
export const partialsPerGroup = (mode: ReduceMode): number => (mode === 'invocation' ? WG : 1);

/** What a binding after the uniform block (binding 0) is: read-only or writable storage. */
export type BindingKind = 'read' | 'write';

/** A generated shader with the bindings it declares and the uniform terms it indexes. */
export interface Program {
  /** The complete WGSL source (also the pipeline cache key). */
  readonly source: string;
  /** Kinds of bindings 1.. in order. */
  readonly bindings: readonly BindingKind[];
  /** Bytes of the uniform block the shader reads. */
  readonly uniformBytes: number;
  /** Constants the shader reads from the uniform block (`P.c`), in slot order. */
  readonly consts: readonly number[];
  /**
   * For each constant, the value of its kernel it was read from (see Step.constsOf): a run of the same kernels
   * with other numbers (a learning rate, a point of a sweep) takes this program with its own constants.
   */
  readonly constRefs: readonly Ref[];
}

/** A per-point program: the elementwise template, or the strided (sum along axes) one. */
export interface PointProgram extends Program {
  /** Kernel input indices bound at 1.., in order. */
  readonly inputs: readonly number[];
  /**
   * Kernel input indices of one-element inputs, read as `sc[m]` from one binding after `inputs` (absent
   * when empty): gathered into one buffer before the dispatch, so that a kernel reading many scalars (a
   * second derivative reads dozens of sums) stays within the device's storage-buffer limit.
   */
  readonly packed: readonly number[];
  /** Kernel output indices written per point (main) or per summed element (strided), bound after the inputs. */
  readonly stores: readonly number[];
  /** Kernel output indices summed into the partials buffer (bound last), by slot. */
  readonly reduces: readonly { output: number; slot: number }[];
  /** Uniform (inner, dim, stride) terms, in the order the shader reads them. */
  readonly terms: readonly (readonly [number, number, number])[];
  /** Points per invocation (reducePoints(mode) with scalar sums, else MainOptions.points): a workgroup covers WG * points. */
  readonly points: number;
  /**
   * True when the program reduces sin/cos/tan arguments by Cody-Waite alone: its last binding is a flag
   * word it sets to nonzero when an argument was beyond that range (the results are then wrong and the
   * run is redone with exact programs).
   */
  readonly speculative: boolean;
}

/** Header words of the per-point templates' uniform block before the terms. */
export const HEADER_WORDS = 8;

/** Header words of the strided template's uniform block before the terms. */
export const STRIDED_HEADER_WORDS = 12;
