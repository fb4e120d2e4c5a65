// amax and amin, as PyTorch's: every axis or some, keepdim, NaN and signed zeros, gradients shared by ties;
// on every backend, and on WebGPU however the work is split (partials per workgroup or invocation, chunks,
// slices of an axis), where the result must be exactly the largest or smallest value.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  amax,
  amin,
  formula,
  grad,
  init,
  logSoftmax,
  logsumexp,
  mean,
  softmax,
  std,
  variance,
  stats,
  sum,
  tensor,
  type Stats,
  type Tensor,
  type WebGpuOptions,
} from '../src/index.js';
import { testBackends } from './backends.js';
import { testAdapter, testGpu } from './gpu.js';
import { rng } from './numeric.js';

const values = async (t: Tensor): Promise<number[]> => Array.from(await t.data());

/** `got` equals `want` element by element to 2e-6 relative (absolute below 1): PyTorch's float32 values. */
const close = (got: number[], want: number[]): void => {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) =>
    expect(Math.abs(g - want[i]!), `${i}: ${g} vs ${want[i]}`).toBeLessThanOrEqual(
      2e-6 * Math.max(1, Math.abs(want[i]!)),
    ),
  );
};

describe.each(testBackends())('amax and amin on $name', (backend) => {
  beforeAll(() => backend.setup());

  it('of everything, along an axis or a list of axes, with keepdim', async () => {
    const x = tensor([
      [1, 9, -3],
      [7, 2, 8],
    ]);
    expect(await values(amax(x))).toEqual([9]);
    expect(amax(x).shape).toEqual([]);
    expect(await values(amin(x))).toEqual([-3]);
    expect(await values(amax(x, 0))).toEqual([7, 9, 8]);
    expect(await values(amin(x, 1))).toEqual([-3, 2]);
    expect(await values(x.amax(-1))).toEqual([9, 8]);
    expect(amax(x, 1, true).shape).toEqual([2, 1]);
    expect(await values(amin(x, [0, 1], true))).toEqual([-3]);
    expect(amin(x, [0, 1], true).shape).toEqual([1, 1]);
    // Through fused ops, broadcast operands included: the largest of (x - c)^2 per row.
    // formula() prints them as mathjs's max and min of a collection.
    const v = tensor([1, 2], { requiresGrad: true });
    expect(formula(amax(v.mul(2)), { x: v })).toBe('max(x * 2)');
    const c = tensor([[0], [5]]);
    expect(await values(amax(x.sub(c).square(), 1))).toEqual([81, 9]);
  });

  it('NaN anywhere gives NaN; infinities and signed zeros as maximum and minimum take them', async () => {
    for (const at of [0, 2, 4])
      expect(await values(amax(tensor([1, 2, 3, 4, 5].map((v, i) => (i === at ? NaN : v)))))).toEqual([NaN]);
    expect(
      await values(
        amin(
          tensor([
            [1, NaN],
            [2, 3],
          ]),
          1,
        ),
      ),
    ).toEqual([NaN, 2]);
    expect(await values(amax(tensor([-Infinity, -Infinity])))).toEqual([-Infinity]);
    expect(await values(amin(tensor([Infinity, 3e38])))).toEqual([Math.fround(3e38)]);
    // IEEE 754-2019: 0 is above -0 (PyTorch returns whichever comes first).
    expect(Object.is((await values(amax(tensor([-0, 0]))))[0], 0)).toBe(true);
    expect(Object.is((await values(amin(tensor([0, -0]))))[0], -0)).toBe(true);
  });

  it("gradients as PyTorch's: shared evenly by the elements equal to the result, NaN where it is NaN", async () => {
    // Checked against PyTorch 1.13's amax/amin backward.
    let x = tensor([1, 3, 3, 2], { requiresGrad: true });
    amax(x).backward();
    expect(await values(x.grad!)).toEqual([0, 0.5, 0.5, 0]);
    x = tensor([1, 3, 3, NaN], { requiresGrad: true });
    amax(x).backward();
    expect(await values(x.grad!)).toEqual([NaN, NaN, NaN, NaN]);
    const m = tensor(
      [
        [1, 5],
        [4, 2],
      ],
      { requiresGrad: true },
    );
    sum(amin(m, 1)).backward();
    expect(await values(m.grad!)).toEqual([1, 0, 0, 1]);
    // Along an axis a NaN spoils its own row only.
    const r = tensor(
      [
        [1, NaN],
        [2, 3],
      ],
      { requiresGrad: true },
    );
    sum(amax(r, 1)).backward();
    expect(await values(r.grad!)).toEqual([NaN, NaN, 0, 1]);
    const inf = tensor([-Infinity, -Infinity], { requiresGrad: true });
    amax(inf).backward();
    expect(await values(inf.grad!)).toEqual([0.5, 0.5]);
  });

  it('differentiates through what it reduces, to higher order', async () => {
    // d/dx amax(x^3) = 3x^2 at the largest, 0 elsewhere; its derivative 6x there (the choice is constant).
    const f = (t: Tensor): Tensor => amax(t.pow(3));
    const xs = tensor([0.5, -2, 1.5]);
    expect(await values(grad(f)(xs))).toEqual([0, 0, 6.75]);
    // (0 times a negative derivative is -0: compared as numbers.)
    const d2 = await values(grad((t: Tensor) => sum(grad(f)(t)))(xs));
    expect(d2.map((v) => v + 0)).toEqual([0, 0, 9]);
    // A per-row result reduced again: the gradient reaches each row's own largest value.
    const w = tensor([1, -1, 2], { requiresGrad: true, shape: [1, 3] });
    const x = tensor([0.5, 1, -1, 2, 3, 0.25], { shape: [2, 3] });
    sum(amax(x.mul(w), 1)).backward();
    // Rows: [0.5, -1, -2] (largest 0.5 at column 0), [2, -3, 0.5] (2 at column 0).
    expect(await values(w.grad!)).toEqual([2.5, 0, 0]);
  });

  it("softmax, logSoftmax and logsumexp: PyTorch's values and gradients, large values without overflow", async () => {
    // PyTorch 1.13 (float32): the second row's 1000 and 1001 overflow exp unless shifted.
    const rows = [
      [1, 2, 3],
      [1000, 1001, -1000],
    ];
    const w = tensor([
      [0.5, -1, 2],
      [1, 0, 3],
    ]);
    let x = tensor(rows, { requiresGrad: true });
    const s = softmax(x, 1);
    close(await values(s), [0.09003057, 0.24472848, 0.66524094, 0.26894143, 0.7310586, 0]);
    sum(s.mul(w)).backward();
    close(await values(x.grad!), [-0.05678846, -0.52145982, 0.57824826, 0.19661194, -0.19661194, 0]);
    x = tensor(rows, { requiresGrad: true });
    const l = x.logSoftmax(-1);
    close(await values(l), [-2.40760589, -1.40760589, -0.40760595, -1.31326163, -0.31326166, -2001.31323242]);
    sum(l.mul(w)).backward();
    close(await values(x.grad!), [0.36495411, -1.36709273, 1.0021385, -0.07576573, -2.92423439, 3]);
    x = tensor(rows, { requiresGrad: true });
    const e = logsumexp(x, 1);
    expect(e.shape).toEqual([2]);
    close(await values(e), [3.40760589, 1001.31323242]);
    sum(e.mul(tensor([1, 2]))).backward();
    // Twice the second row's softmax; PyTorch's 0.5378986 and 1.4621599 are off by 3e-5 (exp(x - 1001.3132) in
    // float32, from a rounded result).
    close(await values(x.grad!), [0.09003058, 0.24472849, 0.665241, 0.53788284, 1.46211716, 0]);
    expect(logsumexp(x, 0, true).shape).toEqual([1, 3]);
    // Rows of infinities as PyTorch's: log(0) = -Infinity, and an infinite term gives Infinity; NaN stays.
    expect(await values(logsumexp(tensor([-Infinity, -Infinity]), 0))).toEqual([-Infinity]);
    expect(await values(logsumexp(tensor([Infinity, 1]), 0))).toEqual([Infinity]);
    expect(await values(logsumexp(tensor([NaN, 1]), 0))).toEqual([NaN]);
    expect(await values(softmax(tensor([-Infinity, 0]), 0))).toEqual([0, 1]);
    expect(await values(logSoftmax(tensor([-Infinity, 0]), 0))).toEqual([-Infinity, 0]);
    expect(await values(softmax(tensor([-Infinity, -Infinity]), 0))).toEqual([NaN, NaN]);
    // +Infinity in a row: NaN throughout for softmax and logSoftmax, as PyTorch's (only logsumexp shifts by 0).
    expect(await values(softmax(tensor([Infinity, 1]), 0))).toEqual([NaN, NaN]);
    expect(await values(logSoftmax(tensor([Infinity, 1]), 0))).toEqual([NaN, NaN]);
    // logsumexp over a list of axes, as PyTorch's over a tuple of dims.
    close(
      await values(
        logsumexp(
          tensor([
            [1, 2],
            [3, 4],
          ]),
          [0, 1],
        ),
      ),
      [4.44018984],
    );
    expect(() => softmax(tensor([[1, 2]]), [0, 1] as unknown as number)).toThrow(
      "softmax: the axis must be one integer (PyTorch's dim), got [0,1]",
    );
    expect(() => softmax(tensor([1, 2]), undefined as unknown as number)).toThrow(
      "softmax: the axis is required (PyTorch's dim)",
    );
    expect(() => logsumexp(tensor([1, 2]), 1)).toThrow('logsumexp: axis 1 is out of range');
  });

  it("variance and std: PyTorch's values, correction and keepdim, and std's zero gradient where it is 0", async () => {
    const rows = [
      [1, 2, 4],
      [3, 5, 9],
    ];
    // PyTorch 1.13's var and std (unbiased unless correction 0).
    close(await values(variance(tensor(rows))), [8]);
    close(await values(tensor(rows).variance(1)), [2.33333325, 9.33333302]);
    close(await values(variance(tensor(rows), 0, { correction: 0 })), [1, 2.25, 6.25]);
    const s = std(tensor(rows), 1, { keepdim: true });
    expect(s.shape).toEqual([2, 1]);
    close(await values(s), [1.52752519, 3.05505037]);
    let x = tensor(rows, { requiresGrad: true });
    sum(variance(x, 1)).backward();
    close(
      await values(x.grad!),
      [-1.33333325, -0.33333325, 1.66666675, -2.66666651, -0.66666651, 3.33333349],
    );
    x = tensor(rows, { requiresGrad: true });
    std(x).backward();
    close(await values(x.grad!), [-0.21213204, -0.14142136, 0, -0.07071068, 0.07071068, 0.35355341]);
    // One element: no degrees of freedom left, NaN; all equal: 0, with PyTorch's zero gradient (not NaN).
    expect(await values(variance(tensor([5])))).toEqual([NaN]);
    const flat = tensor([1, 1, 1], { requiresGrad: true });
    const sf = std(flat);
    expect(await values(sf)).toEqual([0]);
    sf.backward();
    expect(await values(flat.grad!)).toEqual([0, 0, 0]);
    expect(await values(std(tensor([1, NaN, 2])))).toEqual([NaN]);
    // Equal values whose sum is not exact in float32, n from 3 to 11: the mean (rounded once, as
    // PyTorch's: 5 / 3 is 1.6666666, not 1.6666667) may still be an ulp off, and the variance is 0 all
    // the same, with std's gradient 0.
    expect(await values(mean(tensor([5, 0, 0])))).toEqual([Math.fround(5 / 3)]);
    for (let n = 3; n <= 11; n++) {
      const same = Array.from({ length: 40 }, (_, k) => Array<number>(n).fill(Math.fround(k * 2.37 - 43.1)));
      const t = tensor(same, { requiresGrad: true });
      expect(await values(variance(t, 1)), `n = ${n}`).toEqual(Array<number>(40).fill(0));
      sum(std(t, 1)).backward();
      expect(await values(t.grad!), `n = ${n}`).toEqual(Array<number>(40 * n).fill(0));
    }
    const tenths = tensor([0.1, 0.1, 0.1], { requiresGrad: true });
    expect(await values(variance(tenths))).toEqual([0]);
    // Its second derivatives there are whole: (2 / (n - 1)) (I - 1/n), the first row [2/3, -1/3, -1/3].
    const dv = grad((t: Tensor) => variance(t)) as (t: Tensor) => Tensor;
    const row = grad((t: Tensor) => sum(dv(t).mul(tensor([1, 0, 0])))) as (t: Tensor) => Tensor;
    close(await values(row(tensor([1, 1, 1]))), [2 / 3, -1 / 3, -1 / 3]);
    expect(() => variance(tensor([1, 2]), 0, { unbiased: false } as object)).toThrow(
      "variance: unknown option 'unbiased'; did you mean 'correction'?",
    );
    expect(() => std(tensor([1, 2]), 0, { keepdims: true } as object)).toThrow(
      "std: unknown option 'keepdims'; did you mean 'keepdim'?",
    );
    expect(() => std(tensor([1, 2]), 0, { correction: NaN })).toThrow(
      'std: correction must be a finite number, got NaN',
    ); // A bad axis is named as variance's or std's, not as the mean they take.
    expect(() => variance(tensor([1, 2]), 3)).toThrow(
      'variance: axis 3 is out of range for a tensor of shape [2]',
    );
    expect(() => std(tensor([1, 2]), [0, 0])).toThrow('std: axis 0 appears twice');
    // As the README says: squares of float32 deviations past its range, or their sum past it, are Infinity
    // (PyTorch's double accumulation gives 2.25e38 and 1.41e20), and std's gradient there is 0.
    expect(await values(variance(tensor([1.5e19, -1.5e19, 0])))).toEqual([Infinity]);
    const big = tensor([1e20, -1e20], { requiresGrad: true });
    std(big).backward();
    expect(await values(std(big))).toEqual([Infinity]);
    expect(await values(big.grad!)).toEqual([0, 0]);
  });

  it("the README's argmin idiom: the point of a grid where f is smallest, the mean of tied points", async () => {
    const xs = tensor([-2, -1, 0, 1, 2, 3]);
    // (x - 1)^2 is smallest at x = 1; x^2 (x - 2)^2 at both 0 and 2 (mean 1).
    for (const [y, want] of [
      [xs.sub(1).square(), 1],
      [xs.square().mul(xs.sub(2).square()), 1],
      [xs.sub(2.5).abs(), 2.5],
    ] as const) {
      const at = y.eq(amin(y));
      expect(await sum(xs.mul(at)).div(sum(at)).item()).toBe(want);
    }
  });

  it('bad axes are named as amax and amin errors', () => {
    const x = tensor([1, 2]);
    expect(() => amax(x, 1)).toThrow('amax: axis 1 is out of range for a tensor of shape [2]');
    expect(() => amin(x, [])).toThrow('amin: the list of axes is empty');
    expect(() => amax(x, 0, 1 as unknown as boolean)).toThrow('amax: keepdim must be a boolean, got 1');
  });
});

const adapter = await testAdapter();

describe.skipIf(!adapter)('amax and amin on WebGPU, however the work is split', () => {
  const useGpu = async (webgpu: WebGpuOptions = {}): Promise<void> => {
    const info = await init({ backend: 'webgpu', gpu: testGpu(), webgpu: { cpuBelow: 0, ...webgpu } });
    expect(info.backend).toBe('webgpu');
  };
  // Every split: partials per workgroup or per invocation, one chunk or many (4 KiB bindings: 1024 points).
  const SPLITS: WebGpuOptions[] = [
    { reduce: 'workgroup' },
    { reduce: 'invocation' },
    { reduce: 'workgroup', maxBindingBytes: 4096 },
    { reduce: 'invocation', maxBindingBytes: 4096 },
  ];

  /** Random float32 values in [-1000, 1000), and the same with NaN at `nan` (if given). */
  const data = (n: number, seed: number, nan = -1): Float32Array => {
    const rand = rng(seed);
    const xs = new Float32Array(n).map(() => (rand() - 0.5) * 2000);
    if (nan >= 0) xs[nan] = NaN;
    return xs;
  };
  const most = (xs: ArrayLike<number>, how: 'max' | 'min'): number => {
    let m = how === 'max' ? -Infinity : Infinity;
    for (let i = 0; i < xs.length; i++) m = Math[how](m, xs[i]!);
    return m;
  };

  it('scalar results are exactly the largest and smallest value, in any partial, chunk or mode', async () => {
    const n = 3 * 2 ** 14 + 17;
    for (const webgpu of SPLITS) {
      await useGpu(webgpu);
      // The extreme placed first, last, and inside some later partial.
      for (const at of [0, n - 1, 40_000]) {
        const xs = data(n, at + 1);
        xs[at] = 5000;
        const x = tensor(xs);
        // Through a fused op, so that the reduction is computed from per-point values.
        expect(await values(amax(x.mul(2)))).toEqual([10_000]);
        xs[at] = -5000;
        expect(await values(amin(tensor(xs).mul(2)))).toEqual([-10_000]);
      }
      // All below 0 (and all above): the starting values of the folds must not show through.
      const below = data(n, 5).map((v) => Math.fround(v - 3000));
      expect(await values(amax(tensor(data(n, 5)).sub(3000)))).toEqual([most(below, 'max')]);
      const above = data(n, 6).map((v) => Math.fround(v + 3000));
      expect(await values(amin(tensor(data(n, 6)).add(3000)))).toEqual([most(above, 'min')]);
      expect(await values(amax(tensor(data(n, 7, 40_000)).mul(1)))).toEqual([NaN]);
      expect(await values(amin(tensor(data(n, 8, n - 1)).mul(1)))).toEqual([NaN]);
    }
  });

  it('along an axis: one invocation per element or slices of many points, through chunks', async () => {
    const rows = 3;
    const cols = 20_000;
    const xs = data(rows * cols, 11, 2 * cols + 5);
    // Per row (few elements, many points each: sliced) and per column (many elements, three points each).
    const rowMax = [0, 1, 2].map((r) => most(xs.subarray(r * cols, (r + 1) * cols), 'max'));
    const colMin = Array.from({ length: cols }, (_, c) =>
      most([xs[c]!, xs[cols + c]!, xs[2 * cols + c]!], 'min'),
    );
    for (const webgpu of SPLITS) {
      await useGpu(webgpu);
      const x = tensor(xs, { shape: [rows, cols] });
      expect(await values(amax(x.mul(1), 1))).toEqual(rowMax);
      expect(await values(amin(x.mul(1), 0))).toEqual(colMin);
      // Every value below 0 (above): the folds' starting values must not show through, sliced or not.
      expect(await values(amax(x.sub(5000), 1))).toEqual(
        rowMax.map((v) => (Number.isNaN(v) ? v : Math.fround(v - 5000))),
      );
      expect(await values(amin(x.add(5000), 0))).toEqual(
        colMin.map((v) => (Number.isNaN(v) ? v : Math.fround(v + 5000))),
      );
    }
  });

  it('fuses with the sums and values of the same points: one kernel and its finishing pass', async () => {
    await useGpu();
    const n = 100_000;
    const x = tensor(data(n, 3), { requiresGrad: true });
    // (Arguments of sin within 8192, so that no run is redone with the exact range reduction.)
    const y = x.mul(0.001).sin();
    const [peak, low, total] = [amax(y), amin(y), sum(y)];
    const before = stats();
    const got = await Promise.all([peak.item(), low.item(), total.item()]);
    const d = (k: keyof Stats): number => stats()[k] - before[k];
    expect(d('dispatches')).toBeLessThanOrEqual(2);
    const ys = await y.data();
    expect(got.slice(0, 2)).toEqual([most(ys, 'max'), most(ys, 'min')]);
    expect(Math.abs(got[2]! - ys.reduce((a, b) => a + b, 0))).toBeLessThan(1e-3);
  });
});
