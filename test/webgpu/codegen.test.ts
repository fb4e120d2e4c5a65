// The WGSL generator on its own (no device needed): what a fused kernel's source contains.
import { beforeAll, describe, expect, it } from 'vitest';
import { cos, exp, init, sin, sum, tensor, type Tensor } from '../../src/index.js';
import { mainProgram } from '../../src/backend/webgpu/codegen.js';
import { planKernels } from '../../src/schedule/fuse.js';

/** The main function of the per-point program computing every output of the one kernel of `ts`. */
function mainBody(...ts: Tensor[]): string {
  const kernels = planKernels(
    ts.map((t) => t.node),
    (n) => n.realized,
  );
  expect(kernels).toHaveLength(1);
  const k = kernels[0]!;
  const src = mainProgram(
    k,
    k.outputs.map((_, i) => i),
    [],
  ).source;
  return src.slice(src.indexOf('fn main'));
}

const count = (s: string, re: RegExp): number => s.match(re)?.length ?? 0;

describe('WGSL generation', () => {
  beforeAll(() => init({ backend: 'cpu' }));

  it('sin and cos of one value share one range reduction; of different values they do not', () => {
    const x = tensor(new Float32Array(64), { requiresGrad: true });
    const y = exp(x.pow(2).neg().sub(x.mul(2)).sub(sin(x)));
    sum(y).backward();
    const body = mainBody(y, x.grad!);
    expect(count(body, /wg_sincos\(/g)).toBe(1);
    expect(count(body, /wg_(sin|cos)\(/g)).toBe(0);
    const z = tensor(new Float32Array(64));
    const apart = mainBody(sin(z).add(cos(z.mul(2))));
    expect(count(apart, /wg_sincos\(/g)).toBe(0);
    expect(count(apart, /wg_sin\(/g)).toBe(1);
    expect(count(apart, /wg_cos\(/g)).toBe(1);
  });
});
