// Fusion on the CPU: values and gradients of a function come from one generated loop, reductions
// included, and symbolic differentiation stays linear in the size of the graph.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  amax,
  amin,
  exp,
  grad,
  init,
  sigmoid,
  sin,
  tanh,
  stats,
  sum,
  tensor,
  valueAndGrad,
  type Tensor,
} from '../src/index.js';
import { compileSource, constantsOf, interpret, kernelSource } from '../src/backend/cpu-kernel.js';
import { OPS } from '../src/ops/table.js';
import { CpuBackend } from '../src/backend/cpu.js';
import { activeBackend, setBackend } from '../src/schedule/scheduler.js';
import type { Kernel } from '../src/schedule/kernel.js';
import { topoSort } from '../src/graph/node.js';
import { planKernels, storageNode } from '../src/schedule/fuse.js';

const pending = (...ts: Tensor[]) =>
  planKernels(
    ts.map((t) => t.node),
    (n) => n.realized,
  );

/**
 * Runs `src` (k's generated loop) and the interpreter, which computes op by op what the loop computes (the
 * cpu-interp suites check that), on inputs `at(i)`: their outputs must agree to the bit.
 */
function expectAsInterpreted(
  k: Kernel,
  src: string,
  f32: boolean,
  at: (i: number) => number,
  label?: string,
): void {
  const Arr = f32 ? Float32Array : Float64Array;
  const ins = k.inputs.map((inp) => new Arr(inp.node.size).map((_, i) => at(i)));
  const got = k.outputs.map((o) => new Arr(o.node.size));
  const want = k.outputs.map((o) => new Arr(o.node.size));
  compileSource(src)(ins, got, k.size, constantsOf(k, f32));
  interpret(k, f32)(ins, want, k.size);
  got.forEach((g, j) => expect([...g], label).toEqual([...want[j]!]));
}

// Inputs of the loops compared with the interpreter.
const wave = (i: number): number => 1.5 * Math.sin(1.7 * i + 0.3);

describe('CPU fusion', () => {
  beforeAll(() => init({ backend: 'cpu' }));

  it('value and gradient of exp(-x^2-2x-sin x) over many points are one loop, one dispatch', async () => {
    const x = tensor(
      new Float32Array(4096).map((_, i) => i / 1024 - 2),
      { requiresGrad: true },
    );
    const y = exp(x.pow(2).neg().sub(x.mul(2)).sub(sin(x)));
    const loss = sum(y);
    loss.backward();
    const kernels = pending(y, loss, x.grad!);
    expect(kernels).toHaveLength(1);
    expect(kernelSource(kernels[0]!).match(/for \(/g)).toHaveLength(1);
    const before = stats().dispatches;
    const [v, g] = await Promise.all([y.data(), x.grad!.data(), loss.data()]);
    expect(stats().dispatches - before).toBe(1);
    const i = 3000;
    const xi = i / 1024 - 2;
    expect(v[i]).toBeCloseTo(Math.exp(-xi * xi - 2 * xi - Math.sin(xi)), 5);
    expect(g[i]).toBeCloseTo(v[i]! * (-2 * xi - 2 - Math.cos(xi)), 5);
  });

  it('batched sigmoid(w*x+b) with scalar w, b: gradients of w and b are sums fused into the same loop', async () => {
    const x = tensor(new Float32Array(1000).map((_, i) => i / 100 - 5));
    const w = tensor(1, { requiresGrad: true });
    const b = tensor(1, { requiresGrad: true });
    const loss = sum(sigmoid(w.mul(x).add(b)));
    loss.backward();
    expect(pending(loss, w.grad!, b.grad!)).toHaveLength(1);
    const before = stats().dispatches;
    const [gw, gb] = await Promise.all([w.grad!.item(), b.grad!.item()]);
    expect(stats().dispatches - before).toBe(1);
    let rw = 0;
    let rb = 0;
    for (let i = 0; i < 1000; i++) {
      const xi = Math.fround(i / 100 - 5);
      const s = 1 / (1 + Math.exp(-(xi + 1)));
      rw += s * (1 - s) * xi;
      rb += s * (1 - s);
    }
    expect(gw).toBeCloseTo(rw, 3);
    expect(gb).toBeCloseTo(rb, 3);
  });

  it("f' and f'' from nested grad() calls store only the two results, not the inner gradient again", async () => {
    const f = (x: Tensor): Tensor => sum(x.pow(2).mul(sin(x)));
    const d1 = grad(f) as (x: Tensor) => Tensor;
    let inner: Tensor | null = null;
    const d2 = grad((x: Tensor) => {
      inner = d1(x);
      return sum(inner);
    }) as (x: Tensor) => Tensor;
    const x = tensor(new Float32Array(512).map((_, i) => i / 100 - 2.5));
    const g1 = d1(x);
    const g2 = d2(x);
    const [a, b] = await Promise.all([g1.data(), g2.data()]);
    expect(inner!.node.realized).toBe(false);
    const xi = Math.fround(100 / 100 - 2.5);
    expect(a[100]).toBeCloseTo(2 * xi * Math.sin(xi) + xi * xi * Math.cos(xi), 5);
    expect(b[100]).toBeCloseTo(2 * Math.sin(xi) + 4 * xi * Math.cos(xi) - xi * xi * Math.sin(xi), 5);
  });

  /**
   * Runs `body` on a CPU backend that records, per run, the ops its kernels compute, the most any one of
   * them computes, and the outputs they store.
   */
  async function recordRuns(
    body: () => Promise<void>,
  ): Promise<{ ops: number[]; kernelOps: number[]; outputs: number[] }> {
    const ops: number[] = [];
    const kernelOps: number[] = [];
    const outputs: number[] = [];
    const opsOf = (k: Kernel): number => k.values.filter((v) => v.kind === 'op').length;
    const recording = new (class extends CpuBackend {
      override run(kernels: readonly Kernel[]): void {
        ops.push(kernels.reduce((n, k) => n + opsOf(k), 0));
        kernelOps.push(Math.max(...kernels.map(opsOf)));
        outputs.push(kernels.reduce((n, k) => n + k.outputs.length, 0));
        super.run(kernels);
      }
    })();
    const before = activeBackend();
    setBackend(recording);
    try {
      await body();
    } finally {
      setBackend(before);
    }
    return { ops, kernelOps, outputs };
  }

  it('a parameter updated step by step (w = w - lr * g) is stored, not recomputed from its whole history', async () => {
    const losses: number[] = [];
    const { ops } = await recordRuns(async () => {
      const x = tensor(new Float32Array(64).map((_, i) => i / 32 - 1));
      const y = tensor(new Float32Array(64).map((_, i) => (i > 40 ? 1 : 0)));
      const step = valueAndGrad(
        (w: Tensor, b: Tensor) => sum(sigmoid(w.mul(x).add(b)).sub(y).square()),
        [0, 1],
      );
      let w = tensor(0.5);
      let b = tensor(0);
      for (let k = 0; k < 30; k++) {
        const { value, grad: g } = step(w, b);
        losses.push(await value.item());
        w = w.sub(g[0]!.mul(0.05));
        b = b.sub(g[1]!.mul(0.05));
      }
    });
    expect(losses[29]).toBeLessThan(losses[0]!);
    // Each step computes as much as the third did; recomputing the updates from the start would add a
    // few ops per parameter and step.
    expect(ops).toHaveLength(30);
    expect(Math.max(...ops.slice(3))).toBe(ops[2]);
  });

  it("an unrolled loop read at the end computes each step once, not every earlier step's update again", async () => {
    // A vector parameter and a scalar one: each step's scalar gradient is a sum, so step k's kernel is at
    // level k, and w (computed at level k - 1) used to be computed again from w0 at every level.
    const losses: Promise<number>[] = [];
    const { kernelOps } = await recordRuns(async () => {
      const x = tensor(new Float32Array(256).map((_, i) => i / 256 - 0.5));
      const step = valueAndGrad((w: Tensor, c: Tensor) => sum(sigmoid(w.mul(x).add(c)).square()), [0, 1]);
      let w = tensor(new Float32Array(256).fill(0.5));
      let c = tensor(0);
      for (let k = 0; k < 30; k++) {
        const { value, grad: g } = step(w, c);
        losses.push(value.item());
        w = w.sub(g[0]!.mul(1e-3));
        c = c.sub(g[1]!.mul(1e-3));
      }
      await Promise.all(losses);
    });
    expect(kernelOps).toHaveLength(1);
    // About 20 ops a kernel (a step's value and gradients); recomputing the updates made the last ~400.
    expect(kernelOps[0]).toBeLessThan(40);
    const ls = await Promise.all(losses);
    expect(ls[29]).toBeLessThan(ls[0]!);
  });

  it('a loop of backward() calls accumulating .grad stores the last sum only, not every one it replaced', async () => {
    let g: Float32Array | null = null;
    const { outputs } = await recordRuns(async () => {
      const x = tensor(new Float32Array(64).fill(0.5), { requiresGrad: true });
      for (let k = 0; k < 200; k++) sum(x.square()).backward();
      g = await x.grad!.data();
    });
    expect(g![0]).toBe(200);
    expect(outputs).toEqual([1]);
  });

  it('a second identical call compiles nothing', async () => {
    const run = async () => {
      const x = tensor([0.5, 1.5], { requiresGrad: true });
      sum(sin(x).mul(x)).backward();
      return x.grad!.data();
    };
    await run();
    const s0 = stats();
    await run();
    const s1 = stats();
    expect(s1.pipelinesCompiled).toBe(s0.pipelinesCompiled);
    expect(s1.cacheHits).toBeGreaterThan(s0.cacheHits);
  });

  it('kernels that differ only in their constants share one compiled loop, and each gets its own constants', async () => {
    // A swept parameter or a changing learning rate compiled a loop per value.
    const x = tensor([0.5, -1.5, 2]);
    // (Not -0, which add() folds away, nor 1, which mul() does: other graphs.)
    const cs = [
      1.5,
      2,
      0,
      NaN,
      Infinity,
      -Infinity,
      1e-45,
      0.1,
      3.4e38,
      ...Array.from({ length: 40 }, (_, i) => 1.01 + i / 7),
    ];
    const before = stats().pipelinesCompiled;
    for (const c of cs) {
      const got = await x.mul(c).add(c).data();
      // Constants are float32 values, as the tensors' are.
      const f = Math.fround(c);
      [0.5, -1.5, 2].forEach((v, i) =>
        expect(got[i], `c = ${c}, x = ${v}`).toBe(Math.fround(Math.fround(v * f) + f)),
      );
    }
    expect(stats().pipelinesCompiled - before).toBe(1);
  });

  it('batches of other lengths share one compiled loop, each indexed by its own sizes', async () => {
    // A broadcast read's index was written with the batch's sizes: a loop per batch length.
    const w = tensor([1, 10, 100], { shape: [1, 3] });
    const before = stats().pipelinesCompiled;
    for (const n of [2, 5, 7, 64, 3]) {
      const x = tensor(
        Array.from({ length: 3 * n }, (_, i) => i),
        { shape: [n, 3] },
      );
      const got = await sum(x.mul(w), 1).data();
      expect(Array.from(got), `n = ${n}`).toEqual(
        Array.from({ length: n }, (_, r) => 3 * r + 10 * (3 * r + 1) + 100 * (3 * r + 2)),
      );
    }
    expect(stats().pipelinesCompiled - before).toBe(1);
  });

  it('reductions along the last axes, folded in runs of points, give the interpreter`s results bit for bit', () => {
    const specials = [NaN, -0, 0, Infinity, -Infinity, 1e-40, -3e38, 3e38];
    const data = (n: number) =>
      Float32Array.from({ length: n }, (_, i) => (i % 11 === 3 ? specials[i % 8]! : Math.sin(i * 1.7) * 1e3));
    const cases: [number[], number[]][] = [
      [[6, 7], [1]],
      [[4, 5, 6], [2]],
      [
        [4, 5, 6],
        [1, 2],
      ],
      [
        [4, 5, 6],
        [0, 2],
      ], // not a run per element: the plain fold
      [[3, 1, 9], [2]],
    ];
    for (const [shape, axes] of cases)
      for (const reduce of [sum, amax, amin]) {
        const x = tensor(data(shape.reduce((a, b) => a * b, 1)), { shape });
        const [k] = planKernels([reduce(x.mul(1.25), axes, true).node], (n) => n.realized);
        const src = kernelSource(k!);
        expect(src.includes('c0 = at'), `${shape} ${axes}`).toBe(
          axes.at(-1) === shape.length - 1 && axes[0] !== 0,
        );
        const ins = k!.inputs.map((inp) => storageNode(inp.node).host!);
        const got = k!.outputs.map((o) => new Float32Array(o.node.size));
        const want = k!.outputs.map((o) => new Float32Array(o.node.size));
        compileSource(src)(ins, got, k!.size, constantsOf(k!));
        interpret(k!)(ins, want, k!.size);
        got.forEach((g, j) =>
          expect([...g].map(String), `${shape} ${axes}`).toEqual([...want[j]!].map(String)),
        );
      }
  });

  it('a loop reads its sizes as integers, beside float constants, up to 2^31 points', () => {
    // Read as they are from the constants' array, `i % size` was a float modulo: a sum along the first axis
    // ran 8x slower than a loop written by hand.
    const x = tensor(new Float32Array(48), { shape: [16, 3] });
    const [k] = planKernels([sum(x.mul(1.5), 0).node], (n) => n.realized);
    const src = kernelSource(k!);
    const sizes = src.match(/const s\d+ = K\[\d+\]( \| 0)?;/g) ?? [];
    expect(sizes.length).toBeGreaterThan(0);
    for (const line of sizes) expect(line).toMatch(/ \| 0;$/);
    const wide = { ...k!, size: 2 ** 31, domain: [2 ** 29, 4] };
    expect(kernelSource(wide)).not.toMatch(/K\[\d+\] \| 0/);
  });

  it('kernels that differ only in constants or in the shape a broadcast operand is indexed by get their own', async () => {
    // The compiled loops are shared by kernels that differ in these: each must be given its own (a loop
    // that kept the first kernel's constant, or the domain its broadcast index is taken modulo, would give
    // the second computation the first one's results).
    const x23 = tensor(new Float32Array([1, 2, 3, 4, 5, 6]), { shape: [2, 3] });
    const b3 = tensor(new Float32Array([10, 20, 30]), { shape: [1, 3] });
    expect(Array.from(await x23.mul(b3).data())).toEqual([10, 40, 90, 40, 100, 180]);
    const x25 = tensor(new Float32Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), { shape: [2, 5] });
    const b5 = tensor(new Float32Array([1, 2, 3, 4, 5]), { shape: [1, 5] });
    expect(Array.from(await x25.mul(b5).data())).toEqual([1, 4, 9, 16, 25, 6, 14, 24, 36, 50]);
    expect(Array.from(await x23.add(1).data())).toEqual([2, 3, 4, 5, 6, 7]);
    expect(Array.from(await x23.add(2).data())).toEqual([3, 4, 5, 6, 7, 8]);
  });

  it("f' and f'' from separate grad() calls share one load of x and every common subexpression", async () => {
    const f = (x: Tensor) => x.pow(2).mul(sin(x));
    const d1 = (x: Tensor) => grad((t: Tensor) => sum(f(t)))(x);
    const x = tensor([0.5, 1.5, 2.5]);
    const g1 = d1(x);
    const g2 = grad((t: Tensor) => sum(d1(t)))(x);
    const kernels = pending(g1, g2);
    expect(kernels).toHaveLength(1);
    const k = kernels[0]!;
    // Each grad() call wraps x in an identity node of its own: still one input, one sin, one cos.
    expect(k.inputs).toHaveLength(1);
    const count = (op: string) => k.values.filter((v) => v.kind === 'op' && v.op === op).length;
    expect(count('sin')).toBe(1);
    expect(count('cos')).toBe(1);
    expect(count('id')).toBe(0);
    // Reverse mode spells a product of f'' both ways round (2x times cos x, and cos x times 2x): it is
    // computed once.
    const products = k.values.flatMap((v) =>
      v.kind === 'op' && v.op === 'mul' ? [[...v.args].sort().join()] : [],
    );
    expect(new Set(products).size).toBe(products.length);
    const [a, b] = await Promise.all([g1.data(), g2.data()]);
    for (const [i, t] of [0.5, 1.5, 2.5].entries()) {
      expect(a[i]).toBeCloseTo(Math.cos(t) * t * t + 2 * t * Math.sin(t), 5);
      expect(b[i]).toBeCloseTo(-Math.sin(t) * t * t + 4 * t * Math.cos(t) + 2 * Math.sin(t), 5);
    }
  });

  it('gradient graphs of heavily shared graphs grow linearly with depth', async () => {
    const gradSize = (depth: number) => {
      const x = tensor(1.5, { requiresGrad: true });
      let h = x;
      for (let i = 0; i < depth; i++) h = h.add(h).mul(0.5);
      h.backward();
      return { x, size: topoSort([x.grad!.node]).length };
    };
    const small = gradSize(30);
    const large = gradSize(3000);
    // Each level adds a constant number of nodes; a tree expansion would double per level.
    expect(large.size / small.size).toBeLessThan(3000 / 30 + 1);
    expect(large.size).toBeLessThan(20 * 3000);
    expect(await small.x.grad!.item()).toBe(1);
    expect(await large.x.grad!.item()).toBe(1);
  });

  it("a long kernel is generated as several functions of bounded size, with the one loop's results bit for bit", () => {
    // 300 steps of sin, tanh, sigmoid and an affine map, with the gradients of a broadcast [1, 4] weight (a
    // sum along an axis), a scalar (a sum per step) and x read through a broadcast: one kernel of about 1200
    // values. As one function V8 would not optimize it (beyond 60 KB of bytecode), and it ran 7x slower.
    const x = tensor(new Float32Array(8), { requiresGrad: true, shape: [2, 4] });
    const w = tensor(new Float32Array(4), { requiresGrad: true, shape: [1, 4] });
    const c = tensor(0.3, { requiresGrad: true });
    let y = x.mul(w);
    for (let i = 0; i < 300; i++)
      y = [sin(y), tanh(y.mul(c)), sigmoid(y).add(0.25), y.mul(1.0001).add(0.001)][i % 4]!;
    sum(exp(y)).backward();
    const kernels = planKernels([y.node, x.grad!.node, w.grad!.node, c.grad!.node], (n) => n.op === 'leaf');
    const long = kernels.filter((k) => k.values.length > 1000);
    expect(long.length).toBeGreaterThan(0);
    for (const k of long)
      for (const f32 of [true, false]) {
        const src = kernelSource(k, f32);
        const fns = src.split(/^(?:return )?function /m).slice(1);
        expect(fns.length).toBeGreaterThan(2);
        for (const f of fns) expect(f.length).toBeLessThan(40000);
        expectAsInterpreted(k, src, f32, wave);
      }
    // Few values and many outputs (each output's line comes with a declaration): split by outputs too.
    const s = sin(tensor(new Float32Array(64).map((_, i) => Math.sin(i))));
    const [wide] = planKernels(
      Array.from({ length: 1500 }, (_, i) => (i % 2 === 0 ? sum(s) : s.mul(2)).node),
      (n) => n.op === 'leaf',
    );
    const fns = kernelSource(wide!)
      .split(/^(?:return )?function /m)
      .slice(1);
    expect(fns.length).toBeGreaterThan(2);
    for (const f of fns) expect(f.length).toBeLessThan(40000);
    expectAsInterpreted(wide!, kernelSource(wide!), true, Math.cos);
  });

  it('broadcast reads and sums along axes are loops nested over the domain, with the results bit for bit', () => {
    // A dense layer's forward sum and both gradient sums, and reads and folds of every pattern over ranks 2-4:
    // a flat loop divided the point's number by each dimension's size (3x as long as a loop by hand).
    const ramp = (shape: number[], k: number): Tensor =>
      tensor(
        new Float32Array(shape.reduce((a, b) => a * b, 1)).map((_, i) => Math.sin(k * i + 0.3)),
        { shape },
      );
    const cases: [string, () => Tensor[]][] = [
      ['dense forward', () => [sum(ramp([16, 1, 8], 1).mul(ramp([1, 12, 8], 2)), 2)]],
      [
        'dense gradients',
        () => [
          sum(ramp([16, 12, 1], 3).mul(ramp([1, 12, 8], 2)), 1),
          sum(ramp([16, 12, 1], 3).mul(ramp([16, 1, 8], 1)), 0),
        ],
      ],
      [
        'rows and columns',
        () => [amax(ramp([7, 5], 1).add(ramp([7, 1], 2)), 1), amin(ramp([7, 5], 1).mul(ramp([1, 5], 4)), 0)],
      ],
      [
        'rank 4',
        () => [
          sum(exp(ramp([3, 1, 4, 1], 1).mul(ramp([1, 5, 1, 2], 2))), [1, 3]),
          sum(ramp([3, 5, 4, 2], 5).sub(ramp([1, 5, 4, 1], 6)), [0, 2]),
        ],
      ],
      [
        'per point',
        () => [
          tanh(
            ramp([6, 1, 3], 1)
              .add(ramp([1, 4, 1], 2))
              .mul(ramp([6, 4, 3], 7)),
          ),
        ],
      ],
    ];
    for (const [name, make] of cases) {
      const kernels = planKernels(
        make().map((t) => t.node),
        (n) => n.op === 'leaf',
      );
      for (const k of kernels)
        for (const f32 of [true, false]) {
          const src = kernelSource(k, f32);
          expect(src, name).toMatch(/for \(let q0 = 0/);
          expect(src, name).not.toMatch(/Math\.floor\(i/);
          expectAsInterpreted(k, src, f32, wave, name);
        }
    }
  });

  it("every op's generated JS and its CPU formula (the interpreter's) agree to the bit, in float32 and float64", () => {
    const specials = [0, -0, 1, -1, 0.5, -2, 3, 7.25, 1e-30, -1e30, 100, NaN, Infinity, -Infinity];
    const pts = [...specials, ...Array.from({ length: 200 }, (_, i) => 8 * Math.sin(1.3 * i + 0.2))];
    const n = pts.length * specials.length;
    const full = { kind: 'full' } as const;
    for (const [op, row] of Object.entries(OPS))
      for (const param of op === 'powi' ? [2, 3, 5, 8, -4, 9, 13] : [0.5, 2])
        for (const f32 of [true, false]) {
          const Arr = f32 ? Float32Array : Float64Array;
          // Every point against every special value, for each operand.
          const ins = [0, 1, 2].map((j) => {
            const a = new Arr(n);
            for (let i = 0; i < n; i++)
              a[i] =
                j === 0 ? pts[i % pts.length]! : specials[Math.floor(i / pts.length + j) % specials.length]!;
            return a;
          });
          const k = {
            domain: [n],
            size: n,
            level: 0,
            inputs: ins.map((a) => ({ node: { size: a.length }, access: full })),
            values: [
              ...ins.map((_, index) => ({ kind: 'input', index })),
              { kind: 'op', op, args: [0, 1, 2].slice(0, row.arity), p: param },
            ],
            outputs: [{ node: { size: n }, ref: 3, reduce: null, access: full }],
          } as unknown as Kernel;
          const got = [new Arr(n)];
          const want = [new Arr(n)];
          compileSource(kernelSource(k, f32))(ins, got, n, []);
          interpret(k, f32)(ins, want, n);
          const differ = [...got[0]!].findIndex((v, i) => !Object.is(v, want[0]![i]));
          expect(
            differ,
            `${op} p=${param} ${f32 ? 'f32' : 'f64'} at ${ins.map((a) => a[differ]).join(', ')}`,
          ).toBe(-1);
        }
  });

  it('constants fold through broadcasts: a gradient computes no op on constants alone at each point', async () => {
    const x = tensor(
      new Float32Array(64).map((_, i) => i / 16 - 2),
      { requiresGrad: true },
    );
    const y = x.pow(4).mul(8).add(x.pow(3).mul(3)).add(x.pow(2).mul(7)).add(x.mul(6)).add(3);
    sum(y).backward();
    const [k] = pending(y, x.grad!);
    // The gradient's seed is 1 broadcast over the points: 1 * 8, 1 * 3, 1 * 7 and 1 * 6 are folded as the
    // graph is built, not computed per point.
    const onConstants = k!.values.filter(
      (v) => v.kind === 'op' && v.args.every((r) => k!.values[r]!.kind === 'const'),
    );
    expect(onConstants).toEqual([]);
    const [v, g] = await Promise.all([y.data(), x.grad!.data()]);
    const f = Math.fround;
    for (const i of [0, 20, 63]) {
      const t = f(i / 16 - 2);
      expect(v[i]).toBeCloseTo(8 * t ** 4 + 3 * t ** 3 + 7 * t * t + 6 * t + 3, 3);
      expect(g[i]).toBeCloseTo(32 * t ** 3 + 9 * t * t + 14 * t + 6, 3);
    }
    // A folded constant keeps the shape the op would have had: d(6x)/dx is 6 at each of the 64 points.
    x.grad = null;
    sum(x.mul(6)).backward();
    expect(x.grad!.shape).toEqual([64]);
    expect(Array.from(await x.grad!.data())).toEqual(new Array(64).fill(6));
  });

  it('a small value read by every point of a large op is stored at its own shape once that saves much work', async () => {
    // An Adam step's update of a 1 x 32 layer (five ops and a square root) read by a batch of N x 32 points.
    const step = (n: number): [Tensor, Tensor] => {
      const x = tensor(
        new Float32Array(n).map((_, i) => i / n - 0.5),
        { shape: [n, 1] },
      );
      const [p, m, v] = [1, 2, 3].map((s) =>
        tensor(
          new Float32Array(32).map((_, j) => s * (j / 32 + 0.25)),
          { shape: [1, 32] },
        ),
      );
      const w = p!.sub(m!.mul(0.01).div(v!.sqrt().add(1e-8)));
      return [w, tanh(x.mul(w))];
    };
    // 32,768 x 32 points each computing the update again: over a million ops more than once.
    const [w, y] = step(32768);
    const kernels = pending(y);
    expect(kernels.map((k) => k.domain)).toEqual([
      [1, 32],
      [32768, 32],
    ]);
    const big = kernels[1]!;
    expect(big.values.filter((v) => v.kind === 'op').map((v) => v.kind === 'op' && v.op)).toEqual([
      'mul',
      'tanh',
    ]);
    const [wv, yv] = await Promise.all([w.data(), y.data()]);
    for (const [i, j] of [
      [0, 0],
      [20000, 31],
    ] as const)
      expect(yv[i * 32 + j]).toBeCloseTo(Math.tanh((i / 32768 - 0.5) * wv[j]!), 6);
    // A sum of the stored value, of its own shape, is taken by the kernel that stores it (a level later, it
    // would cost another kernel), and a second larger reader reads it too.
    const [w2, y2] = step(32768);
    const z = tensor(new Float32Array(32768).fill(0.5), { shape: [32768, 1] });
    const both = pending(y2, sum(w2), exp(z.mul(w2)));
    expect(both.map((k) => [k.level, k.domain, k.outputs.map((o) => o.reduce)])).toEqual([
      [0, [1, 32], [null, 'sum']],
      [1, [32768, 32], [null, null]],
    ]);
    // At 64 x 32 points another kernel would cost more than it saves: one kernel.
    expect(pending(step(64)[1]).map((k) => k.domain)).toEqual([[64, 32]]);
  });
});
