/** How each reduction starts and folds values in WGSL: the sums by addition, amax and amin by the table's maximum and minimum. */
import type { Reduction } from '../../graph/node.js';
import { OPS } from '../../ops/table.js';

/** A reduction's starting value and its fold of a value into an accumulator, as WGSL expressions. */
export interface WgslFold {
  readonly init: string;
  readonly fold: (acc: string, v: string) => string;
}

// amax and amin fold by the table's NaN-aware maximum and minimum, from -Inf and +Inf (made at run time:
// an infinite literal does not compile).
const FOLDS: Record<Reduction, WgslFold> = {
  sum: { init: '0.0', fold: (acc, v) => `${acc} + ${v}` },
  amax: { init: '-wg__inf()', fold: (acc, v) => OPS.maximum.wgsl(acc, v) },
  amin: { init: 'wg__inf()', fold: (acc, v) => OPS.minimum.wgsl(acc, v) },
};

/** The WGSL fold of reduction `how`. */
export const wgslFold = (how: Reduction): WgslFold => FOLDS[how];

/**
 * A WGSL function `fold_<how>(base, lid)` for the finishing pass (reduce.wgsl) of amax or amin: the fold of
 * partials[base .. base + P.count), the same in every invocation of the workgroup (through `sh`, whose x
 * components it uses). Sums have the template's compensated `total` instead.
 */
export function finishFold(how: Exclude<Reduction, 'sum'>): string {
  const { init, fold } = FOLDS[how];
  return [
    `fn fold_${how}(base: u32, lid: u32) -> f32 {`,
    `  var acc = ${init};`,
    '  for (var t = lid; t < P.count; t += WG) {',
    `    acc = ${fold('acc', 'partials[base + t]')};`,
    '  }',
    '  sh[lid] = vec2<f32>(acc, 0.0);',
    '  workgroupBarrier();',
    '  for (var h = WG / 2u; h > 0u; h >>= 1u) {',
    '    if (lid < h) {',
    `      sh[lid] = vec2<f32>(${fold('sh[lid].x', 'sh[lid + h].x')}, 0.0);`,
    '    }',
    '    workgroupBarrier();',
    '  }',
    '  let r = sh[0].x;',
    '  workgroupBarrier();',
    '  return r;',
    '}',
  ].join('\n');
}
