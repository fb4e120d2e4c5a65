/** Numbering by first appearance, as the cache keys of plans and kernels number what they name. */

/** The number of `key` in `numbers`: the one it was given, or the next (the count so far) for a new key. */
export function numberIn<K>(numbers: Map<K, number>, key: K): number {
  let n = numbers.get(key);
  if (n === undefined) numbers.set(key, (n = numbers.size));
  return n;
}
