/** Number and TeX output shared by the page's sections. */
import katex from 'katex';
import 'katex/dist/katex.min.css';

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
