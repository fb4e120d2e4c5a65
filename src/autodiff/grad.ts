/** Symbolic reverse mode: adjoints are new graph nodes built from the op table's derivative rules. */
import { Node, topoSort } from '../graph/node.js';
import { apply, expand, reduceKeep, reshape, sumKeep, sumTo } from '../ops/build.js';
import { builders, constant } from '../ops/build.js';
import { opRow } from '../ops/table.js';

/**
 * Adjoints of `outputs` (weighted by `seeds`, one per output) with respect to each node of `wrt`,
 * or null where an output does not depend on it. Each node of the graph is visited once, so the
 * cost is linear in the graph's size however much it reuses subexpressions.
 */
export function gradients(
  outputs: readonly Node[],
  seeds: readonly Node[],
  wrt: readonly Node[],
): (Node | null)[] {
  const targets = new Set(wrt);
  // A node made before every wrt node cannot depend on any (ids grow with creation): the walk stops
  // there, so its cost is that of the graph built since, however long the history behind it (a
  // parameter updated step by step).
  const oldest = Math.min(...wrt.map((w) => w.id));
  const order = topoSort(outputs, (n) => n.id < oldest);
  // Only nodes on a path from some wrt node to an output carry adjoints worth building.
  const live = new Set<Node>();
  for (const n of order) {
    if (n.op === 'detach') continue;
    if (targets.has(n) || n.inputs.some((c) => live.has(c))) live.add(n);
  }
  const parts = new Map<Node, Node[]>();
  const push = (n: Node, g: Node): void => {
    const list = parts.get(n);
    if (list) list.push(g);
    else parts.set(n, [g]);
  };
  outputs.forEach((o, i) => {
    if (live.has(o)) push(o, seeds[i]!);
  });
  const result = new Map<Node, Node>();
  for (let k = order.length - 1; k >= 0; k--) {
    const n = order[k]!;
    const list = parts.get(n);
    if (!list) continue;
    parts.delete(n);
    const dy = list.reduce((acc, g) => apply('add', [acc, g]));
    if (targets.has(n)) result.set(n, dy);
    for (const [input, g] of localAdjoints(n, dy)) {
      if (g && live.has(input)) push(input, sumTo(g, input.shape));
    }
  }
  return wrt.map((w) => result.get(w) ?? null);
}

/** Pairs (operand, its adjoint contribution) for one node given its adjoint `dy`. */
function localAdjoints(n: Node, dy: Node): [Node, Node | null][] {
  const x = n.inputs;
  switch (n.op) {
    case 'leaf':
    case 'const':
      return [];
    case 'sum':
    case 'expand':
      // Both are broadcasts of each other's adjoint: sum's adjoint is broadcast, expand's is summed (sumTo).
      return [[x[0]!, n.op === 'sum' ? expand(dy, x[0]!.shape) : dy]];
    case 'amax':
    case 'amin': {
      // As PyTorch's: shared evenly by the values equal to the result (a NaN result, equal to none, gives
      // NaN); the mask passes no gradient, so higher derivatives are 0 as the function is piecewise linear.
      // The input is compared with its extreme taken again in the backward pass, not with the result: the
      // result may come from an earlier run (on the other backend, or from a kernel compiled otherwise) whose
      // values of the input differ from these in the last bit, and then equal none of them (0/0 at every
      // point). Taken in the run that compares, with the forward result when that is in the run too (one
      // kernel reduces both), the two read the same values.
      const top = reduceKeep(x[0]!, n.shape, n.op);
      const hit = apply('eq', [x[0]!, expand(top, x[0]!.shape)]);
      const share = apply('div', [dy, sumKeep(hit, n.shape)]);
      return [[x[0]!, apply('mul', [expand(share, x[0]!.shape), hit])]];
    }
    case 'reshape':
      return [[x[0]!, reshape(dy, x[0]!.shape)]];
    default: {
      const row = opRow(n.op);
      if (!row) throw new Error(`no derivative rule for op '${n.op}'`);
      const gs = row.grad({ x, y: n, dy, p: n.attr, b: builders });
      return x.map((c, i) => [c, gs[i] ?? null]);
    }
  }
}

/** A zero adjoint of the given shape, for inputs an output does not depend on. */
export function zerosLike(n: Node): Node {
  return expand(constant(0), n.shape);
}

/**
 * The seed of a one-element output's backward pass: 1 in its shape, so that its gradient with respect to
 * itself keeps that shape ([1, 1], not []).
 */
export function onesLike(n: Node): Node {
  return expand(constant(1), n.shape);
}
