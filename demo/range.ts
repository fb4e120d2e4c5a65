/** The y range a plot draws, widened where the data's own is too narrow for float32 values to mean anything. */

/**
 * The data's range [min, max] with 5% margins, widened to at least 1e-4 of the values' size (a float32 has
 * 7 digits: sin(x)^2 + cos(x)^2 spreads over 1e-7 of noise, and uPlot finds no ticks in so narrow a range),
 * and to [-1, 1] around 0 for a constant 0 or no finite values at all.
 */
export function yRange(min: number | null, max: number | null): [number, number] {
  if (min === null || max === null || !Number.isFinite(min) || !Number.isFinite(max)) return [-1, 1];
  const mid = (min + max) / 2;
  const half = Math.max(((max - min) / 2) * 1.05, Math.abs(mid) * 1e-4);
  return half === 0 ? [mid - 1, mid + 1] : [mid - half, mid + half];
}
