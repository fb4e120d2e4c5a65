/** WGSL statements for a kernel's values: constants, input loads with broadcast indexing, one `let` per op. */
import { opRow } from '../../ops/table.js';
import { f32Bits, stridedTerms, type Kernel, type Ref } from '../../schedule/kernel.js';
import { HEADER_WORDS, type BindingKind } from './program.js';
import { declare } from './templates.js';

/** The refs that `roots` depend on, in increasing (topological) order. */
export function neededRefs(k: Kernel, roots: readonly Ref[]): Ref[] {
  const need = new Set<Ref>();
  const stack = [...roots];
  while (stack.length > 0) {
    const r = stack.pop()!;
    if (need.has(r)) continue;
    need.add(r);
    const v = k.values[r]!;
    if (v.kind === 'op') stack.push(...v.args);
  }
  return [...need].sort((a, b) => a - b);
}

/** Kernel input indices that `refs` load. */
export function inputsOf(k: Kernel, refs: readonly Ref[]): number[] {
  const ins: number[] = [];
  for (const r of refs) {
    const v = k.values[r]!;
    if (v.kind === 'input') ins.push(v.index);
  }
  return ins.sort((a, b) => a - b);
}

/**
 * A program's constants and the names of its values. The constants are read from the uniform block rather
 * than written into the source, so that graphs differing only in numbers (a learning rate, a random
 * direction, a typed coefficient) share one compiled pipeline.
 */
export class Consts {
  readonly values: number[] = [];
  /** The kernel value each slot was first made for (see Program.constRefs). */
  readonly refs: Ref[] = [];
  private readonly slots = new Map<number, number>();
  private readonly names = new Map<string, string>();

  /**
   * The WGSL name of kernel value `r` (prefix v), or of a shared call made for it (prefix s), numbered in
   * the order of first use: programs computing the same from different values of one kernel (the groups of
   * outputs that a binding limit splits it into) then have the same source, and share a pipeline.
   */
  local(prefix: 'v' | 's', r: Ref): string {
    const key = `${prefix}${r}`;
    let name = this.names.get(key);
    if (name === undefined) {
      name = `${prefix}${this.names.size}`;
      this.names.set(key, name);
    }
    return name;
  }

  /** The WGSL name of `v`, kernel value `r` (one slot per distinct float32 bit pattern), declared by decls(). */
  expr(v: number, r: Ref): string {
    const bits = f32Bits(v);
    let slot = this.slots.get(bits);
    if (slot === undefined) {
      slot = this.values.length;
      this.values.push(v);
      this.refs.push(r);
      this.slots.set(bits, slot);
    }
    return `c${slot}`;
  }

  /** `let`s reading every constant from the uniform block once, ahead of the per-point loop. */
  decls(): string[] {
    return this.values.map((_, s) => `let c${s} = P.c[${s >> 2}].${'xyzw'[s & 3]};`);
  }

  /** Elements of the `c` array (vec4s) the uniform struct declares. */
  get vec4s(): number {
    return Math.max(1, Math.ceil(this.values.length / 4));
  }
}

/** The uniform words holding `consts` (float bits), padded to whole vec4s. */
export function constWords(consts: readonly number[]): number[] {
  const words = Array.from(new Uint32Array(new Float32Array(consts).buffer));
  while (words.length % 4 !== 0 || words.length === 0) words.push(0);
  return words;
}

/** WGSL statements computing `refs`, split by whether they are the same at every point. */
export interface ValueLines {
  /**
   * Statements that depend on no per-point input (constants, one-element operands and what is computed
   * from them only): generated code runs them once per invocation, ahead of its loop over points,
   * where the compiler would otherwise reload them from memory at every point (a storage buffer
   * may alias the outputs written in between).
   */
  readonly invariant: string[];
  /** Statements computed at each point. */
  readonly point: string[];
}

/**
 * WGSL statements computing `refs`; `load(j)` is the expression reading kernel input j at this point,
 * the same at every point where `invariantInput(j)`. Every value passes through wg_keep with the local
 * `opaque` (declared by invariantHeader).
 */
export function valueLines(
  k: Kernel,
  refs: readonly Ref[],
  load: (input: number) => string,
  c: Consts,
  invariantInput: (input: number) => boolean = () => false,
): ValueLines {
  const out: ValueLines = { invariant: [], point: [] };
  const fixed = new Set<Ref>();
  const isFixed = (r: Ref): boolean => fixed.has(r) || k.values[r]!.kind === 'const';
  // Shared calls (OpRow.wgslShared) by call and operand: how many ops use each, and its `let` once made.
  const sharedKey = (r: Ref): string | null => {
    const v = k.values[r]!;
    const sh = v.kind === 'op' ? opRow(v.op)!.wgslShared : undefined;
    return v.kind === 'op' && sh ? `${sh.call}(${refExpr(k, v.args[0]!, c)})` : null;
  };
  const keys = refs.map(sharedKey);
  const uses = new Map<string, number>();
  for (const key of keys) if (key) uses.set(key, (uses.get(key) ?? 0) + 1);
  const made = new Map<string, string>();
  for (const [at, r] of refs.entries()) {
    const v = k.values[r]!;
    if (v.kind === 'const') continue;
    const same = v.kind === 'input' ? invariantInput(v.index) : v.args.every(isFixed);
    if (same) fixed.add(r);
    const lines = same ? out.invariant : out.point;
    if (v.kind === 'input') {
      lines.push(`let ${c.local('v', r)} = ${load(v.index)};`);
      continue;
    }
    const row = opRow(v.op)!;
    const key = keys[at];
    if (key && row.wgslShared && uses.get(key)! > 1) {
      let name = made.get(key);
      if (!name) {
        name = c.local('s', r);
        made.set(key, name);
        lines.push(`let ${name} = ${key};`);
      }
      lines.push(`let ${c.local('v', r)} = wg_keep(${name}.${row.wgslShared.field}, opaque);`);
      continue;
    }
    // An operand repeated (x / x, x - x) is kept apart from its first use: a compiler that assumes finite
    // math folds x / x to 1 (an NVIDIA driver does), which is NaN at 0, Inf and NaN.
    const exprs = v.args.map((x) => refExpr(k, x, c));
    const [a, b, third] = exprs.map((e, i) => (exprs.indexOf(e) < i ? `wg_keep(${e}, opaque)` : e));
    lines.push(`let ${c.local('v', r)} = wg_keep(${row.wgsl(a!, b ?? '', v.p, third ?? '')}, opaque);`);
  }
  return out;
}

/**
 * The statements ahead of a program's per-point work: wg_keep's operand (also the prelude's wg__opaque), the
 * constants, the invariant values.
 */
export const invariantHeader = (c: Consts, lines: ValueLines): string[] => [
  'let opaque = P.opaque;',
  'wg__opaque = opaque;',
  ...c.decls(),
  ...lines.invariant,
];

/** The expression for a ref once computed: a constant's local name (Consts.decls), anything else its `let`. */
export function refExpr(k: Kernel, r: Ref, c: Consts): string {
  const v = k.values[r]!;
  return v.kind === 'const' ? c.expr(v.value, r) : c.local('v', r);
}

/** `Σ ((x / inner) % dim) * stride` over uniform terms [first, first + count). */
export function termSum(x: string, first: number, count: number): string {
  const parts: string[] = [];
  for (let t = first; t < first + count; t++)
    parts.push(`((${x} / P.terms[${t}].x) % P.terms[${t}].y) * P.terms[${t}].z`);
  return parts.length > 0 ? parts.join(' + ') : '0u';
}

/** True when kernel input j holds one element (a scalar operand, or any operand of a one-point kernel). */
export function oneElement(k: Kernel, j: number): boolean {
  return k.inputs[j]!.access.kind === 'scalar' || (k.size === 1 && k.inputs[j]!.access.kind === 'full');
}

// Broadcast operands of at most this many elements (a layer's weights or biases, read by every point of a
// batch) are packed too: a kernel reading a dozen parameters would otherwise bind more buffers than a device
// allows (8 by WebGPU's default, 12 on SwiftShader) and run on the CPU.
const PACK_ELEMENTS = 1024;

/** True when kernel input j is read from the packed binding `sc`: one element, or a small broadcast operand. */
export function isPacked(k: Kernel, j: number): boolean {
  const input = k.inputs[j]!;
  return oneElement(k, j) || (input.access.kind === 'strided' && input.node.size <= PACK_ELEMENTS);
}

/**
 * The packed binding of `nodes` (those of the inputs packed, in order): where each starts, its elements following
 * the last's, and the elements in all.
 */
export function packedLayout(nodes: readonly { readonly size: number }[]): {
  offsets: number[];
  elements: number;
} {
  let elements = 0;
  const offsets = nodes.map((n) => {
    const start = elements;
    elements += n.size;
    return start;
  });
  return { offsets, elements };
}

/** Splits kernel inputs into those bound one each and those packed into `sc`. */
export function splitInputs(k: Kernel, inputs: readonly number[]): { direct: number[]; packed: number[] } {
  return { direct: inputs.filter((j) => !isPacked(k, j)), packed: inputs.filter((j) => isPacked(k, j)) };
}

/** Bindings 1.. of a per-point program's inputs: one per direct input (`in0`, …), then `sc` if any are packed. */
export function inputBindings(
  inputs: readonly number[],
  packed: readonly number[],
): { bindings: BindingKind[]; decls: string[] } {
  const bindings: BindingKind[] = inputs.map(() => 'read' as const);
  const decls = inputs.map((_, b) => declare(b + 1, `in${b}`, 'read'));
  if (packed.length > 0) {
    bindings.push('read');
    decls.push(declare(bindings.length, 'sc', 'read'));
  }
  return { bindings, decls };
}

/** `Σ tb_t * stride_t` over terms [first, first + count): the index of stepped terms (see steppedTerms). */
export function steppedSum(first: number, count: number): string {
  const parts: string[] = [];
  for (let t = first; t < first + count; t++) parts.push(`tb${t} * P.terms[${t}].z`);
  return parts.length > 0 ? parts.join(' + ') : '0u';
}

/**
 * Index terms [first, first + count) kept from point to point of a loop that moves its flat index by
 * `step` from `origin`: for each term (inner, dim), `tr` = i % inner and `tb` = (i / inner) % dim, set once
 * with divisions (`init`) and then advanced with adds and one carry each (`advance`; r + step % inner
 * < 2 inner, b + the quotient's step + 1 < 2 dim). An integer division at every point costs a CPU
 * implementation of WebGPU more than a simple kernel's work.
 */
export function steppedTerms(
  first: number,
  count: number,
  origin: string,
  step: string,
): { init: string[]; advance: string[] } {
  const init: string[] = [];
  const advance: string[] = [];
  for (let t = first; t < first + count; t++) {
    init.push(
      `let ti${t} = P.terms[${t}].x;`,
      `let td${t} = P.terms[${t}].y;`,
      `var tr${t} = ${origin} % ti${t};`,
      `var tb${t} = (${origin} / ti${t}) % td${t};`,
      `let sr${t} = ${step} % ti${t};`,
      `let sb${t} = (${step} / ti${t}) % td${t};`,
    );
    advance.push(
      `tr${t} += sr${t};`,
      `let tw${t} = tr${t} >= ti${t};`,
      `tr${t} = select(tr${t}, tr${t} - ti${t}, tw${t});`,
      `tb${t} += select(sb${t}, sb${t} + 1u, tw${t});`,
      `tb${t} = select(tb${t}, tb${t} - td${t}, tb${t} >= td${t});`,
    );
  }
  return { init, advance };
}

/**
 * Input loads of a per-point template: `p` within the chunk (full), 0 (scalar) or broadcast terms of `i`
 * (`stepped`: from the invocation's stepped terms, see steppedTerms).
 */
export function loaders(
  k: Kernel,
  inputs: readonly number[],
  packed: readonly number[],
  terms: [number, number, number][],
  stepped = false,
) {
  const names = new Map<number, string>();
  inputs.forEach((j, b) => names.set(j, `in${b}`));
  const { offsets } = packedLayout(packed.map((j) => k.inputs[j]!.node));
  const offsetOf = new Map(packed.map((j, m) => [j, offsets[m]!]));
  for (const [j, at] of offsetOf) names.set(j, `sc[${at}]`);
  return (j: number): string => {
    const access = k.inputs[j]!.access;
    if (oneElement(k, j)) return names.get(j)!;
    const name = names.get(j)!;
    if (access.kind === 'full') return `${name}[p]`;
    if (access.kind === 'scalar') return `${name}[0]`;
    const ts = stridedTerms(access.strides, k.domain);
    const first = terms.length;
    for (const t of ts) terms.push([t.inner, t.dim, t.stride]);
    const index = stepped ? steppedSum(first, ts.length) : termSum('i', first, ts.length);
    // A packed operand's elements start at its offset in `sc`.
    return isPacked(k, j) ? `sc[${offsetOf.get(j)!}u + ${index}]` : `${name}[${index}]`;
  };
}

/** Bytes of a per-point program's uniform block: the header, its terms and its constants. */
export const uniformBytes = (terms: number, c: Consts, header = HEADER_WORDS): number =>
  4 * header + 16 * Math.max(1, terms) + 16 * c.vec4s;
