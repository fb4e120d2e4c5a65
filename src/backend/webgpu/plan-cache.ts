/**
 * Run plans by the structure of their kernels: a computation repeated on new data (a training step, a
 * sweep over points, a benchmark call) is planned and its WGSL generated once, later runs only bind
 * their own nodes into the kept plan.
 */
import type { Node } from '../../graph/node.js';
import { storageNode } from '../../schedule/fuse.js';
import { f32Bits, kernelKey, type Kernel } from '../../schedule/kernel.js';
import { keptPlanOf } from '../../schedule/plan-memo.js';
import { numberIn } from '../../schedule/numbering.js';
import { planRun, type Bind, type PlanLimits, type RunPlan, type Step } from './plan.js';
import type { Program } from './program.js';
import { constWords } from './values.js';

// Plans kept (least recently used dropped first), in number and in weight (see weightOf): the plan of a
// loop that reads nothing until the end covers every step, and its key alone grows by hundreds of
// characters a step. A plan heavier than a quarter of the budget is not kept at all.
const MAX_PLANS = 256;
const MAX_WEIGHT = 2 ** 21;

/** A node of the plan, by its place among the run's kernels (see slots()). */
type Slot = number;

/** A bind whose nodes are slots. */
type SlotBind =
  | { readonly kind: 'node'; readonly slot: Slot; readonly chunked: boolean }
  | { readonly kind: 'packed'; readonly slots: readonly Slot[] }
  | Exclude<Bind, { kind: 'node' } | { kind: 'packed' }>;

/** A plan with its nodes replaced by slots; programs and dispatches are shared by every run of it. */
interface Template {
  readonly steps: readonly (Omit<Step, 'binds'> & { readonly binds: readonly SlotBind[] })[];
  readonly partials: RunPlan['partials'];
  readonly outputs: readonly Slot[];
  readonly speculative: boolean;
}

/** Every node the kernels name, in a fixed order: each kernel's inputs, then its outputs. */
function slots(kernels: readonly Kernel[]): Node[] {
  const out: Node[] = [];
  for (const k of kernels) {
    for (const i of k.inputs) out.push(i.node);
    for (const o of k.outputs) out.push(o.node);
  }
  return out;
}

/** The limits planRun() reads, as a string. */
const limitsKey = (limits: PlanLimits): string =>
  `${limits.chunk} ${limits.maxDim} ${limits.maxStorage} ${limits.reduce} ${limits.points ?? 1} ${limits.exact === true ? 'x' : ''}`;

/**
 * Everything planRun() reads: limits, each kernel's domain, inputs (access, and which stored node each
 * one is, as the order of first appearance, since a run's kernels read each other's outputs), values
 * (constants by which are equal as float32: see kernelKey) and outputs. Equal keys give equal plans up to
 * the nodes and the constants (see instantiate).
 */
export function planKey(kernels: readonly Kernel[], limits: PlanLimits): string {
  const ids = new Map<Node, number>();
  const id = (n: Node): number => numberIn(ids, n);
  const parts: (string | number)[] = [limitsKey(limits)];
  for (const k of kernels) {
    parts.push('K', k.level, k.size, k.domain.join('x'), kernelKey(k), 'i');
    for (const i of k.inputs) parts.push(id(storageNode(i.node)));
    parts.push('o');
    for (const o of k.outputs) parts.push(id(o.node));
  }
  return parts.join(' ');
}

/** What a kept plan costs in memory, in characters of its key plus a share per step and bind. */
const weightOf = (key: string, t: Template): number =>
  key.length + t.steps.reduce((a, st) => a + 64 + 16 * st.binds.length, 0);

/** The plan with its nodes replaced by their slots among `kernels`. */
function template(plan: RunPlan, kernels: readonly Kernel[]): Template {
  // Steps whose programs have one source (the same kernel at every step of a loop, with constants of its
  // own) keep one copy of it: each was generated as a string of its own, kilobytes a step.
  const sources = new Map<string, string>();
  const program = <P extends Program>(p: P): P => {
    const s = sources.get(p.source);
    if (s === undefined) sources.set(p.source, p.source);
    return s === undefined ? p : { ...p, source: s };
  };
  // A node named at several places is taken from the first: in any run with the same key the nodes at
  // those places hold the same stored values (the key numbers inputs by their stored node).
  const at = new Map<Node, Slot>();
  slots(kernels).forEach((n, s) => {
    if (!at.has(n)) at.set(n, s);
  });
  const slot = (n: Node): Slot => {
    const s = at.get(n);
    if (s === undefined) throw new Error(`internal: planned node ${n.id} is not among the run's kernels`);
    return s;
  };
  return {
    steps: plan.steps.map((st) => ({
      ...st,
      program: program(st.program),
      binds: st.binds.map((b): SlotBind =>
        b.kind === 'node'
          ? { kind: 'node', slot: slot(b.node), chunked: b.chunked }
          : b.kind === 'packed'
            ? { kind: 'packed', slots: b.nodes.map(slot) }
            : b,
      ),
    })),
    partials: plan.partials,
    outputs: plan.outputs.map(slot),
    speculative: plan.speculative,
  };
}

/**
 * The constants of `program` (a step's, see Step.constsOf) in a run of `kernels`, or null where they are the
 * program's own (as float32).
 */
function constsIn(program: Program, kernel: Kernel): number[] | null {
  const { consts, constRefs } = program;
  let own: number[] | null = null;
  for (let s = 0; s < constRefs.length; s++) {
    const v = kernel.values[constRefs[s]!]!;
    if (v.kind !== 'const') throw new Error('internal: a kept program reads a constant that is not one');
    if (own === null && f32Bits(v.value) === f32Bits(consts[s]!)) continue;
    own ??= consts.slice(0, s);
    own.push(v.value);
  }
  return own;
}

/** The template's plan for these kernels (with their own constants). */
function instantiate(t: Template, kernels: readonly Kernel[]): RunPlan {
  const nodes = slots(kernels);
  let ownConsts = false;
  const steps = t.steps.map((st): Step => {
    const binds = st.binds.map((b): Bind =>
      b.kind === 'node'
        ? { kind: 'node', node: nodes[b.slot]!, chunked: b.chunked }
        : b.kind === 'packed'
          ? { kind: 'packed', nodes: b.slots.map((s) => nodes[s]!) }
          : b,
    );
    const consts = constsIn(st.program, kernels[st.constsOf]!);
    if (consts === null) return { ...st, binds };
    // The constants' words end every uniform block of the step.
    ownConsts = true;
    const old = constWords(st.program.consts).length;
    const words = constWords(consts);
    return {
      ...st,
      binds,
      program: { ...st.program, consts },
      dispatches: st.dispatches.map((d) => ({
        ...d,
        words: [...d.words.slice(0, d.words.length - old), ...words],
      })),
    };
  });
  return {
    steps,
    partials: t.partials,
    outputs: t.outputs.map((s) => nodes[s]!),
    speculative: t.speculative,
    kept: t,
    ownConsts,
  };
}

/** planRun() behind a cache keyed by planKey(). */
export class PlanCache {
  private readonly plans = new Map<string, { template: Template; weight: number }>();
  private weight = 0;
  /** Runs whose plan came from the cache. */
  hits = 0;

  /**
   * planKey() of kernels that came from a kept plan of the scheduler's (keptPlanOf), by that plan and the
   * limits: a repeated run finds its key without walking its kernels again.
   */
  private readonly keys = new WeakMap<object, Map<string, string>>();

  /** planKey(kernels, limits), from `keys` where the kernels came from a kept plan. */
  private keyOf(kernels: readonly Kernel[], limits: PlanLimits): string {
    const origin = keptPlanOf(kernels);
    if (!origin) return planKey(kernels, limits);
    let byLimits = this.keys.get(origin);
    if (!byLimits) this.keys.set(origin, (byLimits = new Map()));
    const l = limitsKey(limits);
    let key = byLimits.get(l);
    if (key === undefined) byLimits.set(l, (key = planKey(kernels, limits)));
    return key;
  }

  /** The plan for `kernels` under `limits`, made once per structure. */
  plan(kernels: readonly Kernel[], limits: PlanLimits): RunPlan {
    const key = this.keyOf(kernels, limits);
    const hit = this.plans.get(key);
    if (hit) {
      this.hits++;
      // Most recently used last.
      this.plans.delete(key);
      this.plans.set(key, hit);
      return instantiate(hit.template, kernels);
    }
    const t = template(planRun(kernels, limits), kernels);
    const weight = weightOf(key, t);
    if (weight <= MAX_WEIGHT / 4) {
      while (this.plans.size >= MAX_PLANS || (this.plans.size > 0 && this.weight + weight > MAX_WEIGHT))
        this.drop(this.plans.keys().next().value!);
      this.plans.set(key, { template: t, weight });
      this.weight += weight;
    }
    return instantiate(t, kernels);
  }

  /** Forgets the plan for `kernels` (its programs did not compile: a later run plans and generates again). */
  forget(kernels: readonly Kernel[], limits: PlanLimits): void {
    this.drop(planKey(kernels, limits));
  }

  /** Plans kept, and their weight (see weightOf): for tests. */
  get size(): { plans: number; weight: number } {
    return { plans: this.plans.size, weight: this.weight };
  }

  private drop(key: string): void {
    const e = this.plans.get(key);
    if (!e) return;
    this.plans.delete(key);
    this.weight -= e.weight;
  }
}
