/** Number and TeX output shared by the page's sections. */
import katex from 'katex';
import 'katex/dist/katex.min.css';
import type { MathNode } from 'mathjs';

/** A value to about eight significant digits, as people read them. */
export function num(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '−∞';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e7 || a < 1e-4) return v.toExponential(6).replace(/\.?0+e/, 'e');
  return String(Number(v.toPrecision(8)));
}

/** A small difference, as an exponent is what matters. */
export function diffText(v: number): string {
  if (!Number.isFinite(v)) return num(v);
  return v === 0 ? '0' : v.toExponential(1);
}

/** Draws TeX into `el` (inline in tables, as a block elsewhere); bad TeX shows as red source, not an error. */
export function renderTex(el: HTMLElement, tex: string, displayMode = true): void {
  katex.render(tex, el, { throwOnError: false, displayMode, strict: 'ignore' });
}

// mathjs's toTex takes time that doubles with every level of nested function calls (sin(sin(...)) 16 deep:
// 0.17 s, 20 deep 1.6 s, its derivative twice that, 50 deep never ended), so a formula whose calls nest
// deeper than this is shown as text (12 levels: about 20 ms); and one longer than TEX_CHARS too, since
// typesetting it would take longer than computing it.
const TEX_CALL_DEPTH = 12;
const TEX_CHARS = 1500;

/** The most function calls nested in `node` (walked without recursion: formulas can be thousands deep). */
function callDepth(node: MathNode): number {
  let deepest = 0;
  const stack: [MathNode, number][] = [[node, 0]];
  while (stack.length > 0) {
    const [n, above] = stack.pop()!;
    const d = above + (n.type === 'FunctionNode' ? 1 : 0);
    deepest = Math.max(deepest, d);
    n.forEach((child: MathNode) => void stack.push([child, d]));
  }
  return deepest;
}

/**
 * Shows a mathjs formula in `el` after `prefix`: typeset, or as text where typesetting it would stall the
 * page (see TEX_CALL_DEPTH). `implicit`: show implicit multiplication (2x as 2·x), as it was read.
 */
export function showFormula(el: HTMLElement, node: MathNode, prefix = '', implicit = false): void {
  const opts = { parenthesis: 'auto', implicit: implicit ? 'show' : 'hide' } as const;
  const text = node.toString(opts);
  if (text.length > TEX_CHARS || callDepth(node) > TEX_CALL_DEPTH) el.textContent = prefix + text;
  else renderTex(el, prefix + node.toTex(opts));
}

/** Shows `message` in `el`, or hides `el` when there is none. */
export function say(el: HTMLElement, message: string | null): void {
  el.textContent = message ?? '';
  el.hidden = message === null;
}

/** The element with id `id`, which the page is known to have. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`The page has no #${id}`);
  return el as T;
}
