/** Fusion: splits the work of realizing some nodes into as few kernels as the math allows. */
import { isReduction, Node, topoSort } from '../graph/node.js';
import { fmtShape, padShape, sameShape, sizeOf, type Shape } from '../graph/shape.js';
import { opRow, type OpName } from '../ops/table.js';
import {
  accessKey,
  shapeKey,
  type Access,
  type Kernel,
  type KernelInput,
  type KernelOutput,
  type Ref,
  type Value,
} from './kernel.js';
import type { Bindings } from './backend.js';
import { PlanMemo, structureKey } from './plan-memo.js';
import { splitCopies } from './copies.js';
import { sameStored, valueNumbers } from './same-values.js';

/**
 * The node whose buffer a node reads from: a reshape, an identity op, or a broadcast that adds no
 * elements is a view of its source (so a `.grad` that is `detach(sum)` needs no kernel of its own).
 */
export function storageNode(n: Node): Node {
  if (n.storage === null) {
    const same = n.inputs.length === 1 && n.size === n.inputs[0]!.size;
    const view = n.op === 'reshape' || (same && (n.op === 'expand' || opRow(n.op)?.identity === true));
    n.storage = view ? storageNode(n.inputs[0]!) : n;
  }
  return n.storage;
}

/** Using a disposed tensor: directly, or to recompute a value whose own values went (freed, or lost with a device). */
const disposedError = (n: Node): Error =>
  new Error(
    `a disposed tensor (shape ${fmtShape(n.shape)}) is used in this computation, directly or to recompute ` +
      'a value computed from it whose own values are gone (freed, or lost with the device)',
  );

// A kernel of more values than this (after sharing) is planned again with long chains cut: compilers take
// time superlinear in a kernel's size (SwiftShader took 100 s for the value and gradient of a 2000-op chain
// as one kernel). Cut every CUT_DEPTH ops of a chain, the kernels compile in time linear in the graph, at
// the cost of storing the values at the cuts and of computing again, from them, the values that kernels of
// several levels need (checkpointing), unless the cuts would store more than CUT_BYTES beyond the uncut
// plan (a deep graph over millions of points).
const LARGE_KERNEL = 1500;
// Nor more than this weight, where the device weighs its ops (see Bindings.weight): functions that compilers
// inline at each call make a kernel's code far longer than its values. The gradient of a chain of sines
// compiled whole on SwiftShader in 0.3 s at 65 sines (a weight of 1238), 1.9 s at 195 (3708), 3.7 s at 260
// (4943) and 8.2 s at 390 (7413), and cut in 1 s; cut, its later calls take up to twice as long (it computes
// forward values again), which 4000 weighs against that.
const HEAVY_KERNEL = 4000;
// A value of a smaller shape than the op that reads it is stored at its own shape where computing it at every
// point of the reader's would compute this many ops more (see PlanOptions.hoist): an Adam step's update of a
// layer's weights, 1 x 32, computed at each of 65,536 x 32 points of the next step's batch, doubled the time
// of a CPU step. Below it, another kernel costs more than it saves.
const HOIST_WORK = 2 ** 20;
const CUT_DEPTH = 128;
const CUT_BYTES = 256 * 2 ** 20;
// The lean cut plan (see PlanOptions.far): values that ops far down the graph read are cut at this depth,
// and a value read across a cut from more than CROSS_DEPTH ops deep is stored rather than computed again.
const FAR_DEPTH = CUT_DEPTH / 2;
const CROSS_DEPTH = (CUT_DEPTH * 7) / 8;
// Nor is the lean plan made where more than this share of the graph is read far (see planKernels).
const FAR_SHARE = 0.85;
// A wide level is not split into parts that compute more than this many times its values between them. The
// split levels of wide graphs compute up to about twice theirs (derivatives of order 6-8 of
// tan(x)exp(x)/(1 + x^2): 1.2-2.1x), two unrolled integrations side by side 5.3x at 100 steps (where the lean
// cut plan, weighed against it, computes a third as much), and where each part holds a whole integration (a
// device of too few bindings refusing their cut plans) 64-313x: hundreds of kernels of thousands of values,
// 128 s to compile on SwiftShader at 120 steps where the level whole took 20.
const SPLIT_WORK = 8;

/**
 * Kernels that realize `targets`, in an order that respects dependencies. `ready(n)` says whether a
 * node's values already exist; nodes inside a kernel are never stored. Elementwise nodes fuse into
 * every kernel that uses them; reductions (`sum`, `amax`, `amin`) and views of unrealized values (`reshape`) are the
 * only boundaries, so a value with all its gradients is one kernel per dependency level and shape
 * (long chains apart: see LARGE_KERNEL).
 * `remember` (the scheduler's runs): an op that an earlier such run computed without storing is stored
 * this time, and the ops this run computes without storing are noted (Node.computedBefore).
 */
export function planKernels(
  targets: readonly Node[],
  ready: (n: Node) => boolean,
  remember = false,
  bindings?: Bindings,
): Kernel[] {
  const isReady = (n: Node): boolean => ready(storageNode(n));
  const order = topoSort(targets, isReady);
  const key = structureKey(order, targets, isReady, storageNode, remember, bindings?.key ?? '');
  const kept = key === null ? null : memo.get(key, order);
  if (kept) return kept;
  const numbers = valueNumbers(order, isReady, storageNode);
  const plan = (opts: PlanOptions): Planned | null =>
    planWith(order, targets, isReady, remember, numbers, opts);
  const planned = (opts: PlanOptions): Planned => plan(opts)!;
  // Wide levels split only into parts within LARGE_KERNEL: where some part would be larger, the whole plan
  // keeps a large kernel either way, the cut plans are tried, and one is mostly taken, so that building
  // every part first (each holding its whole cone: quadratic in the steps of two unrolled loops side by
  // side) is left to where the cut plans are refused, and the whole plan split into parts of any size is
  // then wanted. Where the whole plan split a level into parts (computing again what several need), the
  // cut plans are weighed against it too.
  let whole = planned({ cutDepth: Infinity, largeParts: false });
  let chosen = whole;
  const tooBig = (k: Kernel): boolean =>
    k.values.length > LARGE_KERNEL || weighed(k, bindings) > HEAVY_KERNEL;
  const oversized = whole.kernels.filter(tooBig);
  const large = oversized.length > 0;
  // The cut plans differ from the whole one only where a chain is long enough to be cut (the old one beyond
  // CUT_DEPTH ops, the lean one beyond CROSS_DEPTH, or FAR_DEPTH where some value is read far): where a
  // level was only split, and chains are short (the wide levels of short chains), they would be the whole
  // plan over again, storing less, and are not made (they doubled the time to plan).
  const { far, longest } =
    large || whole.split ? farRead(order, isReady, CUT_DEPTH) : { far: null, longest: 0 };
  const mayLean = longest > CROSS_DEPTH || (far !== null && far.size > 0 && longest > FAR_DEPTH);
  if (far && (large || mayLean)) {
    // Where the whole plan may be taken, the cut plan is given up once it computes more values (as the
    // lean plan, below); else it is made whole, for the fallback.
    const cut =
      large || longest > CUT_DEPTH
        ? plan({
            cutDepth: CUT_DEPTH,
            largeParts: true,
            budget: large ? Infinity : valuesOf(whole.kernels),
          })
        : null;
    // A cut plan is taken unless its cuts store too much more, or give an output more buffers to bind than
    // the device allows (`bindings`; none on the CPU) where the whole plan did not (the checkpoints of a
    // wide graph can): such an output would be computed on the CPU. Splitting a level stores the same
    // values, so only the second test needs the whole plan as it is split. Of the plans that may be taken,
    // the one that computes the fewest values: the lean cut plan by far on the gradients of loops and
    // chains, the other on graphs whose values are read far and wide (derivatives of high order), where
    // cutting more often computes more.
    const bytesOk = (p: Planned): boolean => storedBytes(p.kernels) - storedBytes(whole.kernels) <= CUT_BYTES;
    const fits = (p: Planned): boolean =>
      bytesOk(p) && (!bindings || outputBuffers(p.kernels, bindings) <= bindings.limit);
    const candidates = [...(large ? [] : [whole]), ...(cut && fits(cut) ? [cut] : [])];
    // The lean plan is given up once it computes more values than a plan that may be taken, and not made
    // where nearly every value is read far down the graph (derivatives of high order of one expression,
    // 93-95% of their nodes, where it computes more and doubled the time to plan; the gradients of loops
    // and chains 30-75%, grad of grad through a loop under 50%).
    if (mayLean && far.size <= FAR_SHARE * order.length) {
      const budget = Math.min(...candidates.map((p) => valuesOf(p.kernels)));
      const lean = plan({
        cutDepth: CUT_DEPTH,
        largeParts: true,
        far,
        budget,
      });
      // Nor is it taken with a kernel more than a quarter larger than the cut plan's largest (or than
      // LARGE_KERNEL): compile time grows faster than a kernel's values. Its kernels can be somewhat
      // larger, where an output's cone is wide (grad of grad through coupled loops: up to 1669 values
      // against 1499, for 40% of the values in all).
      const largest = (p: Planned): number => Math.max(0, ...p.kernels.map((k) => k.values.length));
      const bound = 1.25 * Math.max(LARGE_KERNEL, cut ? largest(cut) : 0);
      if (lean && fits(lean) && largest(lean) <= bound) candidates.push(lean);
    }
    // Cut only within the kernels over the bounds, the rest planned whole: where one kernel is too large
    // among many that are not (the sum of a gradient's contributions from thousands of steps), the cut plans
    // make every chain's kernels compute again from their cuts (6000 ops through a mean every third: 604,000
    // values where the whole plan has 62,000).
    if (large && oversized.length < whole.kernels.length) {
      const budget = Math.min(Infinity, ...candidates.map((p) => valuesOf(p.kernels)));
      const only = conesOf(oversized, isReady);
      const targeted = plan({ cutDepth: CUT_DEPTH, largeParts: true, only, budget });
      if (targeted && fits(targeted) && !targeted.kernels.some(tooBig)) candidates.push(targeted);
    }
    if (candidates.length > 0)
      chosen = candidates.reduce((a, b) => (valuesOf(b.kernels) < valuesOf(a.kernels) ? b : a));
    else if (cut) {
      // Where neither cut plan fits the device, outputs beyond its bindings run on the CPU: the cut plan is
      // taken where it leaves no more of them than the whole plan does. Where its cuts store too much (on
      // any backend: the checkpoints of a long integration over 100,000 points), the whole plan is. (The
      // whole plan is a candidate wherever the cut plan may be given up, so here it was made whole.)
      if (whole.keptWhole) whole = planned({ cutDepth: Infinity, largeParts: true });
      const fewer =
        !bindings || outputBuffers(cut.kernels, bindings) <= outputBuffers(whole.kernels, bindings);
      chosen = bytesOk(cut) && fewer ? cut : whole;
    }
  }
  if (bindings && !chosen.kernels.every(bindings.fits)) {
    // Some output would read more stored values than the device binds, and so run on the CPU: most often
    // the forward values of a chain that a reduction's gradient (through amax, logsumexp, ...) needs at a
    // later level. Computed again there from the chain's inputs instead, where that keeps every kernel
    // within the device's bindings and of moderate size, and brings at most as many new kinds of kernel to
    // compile as there were: the steps of an unrolled loop, each recomputing what the last stored, would
    // each compile kernels of their own (50 kinds for 6 at 16 steps), while a chain centred by its mean three
    // or four times, whose gradient needed 13 buffers, has 7 or 9 kinds for 5 (the whole run went to the CPU).
    const again = planned({ cutDepth: Infinity, shared: false, largeParts: false });
    const kinds = (ks: readonly Kernel[]): number => new Set(ks.map(shapeKey)).size;
    if (
      again.kernels.every(bindings.fits) &&
      !again.kernels.some(tooBig) &&
      kinds(again.kernels) <= 2 * kinds(chosen.kernels)
    )
      chosen = again;
    else {
      // Still beyond the bindings: where an output reads many small values through the values made from them
      // (an optimizer's update of each parameter, from the parameter, its gradient and its moments, read by
      // every point of the next step's batch), those values stored at their own shapes first.
      const hoisted = planned({ cutDepth: Infinity, largeParts: false, hoist: 'all' });
      if (hoisted.kernels.every(bindings.fits) && !hoisted.kernels.some(tooBig)) chosen = hoisted;
    }
  }
  const noted = remember ? chosen.noted() : [];
  for (const n of noted) n.computedBefore = true;
  if (key !== null) memo.set(key, chosen.kernels, noted, order);
  return chosen.kernels;
}

// Plans by the structure of the graph they cover (see plan-memo.ts).
const memo = new PlanMemo();

/** Plans planKernels() found kept (rather than made) since the last clearPlanMemo(): for tests. */
export const plansMemoized = (): number => memo.hits;

// Graph nodes walked by buildKernel, kept plans aside: the work of planning, for tests.
let nodesBuilt = 0;

/** Graph nodes walked to build kernels since the module loaded: for tests that bound the work of planning. */
export const kernelNodesBuilt = (): number => nodesBuilt;

/** Forgets every kept plan: for tests that compare a kept plan with one made afresh. */
export function clearPlanMemo(): void {
  memo.clear();
}

/** The most buffers any one output of the plan's kernels needs bound, by the device's measure. */
const outputBuffers = (kernels: readonly Kernel[], b: Bindings): number =>
  Math.max(0, ...kernels.map((k) => b.need(k)));

/**
 * The nodes that `kernels` compute inline: from each output's root back to what the kernel reads (its inputs,
 * ready values, reductions and views), and to the roots of reductions it outputs.
 */
function conesOf(kernels: readonly Kernel[], isReady: (n: Node) => boolean): Set<Node> {
  const cone = new Set<Node>();
  for (const k of kernels) {
    const read = new Set(k.inputs.map((i) => i.node));
    const stack = k.outputs.map((o) => rootOf(o.node));
    while (stack.length > 0) {
      const n = stack.pop()!;
      if (cone.has(n) || read.has(n) || isReady(n) || isReduction(n.op) || n.op === 'reshape') continue;
      cone.add(n);
      stack.push(...n.inputs);
    }
  }
  return cone;
}

/** A kernel's values, each weighed by what `bindings` says its op costs the compiler (1 where it says nothing). */
function weighed(k: Kernel, bindings: Bindings | undefined): number {
  const w = bindings?.weight;
  if (!w) return k.values.length;
  let sum = 0;
  for (const v of k.values) sum += v.kind === 'op' ? w(v.op, v.p) : 1;
  return sum;
}

/** The values a plan's kernels compute at each point, all together: the work of a plan. */
const valuesOf = (kernels: readonly Kernel[]): number => kernels.reduce((a, k) => a + k.values.length, 0);

/** Bytes a plan's kernels store per point outputs (sums are small). */
const storedBytes = (kernels: readonly Kernel[]): number =>
  kernels.reduce((a, k) => a + k.outputs.reduce((b, o) => b + (o.reduce ? 0 : 4 * o.node.size), 0), 0);

/** How plan() plans: see its fields. */
interface PlanOptions {
  /** Chains of inline ops are cut every so many ops (Infinity: never). */
  cutDepth: number;
  /** Values that kernels of several levels need are stored (see storeWhatSeveralLevelsNeed), not computed by each. */
  shared?: boolean;
  /** A wide level may be split into parts over LARGE_KERNEL values (false: it then stays whole). */
  largeParts: boolean;
  /**
   * With cuts, the lean plan, given farRead(): values that ops far down the graph read (a gradient reading
   * the forward pass, step by step in reverse) and the values they come from are cut at FAR_DEPTH, so that
   * the kernels that compute them again from a cut, each for a few steps of the gradient, go back half as
   * far; and an op that reads, across a cut, a value computed inline more than CROSS_DEPTH ops deep (a
   * chain with a skip: y + f(y), or a gradient adding up its paths) has that value stored by the kernel
   * that computes it, rather than every later level computing the whole chain again from the last cut.
   */
  far?: ReadonlySet<Node>;
  /**
   * With cuts, the only nodes whose chains are cut (the values of the whole plan's kernels over the bounds);
   * elsewhere the plan is the whole one, storing what several levels need.
   */
  only?: ReadonlySet<Node>;
  /** Values beyond which the plan is given up (plan() returns null): it would not be taken. */
  budget?: number;
  /**
   * Which values of a smaller shape than the op that reads them (a parameter's update, read by every point of
   * a batch) are stored at their own shape by a kernel of their own, rather than computed at every point of
   * the reader's: 'work' (the default), those whose ops, computed again at each of the reader's points,
   * come to HOIST_WORK or more; 'all', every one (the reader then binds one buffer for each, not every
   * buffer it is made from).
   */
  hoist?: 'work' | 'all';
}

/** A plan's kernels, and the ops it computes without storing (see `remember`), to be marked if it is taken. */
interface Planned {
  kernels: Kernel[];
  noted: () => Node[];
  /** Some wide level was kept whole for a part over LARGE_KERNEL values: with largeParts it would be split. */
  keptWhole: boolean;
  /** Some wide level was split into parts, computing more than the level's values between them. */
  split: boolean;
}

/**
 * planKernels over `order` (the walk from `targets` down to ready nodes), as `PlanOptions` say (null: over
 * budget). Of stored values equal by `numbers` (see valueNumbers) one is computed, and read for all.
 */
function planWith(
  order: readonly Node[],
  targets: readonly Node[],
  isReady: (n: Node) => boolean,
  remember: boolean,
  numbers: ReadonlyMap<Node, number>,
  { cutDepth, shared = true, largeParts, far, only, budget = Infinity, hoist = 'work' }: PlanOptions,
): Planned | null {
  const avail = new Map<Node, number>(); // first level at which a node's value can be read or computed
  const level = new Map<Node, number>(); // nodes computed into a buffer, and the level that does it
  // Ops computed inline since the last stored value, along the longest chain (with cuts only).
  const depth = new Map<Node, number>();
  const materialize = (n: Node, l: number): void => {
    const prev = level.get(n);
    level.set(n, prev === undefined ? l : Math.min(prev, l));
  };
  const availOf = (n: Node): number => avail.get(n) ?? 0;
  // The ops a kernel computes for a value at each point (those it shares with others counted for each; at
  // most HOIST_WORK): none for a value it reads.
  const inlineOps = new Map<Node, number>();
  const opsOf = (n: Node): number => (level.has(n) ? 0 : (inlineOps.get(n) ?? 0));
  // Values stored by hoistFrom (and the views of them): every larger op reading one reads it stored.
  const hoisted = new Set<Node>();
  // Stores `c` (read by a larger op: see PlanOptions.hoist) where an op computes it inline (through views,
  // the value they view), and gives the level from which the larger op reads it: a level later than `c`'s.
  // Ops of c's own shape still compute it inline at its level (a sum of it, say, in the kernel storing it).
  const hoistFrom = (c: Node): number => {
    if (isReady(c) || isReduction(c.op) || c.op === 'reshape' || c.op === 'const') return availOf(c);
    const row = opRow(c.op);
    const view = c.op === 'expand' || row?.identity === true;
    if (!view && row === undefined) return availOf(c);
    hoisted.add(c);
    if (view) return hoistFrom(c.inputs[0]!);
    materialize(c, availOf(c));
    return level.get(c)! + 1;
  };
  const lean = far !== undefined && cutDepth < Infinity;
  for (const n of order) {
    if (n.disposed) throw disposedError(n);
    if (isReady(n)) {
      avail.set(n, 0);
    } else if (n.op === 'leaf') {
      throw disposedError(n);
    } else if (isReduction(n.op)) {
      const l = availOf(n.inputs[0]!);
      materialize(n, l);
      avail.set(n, l + 1);
    } else if (n.op === 'reshape') {
      const src = storageNode(n);
      if (isReduction(src.op)) avail.set(n, availOf(src));
      else {
        const l = availOf(src);
        materialize(src, l);
        avail.set(n, l + 1);
      }
    } else {
      let l = 0;
      for (const c of n.inputs) {
        const larger =
          c.size < n.size &&
          (hoist === 'all' || hoisted.has(c) || (n.size - c.size) * opsOf(c) >= HOIST_WORK);
        l = Math.max(l, larger ? hoistFrom(c) : availOf(c));
      }
      avail.set(n, l);
      let ops = opRow(n.op)?.identity === true || n.op === 'expand' ? 0 : 1;
      for (const c of n.inputs) ops += opsOf(c);
      inlineOps.set(n, Math.min(ops, HOIST_WORK));
      if (cutDepth < Infinity && (only === undefined || only.has(n))) {
        const row = opRow(n.op);
        const counts = row !== undefined && row.identity !== true;
        // Stored where it is computed: not a view (whose readers read its source's buffer).
        if (lean)
          for (const c of n.inputs)
            if (
              !isReady(c) &&
              !level.has(c) &&
              storageNode(c) === c &&
              availOf(c) < l &&
              (depth.get(c) ?? 0) > CROSS_DEPTH
            )
              materialize(c, availOf(c));
        // A value stored at this op's level is computed inline here all the same (the lean plan's values
        // stored where they are computed): its depth counts.
        const inline = n.inputs.filter(
          (c) => !isReady(c) && (lean ? !((level.get(c) ?? l) < l) : !level.has(c)),
        );
        const d = Math.max(0, ...inline.map((c) => depth.get(c) ?? 0)) + (counts ? 1 : 0);
        if (counts && d > (lean && far.has(n) ? FAR_DEPTH : cutDepth)) {
          // Stored here, and read as a value of an earlier level by the ops that use it.
          materialize(n, l);
          avail.set(n, l + 1);
        } else depth.set(n, d);
      }
    }
  }
  // Values an earlier run computed, read by this run's new work: stored (the values they came from are
  // computed once more, inside the kernel, and not stored).
  if (remember)
    for (const n of order)
      if (!n.computedBefore && !isReady(n))
        for (const c of n.inputs) if (c.computedBefore && !isReady(c)) materialize(c, availOf(c));
  for (const t of targets) {
    const s = storageNode(t);
    if (!isReady(s) && !isReduction(s.op)) materialize(s, availOf(s));
  }
  // With cuts, a value that kernels of several levels need is computed again by each from the stored
  // values before it, at most cutDepth ops back: storing them all would give the kernels of a deep graph's
  // backward pass an input for every value of its forward pass (beyond a device's bindings).
  if ((cutDepth === Infinity || only !== undefined) && shared)
    storeWhatSeveralLevelsNeed(order, isReady, level, availOf, materialize);
  // Equal values stored apart (see sameStored): the one kept is stored at a level no later than the others,
  // so that whatever read them reads it.
  const same = sameStored(level, numbers, new Set(targets.map(storageNode)));
  if (same) for (const n of same.keys()) level.delete(n);
  const storedAt = (n: Node): number | undefined => level.get(same?.get(n) ?? n);
  const noted = (): Node[] =>
    order.filter((n) => {
      const row = opRow(n.op);
      return row !== undefined && row.identity !== true && storedAt(n) === undefined && !isReady(n);
    });
  const groups = new Map<string, Node[]>();
  for (const [n, l] of level) {
    const key = `${l}|${fmtShape(domainOf(n))}`;
    const g = groups.get(key);
    if (g) g.push(n);
    else groups.set(key, [n]);
  }
  // Set where a level is kept whole for a part over LARGE_KERNEL values (without largeParts only).
  let keptWhole = false;
  // Set where a level is split into parts (which compute again what several of them need).
  let splitSome = false;
  // Places in the walk, for splitWide (only a level over LARGE_KERNEL values needs them).
  let places: Map<Node, number> | null = null;
  const place = (n: Node): number => (places ??= new Map(order.map((m, i) => [m, i]))).get(n)!;
  // A kernel reads what an earlier level stored rather than computing it again.
  const kernelsOf = (nodes: Node[]): Kernel[] => {
    const lvl = level.get(nodes[0]!)!;
    const stored = (n: Node): boolean => isReady(n) || (storedAt(n) ?? lvl) < lvl;
    const build = (outs: readonly Node[]): Kernel => buildKernel(outs, lvl, stored, same);
    const k = build(nodes);
    const copies = splitCopies(k, build);
    if (copies) return copies;
    if (k.values.length <= LARGE_KERNEL || nodes.length === 1) return [k];
    // Split only where that makes the largest kernel markedly smaller: where one output alone needs most
    // of the values (a gradient through a long chain), the others split off would be computed twice. The
    // parts likeliest to be too large are built first, so that such a level gives up after one or two (an
    // unrolled loop's gradient has an output per step, each needing the steps after it: building every
    // part took seconds at 200 steps).
    // A group's kernel holds every value of each of its outputs: where the first or the last output in the
    // walk alone needs more, no split can do. In practice one of them needs most: the last where each
    // output's cone holds the ones before it (a parameter's sum per step of a loop), the first where it is
    // the other way round (a parameter per step, targets in step order).
    const first = nodes.reduce((a, b) => (place(b) < place(a) ? b : a));
    const last = nodes.reduce((a, b) => (place(b) > place(a) ? b : a));
    // Over LARGE_KERNEL values, without largeParts: a kernel that large would remain however the level is
    // split, since a group's kernel holds at least the values of each of its outputs (shared ones once).
    const tooLarge = (part: Kernel): boolean => {
      if (part.values.length > 0.75 * k.values.length) return true;
      if (largeParts || part.values.length <= LARGE_KERNEL) return false;
      keptWhole = true;
      return true;
    };
    for (const end of first === last ? [first] : [last, first]) if (tooLarge(build([end]))) return [k];
    const split = splitWide(nodes, stored, place);
    const parts: Kernel[] = new Array<Kernel>(split.length);
    const bySize = split.map((_, i) => i).sort((a, b) => split[b]!.held - split[a]!.held || b - a);
    let work = 0;
    for (const i of bySize) {
      parts[i] = build(split[i]!.outs);
      if (tooLarge(parts[i]!)) return [k];
      // Nor where the parts would compute many times the level's values between them (each computing
      // again what the others need): see SPLIT_WORK.
      work += parts[i]!.values.length;
      if (work > SPLIT_WORK * k.values.length) return [k];
    }
    splitSome = true;
    return parts;
  };
  const kernels: Kernel[] = [];
  let values = 0;
  for (const nodes of groups.values())
    for (const k of kernelsOf(nodes)) {
      kernels.push(k);
      values += k.values.length;
      if (values > budget) return null;
    }
  return { kernels: kernels.sort((a, b) => a.level - b.level), noted, keptWhole, split: splitSome };
}

/**
 * The nodes that some op reads more than `gap` ops further along the graph's longest chains (uncut), and
 * every node they are computed from up to stored values and reductions: what a cut plan's later kernels
 * compute again from its cuts (in reverse mode, the forward values that the gradient reads); and the
 * longest chain of the graph, in ops.
 */
function farRead(
  order: readonly Node[],
  isReady: (n: Node) => boolean,
  gap: number,
): { far: Set<Node>; longest: number } {
  const boundary = (n: Node): boolean => isReady(n) || isReduction(n.op) || n.op === 'reshape';
  const along = new Map<Node, number>();
  const far = new Set<Node>();
  let longest = 0;
  for (const n of order) {
    if (boundary(n)) continue;
    const d = 1 + Math.max(0, ...n.inputs.map((c) => along.get(c) ?? 0));
    along.set(n, d);
    longest = Math.max(longest, d);
    for (const c of n.inputs) if (!isReady(c) && d - (along.get(c) ?? 0) > gap) far.add(c);
  }
  for (let i = order.length - 1; i >= 0; i--) {
    const n = order[i]!;
    if (far.has(n) && !boundary(n)) for (const c of n.inputs) if (!isReady(c)) far.add(c);
  }
  return { far, longest };
}

/**
 * The outputs of one level's kernel in groups whose kernels hold at most LARGE_KERNEL values each (counted
 * as the graph nodes each computes or reads, an upper bound), in the order of the walk (`place`; not of
 * creation, which a plan kept by the graph's structure cannot know): a level of a wide graph
 * (a derivative of high order has thousands of small outputs at a level, however short its chains are cut)
 * would otherwise be one kernel of many thousands of values, which compilers take superlinear time over.
 * Values that several groups need are computed by each. An output that alone needs more stays whole. Each
 * group comes with the number of nodes it holds (at most LARGE_KERNEL + 1: beyond, the next output starts a
 * group whatever it needs, so the rest of a cone is not walked).
 */
function splitWide(
  outs: readonly Node[],
  stored: (n: Node) => boolean,
  place: (n: Node) => number,
): { outs: Node[]; held: number }[] {
  const isBoundary = boundaryOf(stored);
  const groups: { outs: Node[]; held: number }[] = [];
  let group: Node[] = [];
  let held = new Set<Node>();
  // The nodes of `out`'s cone (what its kernel value is computed from, down to what is stored) not held
  // yet, as far as the first `room` + 1 of them.
  const fresh = (out: Node, room: number): Node[] => {
    const found: Node[] = [];
    const seen = new Set<Node>();
    const stack = [rootOf(out)];
    while (stack.length > 0 && found.length <= room) {
      const n = stack.pop()!;
      // A held node's cone is held already (a group holds whole cones while it holds at most LARGE_KERNEL).
      if (seen.has(n) || held.has(n)) continue;
      seen.add(n);
      found.push(n);
      if (!isBoundary(n)) for (const c of n.inputs) stack.push(c);
    }
    return found;
  };
  for (const out of [...outs].sort((a, b) => place(a) - place(b))) {
    const room = LARGE_KERNEL - held.size;
    let added = group.length > 0 && room >= 0 ? fresh(out, room) : null;
    if (added === null || added.length > room) {
      if (group.length > 0) groups.push({ outs: group, held: held.size });
      group = [];
      held = new Set();
      added = fresh(out, LARGE_KERNEL);
    }
    group.push(out);
    for (const n of added) held.add(n);
  }
  groups.push({ outs: group, held: held.size });
  return groups;
}

/**
 * Stores the values that kernels of several levels would each compute inline (the level of a value is
 * that of the kernel computing it; a node inside no buffer is computed by every kernel that needs it):
 * a parameter updated step by step and read at every step of an unrolled loop would otherwise be
 * recomputed from the start at each level, which grows as the square of the levels. Consumers come
 * before their inputs in the reversed order, so a node's levels are all known when it is reached.
 */
function storeWhatSeveralLevelsNeed(
  order: readonly Node[],
  isReady: (n: Node) => boolean,
  level: ReadonlyMap<Node, number>,
  availOf: (n: Node) => number,
  materialize: (n: Node, l: number) => void,
): void {
  const SEVERAL = -1;
  // The level that computes each node inline, or SEVERAL.
  const neededAt = new Map<Node, number>();
  const need = (c: Node, l: number): void => {
    if (isReady(c) || level.has(c)) return;
    const prev = neededAt.get(c);
    neededAt.set(c, prev === undefined || prev === l ? l : SEVERAL);
  };
  for (let i = order.length - 1; i >= 0; i--) {
    const n = order[i]!;
    if (isReady(n) || n.op === 'reshape') continue;
    let at = level.get(n) ?? neededAt.get(n);
    if (at === undefined) continue;
    const row = opRow(n.op);
    if (at === SEVERAL && row && !row.identity) {
      at = availOf(n);
      materialize(n, at);
    }
    for (const c of n.inputs) need(c, at);
  }
}

const domainOf = (n: Node): Shape => (isReduction(n.op) ? n.inputs[0]!.shape : n.shape);

/** How a buffer of `shape` is read (or a reduction of that keepdims shape written) from points of `domain`. */
export function accessFor(shape: Shape, domain: Shape): Access {
  const size = sizeOf(shape);
  if (size === 1) return { kind: 'scalar' };
  if (size === sizeOf(domain)) return { kind: 'full' };
  const p = padShape(shape, domain.length);
  const strides = new Array<number>(p.length).fill(0);
  let s = 1;
  for (let d = p.length - 1; d >= 0; d--) {
    strides[d] = p[d] === 1 ? 0 : s;
    s *= p[d]!;
  }
  return { kind: 'strided', strides };
}

/** Where a kernel stops computing and reads: stored values, reductions (of earlier points) and views. */
const boundaryOf =
  (stored: (n: Node) => boolean) =>
  (n: Node): boolean =>
    stored(n) || isReduction(n.op) || n.op === 'reshape';

/** The value a kernel computes per point for output `n`: a reduction's operand, or `n` itself. */
const rootOf = (n: Node): Node => (isReduction(n.op) ? n.inputs[0]! : n);

/**
 * The kernel computing `outs` at level `lvl`; `stored(n)`: n's values are there to read (a buffer). A
 * value in `same` (equal to one stored no later: see sameStored), or a view of one, is read from the buffer
 * of the value it maps to.
 */
function buildKernel(
  outs: readonly Node[],
  lvl: number,
  stored: (n: Node) => boolean,
  same: ReadonlyMap<Node, Node> | null = null,
): Kernel {
  const domain = domainOf(outs[0]!);
  const values: Value[] = [];
  const inputs: KernelInput[] = [];
  const refOf = new Map<Node, Ref>();
  const cse = new Map<string, Ref>();
  const intern = (key: string, v: Value): Ref => {
    let r = cse.get(key);
    if (r === undefined) {
      r = values.length;
      values.push(v);
      cse.set(key, r);
    }
    return r;
  };
  const isBoundary = boundaryOf(stored);
  const roots = outs.map(rootOf);
  const walk = topoSort(roots, isBoundary);
  for (const n of walk) {
    let r: Ref;
    // A constant is its number, read or not (a kept plan is keyed so: see structureKey).
    if (n.op === 'const') {
      r = intern(`c:${Object.is(n.attr, -0) ? '-0' : n.attr}`, { kind: 'const', value: n.attr });
    } else if (isBoundary(n)) {
      // One input per buffer and access: views of one buffer (the `id` that each grad() call wraps its
      // arguments in, say) load it once, and what is computed from them is shared.
      const access = accessFor(n.shape, domain);
      const s = storageNode(n);
      // A view has its source's size and order of elements: the equal value's buffer, indexed as the view
      // is, holds the view's values.
      const from = same?.get(s) ?? s;
      const key = `in:${from.id}:${accessKey(access)}`;
      const known = cse.get(key);
      if (known !== undefined) r = known;
      else {
        r = intern(key, { kind: 'input', index: inputs.length });
        inputs.push({ node: from === s ? n : from, access });
      }
    } else if (opRow(n.op)?.identity === true) {
      r = refOf.get(n.inputs[0]!)!;
    } else if (n.op === 'expand') {
      r = refOf.get(n.inputs[0]!)!;
    } else {
      const args = n.inputs.map((c) => refOf.get(c)!);
      // Operands of a commutative op are keyed in order, so that a*b and b*a are one value.
      const keyed = opRow(n.op)?.commutative === true ? [...args].sort((a, b) => a - b) : args;
      r = intern(`${n.op}|${n.attr}|${keyed.join(',')}`, { kind: 'op', op: n.op as OpName, args, p: n.attr });
    }
    refOf.set(n, r);
  }
  const outputs: KernelOutput[] = outs.map((n) => {
    const reduce = isReduction(n.op) ? n.op : null;
    return {
      node: n,
      ref: refOf.get(rootOf(n))!,
      reduce,
      access: reduce ? accessFor(n.shape, domain) : { kind: 'full' },
    };
  });
  if (!outs.every((n) => isReduction(n.op) || sameShape(n.shape, domain)))
    throw new Error('internal: kernel output shape');
  nodesBuilt += walk.length;
  return { domain, size: sizeOf(domain), inputs, values, outputs, level: lvl };
}
