/** WGSL for reductions along axes: one invocation per result element (or per element and slice), and the pass folding slices. */
import type { Reduction } from '../../graph/node.js';
import type { Kernel } from '../../schedule/kernel.js';
import { wgslFold } from './folds.js';
import { fillWithPrelude } from './prelude.js';
import { STRIDED_HEADER_WORDS, type BindingKind, type PointProgram, type Program } from './program.js';
import { declare, indent } from './templates.js';
import {
  Consts,
  inputBindings,
  inputsOf,
  invariantHeader,
  oneElement,
  loaders,
  neededRefs,
  refExpr,
  splitInputs,
  steppedSum,
  steppedTerms,
  termSum,
  uniformBytes,
  valueLines,
} from './values.js';

/** Sizes of a sum along axes: elements of the result (`m`) and points folded into each (`r`). */
export interface StridedShape {
  readonly m: number;
  readonly r: number;
}

/**
 * The axes of a sum along axes (outputs of `k` sharing one strided reduce access), as uniform terms
 * (inner, dim, stride): kept axes give the result element's base point, folded axes the points summed into
 * it; `m` elements, `r` points each.
 */
function stridedAxes(
  k: Kernel,
  outputs: readonly number[],
): StridedShape & { kept: [number, number, number][]; folded: [number, number, number][] } {
  const access = k.outputs[outputs[0]!]!.access;
  if (access.kind !== 'strided') throw new Error('internal: strided program for a non-strided sum');
  const dstride: number[] = [];
  let s = 1;
  for (let d = k.domain.length - 1; d >= 0; d--) {
    dstride[d] = s;
    s *= k.domain[d]!;
  }
  let m = 1;
  let r = 1;
  const kept: [number, number, number][] = [];
  const folded: [number, number, number][] = [];
  for (let d = k.domain.length - 1; d >= 0; d--) {
    const dim = k.domain[d]!;
    if (access.strides[d] !== 0) {
      kept.push([access.strides[d]!, dim, dstride[d]!]);
      m *= dim;
    } else if (dim > 1) {
      folded.push([r, dim, dstride[d]!]);
      r *= dim;
    }
  }
  return { kept, folded, m, r };
}

/** Elements and points per element of the sum along axes computing `outputs` of `k`. */
export function stridedShape(k: Kernel, outputs: readonly number[]): StridedShape {
  const { m, r } = stridedAxes(k, outputs);
  return { m, r };
}

/**
 * The sum-along-axes kernel for outputs of `k` that share one strided reduce access: one invocation per
 * result element (stored, or added to in later chunks), or with `sliced` one per element and slice of its
 * points, storing partials (bound last) for stridedFinishProgram.
 */
export function stridedProgram(
  k: Kernel,
  outputs: readonly number[],
  sliced = false,
): PointProgram & StridedShape {
  const refs = neededRefs(
    k,
    outputs.map((o) => k.outputs[o]!.ref),
  );
  const { direct: inputs, packed } = splitInputs(k, inputsOf(k, refs));
  const { kept, folded, m, r } = stridedAxes(k, outputs);
  const terms: [number, number, number][] = [...kept, ...folded];
  const c = new Consts();
  const lines = valueLines(k, refs, loaders(k, inputs, packed, terms), c, (j) => oneElement(k, j));
  // The loop over a slice's points moves k by one: the folded terms step along.
  const stepping = steppedTerms(kept.length, folded.length, 'k0', '1u');
  const body = lines.point;
  const { bindings, decls } = inputBindings(inputs, packed);
  const acc: string[] = [];
  const store: string[] = [];
  const accumulate: string[] = [];
  // The compensated sums' totals, before they are stored.
  const total: string[] = [];
  outputs.forEach((o, q) => {
    if (!sliced) {
      bindings.push('write');
      decls.push(declare(bindings.length, `out${q}`, 'write'));
    }
    const how = k.outputs[o]!.reduce!;
    const v = refExpr(k, k.outputs[o]!.ref, c);
    if (how === 'sum') {
      // Compensated (wg__sum_add): a slice may fold thousands of points into one element.
      acc.push(`var a${q} = vec2<f32>(0.0, 0.0);`);
      body.push(`a${q} = wg__sum_add(a${q}, ${v}, opaque);`);
      total.push(`let t${q} = wg__sum_total(a${q});`);
    } else {
      const { init, fold } = wgslFold(how);
      acc.push(`var a${q} = ${init};`);
      body.push(`a${q} = ${fold(`a${q}`, v)};`);
      total.push(`let t${q} = a${q};`);
    }
    store.push(sliced ? `part[${q}u * P.part_stride + at] = t${q};` : `out${q}[o] = t${q};`);
    accumulate.push(`out${q}[o] = ${wgslFold(how).fold(`out${q}[o]`, `t${q}`)};`);
  });
  let finish: string[];
  if (sliced) {
    bindings.push('write');
    decls.push(declare(bindings.length, 'part', 'write'));
    finish = [...total, 'let at = (P.slice_base + s) * P.m + o;', ...store];
  } else {
    finish = [
      ...total,
      'if (P.first == 1u) {',
      ...store.map((l) => `  ${l}`),
      '} else {',
      ...accumulate.map((l) => `  ${l}`),
      '}',
    ];
  }
  const source = fillWithPrelude('strided', {
    terms: String(Math.max(1, terms.length)),
    consts: String(c.vec4s),
    bindings: decls.join('\n'),
    invariant: indent(invariantHeader(c, lines), '  '),
    base: kept.length > 0 ? `base = ${termSum('o', 0, kept.length)};` : '',
    accumulators: indent(acc, '  '),
    start: indent(stepping.init, '  '),
    point: indent(
      folded.length > 0 ? [`i += ${steppedSum(kept.length, folded.length)};`, ...stepping.advance] : [],
      '    ',
    ),
    body: indent(body, '    '),
    finish: indent(finish, '  '),
  });
  return {
    source,
    bindings,
    uniformBytes: uniformBytes(terms.length, c, STRIDED_HEADER_WORDS),
    consts: c.values,
    constRefs: c.refs,
    inputs,
    packed,
    stores: outputs,
    reduces: [],
    terms,
    points: 1,
    speculative: false,
    m,
    r,
  };
}

/**
 * The second pass of a sliced reduction along axes: one output per entry of `hows`, each element the total
 * of its slices (or their largest or smallest).
 */
export function stridedFinishProgram(hows: readonly Reduction[]): Program {
  const bindings: BindingKind[] = ['read'];
  const decls: string[] = [];
  const store: string[] = [];
  hows.forEach((how, q) => {
    bindings.push('write');
    decls.push(declare(bindings.length, `out${q}`, 'write'));
    if (how === 'sum') store.push(`out${q}[o] = total(${q}u, o);`);
    else {
      const { init, fold } = wgslFold(how);
      store.push(
        '{',
        `  var acc = ${init};`,
        '  for (var j = 0u; j < P.slices; j++) {',
        `    acc = ${fold('acc', `partials[${q}u * P.m * P.slices + o + j * P.m]`)};`,
        '  }',
        `  out${q}[o] = acc;`,
        '}',
      );
    }
  });
  const source = fillWithPrelude('strided-finish', {
    bindings: decls.join('\n'),
    store: indent(store, '  '),
  });
  return { source, bindings, uniformBytes: 16, consts: [], constRefs: [] };
}
