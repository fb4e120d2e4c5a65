// Bad input across the API: each mistake gives exactly its message, and none corrupts results computed
// before or after it. NaN and ±Inf in data are legal values, not mistakes: they propagate by §5.
import { beforeAll, describe, expect, it } from 'vitest';
import * as wg from '../../src/index.js';
import {
  add,
  checkGrads,
  grad,
  init,
  manualSeed,
  mean,
  mul,
  opNames,
  pow,
  sum,
  tensor,
  valueAndGrad,
  zeros,
  type Tensor,
  type TensorData,
} from '../../src/index.js';
import { testBackends } from '../backends.js';

const bad = <T>(v: unknown): T => v as T;
const disposed = (): Tensor => {
  const t = tensor([1, 2]);
  t.dispose();
  return t;
};
const id = (x: Tensor): Tensor => x;

/** A mistake and its exact message. */
type Case = [what: string, trigger: () => unknown, message: string];

const CASES: Case[] = [
  [
    'null as data',
    () => tensor(bad<TensorData>(null)),
    'tensor(): data must be a number, nested arrays of numbers, a Float32Array or a Float64Array; got null',
  ],
  [
    'a plain object as data',
    () => tensor(bad<TensorData>({})),
    'tensor(): data must be a number, nested arrays of numbers, a Float32Array or a Float64Array; got Object',
  ],
  [
    'a boolean as data',
    () => tensor(bad<TensorData>(true)),
    'tensor(): data must be a number, nested arrays of numbers, a Float32Array or a Float64Array; got boolean true',
  ],
  [
    'an Int32Array as data',
    () => tensor(bad<TensorData>(new Int32Array([1, 2]))),
    'tensor(): data must be a number, nested arrays of numbers, a Float32Array or a Float64Array; got Int32Array',
  ],
  ['an empty array', () => tensor([]), 'tensor(): empty data (shape [0]); tensors need at least one element'],
  [
    'an empty row',
    () => tensor([[]]),
    'tensor(): empty data (shape [1,0]); tensors need at least one element',
  ],
  [
    'an empty Float32Array',
    () => tensor(new Float32Array(0)),
    'tensor(): empty data (shape [0]); tensors need at least one element',
  ],
  [
    'a negative dimension',
    () => tensor([1, 2], { shape: [-1, 2] }),
    'tensor(): shape must be an array of non-negative integers, got [-1,2]',
  ],
  [
    'a fractional dimension',
    () => tensor([1, 2], { shape: [2.5] }),
    'tensor(): shape must be an array of non-negative integers, got [2.5]',
  ],
  [
    'an infinite dimension',
    () => tensor([1], { shape: [Infinity] }),
    'tensor(): shape must be an array of non-negative integers, got [Infinity]',
  ],
  [
    'a string as shape',
    () => tensor([1, 2], { shape: bad<number[]>('ab') }),
    'tensor(): shape must be an array of non-negative integers, got "ab"',
  ],
  [
    'requiresGrad not a boolean',
    () => tensor(1, { requiresGrad: bad<boolean>('yes') }),
    'tensor(): requiresGrad must be a boolean, got string',
  ],
  [
    'an enormous shape for little data',
    () => tensor([1, 2, 3, 4], { shape: [1e6, 1e6] }),
    'tensor(): shape [1000000,1000000] has 1000000000000 elements but the data has 4',
  ],
  [
    'undefined as an operand',
    () => add(tensor([1, 2]), bad<number>(undefined)),
    'add: expected a Tensor or a number, got undefined',
  ],
  [
    'an object as an operand',
    () => mul(tensor([1, 2]), bad<number>({})),
    'mul: expected a Tensor or a number, got object',
  ],
  [
    'a string exponent',
    () => pow(tensor([1, 2]), bad<number>('x')),
    'pow: expected a Tensor or a number, got string',
  ],
  [
    'a fractional axis',
    () => sum(tensor([[1, 2]]), 1.5),
    'sum: axis must be an integer or a list of them, got 1.5',
  ],
  [
    'mean over a missing axis',
    () => mean(tensor([[1, 2]]), 3),
    'mean: axis 3 is out of range for a tensor of shape [1,2]',
  ],
  [
    'backward through a gradient made without createGraph',
    () => {
      const x = tensor(2, { requiresGrad: true });
      x.mul(x).backward();
      x.grad!.backward();
    },
    'backward(): this tensor does not require grad: none of the tensors it was computed from was created with { requiresGrad: true }, or they reach it only through ops that pass no gradient (comparisons, detach)',
  ],
  [
    'backward from a comparison',
    () => sum(tensor([1, 2], { requiresGrad: true }).gt(1)).backward(),
    'backward(): this tensor does not require grad: none of the tensors it was computed from was created with { requiresGrad: true }, or they reach it only through ops that pass no gradient (comparisons, detach)',
  ],
  [
    "softplus with a beta of 0 (PyTorch's second argument)",
    () => wg.softplus(tensor([1, 2]), 0),
    "softplus: beta must be a nonzero number of float32's normal range (1.2e-38 to 3.4e38 in size), got 0",
  ],
  [
    'softplus with a string threshold',
    () => tensor([1, 2]).softplus(1, bad<number>('20')),
    'softplus: threshold must be a number, got "20"',
  ],
  [
    'clamp with a bound of a shape that does not broadcast',
    () => wg.clamp(tensor([0, 1, 2]), null, tensor([1, 2])),
    'clamp: max: shapes [3] and [2] cannot be broadcast together (dimension 0 is 3 vs 2)',
  ],
  [
    'where with a condition of a shape that does not broadcast',
    () => wg.where(tensor([1, 0]), tensor([0, 1, 2]), 0),
    'where(condition, a, b): condition and a: shapes [2] and [3] cannot be broadcast together (dimension 0 is 2 vs 3)',
  ],
  [
    'a string as the backward gradient',
    () => tensor([1, 2], { requiresGrad: true }).mul(2).backward(bad<TensorData>('abc')),
    'backward(gradient): the gradient must be a Tensor, a number or an array of numbers, got a string',
  ],
  [
    'a backward gradient of another rank',
    () =>
      tensor([[1, 2]], { requiresGrad: true })
        .mul(2)
        .backward([1, 2]),
    'backward(gradient): gradient has shape [2] but the tensor has shape [1,2]',
  ],
  [
    'a number assigned to .grad',
    () => (tensor([1, 2], { requiresGrad: true }).grad = bad<Tensor>(0)),
    '.grad can be set to null or a Tensor, not to number 0',
  ],
  [
    'a tensor in JavaScript arithmetic',
    () => bad<number>(tensor(2)) * 2,
    "Tensor(shape=[]) used as a JavaScript number: use its methods or the op functions for arithmetic (x.mul(2), add(x, 1)) and comparisons (x.lt(0), eq(x, y)), and await x.item() or x.data() for its values; in text, + cannot tell it from addition: write `${x}` or String(x) ('loss ' + x is refused)",
  ],
  [
    'a tensor compared with a number',
    () => bad<number>(tensor([1], { requiresGrad: true })) < 1,
    "Tensor(shape=[1], requiresGrad) used as a JavaScript number: use its methods or the op functions for arithmetic (x.mul(2), add(x, 1)) and comparisons (x.lt(0), eq(x, y)), and await x.item() or x.data() for its values; in text, + cannot tell it from addition: write `${x}` or String(x) ('loss ' + x is refused)",
  ],
  [
    'a tensor joined to text with +',
    () => 'loss ' + bad<string>(tensor(2)),
    "Tensor(shape=[]) used as a JavaScript number: use its methods or the op functions for arithmetic (x.mul(2), add(x, 1)) and comparisons (x.lt(0), eq(x, y)), and await x.item() or x.data() for its values; in text, + cannot tell it from addition: write `${x}` or String(x) ('loss ' + x is refused)",
  ],
  [
    'a BigInt seed',
    () => manualSeed(bad<number>(5n)),
    'manualSeed(): the seed must be an integer >= 0, got 5n',
  ],
  [
    'a BigInt in a shape',
    () => zeros(bad<number[]>([2n])),
    'zeros(): shape must be an array of positive integers, got [2n]',
  ],
  [
    'a result larger than an array',
    () =>
      wg
        .zeros([1e5, 1])
        .add(wg.zeros([1, 1e5]))
        .data(),
    'a result of 10000000000 values is more than one array can hold',
  ],
  [
    'undefined assigned to .grad',
    () => (tensor([1, 2], { requiresGrad: true }).grad = bad<Tensor>(undefined)),
    '.grad can be set to null or a Tensor, not to undefined',
  ],
  [
    'a disposed tensor assigned to .grad',
    () => (tensor([1, 2], { requiresGrad: true }).grad = disposed()),
    '.grad: the tensor was disposed',
  ],
  [
    'a .grad of another shape',
    () => (tensor([1, 2], { requiresGrad: true }).grad = tensor([[0], [0]])),
    '.grad: a gradient of shape [2,1] cannot be assigned to a tensor of shape [2]',
  ],
  [
    'backward of a disposed result',
    () => {
      const y = tensor(2, { requiresGrad: true }).mul(3);
      y.dispose();
      y.backward();
    },
    'backward(): the tensor was disposed',
  ],
  ['detach of a disposed tensor', () => disposed().detach(), 'detach(): the tensor was disposed'],
  [
    'retainGrad where nothing requires grad',
    () => tensor([1]).mul(2).retainGrad(),
    'retainGrad(): this tensor does not require grad, so it never gets a gradient',
  ],
  ['item() of a disposed tensor', () => disposed().item(), 'item(): the tensor was disposed'],
  ['realize() of a disposed tensor', () => disposed().realize(), 'realize(): the tensor was disposed'],
  ['sum of a disposed tensor', () => sum(disposed()), 'sum: the tensor was disposed'],
  [
    'mixing a live tensor with one computed from a disposed one',
    () => {
      const a = tensor([1, 2]);
      const b = a.mul(3);
      a.dispose();
      return add(b, tensor([1, 1])).data();
    },
    'a disposed tensor (shape [2]) is used in this computation, directly or to recompute a value computed from it whose own values are gone (freed, or lost with the device)',
  ],
  [
    'item() of a non-scalar gradient',
    () => {
      const x = tensor([1, 2], { requiresGrad: true });
      sum(x.mul(x)).backward();
      return x.grad!.item();
    },
    'item(): the tensor has 2 elements (shape [2]); item() needs exactly one',
  ],
  [
    'grad of a disposed argument',
    () => grad((x: Tensor) => sum(x))(disposed()),
    'grad(f): the tensor was disposed',
  ],
  ['a fractional argnum', () => grad(id, bad<number>(0.5))(1), 'grad(f): argnums must be integers, got 0.5'],
  [
    'an array of tensors as a differentiated argument',
    // The types refuse it (see ops.test.ts); plain JavaScript gets the error.
    () => grad((ps: Tensor[]) => ps[0]!.mul(ps[1]!))(bad<never>([tensor(1), tensor(2)])),
    'grad(f): argument 0 is differentiated but is an array of Tensors: differentiate with respect to each Tensor as an argument of its own (argnums lists several)',
  ],
  [
    'ragged numbers as a differentiated argument',
    () => grad((p: Tensor) => p)(bad<number>([[1, 2], [3]])),
    'grad(f): argument 0: tensor(): ragged data: the array at [1] has length 1, expected 2',
  ],
  [
    'a repeated argnum',
    () => grad((x: Tensor, y: Tensor) => mul(x, y), bad<number[]>([0, 0]))(1, 2),
    'grad(f): argnums [0,0] repeats an index',
  ],
  ['no argnums', () => grad(id, bad<number[]>([]))(1), 'grad(f): argnums is empty'],
  ['grad of a string', () => grad(bad<typeof id>('f')), 'grad(f): f must be a function, got string'],
  [
    'valueAndGrad of a string argument',
    () => valueAndGrad((x: Tensor) => sum(x))(bad<number>('abc')),
    'valueAndGrad(f): argument 0 is differentiated but is string, not a Tensor or numbers',
  ],
  [
    'valueAndGrad of a non-scalar function',
    () =>
      valueAndGrad((x: Tensor) => mul(x, 2))(
        tensor([
          [1, 2],
          [3, 4],
        ]),
      ),
    'valueAndGrad(f): f must return a scalar, but it returned shape [2,2]; for many points use x => sum(f(x))',
  ],
  [
    'checkGrads of order 0',
    () => checkGrads((x: Tensor) => sum(x), [tensor([1])], { order: 0 }),
    'checkGrads: order must be a positive integer, got 0',
  ],
  ['checkGrads without inputs', () => checkGrads((x: Tensor) => sum(x), []), 'checkGrads: no inputs'],
  [
    'checkGrads with its one input not in an array',
    () => checkGrads((x: Tensor) => sum(x), bad<Tensor[]>(3)),
    "checkGrads: inputs must be an array of f's arguments (checkGrads(f, [x]) for f(x)), got 3",
  ],
  [
    'an unknown backend',
    () => init({ backend: bad<'cpu'>('gpu') }),
    `init(): unknown backend "gpu"; expected 'auto', 'webgpu' or 'cpu'`,
  ],
  [
    'an array with an empty slot',
    // eslint-disable-next-line no-sparse-arrays -- the hole is the mistake under test
    () => tensor(bad<TensorData>([1, , 3])),
    'tensor(): the array at the top has an empty slot at index 1',
  ],
  [
    'an array of empty slots',
    () => tensor([[1, 2], new Array<number>(2)]),
    'tensor(): the array at [1] has an empty slot at index 0',
  ],
  [
    "PyTorch's requires_grad",
    () => tensor([1, 2], bad<object>({ requires_grad: true })),
    "tensor(): unknown option 'requires_grad'; did you mean 'requiresGrad'? (options: requiresGrad, shape, copy)",
  ],
  ['null as options', () => tensor(1, bad<object>(null)), 'tensor(): options must be an object, got null'],
  [
    "backward's create_graph",
    () => sum(tensor([1], { requiresGrad: true })).backward(undefined, bad<object>({ create_graph: true })),
    "backward(): unknown option 'create_graph'; did you mean 'createGraph'? (options: createGraph, retainGraph)",
  ],
  [
    'backward options in the gradient slot',
    () => sum(tensor([1], { requiresGrad: true })).backward(bad<TensorData>({ createGraph: true })),
    'backward(gradient): the gradient must be a Tensor, a number or an array of numbers, got an object; options go second: backward(undefined, { createGraph: true })',
  ],
  [
    'an option with two letters swapped',
    () => tensor(1, bad<object>({ shpae: [1] })),
    "tensor(): unknown option 'shpae'; did you mean 'shape'? (options: requiresGrad, shape, copy)",
  ],
  [
    'an unknown init option',
    () => init(bad<object>({ backnd: 'cpu' })),
    "init(): unknown option 'backnd'; did you mean 'backend'? (options: backend, gpu, cpu, webgpu)",
  ],
  [
    'an unknown webgpu option',
    () => init({ backend: 'cpu', webgpu: bad<object>({ cpu_below: 0 }) }),
    "init(): webgpu: unknown option 'cpu_below'; did you mean 'cpuBelow'? (options: maxBindingBytes, cpuBelow, powerPreference, reduce, pointsPerInvocation, sleepWhileWaiting, nudgeWhileWaiting, exactRangeReduction)",
  ],
  ...(
    [
      [
        { webgpu: { cpuBelow: 'x' } },
        'webgpu.cpuBelow must be a number of points >= 0 (0 sends all work to the GPU), got "x"',
      ],
      [
        { webgpu: { cpuBelow: NaN } },
        'webgpu.cpuBelow must be a number of points >= 0 (0 sends all work to the GPU), got NaN',
      ],
      [
        { webgpu: { cpuBelow: -1 } },
        'webgpu.cpuBelow must be a number of points >= 0 (0 sends all work to the GPU), got -1',
      ],
      [
        { webgpu: { maxBindingBytes: 3 } },
        'webgpu.maxBindingBytes must be an integer of at least 1024, got 3',
      ],
      [
        { webgpu: { maxBindingBytes: 4096.5 } },
        'webgpu.maxBindingBytes must be an integer of at least 1024, got 4096.5',
      ],
      [
        { webgpu: { powerPreference: 'fast' } },
        "webgpu.powerPreference must be 'low-power' or 'high-performance', got \"fast\"",
      ],
      [{ cpu: { jit: 'no' } }, 'cpu.jit must be true or false, got "no"'],
    ] as const
  ).map(([opts, msg]): Case => [
    `init(${JSON.stringify(opts)}) under 'auto' (not a fallback to the CPU)`,
    () => init({ backend: 'auto', ...bad<object>(opts) }),
    `init(): ${msg}`,
  ]),
  [
    'a string axis',
    () => sum(tensor([1, 2]), bad<number>('0')),
    'sum: axis must be an integer or a list of them, got "0"',
  ],
  ['mean of a disposed tensor', () => mean(disposed()), 'mean: the tensor was disposed'],
  [
    'checkGrads with eps 0',
    () => checkGrads((x: Tensor) => sum(x), [tensor([1])], { eps: 0 }),
    'checkGrads: eps must be a positive number, got 0',
  ],
  [
    'checkGrads with a NaN tolerance',
    () => checkGrads((x: Tensor) => sum(x), [tensor([1])], { rtol: NaN }),
    'checkGrads: rtol must be a number >= 0, got NaN',
  ],
  [
    'checkGrads with nothing to check',
    () => checkGrads((x: Tensor) => sum(x), [tensor([1, 2])], { directions: 0, perCoordinateMax: 0 }),
    'checkGrads: nothing to check: directions is 0 and the inputs have 2 elements, more than perCoordinateMax (0)',
  ],
  [
    'checkGrads of a non-scalar f',
    () => checkGrads((x: Tensor) => x, [tensor([1, 2])]),
    'checkGrads: f must return a scalar Tensor, got shape [2]',
  ],
  [
    'an unknown checkGrads option',
    () => checkGrads((x: Tensor) => sum(x), [tensor([1])], bad<object>({ tol: 1 })),
    "checkGrads: unknown option 'tol'; did you mean 'rtol'? (options: order, eps, rtol, atol, directions, perCoordinateMax, seed)",
  ],
];

const api = wg as unknown as Record<string, (...args: (Tensor | number)[]) => Tensor>;

describe.each(testBackends())('bad input on $name', (b) => {
  beforeAll(() => b.setup());

  it('has at least 25 cases', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(25);
  });

  it.each(CASES)('%s', async (_, trigger, message) => {
    // A value realized before the mistake, and a gradient left pending across it.
    const x = tensor([1, 2, 3], { requiresGrad: true });
    const y = sum(mul(x, x));
    expect(await y.item()).toBe(14);
    y.backward();
    let err: unknown = null;
    try {
      await trigger();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toBe(message);
    expect(await y.item()).toBe(14);
    expect(Array.from(await x.grad!.data())).toEqual([2, 4, 6]);
    // A fresh computation after the mistake.
    const z = tensor([0.5, -1.5], { requiresGrad: true });
    const w = sum(z.mul(z).mul(z));
    w.backward();
    const [wv, zg] = await Promise.all([w.item(), z.grad!.data()]);
    expect(wv).toBe(0.125 - 3.375);
    expect(Array.from(zg)).toEqual([0.75, 6.75]);
  });

  it('a backward inside the function grad differentiates is legal and both gradients are right', async () => {
    const x = tensor(3, { requiresGrad: true });
    const g = grad((t: Tensor) => {
      const z = t.mul(t);
      z.backward();
      return z;
    })(x);
    expect(await g.item()).toBe(6);
    expect(await x.grad!.item()).toBe(6);
  });

  const COMPARISONS: Record<string, (a: number, b: number) => boolean> = {
    lt: (a, b) => a < b,
    le: (a, b) => a <= b,
    gt: (a, b) => a > b,
    ge: (a, b) => a >= b,
    eq: (a, b) => a === b,
    ne: (a, b) => a !== b,
  };
  // NaN and ±Inf are values: no error, and the results follow §5 of the numerics contract.
  it('NaN in either operand of every public op gives a NaN value there and nowhere else', async () => {
    for (const name of opNames) {
      const fn = api[name]!;
      const unary = name !== 'pow' && fn.length === 1;
      for (const pos of unary ? [0] : [0, 1]) {
        // A second point inside every op's domain (acosh's starts at 1).
        const a = tensor([NaN, name === 'acosh' ? 1.5 : 0.5], { requiresGrad: true });
        const c = tensor([0.75, 0.75], { requiresGrad: true });
        const y = unary ? fn(a) : pos === 0 ? fn(a, c) : fn(c, a);
        const compare = COMPARISONS[name];
        if (compare) {
          // Comparisons are IEEE's (NaN compares false, and unequal) and pass no gradient, as in PyTorch.
          const [p, q] = pos === 0 ? [NaN, 0.75] : [0.75, NaN];
          const [r, t] = pos === 0 ? [0.5, 0.75] : [0.75, 0.5];
          const want = [compare(p, q), compare(r, t)].map(Number);
          expect([name, pos, Array.from(await y.data()), y.requiresGrad]).toEqual([name, pos, want, false]);
          continue;
        }
        sum(y).backward();
        const [v, ga] = await Promise.all([y.data(), a.grad!.data()]);
        expect([name, pos, Number.isNaN(v[0]!)]).toEqual([name, pos, true]);
        // The gradient at the NaN point is NaN where it depends on the value (not for a + c, say);
        // the other point is untouched by its neighbour's NaN.
        expect([name, pos, Number.isFinite(v[1]!), Number.isFinite(ga[1]!)]).toEqual([name, pos, true, true]);
      }
    }
  });

  it('infinities and zeros follow the numerics contract', async () => {
    const inf = Infinity;
    const x = tensor([0, -0, inf, -inf, 1e30, -1e30]);
    const [lg, rec, ex, sg, th, rl, sq] = await Promise.all([
      wg.log(x).data(),
      wg.div(1, x).data(),
      wg.exp(x).data(),
      wg.sigmoid(x).data(),
      wg.tanh(x).data(),
      wg.relu(x).data(),
      wg.sqrt(x).data(),
    ]);
    expect(Array.from(lg)).toEqual([-inf, -inf, inf, NaN, Math.fround(Math.log(1e30)), NaN]);
    expect(Array.from(rec)).toEqual([
      inf,
      -inf,
      0,
      -0,
      Math.fround(1 / Math.fround(1e30)),
      -Math.fround(1 / Math.fround(1e30)),
    ]);
    expect(Array.from(ex)).toEqual([1, 1, inf, 0, inf, 0]);
    expect(Array.from(sg)).toEqual([0.5, 0.5, 1, 0, 1, 0]);
    expect(Array.from(th)).toEqual([0, -0, 1, -1, 1, -1]);
    expect(Array.from(rl)).toEqual([0, 0, inf, 0, Math.fround(1e30), 0]);
    expect(Array.from(sq)).toEqual([0, -0, inf, NaN, Math.fround(1e15), NaN]);
    // Kinks: relu'(0) = abs'(0) = 0, ties split, and pow(x, 2)'(0) is the limit 0; a real power of a negative base is NaN.
    const z = tensor([0, 0], { requiresGrad: true });
    const t = tensor([0, 1], { requiresGrad: true });
    sum(wg.relu(z).add(wg.abs(z)).add(wg.maximum(z, t)).add(pow(z, 2))).backward();
    expect(Array.from(await z.grad!.data())).toEqual([0.5, 0]);
    expect(Array.from(await t.grad!.data())).toEqual([0.5, 1]);
    expect(Array.from(await pow(tensor([-8, 8]), 1 / 3).data())).toEqual([NaN, 2]);
  });
});
