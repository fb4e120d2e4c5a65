/** The prelude functions (shaders/prelude.wgsl) a generated kernel needs, and whether its program speculates. */
import { opRow } from '../../ops/table.js';
import type { Kernel } from '../../schedule/kernel.js';
import { fill, template } from './templates.js';

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
    // What the code calls, not what its comments mention (those would carry unused functions along).
    const code = text.replace(/\/\/.*$/gm, '');
    const uses = [...new Set(code.match(/\bwg_\w+/g) ?? [])].filter((u) => u !== name);
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

/**
 * Template `name` filled with `slots`, and its {{prelude}} slot with the prelude declarations that the
 * rest of the filled source calls (the template's own code included; comments aside).
 */
export function fillWithPrelude(name: string, slots: Readonly<Record<string, string>>): string {
  const rest = fill(template(name), { ...slots, prelude: '' }).replace(/\/\/.*$/gm, '');
  return fill(template(name), { ...slots, prelude: preludeFor(rest) });
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

/**
 * The statement that sets the prelude's wg__opaque from `zero` (a run-time 0 the compiler cannot know), for
 * kernels written by hand around a prelude from preludeFor; empty where that prelude does not use it.
 */
export const setOpaque = (prelude: string, zero: string): string =>
  prelude.includes('var<private> wg__opaque') ? `wg__opaque = ${zero};` : '';

/** True when a prelude (from preludeFor) carries the fast range reduction: its program is speculative. */
export const reducesFast = (prelude: string): boolean => prelude.includes(`fn ${FAST}(`);

// Ops whose WGSL reduces an argument by pi/2 (sin, cos, tan), found from their prelude calls.
const reducing = new Map<string, boolean>();

/** True when a kernel's main programs are speculative unless exact (some op of `k` reduces by pi/2). */
export function speculates(k: Kernel): boolean {
  return k.values.some((v) => {
    if (v.kind !== 'op') return false;
    let r = reducing.get(v.op);
    if (r === undefined) {
      const row = opRow(v.op)!;
      const code = `${row.wgsl('a', 'b', v.p, 'c')} ${row.wgslShared?.call ?? ''}(a)`;
      r = reducesFast(preludeFor(code, true));
      reducing.set(v.op, r);
    }
    return r;
  });
}

// Characters of prelude code (comments and runs of blank aside) that weigh as much as one plain op: sin's
// functions are about 2200 (a weight of 9), exp's 1250, div's 625, a comparison's 300.
const CHARS_PER_OP = 250;
const weights = new Map<string, number>();

/**
 * What a value of `op` (with parameter `p`) adds to a kernel, for the compiler, in plain ops: 1, and the
 * prelude code it calls, which compilers inline at each call (a kernel of 390 sines and their cosines took
 * 8 s to compile on SwiftShader, as long as 10,000 multiplications would).
 */
export function opWeight(op: string, p: number): number {
  const key = `${op}|${p}`;
  let w = weights.get(key);
  if (w === undefined) {
    const row = opRow(op)!;
    const code = `${row.wgsl('a', 'b', p, 'c')} ${row.wgslShared?.call ?? ''}(a)`;
    const chars = preludeFor(code, true)
      .replace(/\/\/.*$/gm, '')
      .replace(/\s+/g, ' ').length;
    w = 1 + Math.floor(chars / CHARS_PER_OP);
    // Parameters vary (a softplus's beta): the map stays small.
    if (weights.size > 1024) weights.clear();
    weights.set(key, w);
  }
  return w;
}
