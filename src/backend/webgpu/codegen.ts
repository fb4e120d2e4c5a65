/** WGSL for fused kernels: fills the shaders/ templates with one `let` per value and one store per output. */
import { opRow } from '../../ops/table.js';
import { stridedTerms, type Kernel, type Ref } from '../../schedule/kernel.js';
import { shaders } from './shaders.gen.js';

/** Invocations per workgroup in every template. */
export const WG = 256;

/**
 * Points each invocation of a kernel with scalar sums adds up before the workgroup reduction. The
 * reduction's barriers then cost per 16 points, not per point: they dominate on CPU implementations of
 * WebGPU (SwiftShader runs each invocation of a workgroup with barriers as a coroutine), and a GPU
 * still has N / 4096 workgroups to spread (16384 at 2^26 points).
 */
export const REDUCE_POINTS = 16;

/**
 * How a kernel's scalar sums are split before the finishing pass. 'workgroup': a tree in workgroup
 * memory, one partial per workgroup (few partials; barriers are cheap on GPUs). 'invocation': every
 * invocation keeps its own partial and there is no barrier at all: CPU implementations of WebGPU run a
 * workgroup's invocations as coroutines, so each barrier round is a context switch per invocation
 * (15x slower sums on SwiftShader), while the extra partials are a few percent more memory traffic.
 */
export type ReduceMode = 'workgroup' | 'invocation';

/** Points each invocation adds up in 'invocation' mode: one partial per 32 points. */
export const INVOCATION_POINTS = 32;

/**
 * Points per invocation of kernels without sums on a CPU implementation of WebGPU. SwiftShader pays a
 * fixed cost per workgroup that, at one point per invocation, is most of a memory-bound kernel's time
 * ((x-2)^2 over 2^22 points: 2.5x faster at 32). A GPU wants many resident invocations instead, and
 * keeps 1.
 */
export const SOFTWARE_POINTS = 32;

/** Points per invocation of a kernel with scalar sums in `mode`. */
export const reducePoints = (mode: ReduceMode): number =>
  mode === 'invocation' ? INVOCATION_POINTS : REDUCE_POINTS;

/**
 * Invocations of the finishing pass of sums in `mode`: a GPU's full workgroup, or for the per-invocation
 * split of a CPU implementation of WebGPU the width of a CPU's vector unit, which runs the tree's barriers
 * without switching between groups of lanes.
 */
export const finishWidth = (mode: ReduceMode): number => (mode === 'invocation' ? 4 : WG);

/** Partials one workgroup writes per sum in `mode`. */
export const partialsPerGroup = (mode: ReduceMode): number => (mode === 'invocation' ? WG : 1);

/** What a binding after the uniform block (binding 0) is: read-only or writable storage. */
export type BindingKind = 'read' | 'write';

/** A generated shader with the bindings it declares and the uniform terms it indexes. */
export interface Program {
  /** The complete WGSL source (also the pipeline cache key). */
  readonly source: string;
  /** Kinds of bindings 1.. in order. */
  readonly bindings: readonly BindingKind[];
  /** Bytes of the uniform block the shader reads. */
  readonly uniformBytes: number;
  /** Constants the shader reads from the uniform block (`P.c`), in slot order. */
  readonly consts: readonly number[];
}

/** A per-point program: the elementwise template, or the strided (sum along axes) one. */
export interface PointProgram extends Program {
  /** Kernel input indices bound at 1.., in order. */
  readonly inputs: readonly number[];
  /**
   * Kernel input indices of one-element inputs, read as `sc[m]` from one binding after `inputs` (absent
   * when empty): gathered into one buffer before the dispatch, so that a kernel reading many scalars (a
   * second derivative reads dozens of sums) stays within the device's storage-buffer limit.
   */
  readonly packed: readonly number[];
  /** Kernel output indices written per point (main) or per summed element (strided), bound after the inputs. */
  readonly stores: readonly number[];
  /** Kernel output indices summed into the partials buffer (bound last), by slot. */
  readonly reduces: readonly { output: number; slot: number }[];
  /** Uniform (inner, dim, stride) terms, in the order the shader reads them. */
  readonly terms: readonly (readonly [number, number, number])[];
  /** Points per invocation (reducePoints(mode) with scalar sums, else MainOptions.points): a workgroup covers WG * points. */
  readonly points: number;
  /**
   * True when the program reduces sin/cos/tan arguments by Cody-Waite alone: its last binding is a flag
   * word it sets to nonzero when an argument was beyond that range (the results are then wrong and the
   * run is redone with exact programs).
   */
  readonly speculative: boolean;
}

/** How mainProgram builds a kernel. */
export interface MainOptions {
  /** How scalar sums are split (default 'workgroup'). */
  readonly mode?: ReduceMode;
  /** Points per invocation where there are no sums (default 1). */
  readonly points?: number;
  /** The exact range reduction for sin, cos and tan, rather than the speculative one (default false). */
  readonly exact?: boolean;
}

/** Header words of the per-point templates' uniform block before the terms. */
export const HEADER_WORDS = 8;

function fill(template: string, slots: Record<string, string>): string {
  return template.replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
    const s = slots[name];
    if (s === undefined) throw new Error(`internal: WGSL template slot {{${name}}} has no value`);
    return s;
  });
}

function template(name: string): string {
  const t = shaders[name];
  if (t === undefined) throw new Error(`internal: shaders/${name}.wgsl is missing from the embedded shaders`);
  return t;
}

/** A top-level declaration of the prelude with the comments above it. */
interface PreludeItem {
  readonly name: string;
  readonly text: string;
  readonly uses: readonly string[];
}

let preludeItems: PreludeItem[] | null = null;

/** The prelude split into its `fn`, `const`, `struct` and `var<private>` declarations, in file order. */
function parsePrelude(): PreludeItem[] {
  if (preludeItems) return preludeItems;
  const items: { name: string; lines: string[] }[] = [];
  let pending: string[] = [];
  for (const line of template('prelude').split('\n')) {
    const m = /^(?:fn|const|var<private>|struct)\s+(\w+)/.exec(line);
    if (m) {
      items.push({ name: m[1]!, lines: [...pending, line] });
      pending = [];
    } else if (line.startsWith('//') || line.trim() === '' || items.length === 0) {
      // Comments at the left margin introduce the next declaration.
      pending.push(line);
    } else {
      items[items.length - 1]!.lines.push(...pending, line);
      pending = [];
    }
  }
  preludeItems = items.map(({ name, lines }) => {
    const text = lines.join('\n').trimEnd();
    const uses = [...new Set(text.match(/\bwg_\w+/g) ?? [])].filter((u) => u !== name);
    return { name, text, uses };
  });
  return preludeItems;
}

/**
 * The prelude declarations that `code` calls, directly or through each other. Shader compilers (Tint,
 * then the driver) spend most of their time on the prelude's long functions, so a kernel carries only
 * those it uses. `fast`: sin, cos and tan reduce their argument with wg__reduce_pio2_fast (see
 * speculative programs).
 */
export function preludeFor(code: string, fast = false): string {
  const { items, byName } = preludeIndex(fast);
  const need = new Set<string>();
  const stack = [...new Set(code.match(/\bwg_\w+/g) ?? [])];
  while (stack.length > 0) {
    const name = stack.pop()!;
    if (need.has(name)) continue;
    const item = byName.get(name);
    if (!item)
      throw new Error(`internal: the generated WGSL calls ${name}, which shaders/prelude.wgsl lacks`);
    need.add(name);
    stack.push(...item.uses);
  }
  return items
    .filter((it) => need.has(it.name))
    .map((it) => it.text)
    .join('\n\n');
}

const indexes = new Map<boolean, { items: PreludeItem[]; byName: Map<string, PreludeItem> }>();

/** The prelude's items (fast or exact range reduction) and the same by name, made once for each. */
function preludeIndex(fast: boolean): { items: PreludeItem[]; byName: Map<string, PreludeItem> } {
  let ix = indexes.get(fast);
  if (!ix) {
    const items = fast ? parsePrelude().map(fastItem) : parsePrelude();
    ix = { items, byName: new Map(items.map((it) => [it.name, it])) };
    indexes.set(fast, ix);
  }
  return ix;
}

// The exact range reduction by pi/2 and the speculative one that stands in for it in fast preludes.
const EXACT = 'wg__reduce_pio2';
const FAST = 'wg__reduce_pio2_fast';

/** A prelude item calling the fast range reduction in place of the exact one. */
function fastItem(it: PreludeItem): PreludeItem {
  if (!it.uses.includes(EXACT)) return it;
  return {
    name: it.name,
    text: it.text.replace(new RegExp(`\\b${EXACT}\\(`, 'g'), `${FAST}(`),
    uses: it.uses.map((u) => (u === EXACT ? FAST : u)),
  };
}

/** True when a prelude (from preludeFor) carries the fast range reduction: its program is speculative. */
const reducesFast = (prelude: string): boolean => prelude.includes(`fn ${FAST}(`);

// Ops whose WGSL reduces an argument by pi/2 (sin, cos, tan), found from their prelude calls.
const reducing = new Map<string, boolean>();

/** True when a kernel's main programs are speculative unless exact (some op of `k` reduces by pi/2). */
export function speculates(k: Kernel): boolean {
  return k.values.some((v) => {
    if (v.kind !== 'op') return false;
    let r = reducing.get(v.op);
    if (r === undefined) {
      const row = opRow(v.op)!;
      const code = `${row.wgsl('a', 'b', v.p)} ${row.wgslShared?.call ?? ''}(a)`;
      r = reducesFast(preludeFor(code, true));
      reducing.set(v.op, r);
    }
    return r;
  });
}

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
 * A program's constants. They are read from the uniform block rather than written into the source, so
 * that graphs differing only in numbers (a learning rate, a random direction, a typed coefficient)
 * share one compiled pipeline.
 */
class Consts {
  readonly values: number[] = [];
  private readonly slots = new Map<number, number>();

  /** The WGSL name of `v` (one slot per distinct float32 bit pattern), declared by decls(). */
  expr(v: number): string {
    const bits = new Uint32Array(new Float32Array([v]).buffer)[0]!;
    let slot = this.slots.get(bits);
    if (slot === undefined) {
      slot = this.values.length;
      this.values.push(v);
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
interface ValueLines {
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
function valueLines(
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
      lines.push(`let v${r} = ${load(v.index)};`);
      continue;
    }
    const row = opRow(v.op)!;
    const key = keys[at];
    if (key && row.wgslShared && uses.get(key)! > 1) {
      let name = made.get(key);
      if (!name) {
        name = `s${r}`;
        made.set(key, name);
        lines.push(`let ${name} = ${key};`);
      }
      lines.push(`let v${r} = wg_keep(${name}.${row.wgslShared.field}, opaque);`);
      continue;
    }
    const [a, b] = v.args.map((x) => refExpr(k, x, c));
    lines.push(`let v${r} = wg_keep(${row.wgsl(a!, b ?? '', v.p)}, opaque);`);
  }
  return out;
}

/** The statements ahead of a program's per-point work: wg_keep's operand, the constants, the invariant values. */
const invariantHeader = (c: Consts, lines: ValueLines): string[] => [
  'let opaque = P.opaque;',
  ...c.decls(),
  ...lines.invariant,
];

/** The expression for a ref once computed: a constant's local name (Consts.decls), anything else its `let`. */
function refExpr(k: Kernel, r: Ref, c: Consts): string {
  const v = k.values[r]!;
  return v.kind === 'const' ? c.expr(v.value) : `v${r}`;
}

/** `Σ ((x / inner) % dim) * stride` over uniform terms [first, first + count). */
function termSum(x: string, first: number, count: number): string {
  const parts: string[] = [];
  for (let t = first; t < first + count; t++)
    parts.push(`((${x} / P.terms[${t}].x) % P.terms[${t}].y) * P.terms[${t}].z`);
  return parts.length > 0 ? parts.join(' + ') : '0u';
}

const declare = (binding: number, name: string, kind: BindingKind): string =>
  `@group(0) @binding(${binding}) var<storage, ${kind === 'read' ? 'read' : 'read_write'}> ${name}: array<f32>;`;

const indent = (lines: readonly string[], pad: string): string => lines.join(`\n${pad}`);

/** True when kernel input j holds one element (a scalar operand, or any operand of a one-point kernel). */
export function isPacked(k: Kernel, j: number): boolean {
  return k.inputs[j]!.access.kind === 'scalar' || (k.size === 1 && k.inputs[j]!.access.kind === 'full');
}

/** Splits kernel inputs into those bound one each and the one-element ones packed into `sc`. */
export function splitInputs(k: Kernel, inputs: readonly number[]): { direct: number[]; packed: number[] } {
  return { direct: inputs.filter((j) => !isPacked(k, j)), packed: inputs.filter((j) => isPacked(k, j)) };
}

/** Bindings 1.. of a per-point program's inputs: one per direct input (`in0`, …), then `sc` if any are packed. */
function inputBindings(
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
function steppedSum(first: number, count: number): string {
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
function steppedTerms(
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
function loaders(
  k: Kernel,
  inputs: readonly number[],
  packed: readonly number[],
  terms: [number, number, number][],
  stepped = false,
) {
  const names = new Map<number, string>();
  inputs.forEach((j, b) => names.set(j, `in${b}`));
  packed.forEach((j, m) => names.set(j, `sc[${m}]`));
  return (j: number): string => {
    const access = k.inputs[j]!.access;
    if (isPacked(k, j)) return names.get(j)!;
    const name = names.get(j)!;
    if (access.kind === 'full') return `${name}[p]`;
    if (access.kind === 'scalar') return `${name}[0]`;
    const ts = stridedTerms(access.strides, k.domain);
    const first = terms.length;
    for (const t of ts) terms.push([t.inner, t.dim, t.stride]);
    return `${name}[${stepped ? steppedSum(first, ts.length) : termSum('i', first, ts.length)}]`;
  };
}

/** Header words of the strided template's uniform block before the terms. */
export const STRIDED_HEADER_WORDS = 12;

const uniformBytes = (terms: number, c: Consts, header = HEADER_WORDS): number =>
  4 * header + 16 * Math.max(1, terms) + 16 * c.vec4s;

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
  const lines = valueLines(k, refs, load, c, (j) => isPacked(k, j));
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
  if (reduces.length > 0) {
    bindings.push('write');
    decls.push(declare(bindings.length, 'part', 'write'));
    reduces.forEach((r, q) => {
      acc.push(`var r${q} = 0.0;`);
      body.push(`r${q} += ${refExpr(k, k.outputs[r.output]!.ref, c)};`);
    });
  }
  if (reduces.length > 0 && mode === 'invocation') {
    reduce.push(
      'if (first < P.n) {',
      ...reduces.map((r, q) => `  part[${r.slot}u * P.part_stride + P.part_base + wg * WG + lid] = r${q};`),
      '}',
    );
  } else if (reduces.length > 0) {
    // Workgroup memory holds up to 8 sums at a time; more are reduced in rounds.
    const G = Math.min(8, reduces.length);
    shared = `var<workgroup> sh: array<f32, ${G * WG}>;`;
    for (let g0 = 0; g0 < reduces.length; g0 += G) {
      const group = reduces.slice(g0, g0 + G);
      const off = (q: number): string => (q === 0 ? '' : `${q * WG}u + `);
      reduce.push(
        ...group.map((_, q) => `sh[${off(q)}lid] = r${g0 + q};`),
        'workgroupBarrier();',
        'for (var h = WG / 2u; h > 0u; h >>= 1u) {',
        '  if (lid < h) {',
        ...group.map((_, q) => `    sh[${off(q)}lid] += sh[${off(q)}lid + h];`),
        '  }',
        '  workgroupBarrier();',
        '}',
        'if (lid == 0u && first < P.n) {',
        ...group.map((r, q) => `  part[${r.slot}u * P.part_stride + P.part_base + wg] = sh[${q * WG}];`),
        '}',
        'workgroupBarrier();',
      );
    }
  }
  const prelude = preludeFor([...lines.invariant, ...body].join('\n'), !exact);
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
    invariant: indent(invariantHeader(c, lines), '  '),
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
    inputs,
    packed,
    stores,
    reduces,
    terms,
    points: pts,
    speculative,
  };
}

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
  const lines = valueLines(k, refs, loaders(k, inputs, packed, terms), c, (j) => isPacked(k, j));
  // The loop over a slice's points moves k by one: the folded terms step along.
  const stepping = steppedTerms(kept.length, folded.length, 'k0', '1u');
  const body = lines.point;
  const { bindings, decls } = inputBindings(inputs, packed);
  const acc: string[] = [];
  const store: string[] = [];
  const accumulate: string[] = [];
  outputs.forEach((o, q) => {
    if (!sliced) {
      bindings.push('write');
      decls.push(declare(bindings.length, `out${q}`, 'write'));
    }
    acc.push(`var a${q} = 0.0;`);
    body.push(`a${q} += ${refExpr(k, k.outputs[o]!.ref, c)};`);
    store.push(sliced ? `part[${q}u * P.part_stride + at] = a${q};` : `out${q}[o] = a${q};`);
    accumulate.push(`out${q}[o] += a${q};`);
  });
  let finish: string[];
  if (sliced) {
    bindings.push('write');
    decls.push(declare(bindings.length, 'part', 'write'));
    finish = ['let at = (P.slice_base + s) * P.m + o;', ...store];
  } else {
    finish = [
      'if (P.first == 1u) {',
      ...store.map((l) => `  ${l}`),
      '} else {',
      ...accumulate.map((l) => `  ${l}`),
      '}',
    ];
  }
  const source = fill(template('strided'), {
    prelude: preludeFor([...lines.invariant, ...body].join('\n')),
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

/** The second pass of a sliced sum along axes: `count` outputs, each element the total of its slices. */
export function stridedFinishProgram(count: number): Program {
  const bindings: BindingKind[] = ['read'];
  const decls: string[] = [];
  const store: string[] = [];
  for (let q = 0; q < count; q++) {
    bindings.push('write');
    decls.push(declare(bindings.length, `out${q}`, 'write'));
    store.push(`out${q}[o] = total(${q}u, o);`);
  }
  const source = fill(template('strided-finish'), {
    bindings: decls.join('\n'),
    store: indent(store, '  '),
  });
  return { source, bindings, uniformBytes: 16, consts: [] };
}

/** A one-point kernel run by the finishing pass, reading sums by their slot. */
export interface Tail {
  readonly kernel: Kernel;
  /** Slot of the sum each tail input is (by input index), when it is one of the finished sums. */
  readonly slotOf: ReadonlyMap<number, number>;
}

/** The finishing pass: totals of the partials of `slots` (stored in that order), then the tail kernel. */
export interface FinishProgram extends Program {
  /** Tail input indices bound after the totals (those not read from a slot). */
  readonly tailInputs: readonly number[];
}

/**
 * Generates the finishing pass for `slots` (bound as outputs 2..) and an optional tail kernel, as wide as
 * `mode` calls for (see finishWidth).
 */
export function finishProgram(slots: readonly number[], tail: Tail | null, mode: ReduceMode): FinishProgram {
  const decls: string[] = [];
  const bindings: BindingKind[] = ['read'];
  const totals: string[] = [];
  const body: string[] = [];
  slots.forEach((slot, q) => {
    bindings.push('write');
    decls.push(declare(bindings.length, `sum${q}`, 'write'));
    totals.push(`let t${slot} = total(${slot}u * P.count, lid);`);
    body.push(`sum${q}[0] = t${slot};`);
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
        return slot !== undefined ? `t${slot}` : `${names.get(j)!}[0]`;
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
  const source = fill(template('reduce'), {
    wg: String(finishWidth(mode)),
    prelude: preludeFor(body.join('\n')),
    consts: String(c.vec4s),
    bindings: decls.join('\n'),
    totals: indent(totals, '  '),
    body: indent(body, '    '),
  });
  return { source, bindings, uniformBytes: 16 + 16 * c.vec4s, consts: c.values, tailInputs };
}
