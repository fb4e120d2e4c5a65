// The WGSL generator on its own (no device needed): what a fused kernel's source contains.
import { beforeAll, describe, expect, it } from 'vitest';
import { clamp, cos, exp, init, sigmoid, sin, softplus, sum, tensor, type Tensor } from '../../src/index.js';
import { preludeFor } from '../../src/backend/webgpu/prelude.js';
import { mainProgram } from '../../src/backend/webgpu/codegen.js';
import { planRun, slicesFor } from '../../src/backend/webgpu/plan.js';
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

  it('sin and cos of one value share one range reduction, sigmoid and its derivative one exponential; of different values they do not', () => {
    const x = tensor(new Float32Array(64), { requiresGrad: true });
    const y = exp(x.pow(2).neg().sub(x.mul(2)).sub(sin(x)));
    sum(y).backward();
    const body = mainBody(y, x.grad!);
    expect(count(body, /wg_sincos\(/g)).toBe(1);
    expect(count(body, /wg_(sin|cos)\(/g)).toBe(0);
    // sigmoid and its derivative of one value: one exponential for both.
    const u = tensor(new Float32Array(64), { requiresGrad: true });
    const s = sigmoid(u);
    sum(s).backward();
    const both = mainBody(s, u.grad!);
    expect(count(both, /wg_sigmoid_d\(/g)).toBe(1);
    expect(count(both, /wg_(d?sigmoid|exp)\(/g)).toBe(0);
    const z = tensor(new Float32Array(64));
    const apart = mainBody(sin(z).add(cos(z.mul(2))));
    expect(count(apart, /wg_sincos\(/g)).toBe(0);
    expect(count(apart, /wg_sin\(/g)).toBe(1);
    expect(count(apart, /wg_cos\(/g)).toBe(1);
  });

  it('constants, scalar operands and what is computed from them alone are read and computed once, ahead of the loop over points', () => {
    const x = tensor(new Float32Array(64));
    const w = tensor(0.5);
    const b = tensor(-1.5);
    const body = mainBody(sigmoid(x.mul(w).add(b.mul(w).add(3))).mul(2));
    const [ahead, loop] = body.split('for (var j = 0u; j < rounds; j++)');
    expect(loop).toBeDefined();
    // w, b, b*w + 3 and both constants ahead; x, the sums with it and sigmoid in the loop.
    expect(count(ahead!, /= sc\[\d\];/g)).toBe(2);
    expect(count(ahead!, /= P\.c\[0\]\.[xy];/g)).toBe(2);
    expect(count(ahead!, /wg_keep\(\(v\d+ \* v\d+\), opaque\)/g)).toBe(1);
    expect(count(ahead!, /wg_keep\(\(v\d+ \+ c\d\), opaque\)/g)).toBe(1);
    expect(loop).not.toMatch(/sc\[|P\.c\[|P\.opaque/);
    expect(count(loop!, /wg_keep\(/g)).toBe(4);
    expect(loop).toMatch(/in0\[p\]/);
    expect(loop).toMatch(/wg_sigmoid\(/);
  });

  it('sin, cos and tan reduce by Cody-Waite alone and flag arguments beyond it, unless the program is exact', () => {
    const x = tensor(new Float32Array(64), { requiresGrad: true });
    const y = sin(x).add(x.tan());
    y.backward(tensor(new Float32Array(64).fill(1)));
    const k = planKernels([y.node, x.grad!.node], (n) => n.realized)[0]!;
    const outs = k.outputs.map((_, i) => i);
    const fast = mainProgram(k, outs, []);
    expect(fast.speculative).toBe(true);
    expect(fast.source).toMatch(/wg__reduce_pio2_fast\(/);
    expect(fast.source).not.toMatch(/wg__reduce_pio2\(|wg__two_over_pi_word/);
    expect(fast.source).toMatch(/if \(wg__beyond\) \{\s*atomicStore\(&beyond\[0\], 1u\);/);
    expect(fast.bindings.at(-1)).toBe('write');
    const exact = mainProgram(k, outs, [], { exact: true });
    expect(exact.speculative).toBe(false);
    expect(exact.source).toMatch(/wg__two_over_pi_word/);
    expect(exact.source).not.toMatch(/wg__reduce_pio2_fast|wg__beyond|beyond\[/);
    expect(exact.bindings).toHaveLength(fast.bindings.length - 1);
    // Nothing to speculate on without them.
    const z = tensor(new Float32Array(64));
    const plain = planKernels([exp(z).node], (n) => n.realized)[0]!;
    expect(mainProgram(plain, [0], []).speculative).toBe(false);
  });

  it('sums of one value, built apart (a loop of backward() calls), share one accumulator written to each slot', () => {
    const x = tensor(new Float32Array(64));
    // Five steps' sums of the same expression: five outputs, one value after sharing, plus another sum.
    const sums = [1, 2, 3, 4, 5].map(() => sum(sin(x.mul(3))));
    const other = sum(cos(x));
    const k = planKernels(
      [...sums, other].map((t) => t.node),
      (n) => n.realized,
    )[0]!;
    expect(k.outputs).toHaveLength(6);
    const reduces = k.outputs.map((_, i) => ({ output: i, slot: i }));
    for (const mode of ['workgroup', 'invocation'] as const) {
      const src = mainProgram(k, [], reduces, { mode }).source;
      // Two accumulators (the sums' value and the other), each sum's slot written.
      expect(src.match(/var r\d+ = /g), mode).toHaveLength(2);
      for (let slot = 0; slot < 6; slot++)
        expect(src, `${mode}: slot ${slot}`).toContain(`part[${slot}u * P.part_stride`);
    }
  });

  it('a sum along axes with few elements over many points is sliced; one with many elements is not', () => {
    expect(slicesFor(3, 1_000_000, 1, 1, 1 << 25)).toBeGreaterThan(1000);
    expect(slicesFor(1000, 37, 1, 1, 1 << 25)).toBe(1);
    // The partials must fit one binding: 3 elements x 88 chunks leave room for 3 slices of 1024 floats.
    expect(slicesFor(3, 30_000, 1, 88, 1024)).toBe(3);
    expect(slicesFor(3, 30_000, 1, 400, 1024)).toBe(1);
    const plan = (shape: number[], wShape: number[]) => {
      const x = tensor(new Float32Array(shape[0]! * shape[1]!), { shape });
      const w = tensor(new Float32Array(wShape[0]! * wShape[1]!), { shape: wShape, requiresGrad: true });
      sum(sin(x.mul(w))).backward();
      const kernels = planKernels([w.grad!.node], (n) => n.realized);
      return planRun(kernels, { chunk: 1 << 22, maxDim: 65535, maxStorage: 8, reduce: 'workgroup' });
    };
    const sliced = plan([100_000, 3], [1, 3]);
    expect(sliced.steps).toHaveLength(2);
    expect(sliced.steps[0]!.program.source).toMatch(/part\[0u \* P\.part_stride \+ at\] = t0;/);
    expect(sliced.steps[1]!.program.source).toMatch(/fn total\(q: u32, o: u32\)/);
    const plain = plan([37, 1000], [1, 1000]);
    expect(plain.steps).toHaveLength(1);
    expect(plain.steps[0]!.program.source).not.toMatch(/part\[/);
    expect(plain.steps[0]!.program.source).toMatch(/out0\[o\] = out0\[o\] \+ t0;/);
  });

  // What a GPU's compiler may do with WGSL's float rules: fold x / x to 1, fuse a product into a later sum,
  // turn a < b ? b : a into max(a, b) (clamp(-0, min 0) = +0) and divide by way of 1 / b (0 beyond
  // |b| = 2^126), each of which npm run fuzz met on an NVIDIA H200, and fold (a + b) - a to b. A CPU
  // implementation does none of these, so that the tests of results cannot see them: these check the
  // guards in the generated source.
  it('keeps a repeated operand, the error terms of exact sums and products, a clamp bound and large divisors from the compiler', () => {
    const x = tensor(new Float32Array(64));
    const c = tensor(3);
    const same = mainBody(x.div(x).add(x.sub(x)).add(c.div(c).mul(x)));
    expect(same).toMatch(/wg_div\((v\d+), wg_keep\(\1, opaque\)\)/);
    expect(same).toMatch(/\((v\d+) - wg_keep\(\1, opaque\)\)/);
    expect(same).toMatch(
      /wg_div\((\w+), wg_keep\(\1, opaque\)\)[\s\S]*wg_div\((\w+), wg_keep\(\2, opaque\)\)/,
    );
    // Different operands stay as written.
    expect(mainBody(x.div(x.add(1)))).not.toMatch(/wg_keep\(v\d+, opaque\)/);
    // The prelude's own guards, and each kernel setting their zero first.
    const pow = mainBody(x.pow(tensor(new Float32Array(64))));
    expect(pow).toMatch(/let opaque = P\.opaque;\s*wg__opaque = opaque;/);
    const fns = preludeFor('wg_pow wg_cos wg_clampmin wg_clampmax wg_div wg_atan2');
    expect(fns).toMatch(/fn wg__two_prod[^}]*let p = wg__kept\(a \* b\);/);
    expect(fns).toMatch(/fn wg__two_sum[^}]*let s = wg__kept\(a \+ b\);\s*let bb = wg__kept\(s - a\);/);
    expect(fns).toMatch(/fn wg__cos_poly[^}]*let w = wg__kept\(1\.0 - hz\);/);
    expect(fns).toMatch(/fn wg_clampmin[^}]*select\(a, wg__kept\(b\), a < b\)/);
    expect(fns).toMatch(/fn wg_clampmax[^}]*select\(a, wg__kept\(b\), a > b\)/);
    expect(preludeFor('wg_relu(v)')).toMatch(/fn wg_relu[^}]*select\(0\.0, wg__kept\(x\), x > 0\.0\)/);
    expect(fns).toMatch(/fn wg_div[^}]*abs\(b\) > 0x1p126f[^}]*wg__kept\(b \* 0\.25\)[^}]*wg__isinf\(b\)/);
    expect(fns).toMatch(/fn wg_atan2[^}]*wg_atan\(wg_div\(ay, ax\)\)/);
    expect(mainBody(softplus(x, 3e38))).toMatch(/wg_div\(wg_softplus\(/);
    // Only what the code calls comes along, not what a comment mentions.
    expect(preludeFor('wg__isnan(v)')).not.toMatch(/fn wg_keep|wg__opaque/);
    expect(preludeFor('wg_clampmax(a, b)')).not.toMatch(/fn wg_clampmin/);
    expect(mainBody(clamp(x, 0, 1))).toMatch(/wg_clampmin\(/);
  });

  it('scalar sums are split per invocation with no barrier, or per workgroup with a tree, as asked', () => {
    const steps = (reduce: 'workgroup' | 'invocation') => {
      const x = tensor(new Float32Array(100_000));
      const w = tensor(0.5, { requiresGrad: true });
      sum(sigmoid(x.mul(w))).backward();
      const kernels = planKernels([w.grad!.node], (n) => n.realized);
      return planRun(kernels, { chunk: 1 << 22, maxDim: 65535, maxStorage: 8, reduce }).steps.map(
        (s) => s.program.source,
      );
    };
    const [perInvocation, narrow] = steps('invocation');
    expect(perInvocation).not.toMatch(/workgroupBarrier/);
    expect(perInvocation).toMatch(/P\.part_base \+ wg \* WG \+ lid\] = r0;/);
    // Its finishing pass is as wide as a CPU's vector unit, where a 256-wide tree's barriers are slow.
    expect(narrow).toMatch(/const WG: u32 = 4u;/);
    const [tree, wide] = steps('workgroup');
    expect(tree).toMatch(/workgroupBarrier/);
    expect(tree).toMatch(/P\.part_base \+ wg\] = sh\[0\];/);
    expect(wide).toMatch(/const WG: u32 = 256u;/);
  });
});
