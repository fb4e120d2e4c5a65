/** Shapes and NumPy broadcasting. */

/** A tensor shape: dimension sizes, outermost first; `[]` is a scalar. */
export type Shape = readonly number[];

/** Number of elements in a shape. */
export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Shape as text for error messages, e.g. `[2,3]`. */
export function fmtShape(shape: Shape): string {
  return `[${shape.join(',')}]`;
}

/** True when both shapes have the same dimensions. */
export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** `shape` left-padded with 1s to `rank` dimensions (NumPy aligns shapes on the right). */
export function padShape(shape: Shape, rank: number): number[] {
  return [...new Array<number>(Math.max(0, rank - shape.length)).fill(1), ...shape];
}

/** The NumPy broadcast of two shapes; throws naming both shapes when they do not broadcast. */
export function broadcastShapes(a: Shape, b: Shape, what: string): Shape {
  if (sameShape(a, b)) return a;
  const rank = Math.max(a.length, b.length);
  const pa = padShape(a, rank);
  const pb = padShape(b, rank);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const x = pa[i]!;
    const y = pb[i]!;
    if (x !== y && x !== 1 && y !== 1) {
      throw new Error(
        `${what}: shapes ${fmtShape(a)} and ${fmtShape(b)} cannot be broadcast together ` +
          `(dimension ${i - rank + Math.max(a.length, b.length)} is ${x} vs ${y})`,
      );
    }
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** True when `from` broadcasts to exactly `to` (NumPy rules, no change of `to`). */
export function broadcastsTo(from: Shape, to: Shape): boolean {
  if (from.length > to.length) return false;
  const p = padShape(from, to.length);
  return p.every((d, i) => d === 1 || d === to[i]);
}
