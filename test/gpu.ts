// WebGPU for tests in Node: Dawn (the `webgpu` package) on whatever Vulkan driver is present
// (SwiftShader on machines without a GPU). WEBGRAD_REQUIRE_WEBGPU=1 turns a missing adapter into a failure.
import { create, globals } from 'webgpu';

/** True when the run must fail rather than skip without an adapter. */
export const requireWebGpu = process.env.WEBGRAD_REQUIRE_WEBGPU === '1';

// Dawn crashes the process if the GPU object is garbage-collected while its devices live: keep it here forever.
let gpu: GPU | null = null;
let adapterPromise: Promise<GPUAdapter | null> | null = null;

/** The process-wide `GPU` object (Dawn), created once and never released. */
export function testGpu(): GPU {
  if (!gpu) {
    Object.assign(globalThis, globals);
    gpu = create([]) as GPU;
  }
  return gpu;
}

/** The adapter tests run on, or null (throwing instead when WEBGRAD_REQUIRE_WEBGPU=1); logs what it found. */
export function testAdapter(): Promise<GPUAdapter | null> {
  adapterPromise ??= (async () => {
    const adapter = await testGpu().requestAdapter();
    if (!adapter) {
      const msg =
        'no WebGPU adapter (set VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json for SwiftShader)';
      if (requireWebGpu) throw new Error(`WEBGRAD_REQUIRE_WEBGPU=1 but ${msg}`);
      console.warn(`skipping WebGPU suites: ${msg}`);
      return null;
    }
    const i = adapter.info;
    console.log(`WebGPU adapter: ${i.vendor} | ${i.architecture} | ${i.description || i.device}`);
    return adapter;
  })();
  return adapterPromise;
}
