/**
 * Compiles a fused kernel to a JS loop over the points (several functions over blocks of points for a long
 * kernel), or interprets it where code generation is not allowed.
 */
import { OPS, opRow } from '../ops/table.js';
import type { Reduction } from '../graph/node.js';
import { accessIndex, stridedTerms, type Access, type Kernel, type Ref } from '../schedule/kernel.js';

/**
 * How each reduction starts and folds in a value, as JS source (`js`, for generated loops) and as a function
 * (`fn`, for the interpreter): a sum from 0 (in float64, so that long sums keep float32 accuracy), the
 * largest and smallest from -Inf and +Inf by the table's maximum and minimum (NaN-aware, -0 below 0), which
 * are exact in float64.
 */
const FOLD: Record<
  Reduction,
  { init: number; js: (acc: string, v: string) => string; fn: (acc: number, v: number) => number }
> = {
  sum: { init: 0, js: (acc, v) => `${acc} + ${v}`, fn: (acc, v) => acc + v },
  amax: { init: -Infinity, js: (acc, v) => OPS.maximum.js(acc, v), fn: (acc, v) => OPS.maximum.cpu(acc, v) },
  amin: { init: Infinity, js: (acc, v) => OPS.minimum.js(acc, v), fn: (acc, v) => OPS.minimum.cpu(acc, v) },
};

/** Arrays a CPU kernel reads and writes: float32 normally, float64 for reference checks. */
export type HostArray = Float32Array | Float64Array;

/** A runnable kernel: reads `ins` (one per kernel input), writes `outs` (one per output, sized to the node). */
export type CpuKernelFn = (ins: readonly HostArray[], outs: readonly HostArray[], n: number) => void;

/**
 * A compiled loop: a CpuKernelFn that takes the kernel's constants too (constantsOf), so that kernels differing
 * only in them share it (a parameter swept, a learning rate that changes step by step).
 */
export type CompiledLoop = (
  ins: readonly HostArray[],
  outs: readonly HostArray[],
  n: number,
  K: readonly number[],
) => void;

/**
 * The numbers a kernel's compiled loop reads: its constants, in the order of its values (rounded to float32
 * with `f32`), then its sizes (indexNumbers).
 */
export const constantsOf = (k: Kernel, f32 = true): number[] => [
  ...k.values.flatMap((v) => (v.kind !== 'const' ? [] : [f32 ? Math.fround(v.value) : v.value])),
  ...indexNumbers(k),
];

/** The accesses of a kernel's inputs, then of its outputs. */
const accessesOf = (k: Kernel): Access[] => [...k.inputs, ...k.outputs].map((x) => x.access);

/**
 * The terms of its strided accesses' indices (inner, dim and stride: see stridedTerms), inputs then outputs:
 * read by a compiled loop as its constants are, so that a loop serves kernels of other sizes (a batch of
 * another length).
 */
function indexNumbers(k: Kernel): number[] {
  const terms = accessesOf(k).flatMap((a) => {
    if (a.kind !== 'strided') return [];
    const terms = stridedTerms(a.strides, k.domain);
    // accessFor's strides: the last dimension read is contiguous (indexExpr writes no stride for it).
    if (terms.length > 0 && terms[0]!.stride !== 1)
      throw new Error('internal: strided access not contiguous');
    return terms.flatMap((t) => [t.inner, t.dim, t.stride]);
  });
  // Then the domain's dimensions, the bounds of nested loops (see nests).
  return terms.length > 0 ? [...terms, ...k.domain] : terms;
}

/**
 * True where a kernel's loop is written as loops nested over its domain's dimensions: where it reads or folds
 * through broadcast (strided) indices, which a flat loop works out from the point's number by a division and
 * a remainder per dimension (the sums of a dense layer's gradient took 3x as long as a loop written by hand).
 */
const nests = (k: Kernel): boolean => k.domain.length > 1 && accessesOf(k).some((a) => a.kind === 'strided');

/**
 * Index expressions of the accesses of accessesOf(k), in a loop nested over the domain (see nests): the point's
 * own index `i`, 0, or a strided access's `x${a}`, which nestedLoops() declares.
 */
const nestedIndices = (k: Kernel): string[] =>
  accessesOf(k).map((acc, a) => (acc.kind === 'full' ? 'i' : acc.kind === 'scalar' ? '0' : `x${a}`));

/**
 * The heads and ends of the loops nested over k's domain (see nests), declaring each strided access's index
 * `x${a}` in the innermost one from partial sums made in the loops around it; `i` counts the points.
 */
function nestedLoops(k: Kernel): { open: string[]; close: string[] } {
  const rank = k.domain.length;
  const accesses = accessesOf(k);
  const starts = indexStarts(k);
  const dims = indexNumbers(k).length - rank;
  // Each strided access's sum so far (its name, '' before its first term), by access.
  const sums = new Map<number, string>();
  accesses.forEach((acc, a) => {
    if (acc.kind === 'strided') sums.set(a, '');
  });
  const open = ['let i = 0;'];
  for (let d = 0; d < rank; d++) {
    open.push(`for (let q${d} = 0; q${d} < s${dims + d}; q${d}++) {`);
    const inner = d === rank - 1;
    for (const [a, sum] of sums) {
      const { strides } = accesses[a] as { strides: readonly number[] };
      // The access's terms run from its last dimension read to its first (see stridedTerms); the first term's
      // stride is 1.
      const read: number[] = [];
      for (let e = rank - 1; e >= 0; e--) if (strides[e] !== 0) read.push(e);
      const t = read.indexOf(d);
      const term = t < 0 ? '' : t === 0 ? `q${d}` : `q${d} * s${starts[a]! + 3 * t + 2}`;
      const next = term === '' ? sum : sum === '' ? term : `${sum} + ${term}`;
      if (inner) open.push(`const x${a} = ${next || '0'};`);
      else if (term !== '') {
        open.push(`const b${a}_${d} = ${next};`);
        sums.set(a, `b${a}_${d}`);
      }
    }
  }
  return { open, close: ['i++;', ...Array.from({ length: rank }, () => '}')] };
}

/** JS literal for a number, exact for -0, NaN and the infinities. */
function literal(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (Object.is(v, -0)) return '(-0)';
  if (!Number.isFinite(v)) return v > 0 ? 'Infinity' : '(-Infinity)';
  return v < 0 ? `(${v})` : String(v);
}

/**
 * Index expression for `access` at point `i`; a strided one's terms are the numbers `s${at}`, `s${at + 1}`,
 * ... (see indexNumbers), each written only where its dimension needs it: the last dimension's coordinate is
 * `i` modulo its length, the first's is not taken modulo (i is below the domain's size), and the term of the
 * last dimension read has stride 1 (see indexNumbers), as a literal size would have let the JIT fold them.
 */
function indexExpr(access: Access, domain: readonly number[], at: number): string {
  switch (access.kind) {
    case 'full':
      return 'i';
    case 'scalar':
      return '0';
    case 'strided': {
      const last = domain.length - 1;
      const dims: number[] = [];
      for (let d = last; d >= 0; d--) if (access.strides[d] !== 0) dims.push(d);
      return (
        dims
          .map((d, t) => {
            const [inner, dim, stride] = [0, 1, 2].map((j) => `s${at + 3 * t + j}`);
            const q = d === last ? 'i' : `Math.floor(i / ${inner})`;
            const coordinate = d === 0 ? q : `(${q} % ${dim})`;
            return t === 0 ? coordinate : `${coordinate} * ${stride}`;
          })
          .join(' + ') || '0'
      );
    }
  }
}

/** Where each access's index numbers start (see indexNumbers), for the accesses of accessesOf(). */
function indexStarts(k: Kernel): number[] {
  let at = 0;
  return accessesOf(k).map((a) => {
    const start = at;
    if (a.kind === 'strided') at += 3 * stridedTerms(a.strides, k.domain).length;
    return start;
  });
}

/** Declarations of a kernel's index numbers (see indexNumbers), which follow its constants in `K`. */
function indexDecls(k: Kernel): string[] {
  const first = k.values.filter((v) => v.kind === 'const').length;
  // As int32 (`| 0`) where they fit, so that `%` and the division by them stay integer operations: `K` holds
  // float constants too, and a float `%` made a sum along the first axis 8x slower than a loop written by
  // hand (see indexWide for kernels of 2^31 points or more).
  const int = indexWide(k) ? '' : ' | 0';
  return indexNumbers(k).map((_, m) => `const s${m} = K[${first + m}]${int};`);
}

/** True for kernels too large for int32 index arithmetic (their loops differ: see CpuBackend.compile). */
export const indexWide = (k: Kernel): boolean => k.size > 2 ** 31 - 1;

// A generated loop body longer than this (in characters of source, loads from earlier segments counted) is
// split into several functions: V8 does not optimize a function whose bytecode passes 60 KB, which one loop
// of a kernel reached from about 50 KB of source (a chain's kernel of 1336 values, 71 KB, ran 7x slower a
// value than one of 1169, 62 KB; kernels with gradients of 882 and 1011 values, 48 and 58 KB, 3-5x). A
// segment's function also stores what later ones read, at most one short line per value.
const SEGMENT_CHARS = 16000;

/** A line of a kernel's loop body, with the values it defines and reads. */
interface Line {
  code: string;
  defines: Ref | null;
  reads: readonly Ref[];
  /** The output the line writes or folds into (null: a value's line). */
  output: number | null;
  /** Constants it reads (each loaded from `K` once per function that reads it). */
  constants: readonly Ref[];
  /** For a reduction along the last axes, the same fold in runs of points (see runFold), for one loop. */
  run?: { readonly head: string; readonly code: string; readonly tail: string };
}

/**
 * The JS source of a kernel's loop: the table's `js` expressions inlined; `F` holds the table's CPU
 * functions. With `f32` every op's result and every constant is rounded to float32, as a float32 tensor
 * library computes op by op (and as the WebGPU kernels do): otherwise a fused loop would keep float64
 * intermediates, and `log(exp(x))` at x = 100 would be 100 when fused and Infinity when not. Without it
 * (the float64 reference) nothing is rounded. A long body is split into functions over blocks of points
 * (see SEGMENT_CHARS), with the same results.
 */
export function kernelSource(k: Kernel, f32 = true): string {
  if (nests(k)) {
    const { values, outputs } = kernelLines(k, f32, nestedIndices(k));
    if (charsOf([...values, ...outputs]) <= SEGMENT_CHARS) return oneLoop(k, values, outputs, true);
  }
  const starts = indexStarts(k);
  const flat = accessesOf(k).map((acc, a) => indexExpr(acc, k.domain, starts[a]!));
  const { values, outputs } = kernelLines(k, f32, flat);
  const lines = [...values, ...outputs];
  return charsOf(lines) <= SEGMENT_CHARS ? oneLoop(k, values, outputs, false) : segmented(k, lines);
}

/** Characters of a loop's lines (see weight). */
const charsOf = (lines: readonly Line[]): number => lines.reduce((n, l) => n + weight(l), 0);

/** The lines of a kernel's loop body, each access indexed by `index` (in the order of accessesOf). */
function kernelLines(k: Kernel, f32: boolean, index: readonly string[]): { values: Line[]; outputs: Line[] } {
  const isConst = (r: Ref): boolean => k.values[r]!.kind === 'const';
  const expr = (r: Ref): string => (isConst(r) ? `k${r}` : `v${r}`);
  const computed = (r: Ref): Ref[] => (isConst(r) ? [] : [r]);
  const constant = (r: Ref): Ref[] => (isConst(r) ? [r] : []);
  const values: Line[] = [];
  k.values.forEach((v, r) => {
    if (v.kind === 'input') {
      const code = `const v${r} = i${v.index}[${index[v.index]!}];`;
      values.push({ code, defines: r, reads: [], output: null, constants: [] });
    } else if (v.kind === 'op') {
      const [a = '0', b = '0', c = '0'] = v.args.map(expr);
      const row = opRow(v.op)!;
      const js = row.js(a, b, v.p, c);
      const code = `const v${r} = ${f32 && !row.exact ? `Math.fround(${js})` : js};`;
      const constants = v.args.flatMap(constant);
      values.push({ code, defines: r, reads: v.args.flatMap(computed), output: null, constants });
    }
  });
  // Outputs: per point stores, and folds into `a${j}` (reductions accumulate in float64: see FOLD).
  const outputs: Line[] = k.outputs.map((o, j) => {
    const v = expr(o.ref);
    const at = index[k.inputs.length + j]!;
    const code = !o.reduce
      ? `o${j}[i] = ${v};`
      : o.access.kind === 'scalar'
        ? `a${j} = ${FOLD[o.reduce].js(`a${j}`, v)};`
        : `{ const at = ${at}; a${j}[at] = ${FOLD[o.reduce].js(`a${j}[at]`, v)}; }`;
    const run = o.reduce && alongLastAxes(o.access) ? runFold(o.reduce, j, at, v) : undefined;
    return { code, defines: null, reads: computed(o.ref), output: j, constants: constant(o.ref), run };
  });
  return { values, outputs };
}

/**
 * True for a reduction along the last axes of the domain (its strides are nonzero, then zero, and end in
 * zero: a sum of each row): the points of each element it folds into come one after another.
 */
function alongLastAxes(a: Access): boolean {
  if (a.kind !== 'strided') return false;
  const first = a.strides.findIndex((s) => s === 0);
  return first > 0 && a.strides.slice(first).every((s) => s === 0);
}

/**
 * Output `j`'s fold (into element `at` of `a${j}`) of value `v`, in a local accumulator over each run of
 * points with the same element, stored when the element changes: adding through the array at every point
 * made a sum of each row 4x slower than a loop written by hand. Where each element's points are one run
 * (alongLastAxes, over the whole domain in one loop), the element is folded exactly as the plain line folds
 * it: from its start value, point by point.
 */
function runFold(
  reduce: Reduction,
  j: number,
  at: string,
  v: string,
): { head: string; code: string; tail: string } {
  const fold = FOLD[reduce];
  const init = literal(fold.init);
  const store = `if (c${j} >= 0) a${j}[c${j}] = ${fold.js(`a${j}[c${j}]`, `r${j}`)};`;
  return {
    head: `let c${j} = -1, r${j} = ${init};`,
    code: `{ const at = ${at}; if (at !== c${j}) { ${store} c${j} = at; r${j} = ${init}; } r${j} = ${fold.js(`r${j}`, v)}; }`,
    tail: store,
  };
}

/** A line's share of its function's source: an output's line comes with a declaration, and a sum's with a store. */
const weight = (l: Line): number => l.code.length + (l.output === null ? 0 : 40);

// What a load from an earlier segment adds to a function: `const c7 = C[3];` and `const v7 = c7[t];`.
const LOAD_CHARS = 40;
// And a constant's: `const k7 = K[3];`.
const CONSTANT_CHARS = 20;

/** Declarations of the constants `lines` read, each once, from the kernel's constants `K`. */
function constantDecls(k: Kernel, lines: readonly Line[]): string[] {
  const index = new Map<Ref, number>();
  k.values.forEach((v, r) => {
    if (v.kind === 'const') index.set(r, index.size);
  });
  const used = new Set(lines.flatMap((l) => l.constants));
  return [...used].map((r) => `const k${r} = K[${index.get(r)!}];`);
}

/** Declarations of a kernel's inputs. */
const inputDecls = (k: Kernel): string[] => k.inputs.map((_, j) => `const i${j} = ins[${j}];`);

/**
 * A reduction output's accumulator: its starting value (JS; a number for a reduction to one element, a
 * float64 array for one along axes) and the statement that writes the result `held` to the output.
 */
function accumulator(k: Kernel, j: number): { start: string; finish: (held: string) => string } | null {
  const o = k.outputs[j]!;
  if (!o.reduce) return null;
  const init = literal(FOLD[o.reduce].init);
  return o.access.kind === 'scalar'
    ? { start: init, finish: (held) => `outs[${j}][0] = ${held};` }
    : {
        start: `new Float64Array(outs[${j}].length).fill(${init})`,
        finish: (held) => `outs[${j}].set(${held});`,
      };
}

/** One function: a loop over the points computing every value and output (with `nested`, see nestedLoops). */
function oneLoop(k: Kernel, values: readonly Line[], outputs: readonly Line[], nested: boolean): string {
  const head = [...inputDecls(k), ...constantDecls(k, [...values, ...outputs]), ...indexDecls(k)];
  const tail: string[] = [];
  k.outputs.forEach((_, j) => {
    const acc = accumulator(k, j);
    const run = outputs[j]!.run;
    if (!acc) head.push(`const o${j} = outs[${j}];`);
    else {
      head.push(`let a${j} = ${acc.start};`);
      if (run) head.push(run.head);
      tail.push(...(run ? [run.tail] : []), acc.finish(`a${j}`));
    }
  });
  const loops = nested ? nestedLoops(k) : { open: ['for (let i = 0; i < n; i++) {'], close: ['}'] };
  return [
    'return function kernel(ins, outs, n, K) {',
    ...head,
    ...loops.open,
    ...values.map((l) => l.code),
    ...outputs.map((l) => l.run?.code ?? l.code),
    ...loops.close,
    ...tail,
    '};',
  ].join('\n');
}

// Points per block of a segmented kernel: each segment runs over a block before the next one does, and the
// values that later segments read wait in columns of this length.
const SEGMENT_BLOCK = 1024;

/**
 * Several functions, each a loop over a block of points computing a run of the lines (values, then outputs)
 * of at most about SEGMENT_CHARS of source. A value that a later segment reads is kept in a column
 * (float64: exactly what the one loop would hold), so the results are the one loop's, bit for bit;
 * reductions fold in the same order, their accumulators carried from block to block in `A`.
 */
function segmented(k: Kernel, lines: readonly Line[]): string {
  const segments: Line[][] = [[]];
  // For each segment, the values of earlier segments it reads, in the order it first reads them.
  const loads: Set<Ref>[] = [new Set()];
  const segmentOf = new Map<Ref, number>();
  // Values read by a later segment than their own, each with a column.
  const column = new Map<Ref, number>();
  let chars = 0;
  for (const l of lines) {
    // A value of an earlier segment costs this one a load (and a column declaration) the first time, a
    // constant its declaration (counted each time: a bound).
    const cost = (at: number): number =>
      l.reads.filter((r) => segmentOf.get(r)! < at && !loads[at]!.has(r)).length * LOAD_CHARS +
      l.constants.length * CONSTANT_CHARS;
    if (
      chars + weight(l) + cost(segments.length - 1) > SEGMENT_CHARS &&
      segments[segments.length - 1]!.length > 0
    ) {
      segments.push([]);
      loads.push(new Set());
      chars = 0;
    }
    const at = segments.length - 1;
    chars += weight(l) + cost(at);
    for (const r of l.reads)
      if (segmentOf.get(r)! < at) {
        loads[at]!.add(r);
        if (!column.has(r)) column.set(r, column.size);
      }
    segments[at]!.push(l);
    if (l.defines !== null) segmentOf.set(l.defines, at);
  }
  const fns = segments.map((seg, s) => {
    const reads = loads[s]!;
    const stores = seg.flatMap((l) => (l.defines !== null && column.has(l.defines) ? [l.defines] : []));
    const head = [
      ...inputDecls(k),
      ...constantDecls(k, seg),
      ...indexDecls(k),
      ...[...reads, ...stores].map((r) => `const c${r} = C[${column.get(r)!}];`),
    ];
    const tail: string[] = [];
    for (const l of seg) {
      const j = l.output;
      if (j === null) continue;
      if (!k.outputs[j]!.reduce) head.push(`const o${j} = outs[${j}];`);
      else {
        head.push(`let a${j} = A[${j}];`);
        tail.push(`A[${j}] = a${j};`);
      }
    }
    return [
      `function segment${s}(ins, outs, K, C, A, start, m) {`,
      ...head,
      'for (let t = 0; t < m; t++) {',
      'const i = start + t;',
      ...[...reads].map((r) => `const v${r} = c${r}[t];`),
      ...seg.map((l) => l.code),
      ...stores.map((r) => `c${r}[t] = v${r};`),
      '}',
      ...tail,
      '}',
    ].join('\n');
  });
  const accs = k.outputs.map((_, j) => accumulator(k, j));
  return [
    ...fns,
    'return function kernel(ins, outs, n, K) {',
    // Columns no longer than the points: a call over a few points allocates little.
    `const C = Array.from({ length: ${column.size} }, () => new Float64Array(Math.min(n, ${SEGMENT_BLOCK})));`,
    `const A = [${accs.map((a) => a?.start ?? 'null').join(', ')}];`,
    `for (let start = 0; start < n; start += ${SEGMENT_BLOCK}) {`,
    `const m = Math.min(${SEGMENT_BLOCK}, n - start);`,
    ...segments.map((_, s) => `segment${s}(ins, outs, K, C, A, start, m);`),
    '}',
    ...accs.flatMap((a, j) => (a ? [a.finish(`A[${j}]`)] : [])),
    '};',
  ].join('\n');
}

/** The table's CPU formulas by op name, for `js` expressions that call them (long powi chains). */
const formulas: Record<string, (a: number, b: number, p: number, c: number) => number> = Object.fromEntries(
  Object.entries(OPS).map(([name, row]) => [name, row.cpu]),
);

/** Compiles generated source into a loop function (to be given the kernel's constantsOf). */
export function compileSource(src: string): CompiledLoop {
  // `new Function` is how the fused loop becomes native code; callers fall back to interpret() where it is refused.
  const factory = new Function('F', src) as (F: Record<string, unknown>) => CompiledLoop;
  return factory(formulas);
}

const BLOCK = 1024;

/**
 * Runs a kernel without code generation: op by op over blocks of points (for pages whose CSP forbids
 * eval). With `f32` the values are held in float32, rounded op by op (see kernelSource).
 */
export function interpret(k: Kernel, f32 = true): CpuKernelFn {
  const Arr = f32 ? Float32Array : Float64Array;
  return (ins, outs, n) => {
    // No longer than the points: a call over one point allocates little.
    const vals = k.values.map(() => new Arr(Math.min(n, BLOCK)));
    const inIdx = k.inputs.map((inp) => accessIndex(inp.access, k.domain));
    const outIdx = k.outputs.map((o) => accessIndex(o.access, k.domain));
    const acc = k.outputs.map((o, j) =>
      o.reduce ? new Float64Array(outs[j]!.length).fill(FOLD[o.reduce].init) : null,
    );
    for (let start = 0; start < n; start += BLOCK) {
      const m = Math.min(BLOCK, n - start);
      k.values.forEach((v, r) => {
        const dst = vals[r]!;
        if (v.kind === 'input') {
          const src = ins[v.index]!;
          const idx = inIdx[v.index]!;
          for (let t = 0; t < m; t++) dst[t] = src[idx(start + t)]!;
        } else if (v.kind === 'const') {
          dst.fill(v.value, 0, m);
        } else {
          const f = opRow(v.op)!.cpu;
          const a = vals[v.args[0]!]!;
          const b = v.args.length > 1 ? vals[v.args[1]!]! : a;
          const c = v.args.length > 2 ? vals[v.args[2]!]! : a;
          for (let t = 0; t < m; t++) dst[t] = f(a[t]!, b[t]!, v.p, c[t]!);
        }
      });
      k.outputs.forEach((o, j) => {
        const src = vals[o.ref]!;
        const a = acc[j];
        const reduce = o.reduce;
        if (a && reduce) {
          const idx = outIdx[j]!;
          const fold = FOLD[reduce].fn;
          for (let t = 0; t < m; t++) {
            const at = idx(start + t);
            a[at] = fold(a[at]!, src[t]!);
          }
        } else outs[j]!.set(src.subarray(0, m), start);
      });
    }
    acc.forEach((a, j) => {
      if (a) outs[j]!.set(a);
    });
  };
}

/** True when this environment allows `new Function` (a page's CSP may forbid it). */
export function canGenerateCode(): boolean {
  try {
    return (new Function('return 2') as () => number)() === 2;
  } catch {
    return false;
  }
}
