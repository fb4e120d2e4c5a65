// Bad input gives an error that names the problem, and leaves earlier tensors intact.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  add,
  arange,
  formula,
  grad,
  init,
  linspace,
  mul,
  opNames,
  rand,
  sub,
  sum,
  Tensor,
  tensor,
  zeros,
  type TensorData,
} from '../src/index.js';
import * as webgrad from '../src/index.js';
import { OPS, type OpName } from '../src/ops/table.js';
import { testBackends } from './backends.js';

/** A mistake, and what its message must say. */
type Case = [what: string, trigger: () => unknown, message: RegExp];

/** A disposed tensor, and one computed from it before it was disposed. */
function disposedPair(): { gone: Tensor; derived: Tensor } {
  const gone = tensor([1, 2]);
  const derived = mul(gone, 2);
  gone.dispose();
  return { gone, derived };
}

const bad = (v: unknown) => v as TensorData;

const CASES: Case[] = [
  ['a string as data', () => tensor(bad('abc')), /data must be a number.*the string "abc"/],
  [
    'undefined inside an array',
    () => tensor(bad([1, undefined])),
    /must be numbers; found undefined at \[1\]/,
  ],
  [
    'a string deep inside arrays',
    () =>
      tensor(
        bad([
          [1, 2],
          [3, 'x'],
        ]),
      ),
    /found the string "x" at \[1\]\[1\]/,
  ],
  [
    'a string as an op operand',
    () => add(tensor(1), bad('x') as number),
    /add: expected a Tensor or a number, got string/,
  ],
  ['ragged rows', () => tensor([[1, 2], [3]]), /ragged data: the array at \[1\] has length 1, expected 2/],
  ['a number where a row was expected', () => tensor(bad([[1, 2], 3])), /ragged data: number 3 at \[1\]/],
  [
    'a row where a number was expected',
    () => tensor(bad([1, [2]])),
    /ragged data: an array at \[1\] where a number/,
  ],
  [
    'a shape option of the wrong size',
    () => tensor([1, 2, 3], { shape: [2, 2] }),
    /shape \[2,2\] has 4 elements but the data has 3/,
  ],
  [
    'a copy option that is not a boolean',
    () => tensor([1, 2], { copy: bad('no') as unknown as boolean }),
    /tensor\(\): copy must be a boolean, got string/,
  ],
  [
    'shapes that do not broadcast',
    () => add(tensor([1, 2, 3]), tensor([1, 2])),
    /add: shapes \[3\] and \[2\] cannot be broadcast/,
  ],
  [
    'matrices that do not broadcast',
    () =>
      mul(
        tensor([
          [1, 2, 3],
          [4, 5, 6],
        ]),
        tensor([
          [1, 2],
          [3, 4],
          [5, 6],
        ]),
      ),
    /mul: shapes \[2,3\] and \[3,2\] cannot be broadcast/,
  ],
  [
    'backward on a non-scalar without gradient',
    () => mul(tensor([1, 2, 3], { requiresGrad: true }), 2).backward(),
    /only for a scalar output.*shape \[3\]/,
  ],
  ['backward where nothing requires grad', () => mul(tensor([1]), 2).backward(), /does not require grad/],
  [
    'backward(gradient) of the wrong shape',
    () => mul(tensor([1, 2, 3], { requiresGrad: true }), 2).backward(tensor([1, 2])),
    /gradient has shape \[2\] but the tensor has shape \[3\]/,
  ],
  [
    'grad of f returning a non-scalar',
    () => grad((x: Tensor) => mul(x, 2))([1, 2]),
    /f must return a scalar.*shape \[2\]/,
  ],
  [
    'grad of f returning a number',
    () => grad((() => 3) as unknown as (x: Tensor) => Tensor)(1),
    /f must return a Tensor.*number 3/,
  ],
  [
    'grad of an async f',
    () => grad((async (x: Tensor) => x) as unknown as (x: Tensor) => Tensor)(1),
    /f must return a Tensor.*Promise/,
  ],
  [
    'argnums out of range',
    () => grad((a: Tensor, c: Tensor) => mul(a, c), [0, 2] as number[])(1, 2),
    /argnum 2 is out of range for 2 arguments/,
  ],
  ['a negative argnum', () => grad((a: Tensor) => a, -1 as number)(1), /argnum -1 is out of range/],
  ['an unknown backend in init', () => init({ backend: 'tpu' as 'cpu' }), /unknown backend "tpu"/],
  [
    "PyTorch's w.requires_grad = true",
    () => void ((tensor(1) as unknown as { requires_grad: boolean }).requires_grad = true),
    /^whether gradients flow to a tensor is fixed when it is made: tensor\(w, \{ requiresGrad: true \}\)/,
  ],
  [
    'setting requiresGrad',
    () => void ((tensor(1) as unknown as { requiresGrad: boolean }).requiresGrad = true),
    /^whether gradients flow to a tensor is fixed when it is made/,
  ],
  [
    "something other than a GPU as init's gpu",
    () => init({ gpu: {} as GPU }),
    /^init\(\): gpu must be a GPU \(navigator.gpu, or create\(\[\]\) of the webgpu package in Node\), got \{\}$/,
  ],
  [
    'JSON.stringify of a tensor',
    () => JSON.stringify({ w: tensor([1, 2]) }),
    /JSON.stringify of Tensor\(shape=\[2\]\): its values are read with await t.data\(\)/,
  ],
  [
    'formula() of the function rather than its result',
    () => formula(((x: Tensor) => x) as unknown as Tensor, {}),
    /t must be a Tensor, got a function: pass what it computes, formula\(f\(x\), \{ x \}\)/,
  ],
  ['item() of several elements', () => tensor([1, 2, 3]).item(), /3 elements \(shape \[3\]\).*exactly one/],
  ['an op on a disposed tensor', () => add(disposedPair().gone, 1), /add: the tensor was disposed/],
  ['reading a disposed tensor', () => disposedPair().gone.data(), /data\(\): the tensor was disposed/],
  [
    'reading what was computed from a disposed tensor',
    () => disposedPair().derived.data(),
    /disposed tensor \(shape \[2\]\)/,
  ],
  [
    'sum over an axis out of range',
    () =>
      sum(
        tensor([
          [1, 2, 3],
          [4, 5, 6],
        ]),
        2,
      ),
    /axis 2 is out of range.*shape \[2,3\]/,
  ],
  [
    'sum over a negative axis out of range',
    () => sum(tensor([[1, 2, 3]]), -3),
    /axis -3 is out of range.*shape \[1,3\]/,
  ],
  [
    "PyTorch's alpha as a third argument of sub",
    () => (sub as (...a: unknown[]) => Tensor)(tensor([10]), tensor([1]), 2),
    /sub\(\): takes 2 arguments, got 3; extra arguments are refused rather than ignored/,
  ],
  [
    "PyTorch's decimals as an argument of the round method",
    () => (tensor([1.25]).round as (d: number) => Tensor)(1),
    /Tensor.round\(\): takes no arguments, got 1/,
  ],
  [
    'a fourth argument of sum',
    () => (sum as (...a: unknown[]) => Tensor)(tensor([1]), 0, true, 1),
    /sum\(\): takes at most 3 arguments, got 4/,
  ],
  [
    "torch.Tensor's constructor",
    () => new (Tensor as unknown as new (d: unknown) => Tensor)([1, 2, 3]),
    /new Tensor\(\) of an array: tensors are made with tensor\(data\)/,
  ],
  [
    "PyTorch's sizes as separate arguments",
    () => (zeros as (...a: unknown[]) => Tensor)(2, 3),
    /zeros\(\): shape must be an array of positive integers, got 2 \(PyTorch's zeros\(2, \.\.\.\) is written zeros\(\[2, \.\.\.\]\) here\)/,
  ],
  [
    'a string as the number of steps',
    () => linspace(0, 1, '5' as unknown as number),
    /linspace\(\): steps must be a positive integer, got "5"/,
  ],
  [
    'a string as the end of a range',
    () => arange('3' as unknown as number),
    /arange\(\): start, end and step must be finite numbers, got 0, "3", 1/,
  ],
  [
    'a string as an argnum',
    () => grad((a: Tensor) => a, '0' as unknown as number)(1),
    /argnums must be integers, got "0"/,
  ],
  [
    'a number as requiresGrad of a maker',
    () => rand([2], { requiresGrad: 1 as unknown as boolean }),
    /rand\(\): requiresGrad must be a boolean, got number/,
  ],
];

describe.each(testBackends())('errors on $name', (b) => {
  beforeAll(() => b.setup());

  it.each(CASES)('%s', async (_, trigger, message) => {
    // One value realized before the mistake and one gradient still pending across it.
    const x = tensor([1, 2, 3], { requiresGrad: true });
    const y = sum(mul(x, x));
    expect(await y.item()).toBe(14);
    y.backward();
    // Sync throws and async rejections alike become a rejection here.
    await expect(Promise.resolve().then(trigger)).rejects.toThrow(message);
    expect(await y.item()).toBe(14);
    expect(Array.from(await x.grad!.data())).toEqual([2, 4, 6]);
    expect(await sum(mul(x, 3)).item()).toBe(18);
  });
});

describe('extra arguments', () => {
  // JavaScript drops arguments a function does not name: PyTorch's keyword arguments passed as extra ones
  // (alpha, rounding_mode, decimals) would be ignored and give another result without a word.
  const api = webgrad as unknown as Record<string, (...a: unknown[]) => Tensor>;
  const most: Record<string, number> = {
    where: 3,
    softplus: 3,
    pow: 2,
    clamp: 3,
    square: 1,
    sum: 3,
    amax: 3,
    amin: 3,
    reshape: 2,
    mean: 3,
    variance: 3,
    std: 3,
    softmax: 2,
    logSoftmax: 2,
    logsumexp: 3,
  };
  const names = [...new Set([...opNames, ...Object.keys(most)])];

  it.each(names)('%s refuses one more argument than it takes, as a function and as a method', (name) => {
    // The ops of the table take their operands (its arity), the others at most what `most` says.
    const n = most[name] ?? OPS[name as OpName].arity;
    const args = Array.from({ length: n + 1 }, () => 1);
    expect(() => api[name]!(tensor([0.5]), ...args.slice(1))).toThrow(
      new RegExp(
        `^${name}\\(\\): takes (at most )?${n} arguments?, got ${n + 1}; extra arguments are refused`,
      ),
    );
    const method = (tensor([0.5]) as unknown as Record<string, (...a: unknown[]) => Tensor>)[name]!;
    expect(() => method.apply(tensor([0.5]), args.slice(1))).toThrow(
      new RegExp(`^Tensor\\.${name}\\(\\): takes (no arguments|(at most )?${n - 1} arguments?), got ${n}`),
    );
  });
});
