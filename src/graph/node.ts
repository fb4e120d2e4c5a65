/** Graph nodes: the lazy DAG that tensors are handles on. */
import { sizeOf, type Shape } from './shape.js';

/** Storage a backend keeps for a realized node (a GPU buffer, say); released when the node is freed. */
export interface DeviceStorage {
  /** Name of the backend that owns the storage. */
  readonly backend: string;
  /** Returns the storage to its backend. */
  release(): void;
  /** A host copy of `node`'s values, read through the backend that owns the storage. */
  read(node: Node): Promise<Float32Array>;
}

/**
 * Structural node kinds that are not rows of the op table:
 * `leaf` holds data, `const` a scalar literal, a reduction (`sum`, `amax`, `amin`) reduces its input to its
 * own (keepdims) shape, `reshape` re-views a realized buffer, `expand` broadcasts its input to its own shape.
 */
export type StructuralOp = 'leaf' | 'const' | Reduction | 'reshape' | 'expand';

/** How a reduction combines the values it folds into one element: their sum, their largest or smallest. */
export type Reduction = 'sum' | 'amax' | 'amin';

/** True for the reductions: the ops whose values at a point fold values at many points of their input. */
export const isReduction = (op: string): op is Reduction => op === 'sum' || op === 'amax' || op === 'amin';

let nextId = 1;

/** Live views of a node's values, and what to do once they are gone (see Node.viewers). */
export interface Viewers {
  count: number;
  after: (() => void) | null;
}

/** One vertex of the lazy graph: an op applied to input nodes, with a static shape. */
export class Node {
  /** Unique, increasing with creation, so sorting by id is a topological order. */
  readonly id = nextId++;
  /** Number of elements. */
  readonly size: number;
  /** Host copy of the values (leaves always; other nodes once computed on or read back to the host). */
  host: Float32Array | Float64Array | null = null;
  /** Backend storage of the values, when computed on a device. */
  device: DeviceStorage | null = null;
  /** Set by `dispose()`: using the node afterwards is an error. */
  disposed = false;
  /**
   * The tensor that asked for this node's gradient (`retainGrad`, or a leaf with requiresGrad). A strong
   * reference: the pair is collected together, and WeakRef targets would stay alive until the current
   * job ends, which a loop of awaits on finished promises never reaches.
   */
  owner: object | null = null;
  /** Set once a Tensor is a handle on this node (each node has at most one: see the Tensor constructor). */
  held = false;
  /**
   * Live tensors on views of this node's values (reshape, detach, x * 1), and what to do once there are none
   * (the dispose() of this node's tensor, held back for them): see Tensor.dispose(). An object apart, so that
   * what counts the views down when they are collected does not hold the node.
   */
  viewers: Viewers | null = null;
  /**
   * Set when the only tensor on a view of this node (a `.grad` that is a view of a sum) was disposed while
   * this node's run was in flight: the run gives its values back instead of keeping them (once).
   */
  unwanted = false;
  /**
   * Set once a run computed this node's value inside a kernel without storing it. A later run that needs
   * it again stores it (see planKernels): a value used across runs, such as a parameter updated step by
   * step (w = w - lr * g), would otherwise be recomputed from an ever longer history at every step.
   */
  computedBefore = false;
  /**
   * The node whose buffer holds this node's values (itself, or the source it is a view of), once
   * `storageNode()` (schedule/fuse.ts) has worked it out: it depends only on the op and the inputs.
   */
  storage: Node | null = null;

  constructor(
    /** A table op name or a structural op ('leaf' once settled). */
    public op: string,
    /** Operands, in order (none once settled). */
    public inputs: readonly Node[],
    /** Result shape (for a reduction, the keepdims shape). */
    readonly shape: Shape,
    /** Whether gradients flow to this node. */
    readonly requiresGrad: boolean,
    /** Op parameter: the integer exponent of `powi`, the value of `const`. */
    readonly attr = 0,
  ) {
    this.size = sizeOf(shape);
  }

  /**
   * Makes this computed node a leaf holding `values`, letting go of the graph that computed it: a value
   * updated step by step (w = w - lr * g) would otherwise keep every earlier step's graph alive. The
   * values are on the host, so that nothing depends on a device keeping them. Only for nodes that no
   * gradient flows through (see `stopsGradients`: the graph behind them is never differentiated again).
   */
  settle(values: Float32Array | Float64Array): void {
    if (!this.stopsGradients)
      throw new Error('internal: a node that passes gradients to its inputs cannot be settled');
    this.op = 'leaf';
    this.inputs = [];
    this.host = values;
  }

  /**
   * True when no gradient flows through this node to its inputs: it does not require grad, or none of its
   * inputs does (a leaf, or a leaf made from a computed value). Such a node is a leaf to differentiation.
   */
  get stopsGradients(): boolean {
    return !this.requiresGrad || this.inputs.every((c) => !c.requiresGrad);
  }

  /** True when the values exist on the host or a device. */
  get realized(): boolean {
    return this.host !== null || this.device !== null;
  }

  /** Drops the values; the node can still be recomputed from its inputs unless it is a leaf. */
  free(): void {
    this.device?.release();
    this.device = null;
    if (this.op !== 'leaf') this.host = null;
  }
}

/** A Float32Array copy of host values: slice() is a memcpy, and Float32Array.from would walk an iterator. */
export const copyToF32 = (h: Float32Array | Float64Array): Float32Array =>
  h instanceof Float32Array ? h.slice() : new Float32Array(h);

// No nodes: a history that holds no computed values, and holdingMoreThan's default `leaves`.
const NO_NODES: ReadonlySet<Node> = new Set();

/**
 * Those of `roots` with more than `limit` computed nodes with values behind them (realized, or `stored` by the
 * run being planned): each keeps its buffer for as long as the root keeps the graph it was computed from.
 * Nodes in `leaves` (to be made leaves) hold nothing behind them. One walk for all roots: each node's
 * computed ancestors are gathered from its inputs' (shared where it adds none), up to `limit` + 1, beyond
 * which the node and all that come after it hold more. (A walk from each root, stopping at `limit`, went
 * over most of the graph for each where computed values are few and far apart: a second derivative through
 * 200 unrolled steps, 73 outputs over 6,596 nodes, spent longer in it than in computing.)
 */
export function holdingMoreThan(
  roots: readonly Node[],
  limit: number,
  stored: (m: Node) => boolean = () => false,
  leaves: ReadonlySet<Node> = NO_NODES,
): Set<Node> {
  // Each node's computed ancestors, or null beyond `limit`.
  const behind = new Map<Node, ReadonlySet<Node> | null>();
  const counts = (m: Node): boolean => m.op !== 'leaf' && (m.realized || stored(m));
  for (const m of topoSort(roots, (x) => leaves.has(x))) {
    if (leaves.has(m)) continue;
    let held: ReadonlySet<Node> | null = NO_NODES;
    let own: Set<Node> | null = null;
    for (const c of m.inputs) {
      if (leaves.has(c)) continue;
      const s = behind.get(c)!;
      if (s === null) {
        held = null;
        break;
      }
      const add = counts(c);
      if (!add && s.size === 0) continue;
      if (own === null && held.size === 0 && !add) {
        held = s;
        continue;
      }
      own ??= new Set(held);
      if (add) own.add(c);
      for (const x of s) own.add(x);
      held = own;
      if (own.size > limit) {
        held = null;
        break;
      }
    }
    behind.set(m, held);
  }
  return new Set(roots.filter((r) => behind.get(r) === null));
}

/** All nodes that `roots` depend on, in topological order (inputs before users). */
export function topoSort(roots: readonly Node[], stop: (n: Node) => boolean = () => false): Node[] {
  const seen = new Set<Node>();
  const order: Node[] = [];
  // Iterative DFS: graphs of millions of nodes must not overflow the JS stack. Parallel stacks of the
  // node, the next input to visit, and how many it has to visit (0 where `stop` holds, asked once per
  // node: it may cost more than the visit).
  const nodes: Node[] = [];
  const next: number[] = [];
  const ends: number[] = [];
  const enter = (n: Node): void => {
    seen.add(n);
    nodes.push(n);
    next.push(0);
    ends.push(stop(n) ? 0 : n.inputs.length);
  };
  for (const r of roots) {
    if (seen.has(r)) continue;
    enter(r);
    while (nodes.length > 0) {
      const top = nodes.length - 1;
      const i = next[top]!;
      if (i < ends[top]!) {
        next[top] = i + 1;
        const c = nodes[top]!.inputs[i]!;
        if (!seen.has(c)) enter(c);
      } else {
        order.push(nodes.pop()!);
        next.pop();
        ends.pop();
      }
    }
  }
  return order;
}
