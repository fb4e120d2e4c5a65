// Tensors made from a shape or a range: zeros, ones, full, linspace and arange, with their checks.
import { describe, expect, it } from 'vitest';
import {
  arange,
  full,
  fullLike,
  linspace,
  ones,
  onesLike,
  sum,
  tensor,
  zeros,
  zerosLike,
} from '../src/index.js';
import { big, exactF32, rng } from './numeric.js';

describe('tensor makers', () => {
  it('zeros, ones and full: the shape, the value, and requiresGrad', async () => {
    expect([...(await zeros([2, 3]).data())]).toEqual([0, 0, 0, 0, 0, 0]);
    expect(ones([3]).shape).toEqual([3]);
    expect([...(await full([2], -1.5).data())]).toEqual([-1.5, -1.5]);
    const w = ones([2, 2], { requiresGrad: true });
    sum(w.mul(w)).backward();
    expect([...(await w.grad!.data())]).toEqual([2, 2, 2, 2]);
    expect(zeros([1]).requiresGrad).toBe(false);
  });

  it("zerosLike, onesLike and fullLike take another tensor's shape, and requiresGrad only when asked", async () => {
    const t = tensor([1, 2, 3, 4, 5, 6], { shape: [2, 3], requiresGrad: true });
    const z = zerosLike(t);
    expect(z.shape).toEqual([2, 3]);
    expect(z.requiresGrad).toBe(false);
    expect([...(await z.data())]).toEqual([0, 0, 0, 0, 0, 0]);
    expect([...(await onesLike(t.sum()).data())]).toEqual([1]);
    const f = fullLike(t, 2.5, { requiresGrad: true });
    sum(f.mul(t)).backward();
    expect([...(await f.grad!.data())]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(() => zerosLike([1, 2] as never)).toThrow('zerosLike(): expected a Tensor to take the shape of');
    t.dispose();
    expect(() => onesLike(t)).toThrow('onesLike(): the tensor was disposed');
  });

  it('linspace: both ends exact, every value the exact one rounded to float32', async () => {
    expect([...(await linspace(-2, 2, 5).data())]).toEqual([-2, -1, 0, 1, 2]);
    expect([...(await linspace(2, 5, 1).data())]).toEqual([2]);
    expect([...(await linspace(1, 0, 2).data())]).toEqual([1, 0]);
    const n = 1001;
    const v = await linspace(-3, 7, n).data();
    expect([v[0], v[n - 1]]).toEqual([-3, 7]);
    for (let i = 0; i < n; i++) {
      const exact = -3 + (10 * i) / (n - 1);
      expect(v[i]).toBe(Math.fround(exact));
    }
    // PyTorch's float32 arithmetic gives 0.6666666269302368 for the third, an ulp below 2/3 rounded.
    expect([...(await linspace(0, 1, 4).data())]).toEqual([0, Math.fround(1 / 3), Math.fround(2 / 3), 1]);
  });

  it('linspace and arange round the exact values once: zeros are 0, no halfway case goes astray, huge ranges', async () => {
    // The middle of linspace(-a, a, odd n) is exactly 0 (float64's end - k * step left 1e-16 for 82 of the
    // first 1000 odd n with a = 1), and so are the zeros of other grids.
    for (const a of [1, 3, Math.PI])
      for (let n = 3; n <= 401; n += 2)
        expect((await linspace(-a, a, n).data())[(n - 1) / 2], `${a}, ${n}`).toBe(0);
    expect((await linspace(-1, 2, 148).data())[49]).toBe(0);
    expect((await linspace(-2, 10, 295).data())[49]).toBe(0);
    // float64 results that land on a float32 halfway point, rounded there a second time the wrong way.
    expect((await linspace(0.1, 100000, 4097).data())[91]).toBe(2221.777587890625);
    expect((await arange(1 + 2 ** -24, 2, 0.1).data())[5]).toBe(1.5000001192092896);
    // Beyond float64's range for end - start: the exact values rounded (to ±Infinity, or 0).
    expect([...(await linspace(-1e308, 1e308, 5).data())]).toEqual([
      -Infinity,
      -Infinity,
      0,
      Infinity,
      Infinity,
    ]);
    expect([...(await arange(-1.7e308, 1.7e308, 1e308).data())]).toEqual([
      -Infinity,
      -Infinity,
      Infinity,
      Infinity,
    ]);
    expect([...(await arange(0, 1, 1e307).data())]).toEqual([0]);
    // Just below the halfway point between the largest float32 and 2^128: the largest float32, not Infinity.
    const top = 2 ** 128 - 2 ** 103;
    expect((await linspace(top, top - 2 ** 75, 4).data())[1]).toBe(3.4028234663852886e38);
    // Against exact rational arithmetic, every value of grids with awkward ends.
    const rand = rng(7);
    for (let trial = 0; trial < 40; trial++) {
      const a = (rand() - 0.5) * 10 ** Math.floor(rand() * 8 - 3);
      const b = a + (rand() - 0.3) * 10 ** Math.floor(rand() * 8 - 3);
      const n = 2 + Math.floor(rand() * 3000);
      const got = await linspace(a, b, n).data();
      for (let i = 0; i < n; i++) {
        const want = exactF32(big(a) * BigInt(n - 1 - i) + big(b) * BigInt(i), BigInt(n - 1));
        if (got[i] !== want) expect(got[i], `linspace(${a}, ${b}, ${n})[${i}]`).toBe(want);
      }
      const step = (b - a) / (1 + Math.floor(rand() * 3000));
      const r = await arange(a, b, step).data();
      for (let i = 0; i < r.length; i++) {
        const want = exactF32(big(a) + big(step) * BigInt(i), 1n);
        if (r[i] !== want) expect(r[i], `arange(${a}, ${b}, ${step})[${i}]`).toBe(want);
      }
    }
  });

  it("arange: PyTorch's count and values (each start + i * step rounded once), and requiresGrad", async () => {
    const f = Math.fround;
    const values = async (t: ReturnType<typeof arange>) => [...(await t.data())];
    // Counts and values as PyTorch 1.13's float32 arange.
    expect(await values(arange(5))).toEqual([0, 1, 2, 3, 4]);
    expect(await values(arange(0.5))).toEqual([0]);
    expect(await values(arange(3, 0, -1))).toEqual([3, 2, 1]);
    expect(await values(arange(1, 2.5, 0.5))).toEqual([1, 1.5, 2]);
    expect(await values(arange(0, 1, 0.1))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => f(i * 0.1)));
    expect(await values(arange(-1, 1, 0.3))).toEqual([-1, -0.7, -0.4, -0.1, 0.2, 0.5, 0.8].map(f));
    // Values that cancel keep what is left of the exact start + i * step, as PyTorch's (float64 gives 0).
    expect((await values(arange(-1, 1, 0.2)))[5]).toBe(Math.fround(5.551115123125783e-17));
    expect((await values(arange(-3, 3, 0.3)))[10]).toBe(Math.fround(-1.1102230246251565e-16));
    // Each value is the exact one rounded, not a float32 running sum (which drifts by 1e-4 here).
    const v = await arange(0, 1000, 0.01).data();
    expect(v.length).toBe(100000);
    expect(v[99999]).toBe(f(99999 * 0.01));
    const x = arange(1, 4, { requiresGrad: true });
    sum(x.mul(x)).backward();
    expect(await values(x.grad!)).toEqual([2, 4, 6]);
    expect(arange(2).requiresGrad).toBe(false);
  });

  it('bad input is an error that names the maker and the problem', () => {
    expect(() => arange(0, 1, 0)).toThrow('arange(): step must not be 0');
    expect(() => arange(0, 1, -1)).toThrow(
      'arange(): no values from 0 to 1 by -1 (a tensor needs at least one element)',
    );
    expect(() => arange(0)).toThrow('arange(): no values from 0 to 0 by 1');
    expect(() => arange(0, NaN)).toThrow(
      'arange(): start, end and step must be finite numbers, got 0, NaN, 1',
    );
    expect(() => arange(0, 1e300, 1e-300)).toThrow(
      'arange(): that many values are more than one array can hold',
    );
    expect(() => arange(0, 1e12, 1)).toThrow(
      'arange(): 1000000000000 values are more than one array can hold',
    );
    expect(() => (arange as (...a: unknown[]) => unknown)(0, { requiresGrad: true }, 1)).toThrow(
      'arange(): takes (end), (start, end) or (start, end, step) as numbers, then an options object',
    );
    expect(() => arange(0, 3, 1, { requires_grad: true } as object)).toThrow(
      "arange(): unknown option 'requires_grad'",
    );
    expect(() => zeros([2, 0])).toThrow('zeros(): shape must be an array of positive integers, got [2,0]');
    expect(() => ones([1.5])).toThrow('ones(): shape must be an array of positive integers, got [1.5]');
    expect(() => full([2], Number('x') ? 1 : ('1' as unknown as number))).toThrow(
      'full(): value must be a number, got string',
    );
    expect(() => linspace(0, 1, 0)).toThrow('linspace(): steps must be a positive integer, got 0');
    expect(() => linspace(0, Infinity, 3)).toThrow(
      'linspace(): start and end must be finite numbers, got 0 and Infinity',
    );
    expect(() => zeros([2], { requires_grad: true } as object)).toThrow(
      "zeros(): unknown option 'requires_grad'; did you mean 'requiresGrad'? (options: requiresGrad)",
    );
  });
});
