/** The fused-kernel IR that the scheduler hands to every backend. */
import type { Node, Reduction } from '../graph/node.js';
import type { Shape } from '../graph/shape.js';
import type { OpName } from '../ops/table.js';
import { numberIn } from './numbering.js';

/** Index of a value within `Kernel.values`. */
export type Ref = number;

/** One value computed per point of the kernel's domain. */
export type Value =
  | { readonly kind: 'input'; readonly index: number }
  | { readonly kind: 'const'; readonly value: number }
  | { readonly kind: 'op'; readonly op: OpName; readonly args: readonly Ref[]; readonly p: number };

/**
 * How a buffer is indexed from a point of the domain: `full` (same shape: the point's own index),
 * `scalar` (one element), or `strided` (broadcast: one stride per domain dimension, 0 where broadcast).
 */
export type Access =
  | { readonly kind: 'full' }
  | { readonly kind: 'scalar' }
  | { readonly kind: 'strided'; readonly strides: readonly number[] };

// One float32's bits, read through a float32 array (f32Bits).
const f32 = new Float32Array(1);
const f32u = new Uint32Array(f32.buffer);

/** The bits of `v` rounded to float32 (NaNs of any payload read as the one JS makes). */
export function f32Bits(v: number): number {
  f32[0] = v;
  return f32u[0]!;
}

/** A short string that tells accesses apart (for cache keys). */
export const accessKey = (a: Access): string =>
  a.kind === 'strided' ? `s${a.strides.join(',')}` : a.kind[0]!;

/**
 * A string equal for kernels that generated code cannot tell apart: the same values, accesses and
 * outputs, constants equal where they are equal as float32 (WGSL reads one uniform for each float32 of a
 * kernel: their numbers are the run's), and the same domain where an access is strided (its index needs it).
 */
export const kernelKey = (k: Kernel): string => keyByTemplate(k, 0, true, true);

// Kernels made from a kept plan (see plan-memo.ts), by the template they were made from: every such kernel
// has the same keys, which a repeated run would otherwise build again for each kernel, on every run, for
// the CPU backend's loop cache and the WebGPU plan cache alike.
const templates = new WeakMap<Kernel, object>();
// Each template's kernelKey, shapeKey and loopKey, once made.
const keys = new WeakMap<object, (string | undefined)[]>();

/** makeKernelKey(k, constants, sizes), kept by k's template (where it has one) in slot `slot`. */
function keyByTemplate(k: Kernel, slot: number, constants: boolean, sizes: boolean): string {
  const from = templates.get(k);
  if (from === undefined) return makeKernelKey(k, constants, sizes);
  let kept = keys.get(from);
  if (!kept) keys.set(from, (kept = []));
  return (kept[slot] ??= makeKernelKey(k, constants, sizes));
}

/**
 * Notes that `k` was made from `template`, which fixes everything kernelKey() reads (domain, values,
 * accesses, outputs): kernels made from one template share a key, computed once.
 */
export function madeFrom(k: Kernel, template: object): void {
  templates.set(k, template);
}

/**
 * A string equal for kernels that differ at most in their constants and the buffers they read: those whose
 * generated code is the same up to which constants share a uniform (see kernelKey).
 */
export const shapeKey = (k: Kernel): string => keyByTemplate(k, 1, false, true);

/**
 * A string equal for kernels that differ at most in their constants, the buffers they read and their sizes
 * (domains, and the strides of broadcast reads, of the same ranks and with the same dimensions broadcast):
 * those whose CPU loop is the same where it takes its sizes as it takes its constants (see cpu-kernel.ts).
 */
export const loopKey = (k: Kernel): string => keyByTemplate(k, 2, false, false);

function makeKernelKey(k: Kernel, constants: boolean, sizes: boolean): string {
  const strided = [...k.inputs, ...k.outputs].some((x) => x.access.kind === 'strided');
  const parts: (string | number)[] = [strided ? (sizes ? k.domain.join('x') : `r${k.domain.length}`) : ''];
  // With constants, each by the first constant of the kernel with its float32 bits.
  const classes = new Map<number, number>();
  // Without sizes, a strided access by the dimensions it steps through (see stridedTerms).
  const accessKey_ = (a: Access): string =>
    sizes || a.kind !== 'strided' ? accessKey(a) : `s${a.strides.map((s) => (s === 0 ? 0 : 1)).join('')}`;
  for (const i of k.inputs) parts.push('i', accessKey_(i.access));
  for (const v of k.values)
    if (v.kind === 'input') parts.push('n', v.index);
    else if (v.kind === 'const') parts.push('c', constants ? numberIn(classes, f32Bits(v.value)) : '');
    else parts.push(v.op, v.p, v.args.join(','));
  for (const o of k.outputs) parts.push('o', o.ref, o.reduce ?? '-', accessKey_(o.access));
  return parts.join(' ');
}

/** A kernel result: stored per point, or reduced (summed, or its largest or smallest) into the node's keepdims shape. */
export interface KernelOutput {
  readonly node: Node;
  readonly ref: Ref;
  readonly reduce: Reduction | null;
  readonly access: Access;
}

/** A kernel input: a realized buffer, read once per point through `access`. */
export interface KernelInput {
  readonly node: Node;
  readonly access: Access;
}

/** One fused group: a loop over `domain`, computing `values` in order and writing `outputs`. */
export interface Kernel {
  readonly domain: Shape;
  readonly size: number;
  readonly inputs: readonly KernelInput[];
  readonly values: readonly Value[];
  readonly outputs: readonly KernelOutput[];
  /** Dependency level: kernels of a level only read results of lower levels. */
  readonly level: number;
}

/** Index of the element `access` reads at flat point `i` of `domain`. */
export function accessIndex(access: Access, domain: Shape): (i: number) => number {
  switch (access.kind) {
    case 'full':
      return (i) => i;
    case 'scalar':
      return () => 0;
    case 'strided': {
      const terms = stridedTerms(access.strides, domain);
      return (i) => {
        let idx = 0;
        for (const t of terms) idx += (Math.floor(i / t.inner) % t.dim) * t.stride;
        return idx;
      };
    }
  }
}

/** The per-dimension pieces of a strided index: coordinate = floor(i / inner) % dim, times stride. */
export function stridedTerms(
  strides: readonly number[],
  domain: Shape,
): { inner: number; dim: number; stride: number }[] {
  const terms: { inner: number; dim: number; stride: number }[] = [];
  let inner = 1;
  for (let d = domain.length - 1; d >= 0; d--) {
    if (strides[d] !== 0) terms.push({ inner, dim: domain[d]!, stride: strides[d]! });
    inner *= domain[d]!;
  }
  return terms;
}
