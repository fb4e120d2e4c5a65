/** Compiles a fused kernel to one JS loop over the points, or interprets it where code generation is not allowed. */
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

/** JS literal for a number, exact for -0, NaN and the infinities. */
function literal(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (Object.is(v, -0)) return '(-0)';
  if (!Number.isFinite(v)) return v > 0 ? 'Infinity' : '(-Infinity)';
  return v < 0 ? `(${v})` : String(v);
}

/** Index expression for `access` at point `i`. */
function indexExpr(access: Access, domain: readonly number[]): string {
  switch (access.kind) {
    case 'full':
      return 'i';
    case 'scalar':
      return '0';
    case 'strided':
      return (
        stridedTerms(access.strides, domain)
          .map((t) => `(Math.floor(i / ${t.inner}) % ${t.dim}) * ${t.stride}`)
          .join(' + ') || '0'
      );
  }
}

/**
 * The JS source of a kernel's loop: the table's `js` expressions inlined; `F` holds the table's CPU
 * functions. With `f32` every op's result and every constant is rounded to float32, as a float32 tensor
 * library computes op by op (and as the WebGPU kernels do): otherwise a fused loop would keep float64
 * intermediates, and `log(exp(x))` at x = 100 would be 100 when fused and Infinity when not. Without it
 * (the float64 reference) nothing is rounded.
 */
export function kernelSource(k: Kernel, f32 = true): string {
  const head: string[] = [];
  const body: string[] = [];
  const tail: string[] = [];
  const expr = (r: Ref): string => {
    const v = k.values[r]!;
    return v.kind === 'const' ? literal(f32 ? Math.fround(v.value) : v.value) : `v${r}`;
  };
  k.inputs.forEach((_, j) => head.push(`const i${j} = ins[${j}];`));
  k.values.forEach((v, r) => {
    if (v.kind === 'input')
      body.push(`const v${r} = i${v.index}[${indexExpr(k.inputs[v.index]!.access, k.domain)}];`);
    else if (v.kind === 'op') {
      const [a = '0', b = '0', c = '0'] = v.args.map(expr);
      const row = opRow(v.op)!;
      const js = row.js(a, b, v.p, c);
      body.push(`const v${r} = ${f32 && !row.exact ? `Math.fround(${js})` : js};`);
    }
  });
  k.outputs.forEach((o, j) => {
    if (!o.reduce) {
      head.push(`const o${j} = outs[${j}];`);
      body.push(`o${j}[i] = ${expr(o.ref)};`);
    } else if (o.access.kind === 'scalar') {
      // Reductions accumulate in float64 whatever the storage (see FOLD).
      const fold = FOLD[o.reduce];
      head.push(`let a${j} = ${literal(fold.init)};`);
      body.push(`a${j} = ${fold.js(`a${j}`, expr(o.ref))};`);
      tail.push(`outs[${j}][0] = a${j};`);
    } else {
      const fold = FOLD[o.reduce];
      head.push(`const a${j} = new Float64Array(outs[${j}].length).fill(${literal(fold.init)});`);
      body.push(
        `{ const at = ${indexExpr(o.access, k.domain)}; a${j}[at] = ${fold.js(`a${j}[at]`, expr(o.ref))}; }`,
      );
      tail.push(`outs[${j}].set(a${j});`);
    }
  });
  return [
    'return function kernel(ins, outs, n) {',
    ...head,
    'for (let i = 0; i < n; i++) {',
    ...body,
    '}',
    ...tail,
    '};',
  ].join('\n');
}

/** The table's CPU formulas by op name, for `js` expressions that call them (long powi chains). */
const formulas: Record<string, (a: number, b: number, p: number, c: number) => number> = Object.fromEntries(
  Object.entries(OPS).map(([name, row]) => [name, row.cpu]),
);

/** Compiles generated source into a kernel function. */
export function compileSource(src: string): CpuKernelFn {
  // `new Function` is how the fused loop becomes native code; callers fall back to interpret() where it is refused.
  const factory = new Function('F', src) as (F: Record<string, unknown>) => CpuKernelFn;
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
    const vals = k.values.map(() => new Arr(BLOCK));
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
