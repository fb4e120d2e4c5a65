/** Options objects are checked by name: a misspelt or PyTorch-spelt option (requires_grad) is an error, not ignored. */

/**
 * A value as the caller wrote it, for error messages: numbers as JavaScript prints them (JSON would show NaN
 * and Infinity as null), BigInts with their n, arrays element by element, anything else as JSON where it
 * can be (a BigInt inside an object, a cycle: as String prints it).
 */
export function written(v: unknown): string {
  if (typeof v === 'number') return String(v);
  // JSON has no BigInt (it throws), and a BigInt is how PyTorch's 64-bit values are written in JavaScript.
  if (typeof v === 'bigint') return `${v}n`;
  if (Array.isArray(v)) return `[${v.map(written).join(',')}]`;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    // An object without a prototype has no toString either.
    return Object.prototype.toString.call(v);
  }
}

/** The option names of an options interface: a Record over its keys, so the list is complete by type. */
export function optionNames<T>(names: Record<keyof T, true>): readonly string[] {
  return Object.keys(names);
}

// Options PyTorch or NumPy spell with another word: PyTorch's older unbiased (false is correction: 0),
// NumPy's keepdims.
const RENAMED: Record<string, string> = { unbiased: 'correction', keepdims: 'keepdim' };

/** Throws where `opts` (when given) is not a plain object or names an option not in `names`. */
export function checkOptions(what: string, opts: unknown, names: readonly string[]): void {
  if (opts === undefined) return;
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) {
    const got = opts === null ? 'null' : Array.isArray(opts) ? 'an array' : `${typeof opts} ${String(opts)}`;
    throw new Error(`${what}: options must be an object, got ${got}`);
  }
  for (const key of Object.keys(opts)) {
    if (names.includes(key)) continue;
    // requires_grad -> requiresGrad, createGraph -> creategraph: the same letters, spelt otherwise.
    const letters = (s: string): string => s.replace(/_/g, '').toLowerCase();
    // The same letters spelt otherwise, a known other name, or else a slip of a letter or two.
    const near =
      names.find((n) => letters(n) === letters(key) || RENAMED[key] === n) ??
      names.find((n) => edits(letters(n), letters(key)) <= Math.max(1, Math.min(2, n.length >> 2)));
    throw new Error(
      `${what}: unknown option '${key}'${near ? `; did you mean '${near}'?` : ''} (options: ${names.join(', ')})`,
    );
  }
}

/**
 * The edits that make a into b: letters inserted, deleted or replaced, and two neighbours swapped (shpae),
 * each counting one (the optimal string alignment distance).
 */
function edits(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const row = d[i]!;
      row[j] = Math.min(
        d[i - 1]![j]! + 1,
        row[j - 1]! + 1,
        d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        row[j] = Math.min(row[j]!, d[i - 2]![j - 2]! + 1);
    }
  return d[a.length]![b.length]!;
}
