// bench:prelude times each of webgrad's WGSL functions against WGSL's builtin of the same name and measures
// both against float64: its two kernels for each function must compile and compute the same thing (the
// builtins' error allowed), and its float64 reference must be the function webgrad computes, or the
// comparison it prints means nothing.
import { beforeAll, describe, expect, it } from 'vitest';
import { compileKernel } from '../../bench/compile.js';
import { FUNCTIONS, kernel, worstError } from '../../bench/prelude.js';
import { testAdapter } from '../gpu.js';

const N = 256;
const CALLS = 2;

let device: GPUDevice | null = null;
beforeAll(async () => {
  device = (await (await testAdapter())?.requestDevice()) ?? null;
});

const XS = new Float32Array(N).map((_, i) => -10 + (20 * i) / N);

/** The kernel's output at the N points XS. */
async function run(d: GPUDevice, code: string): Promise<Float32Array> {
  // Throws with the compiler's messages where the kernel does not compile.
  const pipeline = await compileKernel(d, code, 'bench:prelude kernel');
  const xs = d.createBuffer({ size: N * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
  d.queue.writeBuffer(xs, 0, XS);
  const ys = d.createBuffer({ size: N * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
  const back = d.createBuffer({ size: N * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const entries = [xs, ys].map((buffer, binding) => ({ binding, resource: { buffer } }));
  const enc = d.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, d.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries }));
  pass.dispatchWorkgroups(1);
  pass.end();
  enc.copyBufferToBuffer(ys, 0, back, 0, N * 4);
  d.queue.submit([enc.finish()]);
  await back.mapAsync(GPUMapMode.READ);
  const out = new Float32Array(back.getMappedRange().slice(0));
  for (const b of [xs, ys, back]) b.destroy();
  return out;
}

describe('bench:prelude kernels', () => {
  for (const f of FUNCTIONS) {
    it(`${f.name}: webgrad's kernel computes what the builtin's does`, async (ctx) => {
      if (!device) return ctx.skip();
      const ours = await run(device, kernel(f.webgrad, CALLS, 1));
      expect(ours.every(Number.isFinite), `${f.name} gave a non-finite value`).toBe(true);
      const base = await run(device, kernel(null, CALLS, 1));
      // The kernel adds the function up: it must differ from the sum of its bare arguments.
      expect(ours.some((v, i) => Math.abs(v - base[i]!) > 1e-3)).toBe(true);
      // Its float64 reference is what webgrad computes, to float32 accuracy, with sin, cos and tan reduced
      // by the fast reduction or in full (as webgrad's default on a GPU).
      // (or, counted in float32 ulps, 4 of them: the measure that shows a builtin's tanh near 0 or log
      // near 1 losing its digits).
      for (const exact of [false, true]) {
        const worst = worstError(f, XS, await run(device, kernel(f.webgrad, 1, 1, exact)));
        expect(worst.error).toBeLessThan(3e-7);
        expect(worst.ulps, `${f.name} at ${worst.ulpsAt}`).toBeLessThan(4);
      }
      expect(kernel(f.webgrad, 1, 1, true)).not.toMatch(/wg__reduce_pio2_fast/);
      if (!f.builtin) return;
      const theirs = await run(device, kernel(f.builtin, CALLS, 1));
      for (let i = 0; i < N; i++)
        expect(Math.abs(ours[i]! - theirs[i]!), `${f.name} at point ${i}`).toBeLessThanOrEqual(
          1e-2 * Math.max(1, Math.abs(theirs[i]!)),
        );
    });
  }
});
