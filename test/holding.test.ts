// holdingMoreThan (what settles after a run): one walk for all roots gives, for each, what a walk of its own
// history would, counting computed values with buffers and stopping at the nodes made leaves.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { holdingMoreThan, Node } from '../src/graph/node.js';

/** Whether more than `limit` counted nodes stand behind `n`, walked on its own (the definition). */
function heldBehind(
  n: Node,
  limit: number,
  counts: (m: Node) => boolean,
  leaves: ReadonlySet<Node>,
): boolean {
  const seen = new Set<Node>([n]);
  const stack = [...n.inputs];
  let count = 0;
  while (stack.length > 0) {
    const m = stack.pop()!;
    if (seen.has(m) || leaves.has(m)) continue;
    seen.add(m);
    if (counts(m)) count++;
    stack.push(...m.inputs);
  }
  return count > limit;
}

describe('holdingMoreThan', () => {
  it('agrees with a walk from each root, on random graphs, with and without leaves', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(), fc.nat(), fc.boolean(), fc.nat(9)), { minLength: 1, maxLength: 120 }),
        fc.integer({ min: 0, max: 12 }),
        fc.nat(),
        (spec, limit, seed) => {
          // Node i reads up to two earlier nodes; some are stored, some are made leaves.
          const nodes: Node[] = [];
          const stored = new Set<Node>();
          for (const [a, b, isStored, arity] of spec) {
            const ins =
              nodes.length === 0 ? [] : [a, b].slice(0, arity % 3).map((k) => nodes[k % nodes.length]!);
            const n = new Node(ins.length === 0 ? 'leaf' : 'add', ins, [1], false);
            if (isStored && ins.length > 0) stored.add(n);
            nodes.push(n);
          }
          const leaves = new Set(nodes.filter((_, i) => (i * 7 + seed) % 5 === 0));
          const roots = nodes.filter((_, i) => (i + seed) % 3 === 0);
          const counts = (m: Node): boolean => m.op !== 'leaf' && stored.has(m);
          for (const without of [new Set<Node>(), leaves]) {
            const rs = roots.filter((r) => !without.has(r));
            const got = holdingMoreThan(rs, limit, (m) => stored.has(m), without);
            for (const r of rs) expect(got.has(r)).toBe(heldBehind(r, limit, counts, without));
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
