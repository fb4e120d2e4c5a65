// rand and randn: seeded reproducibly by manualSeed, uniform in [0, 1) and standard normal.
import { describe, expect, it } from 'vitest';
import { manualSeed, rand, randn, sum } from '../src/index.js';

const values = async (t: ReturnType<typeof rand>): Promise<number[]> => Array.from(await t.data());

describe('random tensors', () => {
  it('the same seed gives the same tensors, another seed others', async () => {
    manualSeed(42);
    const a = await values(rand([1000]));
    const b = await values(randn([3, 5]));
    manualSeed(42);
    expect(await values(rand([1000]))).toEqual(a);
    expect(await values(randn([3, 5]))).toEqual(b);
    manualSeed(43);
    expect(await values(rand([1000]))).not.toEqual(a);
    // Seeds beyond 2^32 count in full.
    manualSeed(2 ** 32 + 42);
    expect(await values(rand([1000]))).not.toEqual(a);
  });

  it('rand is uniform in [0, 1), randn standard normal (fixed seeds: no flakiness)', async () => {
    manualSeed(7);
    const u = await values(rand([200_000]));
    expect(u.every((x) => x >= 0 && x < 1)).toBe(true);
    const mean = u.reduce((a, b) => a + b, 0) / u.length;
    // Standard error of the mean: sqrt(1/12 / 2e5) = 6.5e-4.
    expect(Math.abs(mean - 0.5)).toBeLessThan(3e-3);
    // Ten equal bins, each 10% give or take 0.3%.
    const bins = new Array<number>(10).fill(0);
    for (const v of u) bins[Math.floor(v * 10)]!++;
    for (const c of bins) expect(Math.abs(c / u.length - 0.1)).toBeLessThan(3e-3);
    const z = await values(randn([200_001]));
    expect(z.every(Number.isFinite)).toBe(true);
    const m = z.reduce((a, b) => a + b, 0) / z.length;
    const v = z.reduce((a, b) => a + (b - m) ** 2, 0) / z.length;
    expect(Math.abs(m)).toBeLessThan(0.01);
    expect(Math.abs(v - 1)).toBeLessThan(0.02);
    // Within one sigma: 68.3%.
    expect(Math.abs(z.filter((x) => Math.abs(x) < 1).length / z.length - 0.6827)).toBeLessThan(0.005);
  });

  it('takes requiresGrad, and names bad shapes, options and seeds', async () => {
    const w = randn([2, 2], { requiresGrad: true });
    sum(w.mul(w)).backward();
    const [wv, gv] = [await values(w), await values(w.grad!)];
    expect(gv).toEqual(wv.map((x) => 2 * x));
    expect(() => rand([2, 0])).toThrow('rand(): shape must be an array of positive integers, got [2,0]');
    expect(() => randn([2], { requires_grad: true } as object)).toThrow(
      "randn(): unknown option 'requires_grad'",
    );
    expect(() => manualSeed(-1)).toThrow('manualSeed(): the seed must be an integer >= 0, got -1');
    expect(() => manualSeed(1.5)).toThrow('manualSeed(): the seed must be an integer >= 0, got 1.5');
  });
});
