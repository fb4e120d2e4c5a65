/** Reductions that compute what another in the same graph computes, found by numbering values by structure. */
import { isReduction, type Node } from '../graph/node.js';
import { opRow } from '../ops/table.js';

const attrKey = (v: number): string => (Object.is(v, -0) ? '-0' : String(v));

/**
 * The reductions of `order` (a topological walk) that reduce the same values in the same way as one earlier in
 * the walk, each with that one: their values are equal, so only the first need be computed and stored. Each
 * backward() builds its gradient's graph anew, so that a loop of them accumulating `.grad` without reading it
 * holds as many sums of one value as it has steps. Reductions that are (or are viewed as) targets are left
 * apart: each is stored under its own node. Null where there is nothing to share. `storageOf` gives the buffer
 * a node is a view of; ops are deterministic functions of their operands, parameter and shape, so nodes of
 * equal op, parameter, shape and operands' numbers have equal values.
 */
export function sameReductions(
  order: readonly Node[],
  targets: readonly Node[],
  isReady: (n: Node) => boolean,
  storageOf: (n: Node) => Node,
): Map<Node, Node> | null {
  let reductions = 0;
  for (const n of order) if (isReduction(n.op) && !isReady(n) && ++reductions > 1) break;
  if (reductions < 2) return null;
  const kept = new Set(targets.map(storageOf));
  const numbers = new Map<string, number>();
  const numberOf = new Map<Node, number>();
  const first = new Map<number, Node>();
  let same: Map<Node, Node> | null = null;
  for (const n of order) {
    const shape = n.shape.join('x');
    let key: string;
    if (isReady(n)) key = `R${storageOf(n).id}|${shape}`;
    else if (n.op === 'leaf') key = `L${n.id}`;
    else {
      const row = opRow(n.op);
      const args = n.inputs.map((c) => numberOf.get(c)!);
      // An identity op's value is its operand's (a detach of a sum is that sum).
      if (row?.identity === true && args.length === 1 && n.size === n.inputs[0]!.size) {
        numberOf.set(n, args[0]!);
        continue;
      }
      if (row?.commutative === true) args.sort((a, b) => a - b);
      key = `${n.op}|${attrKey(n.attr)}|${shape}|${args.join(',')}`;
    }
    let v = numbers.get(key);
    if (v === undefined) numbers.set(key, (v = numbers.size));
    numberOf.set(n, v);
    if (!isReduction(n.op) || isReady(n)) continue;
    const rep = first.get(v);
    if (rep === undefined) first.set(v, n);
    else if (!kept.has(n)) (same ??= new Map()).set(n, rep);
  }
  return same;
}
