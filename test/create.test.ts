// Tensors made from a shape or a range: zeros, ones, full and linspace, with their checks.
import { describe, expect, it } from 'vitest';
import { full, linspace, ones, sum, zeros } from '../src/index.js';

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

  it('bad input is an error that names the maker and the problem', () => {
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
