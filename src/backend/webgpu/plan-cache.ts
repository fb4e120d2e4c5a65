/**
 * Run plans by the structure of their kernels: a computation repeated on new data (a training step, a
 * sweep over points, a benchmark call) is planned and its WGSL generated once, later runs only bind
 * their own nodes into the kept plan.
 */
import type { Node } from '../../graph/node.js';
import { storageNode } from '../../schedule/fuse.js';
import { kernelKey, type Kernel } from '../../schedule/kernel.js';
import { planRun, type Bind, type PlanLimits, type RunPlan, type Step } from './plan.js';

// Plans kept (least recently used dropped first); each is a few programs' sources.
const MAX_PLANS = 256;

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

/**
 * Everything planRun() reads: limits, each kernel's domain, inputs (access, and which stored node each
 * one is, as the order of first appearance, since a run's kernels read each other's outputs), values
 * (constants included: the programs carry them) and outputs. Equal keys give equal plans up to the nodes.
 */
export function planKey(kernels: readonly Kernel[], limits: PlanLimits): string {
  const ids = new Map<Node, number>();
  const id = (n: Node): number => {
    let v = ids.get(n);
    if (v === undefined) ids.set(n, (v = ids.size));
    return v;
  };
  const parts: (string | number)[] = [
    limits.chunk,
    limits.maxDim,
    limits.maxStorage,
    limits.reduce,
    limits.points ?? 1,
    limits.exact === true ? 'x' : '',
  ];
  for (const k of kernels) {
    parts.push('K', k.level, k.size, k.domain.join('x'), kernelKey(k), 'i');
    for (const i of k.inputs) parts.push(id(storageNode(i.node)));
    parts.push('o');
    for (const o of k.outputs) parts.push(id(o.node));
  }
  return parts.join(' ');
}

/** The plan with its nodes replaced by their slots among `kernels`. */
function template(plan: RunPlan, kernels: readonly Kernel[]): Template {
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

/** The template's plan for these kernels. */
function instantiate(t: Template, kernels: readonly Kernel[]): RunPlan {
  const nodes = slots(kernels);
  return {
    steps: t.steps.map((st) => ({
      ...st,
      binds: st.binds.map((b): Bind =>
        b.kind === 'node'
          ? { kind: 'node', node: nodes[b.slot]!, chunked: b.chunked }
          : b.kind === 'packed'
            ? { kind: 'packed', nodes: b.slots.map((s) => nodes[s]!) }
            : b,
      ),
    })),
    partials: t.partials,
    outputs: t.outputs.map((s) => nodes[s]!),
    speculative: t.speculative,
  };
}

/** planRun() behind a cache keyed by planKey(). */
export class PlanCache {
  private readonly plans = new Map<string, Template>();
  /** Runs whose plan came from the cache. */
  hits = 0;

  /** The plan for `kernels` under `limits`, made once per structure. */
  plan(kernels: readonly Kernel[], limits: PlanLimits): RunPlan {
    const key = planKey(kernels, limits);
    let t = this.plans.get(key);
    if (t) {
      this.hits++;
      this.plans.delete(key);
    } else {
      t = template(planRun(kernels, limits), kernels);
      if (this.plans.size >= MAX_PLANS) this.plans.delete(this.plans.keys().next().value!);
    }
    this.plans.set(key, t);
    return instantiate(t, kernels);
  }

  /** Forgets the plan for `kernels` (its programs did not compile: a later run plans and generates again). */
  forget(kernels: readonly Kernel[], limits: PlanLimits): void {
    this.plans.delete(planKey(kernels, limits));
  }
}
