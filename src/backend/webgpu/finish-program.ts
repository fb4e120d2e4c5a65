/** WGSL for the finishing pass of scalar reductions: totals of the partials, then an optional one-point tail kernel. */
import type { Reduction } from '../../graph/node.js';
import type { Kernel } from '../../schedule/kernel.js';
import { finishFold } from './folds.js';
import { fillWithPrelude } from './prelude.js';
import { finishWidth, type BindingKind, type Program, type ReduceMode } from './program.js';
import { declare, indent } from './templates.js';
import { Consts, inputsOf, invariantHeader, neededRefs, refExpr, valueLines } from './values.js';

/** A one-point kernel run by the finishing pass, reading sums by their slot. */
export interface Tail {
  readonly kernel: Kernel;
  /** Slot of the sum each tail input is (by input index), when it is one of the finished sums. */
  readonly slotOf: ReadonlyMap<number, number>;
}

/** The finishing pass: totals of the partials of `slots` (consecutive, stored in that order), then the tail kernel. */
export interface FinishProgram extends Program {
  /** Tail input indices bound after the totals (those not read from a slot). */
  readonly tailInputs: readonly number[];
}

/**
 * Generates the finishing pass for `slots` (bound as outputs 2..), reduced as `hows` says (by slot; sums
 * where it says nothing), and an optional tail kernel, as wide as `mode` calls for (see finishWidth).
 */
export function finishProgram(
  slots: readonly number[],
  tail: Tail | null,
  mode: ReduceMode,
  hows: readonly Reduction[] = [],
): FinishProgram {
  const decls: string[] = [];
  const bindings: BindingKind[] = ['read'];
  const totals: string[] = [];
  const body: string[] = [];
  const folds = new Set<Exclude<Reduction, 'sum'>>();
  // The slots are consecutive, from the uniform P.base: the source names none of them, so that the
  // finishing passes of many sums (several passes of as many as the device binds) share one pipeline,
  // where each pass once compiled its own (300 sums read together: 28 pipelines).
  slots.forEach((slot, q) => {
    if (slot !== slots[0]! + q)
      throw new Error(`internal: finishing slots ${slots.join(',')} are not consecutive`);
    bindings.push('write');
    decls.push(declare(bindings.length, `sum${q}`, 'write'));
    const how = hows[slot] ?? 'sum';
    if (how !== 'sum') folds.add(how);
    const fn = how === 'sum' ? 'total' : `fold_${how}`;
    totals.push(`let t${q} = ${fn}((P.base + ${q}u) * P.count, lid);`);
    body.push(`sum${q}[0] = t${q};`);
  });
  const tailInputs: number[] = [];
  const c = new Consts();
  if (tail) {
    const k = tail.kernel;
    const refs = neededRefs(
      k,
      k.outputs.map((o) => o.ref),
    );
    for (const j of inputsOf(k, refs)) if (!tail.slotOf.has(j)) tailInputs.push(j);
    const names = new Map<number, string>();
    for (const j of tailInputs) {
      bindings.push('read');
      names.set(j, `tin${j}`);
      decls.push(declare(bindings.length, `tin${j}`, 'read'));
    }
    // One invocation computes the tail: there is no loop to hoist anything out of.
    const lines = valueLines(
      k,
      refs,
      (j) => {
        const slot = tail.slotOf.get(j);
        return slot !== undefined ? `t${slot - (slots[0] ?? 0)}` : `${names.get(j)!}[0]`;
      },
      c,
    );
    k.outputs.forEach((o, q) => {
      bindings.push('write');
      decls.push(declare(bindings.length, `tout${q}`, 'write'));
      lines.point.push(`tout${q}[0] = ${refExpr(k, o.ref, c)};`);
    });
    body.push(...invariantHeader(c, lines), ...lines.point);
  }
  const source = fillWithPrelude('reduce', {
    wg: String(finishWidth(mode)),
    folds: [...folds].map(finishFold).join('\n\n'),
    consts: String(c.vec4s),
    bindings: decls.join('\n'),
    totals: indent(totals, '  '),
    body: indent(body, '    '),
  });
  return {
    source,
    bindings,
    uniformBytes: 16 + 16 * c.vec4s,
    consts: c.values,
    constRefs: c.refs,
    tailInputs,
  };
}
