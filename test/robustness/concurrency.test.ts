// Concurrency: evaluations started together each get their own answer, and backward passes on
// separate graphs, interleaved with awaits, never mix their gradients.
import { beforeAll, describe, expect, it } from 'vitest';
import { exp, grad, sin, stats, sum, tensor, type Tensor } from '../../src/index.js';
import { testBackends, webGpuBackends } from '../backends.js';
import { rng } from '../numeric.js';

/**
 * f_k(x) = sin(m·x)·exp(-x²/8) + k with m = 1 + k mod 7: each task's value differs by its offset k, and
 * its gradient by its own random inputs (m stays small: float32 error in sin(m·x) grows as m²).
 */
const mult = (k: number): number => 1 + (k % 7);
const f = (x: Tensor, k: number): Tensor =>
  sin(x.mul(mult(k)))
    .mul(exp(x.mul(x).mul(-0.125)))
    .add(k);
const fRef = (x: number, k: number): number => Math.sin(mult(k) * x) * Math.exp((-x * x) / 8) + k;
/**
 * g_k(x) = x·exp(m·x/4) + k, for the tasks that differentiate: without trigonometry, whose long
 * shader code would make every differently composed batch slow to compile on a software GPU.
 */
const gk = (x: Tensor, k: number): Tensor => x.mul(exp(x.mul(mult(k) / 4))).add(k);
const gRef = (x: number, k: number): number => x * Math.exp((mult(k) * x) / 4) + k;
const dgRef = (x: number, k: number): number => Math.exp((mult(k) * x) / 4) * (1 + (mult(k) * x) / 4);

/** A yield to the event loop, of a random length, so that requests from different tasks interleave. */
const pause = (rand: () => number): Promise<void> =>
  new Promise((r) => (rand() < 0.5 ? queueMicrotask(r) : setTimeout(r, Math.floor(rand() * 3))));

const close = (got: number, want: number, tol: number): boolean =>
  Math.abs(got - want) <= tol * Math.max(1, Math.abs(want));

/**
 * Every backend, and WebGPU once more with its waits nudged as in a browser (each pending read then runs
 * timers of its own that submit to the queue while other tasks submit work).
 */
const backends = [...testBackends(), ...webGpuBackends('webgpu, nudged', { nudgeWhileWaiting: true })];

describe.each(backends)('concurrency on $name', (b) => {
  beforeAll(() => b.setup());
  const tol = 10 * b.rtol;

  it('100 evaluations started at once each get their own answer', async () => {
    const rand = rng(3);
    const inputs = Array.from({ length: 100 }, (_, k) =>
      Float32Array.from({ length: 8 + (k % 5) }, () => Math.fround(-3 + 6 * rand())),
    );
    const results = await Promise.all(inputs.map((xs, k) => f(tensor(xs), k + 1).data()));
    results.forEach((got, k) => {
      expect(got.length).toBe(inputs[k]!.length);
      const bad = Array.from(got).filter((g, i) => !close(g, fRef(inputs[k]![i]!, k + 1), tol));
      expect([k, bad]).toEqual([k, []]);
    });
  });

  it('100 value-and-gradient tasks with awaits in between: no result goes to another task', async () => {
    const rand = rng(4);
    const tasks = Array.from({ length: 100 }, async (_, k) => {
      const xs = Float32Array.from({ length: 16 }, () => Math.fround(-2 + 4 * rand()));
      await pause(rand);
      const x = tensor(xs, { requiresGrad: true });
      const loss = sum(gk(x, k + 1));
      await pause(rand);
      loss.backward();
      await pause(rand);
      const [l, g] = await Promise.all([loss.item(), x.grad!.data()]);
      return { k, xs, l, g };
    });
    for (const { k, xs, l, g } of await Promise.all(tasks)) {
      const want = xs.reduce((s, v) => s + gRef(v, k + 1), 0);
      expect([k, close(l, want, tol)]).toEqual([k, true]);
      const bad = Array.from(g).filter((gi, i) => !close(gi, dgRef(xs[i]!, k + 1), tol));
      expect([k, bad]).toEqual([k, []]);
    }
  });

  it('interleaved backward passes on separate graphs, some sharing a leaf, accumulate only their own', async () => {
    const shared = tensor([0.5, -1.25, 2], { requiresGrad: true });
    const own = Array.from({ length: 20 }, (_, k) => tensor([k * 0.1, 1 - k * 0.05], { requiresGrad: true }));
    const rand = rng(5);
    // Each graph: Σ own_k²·(k+1) + Σ shared·(k+1); run in a shuffled order with awaits in between.
    const order = own.map((_, k) => k).sort(() => rand() - 0.5);
    await Promise.all(
      order.map(async (k) => {
        await pause(rand);
        const loss = sum(own[k]!.mul(own[k]!).mul(k + 1)).add(sum(shared.mul(k + 1)));
        loss.backward();
        await pause(rand);
        await loss.item();
      }),
    );
    const grads = await Promise.all(own.map((t) => t.grad!.data()));
    grads.forEach((g, k) => {
      expect(Array.from(g)).toEqual(
        [2 * (k + 1) * Math.fround(k * 0.1), 2 * (k + 1) * Math.fround(1 - k * 0.05)].map(Math.fround),
      );
    });
    // The shared leaf accumulated every graph's contribution: Σ (k+1) = 210 for each element.
    expect(Array.from(await shared.grad!.data())).toEqual([210, 210, 210]);
  });

  it('grad() of different functions called concurrently keeps each result apart', async () => {
    const xs = [0.3, 1.1, -0.7, 2.2];
    const fs = [
      (x: Tensor) => sum(sin(x)),
      (x: Tensor) => sum(exp(x)),
      (x: Tensor) => sum(x.mul(x).mul(x)),
      (x: Tensor) => sum(sin(x).mul(exp(x))),
    ];
    const refs = [
      (v: number) => Math.cos(v),
      (v: number) => Math.exp(v),
      (v: number) => 3 * v * v,
      (v: number) => Math.exp(v) * (Math.sin(v) + Math.cos(v)),
    ];
    const got = await Promise.all(fs.flatMap((fn) => xs.map((v) => grad(fn)(tensor([v])).data())));
    fs.forEach((_, i) =>
      xs.forEach((v, j) => {
        const g = got[i * xs.length + j]![0]!;
        expect([i, j, close(g, refs[i]!(Math.fround(v)), tol)]).toEqual([i, j, true]);
      }),
    );
  });

  it('waits are nudged where asked for, and only there', async () => {
    // A read long enough to be waited for (2^18 points of sin and exp: milliseconds on a CPU adapter), so
    // that this holds run alone as well as after the tasks above.
    const xs = Float32Array.from({ length: 1 << 18 }, (_, i) => Math.fround(-3 + (6 * i) / (1 << 18)));
    const got = await f(tensor(xs), 1).data();
    expect(close(got[12345]!, fRef(xs[12345]!, 1), tol)).toBe(true);
    if (b.name === 'webgpu, nudged') expect(stats().nudges).toBeGreaterThan(0);
    else expect(stats().nudges).toBe(0);
  });
});
