/** Stored values that equal another in the same plan, found by numbering values by their structure. */
import type { Node } from '../graph/node.js';
import { opRow } from '../ops/table.js';
import { attrKey } from './plan-memo.js';
import { numberIn } from './numbering.js';

/**
 * A number for each node of `order` (a topological walk), equal for nodes whose values are equal by
 * construction: ops are deterministic functions of their operands, parameter and shape, so nodes of equal op,
 * parameter, shape and operands' numbers have equal values (an identity op has its operand's). Ready nodes
 * are numbered by the buffer they read (`storageOf`) and their shape, but for constants, read or not.
 */
export function valueNumbers(
  order: readonly Node[],
  isReady: (n: Node) => boolean,
  storageOf: (n: Node) => Node,
): Map<Node, number> {
  const numbers = new Map<string, number>();
  const numberOf = new Map<Node, number>();
  for (const n of order) {
    const shape = n.shape.join('x');
    let key: string;
    // A constant by its number, read or not (as structureKey keys it).
    if (isReady(n) && n.op !== 'const') key = `R${storageOf(n).id}|${shape}`;
    else if (n.op === 'leaf') key = `L${n.id}`;
    else {
      const row = opRow(n.op);
      const args = n.inputs.map((c) => numberOf.get(c)!);
      if (row?.identity === true && args.length === 1 && n.size === n.inputs[0]!.size) {
        numberOf.set(n, args[0]!);
        continue;
      }
      if (row?.commutative === true) args.sort((a, b) => a - b);
      key = `${n.op}|${attrKey(n.attr)}|${shape}|${args.join(',')}`;
    }
    numberOf.set(n, numberIn(numbers, key));
  }
  return numberOf;
}

/**
 * Of the values a plan stores (`level`: each with the level whose kernel computes it), those equal to another
 * stored at the same or an earlier level, each with that one: only it need be computed and stored, and what
 * reads the others reads it. Each backward() builds its gradient's graph anew, so that a loop of them
 * accumulating `.grad` unread holds a step's sums (and the values its gradients store) once per step. Values in
 * `kept` (the targets' buffers) are stored under their own nodes whatever they equal.
 */
export function sameStored(
  level: ReadonlyMap<Node, number>,
  numbers: ReadonlyMap<Node, number>,
  kept: ReadonlySet<Node>,
): Map<Node, Node> | null {
  // The one to keep of each number: the lowest level's, the first met of those.
  const first = new Map<number, Node>();
  let equal = false;
  for (const [n, l] of level) {
    const v = numbers.get(n);
    if (v === undefined) continue;
    const m = first.get(v);
    if (m === undefined || l < level.get(m)!) first.set(v, n);
    if (m !== undefined) equal = true;
  }
  if (!equal) return null;
  let same: Map<Node, Node> | null = null;
  for (const n of level.keys()) {
    const v = numbers.get(n);
    if (v === undefined || kept.has(n)) continue;
    const m = first.get(v)!;
    if (m !== n) (same ??= new Map()).set(n, m);
  }
  return same;
}
