/** WGSL for fused kernels: fills the elementwise template with one `let` per value and one store per output. */
import type { Kernel } from '../../schedule/kernel.js';
import { wgslFold } from './folds.js';
import { preludeFor, reducesFast } from './prelude.js';
import { reducePoints, WG, type PointProgram, type ReduceMode } from './program.js';
import { declare, fill, indent, template } from './templates.js';
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
  steppedTerms,
  uniformBytes,
  valueLines,
} from './values.js';

/** How mainProgram builds a kernel. */
export interface MainOptions {
  /** How scalar sums are split (default 'workgroup'). */
  readonly mode?: ReduceMode;
  /** Points per invocation where there are no sums (default 1). */
  readonly points?: number;
  /** The exact range reduction for sin, cos and tan, rather than the speculative one (default false). */
  readonly exact?: boolean;
}

/**
 * The fused per-point kernel for some of `k`'s outputs: `stores` are written at each point, `reduces`
 * (scalar sums) are reduced into partials at `slot * part_stride + part_base + q`, where q counts
 * workgroups ('workgroup' mode) or invocations ('invocation' mode). Each invocation covers
 * reducePoints(mode) points where there are sums, else `points`. Unless `exact`, a program with sin, cos
 * or tan is speculative: it reduces their arguments by Cody-Waite alone and reports, in its last binding,
 * whether any was beyond that range, in which case the run must be redone with the `exact` program.
 */
export function mainProgram(
  k: Kernel,
  stores: readonly number[],
  reduces: readonly { output: number; slot: number }[],
  { mode = 'workgroup', points = 1, exact = false }: MainOptions = {},
): PointProgram {
  const roots = [...stores, ...reduces.map((r) => r.output)].map((o) => k.outputs[o]!.ref);
  const refs = neededRefs(k, roots);
  const { direct: inputs, packed } = splitInputs(k, inputsOf(k, refs));
  const terms: [number, number, number][] = [];
  const c = new Consts();
  const pts = reduces.length > 0 ? reducePoints(mode) : points;
  const load = loaders(k, inputs, packed, terms, pts > 1);
  const lines = valueLines(k, refs, load, c, (j) => oneElement(k, j));
  // An invocation's points are WG apart: its broadcast terms step along (with one point, nothing to step).
  const stepping =
    pts > 1 && terms.length > 0 ? steppedTerms(0, terms.length, 'i0', 'WG') : { init: [], advance: [] };
  if (stepping.init.length > 0) stepping.init.unshift('let i0 = P.start + first + lid;');
  const body = lines.point;
  const { bindings, decls } = inputBindings(inputs, packed);
  stores.forEach((o, s) => {
    bindings.push('write');
    decls.push(declare(bindings.length, `out${s}`, 'write'));
    body.push(`out${s}[p] = ${refExpr(k, k.outputs[o]!.ref, c)};`);
  });
  const acc: string[] = [...stepping.init];
  const reduce: string[] = [];
  let shared = '';
  // Outputs that reduce the same value the same way share one accumulator, written to each one's slot. Equal
  // sums that nothing asks for are planned as one (see same-values.ts); those that are each asked for (50
  // equal sums read together) are outputs each, and an accumulator each made the kernel grow with their number.
  const distinct: { output: number; slot: number }[] = [];
  const which: number[] = [];
  // The slots each distinct accumulator is written to.
  const slotsOf: number[][] = [];
  const seen = new Map<string, number>();
  for (const r of reduces) {
    const o = k.outputs[r.output]!;
    const key = `${o.ref}|${o.reduce!}`;
    let d = seen.get(key);
    if (d === undefined) {
      d = distinct.length;
      seen.set(key, d);
      distinct.push(r);
      slotsOf.push([]);
    }
    which.push(d);
    slotsOf[d]!.push(r.slot);
  }
  if (reduces.length > 0) {
    bindings.push('write');
    decls.push(declare(bindings.length, 'part', 'write'));
    distinct.forEach((r, d) => {
      const { init, fold } = wgslFold(k.outputs[r.output]!.reduce!);
      acc.push(`var r${d} = ${init};`);
      body.push(`r${d} = ${fold(`r${d}`, refExpr(k, k.outputs[r.output]!.ref, c))};`);
    });
  }
  if (reduces.length > 0 && mode === 'invocation') {
    reduce.push(
      'if (first < P.n) {',
      ...reduces.map(
        (r, q) => `  part[${r.slot}u * P.part_stride + P.part_base + wg * WG + lid] = r${which[q]};`,
      ),
      '}',
    );
  } else if (reduces.length > 0) {
    // Workgroup memory holds up to 8 sums at a time; more are reduced in rounds.
    const G = Math.min(8, distinct.length);
    shared = `var<workgroup> sh: array<f32, ${G * WG}>;`;
    for (let g0 = 0; g0 < distinct.length; g0 += G) {
      const group = distinct.slice(g0, g0 + G);
      const off = (q: number): string => (q === 0 ? '' : `${q * WG}u + `);
      reduce.push(
        ...group.map((_, q) => `sh[${off(q)}lid] = r${g0 + q};`),
        'workgroupBarrier();',
        'for (var h = WG / 2u; h > 0u; h >>= 1u) {',
        '  if (lid < h) {',
        ...group.map((r, q) => {
          const at = `sh[${off(q)}lid]`;
          return `    ${at} = ${wgslFold(k.outputs[r.output]!.reduce!).fold(at, `sh[${off(q)}lid + h]`)};`;
        }),
        '  }',
        '  workgroupBarrier();',
        '}',
        'if (lid == 0u && first < P.n) {',
        ...group.flatMap((_, q) =>
          slotsOf[g0 + q]!.map(
            (slot) => `  part[${slot}u * P.part_stride + P.part_base + wg] = sh[${q * WG}];`,
          ),
        ),
        '}',
        'workgroupBarrier();',
      );
    }
  }
  const header = invariantHeader(c, lines);
  const prelude = preludeFor([...header, ...acc, ...body, ...reduce].join('\n'), !exact);
  const speculative = reducesFast(prelude);
  if (speculative) {
    bindings.push('write');
    decls.push(`@group(0) @binding(${bindings.length}) var<storage, read_write> beyond: array<atomic<u32>>;`);
  }
  const source = fill(template('elementwise'), {
    prelude,
    report: speculative ? 'if (wg__beyond) {\n    atomicStore(&beyond[0], 1u);\n  }' : '',
    terms: String(Math.max(1, terms.length)),
    consts: String(c.vec4s),
    points: `${pts}u`,
    bindings: decls.join('\n'),
    shared,
    invariant: indent(header, '  '),
    accumulators: indent(acc, '  '),
    body: indent(body, '      '),
    advance: indent(stepping.advance, '    '),
    reduce: indent(reduce, '  '),
  });
  return {
    source,
    bindings,
    uniformBytes: uniformBytes(terms.length, c),
    consts: c.values,
    constRefs: c.refs,
    inputs,
    packed,
    stores,
    reduces,
    terms,
    points: pts,
    speculative,
  };
}
