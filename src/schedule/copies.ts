/** Splits a level's kernel into the independent copies of one computation it holds, so that they share a compiled kernel. */
import type { Node } from '../graph/node.js';
import { shapeKey, type Kernel } from './kernel.js';

/**
 * A level whose kernel holds at least this many independent parts of one structure (the same computation
 * on other inputs or constants: a sum read for each of many parameters in one Promise.all) runs each as a
 * kernel of its own. Fused, they made one kernel that grew with their number, compiled afresh for every
 * count (300 sums of sin(x c) together: 77 KB of WGSL and 15 s to compile on SwiftShader, where reading
 * them one by one took 0.4 s in all); apart, every part is the same kernel, compiled once, at the cost of
 * reading the shared inputs once per part.
 */
export const MIN_COPIES = 4;

/**
 * The kernels of `k`'s independent parts where at least MIN_COPIES of them are copies of one structure:
 * each copy a kernel, the other parts one kernel together; null where there are no such copies. Parts are
 * independent when they share no computed value (inputs and constants aside): a value and its gradients,
 * which share the forward values, stay one part. `build` makes the kernel of a level's outputs.
 */
export function splitCopies(k: Kernel, build: (outs: Node[]) => Kernel): Kernel[] | null {
  if (k.outputs.length < MIN_COPIES) return null;
  const parent = k.values.map((_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i]!]!;
    return i;
  };
  const isOp = (r: number): boolean => k.values[r]!.kind === 'op';
  k.values.forEach((v, i) => {
    if (v.kind === 'op') for (const a of v.args) if (isOp(a)) parent[find(a)] = find(i);
  });
  const parts = new Map<number, Node[]>();
  // Outputs that compute nothing (a stored value copied, a constant) go with the rest.
  const rest: Node[] = [];
  for (const o of k.outputs) {
    if (!isOp(o.ref)) {
      rest.push(o.node);
      continue;
    }
    const at = find(o.ref);
    const part = parts.get(at);
    if (part) part.push(o.node);
    else parts.set(at, [o.node]);
  }
  if (parts.size < MIN_COPIES) return null;
  const byShape = new Map<string, { outs: Node[]; kernel: Kernel }[]>();
  for (const outs of parts.values()) {
    const kernel = build(outs);
    const key = shapeKey(kernel);
    const same = byShape.get(key);
    if (same) same.push({ outs, kernel });
    else byShape.set(key, [{ outs, kernel }]);
  }
  const copies: Kernel[] = [];
  for (const same of byShape.values()) {
    if (same.length >= MIN_COPIES) copies.push(...same.map((s) => s.kernel));
    else for (const s of same) rest.push(...s.outs);
  }
  if (copies.length === 0) return null;
  return rest.length > 0 ? [...copies, build(rest)] : copies;
}
