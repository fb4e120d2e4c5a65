/** The ranges a plot draws: the data's, widened where it is too narrow for float32 values to mean anything. */

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

/** The x range a plot draws: the data's own, widened around a single value (every x the same float32). */
export function xRange(min: number | null, max: number | null): [number, number] {
  if (min === null || max === null || !Number.isFinite(min) || !Number.isFinite(max)) return [-1, 1];
  if (max > min) return [min, max];
  const half = Math.abs(min) * 1e-6 || 1;
  return [min - half, max + half];
}
