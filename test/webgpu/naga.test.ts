// Every kind of WGSL program webgrad generates, checked by a second WGSL implementation: naga, the compiler
// of wgpu, whose own revision Firefox's WebGPU carries (here naga-wasm's). The other suites run the programs
// on Dawn, whose compiler (Tint) may accept what another rejects; a browser user on Firefox would meet that
// first. The HLSL, MSL and SPIR-V that naga writes are not compiled further here.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nagaVersion, parseWgsl, validate, writeHlsl, writeMsl, writeSpirv } from 'naga-wasm';
import {
  amax,
  init,
  logsumexp,
  softmax,
  std,
  sum,
  tensor,
  Tensor,
  type WebGpuOptions,
} from '../../src/index.js';
import { apply } from '../../src/ops/build.js';
import { OPS, type OpName } from '../../src/ops/table.js';
import { testAdapter, testGpu } from '../gpu.js';

const adapter = await testAdapter();

/** The program kinds, by the first line of their template (shaders/*.wgsl). */
const KINDS = {
  fused: '// One fused kernel',
  reduce: "// Second pass of a fused kernel's scalar reductions",
  strided: '// Sum along axes',
  stridedFinish: '// Second pass of a sliced sum along axes',
};

/** The tunings whose programs differ: sums by workgroup or invocation, sin/cos/tan reduced in full or not. */
const TUNINGS: WebGpuOptions[] = [
  { reduce: 'workgroup', pointsPerInvocation: 1, exactRangeReduction: true },
  { reduce: 'invocation', pointsPerInvocation: 32, exactRangeReduction: false },
];

/** Runs every table op (value and every gradient, a scalar parameter's included) and the reductions. */
async function runEverything(): Promise<void> {
  const xs = Float32Array.from({ length: 4096 }, (_, i) => 0.1 + (0.8 * i) / 4096);
  for (const name of Object.keys(OPS) as OpName[]) {
    const x = tensor(xs, { requiresGrad: true });
    const y = tensor(
      xs.map((v) => 1 - v),
      { requiresGrad: true },
    );
    const w = tensor(0.5, { requiresGrad: true });
    const row = OPS[name];
    const args = [x.mul(w), y, x].slice(0, row.arity).map((t) => t.node);
    const out = new Tensor(apply(name, args, name === 'powi' ? 9 : name === 'softplus' ? 2 : 0));
    const wrt = [x, y, w];
    if (out.requiresGrad) sum(out).backward();
    await Promise.all([out.data(), ...wrt.filter((t) => t.grad).map((t) => t.grad!.data())]);
  }
  // Sums and extremes along axes (strided programs, sliced where few elements take many points each).
  const m = tensor(xs, { shape: [4, 1024], requiresGrad: true });
  const s = softmax(m, 1);
  sum(s.mul(s)).backward();
  await m.grad!.data();
  const t = tensor(xs, { shape: [4, 1024], requiresGrad: true });
  sum(amax(t.sin(), 1))
    .add(sum(std(t, 1)))
    .backward();
  await Promise.all([t.grad!.data(), logsumexp(t, [0, 1]).data()]);
}

describe.skipIf(!adapter)(
  `generated WGSL is valid to naga ${nagaVersion}, and translates to HLSL, MSL and SPIR-V`,
  () => {
    const sources = new Set<string>();
    const proto = (globalThis as unknown as { GPUDevice: { prototype: GPUDevice } }).GPUDevice.prototype;
    const original = proto.createShaderModule;

    beforeAll(async () => {
      proto.createShaderModule = function (this: GPUDevice, d: GPUShaderModuleDescriptor) {
        sources.add(d.code);
        return original.call(this, d);
      };
      try {
        for (const webgpu of TUNINGS) {
          await init({ backend: 'webgpu', gpu: testGpu(), webgpu: { cpuBelow: 0, ...webgpu } });
          await runEverything();
        }
      } finally {
        proto.createShaderModule = original;
      }
    }, 600_000);

    afterAll(() => init({ backend: 'cpu' }));

    it('every program compiled for every op, gradient, reduction and tuning', () => {
      const kinds = Object.entries(KINDS).map(([kind, head]) => [
        kind,
        [...sources].filter((s) => s.startsWith(head)).length,
      ]);
      // Each kind of program was met (so the check below covers them all), and many fused kernels.
      console.log(
        `naga ${nagaVersion} checked ${sources.size} programs: ${kinds.map(([k, n]) => `${n} ${k}`).join(', ')}`,
      );
      for (const [kind, n] of kinds) expect(n, `${kind} programs`).toBeGreaterThan(0);
      expect(sources.size).toBeGreaterThan(100);
      const rejected: string[] = [];
      for (const code of sources) {
        try {
          // Handles hold WebAssembly memory until freed.
          const module = parseWgsl(code);
          try {
            const info = validate(module);
            try {
              // What wgpu then writes for a platform's API: HLSL for Direct3D 12, MSL for Metal, SPIR-V for
              // Vulkan (with naga-wasm's default options, not necessarily Firefox's).
              writeHlsl(module, info, { shaderModel: '5_1' });
              writeMsl(module, info, { langVersion: [2, 0] });
              writeSpirv(module, info);
            } finally {
              info.free();
            }
          } finally {
            module.free();
          }
        } catch (e) {
          const message = (e as { formatted?: string }).formatted ?? String(e);
          rejected.push(`${message}\n--- in the program beginning\n${code.slice(0, 400)}`);
        }
      }
      expect(rejected.slice(0, 3), `${rejected.length} of ${sources.size} programs rejected`).toEqual([]);
    });
  },
);
