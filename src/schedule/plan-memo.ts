/**
 * Kernel plans by the structure of the graph they cover: a computation repeated on new data (a training
 * step, a sweep over points, a call of the same function at another point) is split into kernels once;
 * later runs of the same structure only put their own nodes into the kept kernels.
 */
import type { Node } from '../graph/node.js';
import type { Shape } from '../graph/shape.js';
import { f32Bits, madeFrom, type Kernel, type KernelInput, type KernelOutput, type Ref } from './kernel.js';
import { numberIn } from './numbering.js';

// Plans kept (least recently used dropped first), in number and in bytes (see weightOf): 32 MiB, and a plan
// over a quarter of that is not kept (the plan of a graph can be far larger than the graph: a level split into
// parts that each compute what they share). A graph of more nodes than MAX_NODES is not even keyed (the
// gradient of a 1000-step unrolled loop has 23,000; a derivative of high order can have hundreds of
// thousands, whose kernels take far longer to compile than to plan).
const MAX_PLANS = 256;
const MAX_WEIGHT = 2 ** 25;
const MAX_NODES = 2 ** 15;

/**
 * A kernel with each node replaced by its place in the walk the key was made from, and each constant by the
 * place of a constant node of its number (`consts`: the value's ref, and that place).
 */
interface KernelTemplate extends Omit<Kernel, 'inputs' | 'outputs'> {
  readonly inputs: readonly (Omit<KernelInput, 'node'> & { readonly at: number })[];
  readonly outputs: readonly (Omit<KernelOutput, 'node'> & { readonly at: number })[];
  readonly consts: readonly (readonly [Ref, number])[];
}

/** A kept plan: its kernels, and the nodes it marks as computed without being stored (Node.computedBefore). */
interface Template {
  readonly kernels: readonly KernelTemplate[];
  readonly noted: readonly number[];
}

/** A node parameter as keys write it: -0 apart from 0 (1 / -0 is -Infinity). */
export const attrKey = (v: number): string => (v === 0 ? (Object.is(v, -0) ? '-0' : '0') : String(v));

/**
 * A string equal for graphs that planKernels splits alike, made from `order` (the walk from `targets`
 * that stops at ready nodes): each node's op, parameter, shape and operands (by place in the walk; with
 * `remember`, whether an earlier run computed it without storing it), or for a ready node its shape and
 * buffer (ready nodes that share one, views of it, are loaded once by a kernel); then the targets. A
 * constant is keyed by which constants before it are equal to it, and which are as float32, not by its
 * number: planning reads no more of it (the graph was folded as it was built), and a kept plan takes the
 * numbers of the graph it is used for, so that a number that changes every call (a learning rate's schedule,
 * a point of a sweep) is not planned again every call.
 * `bindings` names the device's binding limits. Planning reads nothing else of a graph (node ids
 * included: see splitWide), so a kept plan is the plan that planning the graph afresh gives.
 * Null where the graph is not planned from its structure alone (a disposed node or a leaf without values,
 * which planning reports) or is too large to keep.
 */
export function structureKey(
  order: readonly Node[],
  targets: readonly Node[],
  isReady: (n: Node) => boolean,
  storageOf: (n: Node) => Node,
  remember: boolean,
  bindings: string,
): string | null {
  if (order.length > MAX_NODES) return null;
  const at = new Map<Node, number>();
  const buffers = new Map<Node, number>();
  // Constants by number (attrKey) and by float32 bits, in order of first appearance.
  const numbers = new Map<string, number>();
  const bits = new Map<number, number>();
  // One string built by concatenation: cheaper than an array of parts joined (V8 joins the pieces once, when
  // the key is first hashed).
  let key = (remember ? 'r' : '-') + bindings;
  for (let i = 0; i < order.length; i++) {
    const n = order[i]!;
    if (n.disposed) return null;
    at.set(n, i);
    // A constant read before (realized) is still a constant to the kernels that use it (see buildKernel).
    if (n.op === 'const') {
      key +=
        ';C' +
        numberIn(numbers, attrKey(n.attr)) +
        ' ' +
        numberIn(bits, f32Bits(n.attr)) +
        ' ' +
        shapeKey(n.shape);
      continue;
    }
    if (isReady(n)) {
      key += ';R' + shapeKey(n.shape) + ' ' + numberIn(buffers, storageOf(n));
      continue;
    }
    if (n.op === 'leaf') return null;
    key +=
      ';' +
      n.op +
      ' ' +
      attrKey(n.attr) +
      ' ' +
      shapeKey(n.shape) +
      (remember && n.computedBefore ? 'b' : '');
    const inputs = n.inputs;
    for (let j = 0; j < inputs.length; j++) key += ' ' + at.get(inputs[j]!)!;
  }
  key += ';T';
  for (const t of targets) key += ' ' + at.get(t)!;
  return key;
}

// Shapes as they appear in keys; most are of one or two dimensions, whose numbers V8 keeps as strings.
const shapeKey = (shape: Shape): string =>
  shape.length === 1 ? String(shape[0]) : shape.length === 2 ? shape[0] + 'x' + shape[1] : shape.join('x');

/** The plan `kernels` (marking `noted`) with its nodes replaced by their places in `order`; null if one is not there. */
function template(
  kernels: readonly Kernel[],
  noted: readonly Node[],
  order: readonly Node[],
): Template | null {
  const at = new Map<Node, number>();
  // The first constant node of each number (attrKey), by place.
  const constAt = new Map<string, number>();
  order.forEach((n, i) => {
    at.set(n, i);
    if (n.op === 'const' && !constAt.has(attrKey(n.attr))) constAt.set(attrKey(n.attr), i);
  });
  const place = (n: Node): number => at.get(n) ?? -1;
  const consts = (k: Kernel): [Ref, number][] => {
    const out: [Ref, number][] = [];
    k.values.forEach((v, r) => {
      if (v.kind === 'const') out.push([r, constAt.get(attrKey(v.value)) ?? -1]);
    });
    return out;
  };
  const t: Template = {
    kernels: kernels.map((k) => ({
      ...k,
      inputs: k.inputs.map((i) => ({ access: i.access, at: place(i.node) })),
      outputs: k.outputs.map((o) => ({ ref: o.ref, reduce: o.reduce, access: o.access, at: place(o.node) })),
      consts: consts(k),
    })),
    noted: noted.map(place),
  };
  const missing =
    t.noted.includes(-1) ||
    t.kernels.some(
      (k) => [...k.inputs, ...k.outputs].some((x) => x.at < 0) || k.consts.some(([, a]) => a < 0),
    );
  return missing ? null : t;
}

/** The kept plan's kernels over the nodes of `order`, marking its noted nodes. */
function instantiate(t: Template, order: readonly Node[]): Kernel[] {
  for (const i of t.noted) order[i]!.computedBefore = true;
  return t.kernels.map((kept) => {
    const { consts, ...k } = kept;
    let values = k.values;
    if (consts.length > 0) {
      const own = values.slice();
      for (const [r, a] of consts) own[r] = { kind: 'const', value: order[a]!.attr };
      values = own;
    }
    const made: Kernel = {
      ...k,
      values,
      inputs: k.inputs.map((i) => ({ node: order[i.at]!, access: i.access })),
      outputs: k.outputs.map((o) => ({ node: order[o.at]!, ref: o.ref, reduce: o.reduce, access: o.access })),
    };
    madeFrom(made, kept);
    return made;
  });
}

/**
 * Bytes a kept plan takes, from above: its key (a byte a character) and 160 for each value, input and output
 * of its kernels (objects, arrays of operands, accesses; measured: 25 KiB for a plan of 600 values and a 10 KB
 * key, 5.2 MiB for one of 31,000 values in 83 kernels and a 118 KB key).
 */
const weightOf = (key: string, t: Template): number =>
  key.length + 160 * t.kernels.reduce((a, k) => a + k.values.length + k.inputs.length + k.outputs.length, 0);

// The kept plan each list of kernels handed out by PlanMemo.get() was made from.
const origins = new WeakMap<readonly Kernel[], object>();

/**
 * The kept plan `kernels` were made from (one object for every run of the same structure), if they came from
 * PlanMemo.get(): what a backend works out from kernels alone (see plan-cache.ts) it can keep by it.
 */
export const keptPlanOf = (kernels: readonly Kernel[]): object | undefined => origins.get(kernels);

/** Plans kept by structureKey(). */
export class PlanMemo {
  private readonly plans = new Map<string, { template: Template; weight: number }>();
  private weight = 0;
  /** Plans found kept. */
  hits = 0;

  /** The kept plan for `key` over the nodes of `order` (its noted nodes marked), or null. */
  get(key: string, order: readonly Node[]): Kernel[] | null {
    const kept = this.plans.get(key);
    if (!kept) return null;
    this.hits++;
    // Most recently used last.
    this.plans.delete(key);
    this.plans.set(key, kept);
    const kernels = instantiate(kept.template, order);
    origins.set(kernels, kept.template);
    return kernels;
  }

  /** Keeps the plan `kernels` (which marked `noted`) for `key`. */
  set(key: string, kernels: readonly Kernel[], noted: readonly Node[], order: readonly Node[]): void {
    if (this.plans.has(key)) return;
    const t = template(kernels, noted, order);
    if (!t) return;
    const weight = weightOf(key, t);
    if (weight > MAX_WEIGHT / 4) return;
    while (this.plans.size >= MAX_PLANS || (this.plans.size > 0 && this.weight + weight > MAX_WEIGHT)) {
      const oldest = this.plans.keys().next().value!;
      this.weight -= this.plans.get(oldest)!.weight;
      this.plans.delete(oldest);
    }
    this.plans.set(key, { template: t, weight });
    this.weight += weight;
  }

  /** Forgets every plan (and the count of hits). */
  clear(): void {
    this.plans.clear();
    this.weight = 0;
    this.hits = 0;
  }

  /** Plans kept, and their weight in bytes (see weightOf): for tests. */
  get size(): { plans: number; weight: number } {
    return { plans: this.plans.size, weight: this.weight };
  }
}
