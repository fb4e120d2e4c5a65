// The fuzzer's error model (model.ts): the bounds it holds WebGPU to must cover float32's own rounding, also
// where float32 went another way than float64 upstream.
import { beforeAll, describe, expect, it } from 'vitest';
import { amin, init, lt, pow, sin, tensor, where } from '../../src/index.js';
import { model, SAFETY } from './model.js';

const U = 2 ** -24;

describe('fuzz error model', () => {
  beforeAll(async () => void (await init({ backend: 'cpu' })));

  // Found by `npm run fuzz -- --seed=31337 --webgpu='{"exactRangeReduction":true}'`: (-1.35e20)^3 overflows
  // float32 only, so pow(., -0.5) is 0 in float32 and NaN in float64, the comparison 1 and 0, and sin(1) was
  // held to the bound of float64's sin(0) (1e-12): a GPU's sin(1), 1 ulp from the CPU's, "disagreed".
  it("bounds a float32 value by its own op's error where float64's took another way upstream", () => {
    const x = tensor([1, -1.3514983e20]);
    const y = sin(lt(-1, pow(pow(x, 3), -0.5)));
    const m = model([y.node]).get(y.node)!;
    expect([m.d[1], m.s[1]]).toEqual([0, Math.fround(Math.sin(1))]);
    expect(m.unc[1]).toBe(0);
    // At least a rounding of sin(1) in float32; where nothing diverged, the bound is as before.
    expect(SAFETY * m.e[1]!).toBeGreaterThan(2 * U * Math.sin(1));
    expect(Math.abs(m.e[1]! - m.e[0]!)).toBeLessThan(1e-12);
  });

  it("bounds where's float32 branch by that branch's error where float32's condition differs", () => {
    const x = tensor([-1.3514983e20]);
    // The cube is -Inf in float32 only: float64 picks the constant 0.5 (exact), float32 the product (rounded).
    const y = where(pow(x, 3).eq(-Infinity), tensor([1e30]).mul(3), tensor([0.5]));
    const m = model([y.node]).get(y.node)!;
    expect([m.d[0], m.s[0]]).toEqual([0.5, Math.fround(Math.fround(1e30) * 3)]);
    expect(m.e[0]).toBeGreaterThanOrEqual(U * 3e30);
  });

  // Found by `npm run fuzz -- --seed=556` with a GPU's tuning: pow(0, -0.5) is folded to the constant +Inf,
  // whose bound came out NaN (|Inf - Inf|), and a NaN bound fails every comparison.
  it('takes an infinite constant as exact', () => {
    const x = tensor([Number.NaN, 1, 1, 1]);
    const t = lt(x, 1e20);
    const y = amin(where(t, t, pow(0, -0.5)));
    const m = model([y.node]).get(y.node)!;
    expect([m.d[0], m.s[0], m.e[0]]).toEqual([1, 1, 0]);
  });
});
