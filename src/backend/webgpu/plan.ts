/** Turns a run's kernels into GPU steps: programs, what each binding holds, and one dispatch per chunk. */
import type { Node } from '../../graph/node.js';
import { storageNode } from '../../schedule/fuse.js';
import { CapacityError } from './buffers.js';
import type { Kernel } from '../../schedule/kernel.js';
import type { Bindings } from '../../schedule/backend.js';
import { mainProgram } from './codegen.js';
import { finishProgram, type Tail } from './finish-program.js';
import { opWeight, speculates } from './prelude.js';
import { partialsPerGroup, reducePoints, WG, type Program, type ReduceMode } from './program.js';
import { stridedFinishProgram, stridedProgram, stridedShape } from './strided-program.js';
import { constWords, inputsOf, neededRefs, splitInputs } from './values.js';

/** What a binding after the uniform block holds. */
export type Bind =
  | { readonly kind: 'node'; readonly node: Node; readonly chunked: boolean }
  | { readonly kind: 'partials'; readonly kernel: number }
  /** One-element nodes gathered into one buffer, in order. */
  | { readonly kind: 'packed'; readonly nodes: readonly Node[] }
  /** The run's flag word that speculative programs set (see PointProgram.speculative). */
  | { readonly kind: 'beyond' };

/** One dispatch of a step: its uniform words, grid, and the point range chunked bindings cover. */
export interface Dispatch {
  readonly words: readonly number[];
  readonly grid: readonly [number, number];
  readonly start: number;
  readonly n: number;
}

/** One program with its bindings, dispatched once per chunk. */
export interface Step {
  readonly program: Program;
  readonly binds: readonly Bind[];
  readonly dispatches: readonly Dispatch[];
  /** The run's kernel (its index) whose values the program's constants come from (Program.constRefs). */
  readonly constsOf: number;
}

/** The GPU work for a run. */
export interface RunPlan {
  readonly steps: readonly Step[];
  /** Bytes of the partial-sums buffer of each kernel (by kernel index) that has scalar sums. */
  readonly partials: ReadonlyMap<number, number>;
  /** Every node the steps write. */
  readonly outputs: readonly Node[];
  /** True when a step is speculative: the run's flag word must be read back before its results are used. */
  readonly speculative: boolean;
  /**
   * One object for every run planned from the same kept plan (see plan-cache.ts): what depends only on the
   * steps (their uniform layout) is worked out once per kept plan rather than on every run.
   */
  readonly kept?: object;
  /** Planned from a kept plan, with constants other than its own: the uniform words are the run's own. */
  readonly ownConsts?: boolean;
}

/** Device figures the plan depends on. */
export interface PlanLimits {
  /** Points per chunk: a multiple of the workgroup size and of the offset alignment. */
  readonly chunk: number;
  /** maxComputeWorkgroupsPerDimension. */
  readonly maxDim: number;
  /** maxStorageBuffersPerShaderStage. */
  readonly maxStorage: number;
  /** How scalar sums are split; 'invocation' gives way to 'workgroup' where its partials would not fit one binding. */
  readonly reduce: ReduceMode;
  /** Points per invocation of a per-point program without sums (default 1). */
  readonly points?: number;
  /** Exact programs only (a speculative run came back flagged). */
  readonly exact?: boolean;
}

/** The workgroup grid for `groups` workgroups: 1-D up to the per-dimension limit, else 2-D. */
export function grid(groups: number, maxDim: number): [number, number] {
  const x = Math.min(groups, maxDim);
  const y = Math.ceil(groups / x);
  if (y > maxDim) throw new CapacityError(`webgpu: ${groups} workgroups exceed a ${maxDim}×${maxDim} grid`);
  return [x, y];
}

/** Uniform words of the broadcast terms: at least one vec4, as the shader's array has at least one element. */
const termWords = (terms: readonly (readonly [number, number, number])[]): number[] =>
  terms.length === 0 ? [0, 0, 0, 0] : terms.flatMap(([a, b, c]) => [a, b, c, 0]);

// A sum along axes with fewer elements than this many invocations is split into slices of its points.
const SLICE_TARGET = 1 << 16;
// Points per slice at least: below this the second pass would cost more than the slicing saves.
const SLICE_MIN = 64;

/**
 * Slices per element of a sum along axes with `m` elements folding `r` points each, for `outputs`
 * outputs over `chunks` chunks, within `budget` partials (one binding); 1 means not sliced.
 */
export function slicesFor(m: number, r: number, outputs: number, chunks: number, budget: number): number {
  const want = Math.min(Math.ceil(SLICE_TARGET / m), Math.ceil(r / SLICE_MIN));
  const s = Math.min(want, Math.floor(budget / (outputs * m * chunks)));
  if (s < 2) return 1;
  // Equal slices of len points; the last slice may be short.
  return Math.ceil(r / Math.ceil(r / s));
}

/** Point ranges of at most `chunk` points covering `size`. */
function chunks(size: number, chunk: number): { start: number; n: number }[] {
  const out: { start: number; n: number }[] = [];
  for (let start = 0; start < size; start += chunk) out.push({ start, n: Math.min(chunk, size - start) });
  return out;
}

/** Storage bindings that outputs `g` of `k` take: the inputs they read (one-element ones packed into one) and their own. */
function bindingsOf(k: Kernel, g: readonly number[]): number {
  const ins = inputsOf(
    k,
    neededRefs(
      k,
      g.map((o) => k.outputs[o]!.ref),
    ),
  );
  const { direct, packed } = splitInputs(k, ins);
  // Scalar sums share the partials binding (counted apart); every other output has its own.
  const own = g.filter((o) => !isScalarSum(k, o));
  return direct.length + (packed.length > 0 ? 1 : 0) + own.length;
}

const isScalarSum = (k: Kernel, o: number): boolean =>
  k.outputs[o]!.reduce !== null && k.outputs[o]!.access.kind === 'scalar';

/**
 * The most storage bindings any one output of `k` takes in a step of its own, with the partials binding a
 * scalar sum adds and the flag word of a speculative program (none with `exact` programs only): what
 * planKernels weighs a plan by.
 */
export function outputBindings(k: Kernel, exact = false): number {
  const flag = !exact && speculates(k) ? 1 : 0;
  return Math.max(0, ...k.outputs.map((_, o) => bindingsOf(k, [o]) + (isScalarSum(k, o) ? 1 : 0) + flag));
}

/**
 * A device's bindings for planKernels: `limit` storage buffers a program, weighed by outputBindings (with
 * `exact`: for programs that never speculate, as with the exactRangeReduction option).
 */
export function deviceBindings(limit: number, exact = false): Bindings {
  const need = (k: Kernel): number => outputBindings(k, exact);
  // An output binds at most every input, one buffer of its own or the partials, and the flag word: most
  // kernels fit without counting.
  const most = exact ? 1 : 2;
  return {
    key: `${limit}${exact ? 'x' : ''}`,
    limit,
    need,
    fits: (k) => k.inputs.length + most <= limit || need(k) <= limit,
    weight: opWeight,
  };
}

/** Splits `outputs` into groups whose inputs plus outputs (plus `extra(group)`) fit `limit` bindings. */
function fitBindings(
  k: Kernel,
  outputs: readonly number[],
  limit: number,
  extra: (group: readonly number[]) => number,
): number[][] {
  const groups: number[][] = [];
  let cur: number[] = [];
  const count = (g: readonly number[]): number => bindingsOf(k, g) + extra(g);
  for (const o of outputs) {
    if (cur.length > 0 && count([...cur, o]) > limit) {
      groups.push(cur);
      cur = [];
    }
    if (count([o]) > limit)
      throw new CapacityError(
        `webgpu: a fused kernel output needs ${count([o])} storage buffers; the device allows ${limit} per shader`,
      );
    cur.push(o);
  }
  if (cur.length > 0) groups.push(cur);
  return groups;
}

/** Finds, for kernels with scalar sums, a one-point kernel over those sums that the finishing pass can run. */
function findTails(kernels: readonly Kernel[], limits: PlanLimits): Map<number, { at: number; tail: Tail }> {
  const producer = new Map<Node, number>();
  kernels.forEach((k, i) => k.outputs.forEach((o) => producer.set(o.node, i)));
  const tails = new Map<number, { at: number; tail: Tail }>();
  kernels.forEach((k, t) => {
    if (k.size !== 1) return;
    const from = k.inputs.map((inp) => producer.get(storageNode(inp.node)));
    const ki = Math.max(-1, ...from.map((p) => p ?? -1));
    if (ki < 0 || tails.has(ki)) return;
    const src = kernels[ki]!;
    const sums = src.outputs.filter((o) => o.reduce !== null && o.access.kind === 'scalar');
    const slotOf = new Map<number, number>();
    for (const [j, p] of from.entries()) {
      if (p !== ki) continue;
      const slot = sums.findIndex((o) => o.node === storageNode(k.inputs[j]!.node));
      if (slot < 0) return;
      slotOf.set(j, slot);
    }
    const tail = { kernel: k, slotOf };
    const needed = 1 + sums.length + finishProgram([], tail, limits.reduce).bindings.length - 1;
    if (needed <= limits.maxStorage) tails.set(ki, { at: t, tail });
  });
  return tails;
}

/** The steps that run `kernels` (in level order) on the GPU. */
export function planRun(kernels: readonly Kernel[], limits: PlanLimits): RunPlan {
  const steps: Step[] = [];
  const partials = new Map<number, number>();
  const outputs: Node[] = [];
  let speculative = false;
  // Partial buffers of sliced sums along axes, numbered after the kernels' own.
  let nextPartials = kernels.length;
  const tails = findTails(kernels, limits);
  const absorbed = new Set([...tails.values()].map((t) => t.at));
  kernels.forEach((k, ki) => {
    if (absorbed.has(ki)) return;
    outputs.push(...k.outputs.map((o) => o.node));
    const isSum = (o: number): boolean => isScalarSum(k, o);
    const perPoint: number[] = [];
    const strided = new Map<string, number[]>();
    k.outputs.forEach((o, j) => {
      if (o.reduce !== null && o.access.kind === 'strided') {
        const key = o.access.strides.join(',');
        strided.set(key, [...(strided.get(key) ?? []), j]);
      } else perPoint.push(j);
    });
    const sums = perPoint.filter(isSum);
    const slot = new Map(sums.map((o, s) => [o, s]));
    const ranges = chunks(k.size, limits.chunk);
    // Partials per sum: one per workgroup or per invocation of the programs that reduce.
    const groupsIn = (mode: ReduceMode): number =>
      ranges.reduce((a, c) => a + Math.ceil(c.n / (WG * reducePoints(mode))), 0);
    const mode: ReduceMode =
      limits.reduce === 'invocation' &&
      sums.length * groupsIn('invocation') * partialsPerGroup('invocation') <= limits.chunk
        ? 'invocation'
        : 'workgroup';
    const perGroup = partialsPerGroup(mode);
    const count = groupsIn(mode) * perGroup;
    // Beyond the node bindings: the partials (with sums), the flag word (speculative programs).
    const flag = !limits.exact && speculates(k) ? 1 : 0;
    for (const group of fitBindings(k, perPoint, limits.maxStorage, (g) => (g.some(isSum) ? 1 : 0) + flag)) {
      const stores = group.filter((o) => !isSum(o));
      const reduces = group.filter(isSum).map((o) => ({ output: o, slot: slot.get(o)! }));
      const program = mainProgram(k, stores, reduces, {
        mode,
        points: limits.points ?? 1,
        exact: limits.exact ?? false,
      });
      const binds = nodeBinds(k, program.inputs, program.packed, stores);
      if (reduces.length > 0) binds.push({ kind: 'partials', kernel: ki });
      if (program.speculative) {
        binds.push({ kind: 'beyond' });
        speculative = true;
      }
      let base = 0;
      const dispatches = ranges.map(({ start, n }) => {
        const groups = Math.ceil(n / (WG * program.points));
        const g = grid(groups, limits.maxDim);
        const words = [
          ...[n, start, g[0], base * perGroup, count, 0, 0, 0],
          ...termWords(program.terms),
          ...constWords(program.consts),
        ];
        base += groups;
        return { words, grid: g, start, n };
      });
      steps.push({ program, binds, dispatches, constsOf: ki });
    }
    if (sums.length > 0) {
      partials.set(ki, sums.length * count * 4);
      const tail = tails.get(ki);
      if (tail) outputs.push(...tail.tail.kernel.outputs.map((o) => o.node));
      const perStep = Math.max(1, limits.maxStorage - 1);
      for (let s0 = 0; s0 < sums.length; s0 += perStep) {
        const slots = sums.slice(s0, s0 + perStep).map((o) => slot.get(o)!);
        const withTail = tail && s0 + perStep >= sums.length ? tail.tail : null;
        const hows = sums.map((o) => k.outputs[o]!.reduce!);
        const program = finishProgram(slots, withTail, limits.reduce, hows);
        const binds: Bind[] = [
          { kind: 'partials', kernel: ki },
          ...slots.map((s) => ({ kind: 'node' as const, node: k.outputs[sums[s]!]!.node, chunked: false })),
        ];
        if (withTail) {
          const tk = withTail.kernel;
          binds.push(
            ...program.tailInputs.map((j) => ({
              kind: 'node' as const,
              node: tk.inputs[j]!.node,
              chunked: false,
            })),
            ...tk.outputs.map((o) => ({ kind: 'node' as const, node: o.node, chunked: false })),
          );
        }
        steps.push({
          program,
          binds,
          dispatches: [
            { words: [count, 0, slots[0]!, 0, ...constWords(program.consts)], grid: [1, 1], start: 0, n: 1 },
          ],
          constsOf: withTail && tail ? tail.at : ki,
        });
      }
    }
    for (const outs of strided.values()) {
      for (const group of fitBindings(k, outs, limits.maxStorage, () => 0)) {
        const { m, r } = stridedShape(k, group);
        const slices = slicesFor(m, r, group.length, ranges.length, limits.chunk);
        steps.push(
          ...stridedSteps(k, ki, group, slices, ranges, slices > 1 ? nextPartials++ : -1, limits, partials),
        );
      }
    }
  });
  return { steps, partials, outputs, speculative };
}

/** Bindings of a kernel's inputs (`packed` ones gathered into one) and of per-point outputs `outs`. */
function nodeBinds(
  k: Kernel,
  ins: readonly number[],
  packed: readonly number[],
  outs: readonly number[],
): Bind[] {
  return [
    ...ins.map((j) => ({
      kind: 'node' as const,
      node: k.inputs[j]!.node,
      chunked: k.inputs[j]!.access.kind === 'full',
    })),
    ...(packed.length > 0 ? [{ kind: 'packed' as const, nodes: packed.map((j) => k.inputs[j]!.node) }] : []),
    ...outs.map((o) => ({ kind: 'node' as const, node: k.outputs[o]!.node, chunked: true })),
  ];
}

/**
 * The steps of a sum along axes in `slices` slices per element: with one, each element is stored by its
 * invocation (added to in later chunks); with more, partial sums per slice and chunk go to partials
 * buffer `id`, and a second step adds them up.
 */
function stridedSteps(
  k: Kernel,
  ki: number,
  group: readonly number[],
  slices: number,
  ranges: readonly { start: number; n: number }[],
  id: number,
  limits: PlanLimits,
  partials: Map<number, number>,
): Step[] {
  const sliced = slices > 1;
  const program = stridedProgram(k, group, sliced);
  const { m, r } = program;
  const len = Math.ceil(r / slices);
  const all = slices * ranges.length;
  const results = group.map((o) => ({ kind: 'node' as const, node: k.outputs[o]!.node, chunked: false }));
  const binds: Bind[] = [
    ...nodeBinds(k, program.inputs, program.packed, []),
    ...(sliced ? [{ kind: 'partials' as const, kernel: id }] : results),
  ];
  if (sliced) partials.set(id, group.length * m * all * 4);
  const g = grid(Math.ceil((m * slices) / WG), limits.maxDim);
  const dispatches = ranges.map(({ start, n }, c) => ({
    // One slice: stored in the first chunk, added to after. Several: the chunk's slices among all.
    words: [
      ...[n, start, g[0], m, r, len, slices, sliced ? c * slices : 0, sliced ? m * all : 0],
      ...[c === 0 ? 1 : 0, 0, 0],
      ...termWords(program.terms),
      ...constWords(program.consts),
    ],
    grid: g,
    start,
    n,
  }));
  const steps: Step[] = [{ program, binds, dispatches, constsOf: ki }];
  if (sliced) {
    const gf = grid(Math.ceil(m / WG), limits.maxDim);
    steps.push({
      program: stridedFinishProgram(group.map((o) => k.outputs[o]!.reduce!)),
      binds: [{ kind: 'partials', kernel: id }, ...results],
      dispatches: [{ words: [m, all, gf[0], 0], grid: gf, start: 0, n: m }],
      constsOf: ki,
    });
  }
  return steps;
}
