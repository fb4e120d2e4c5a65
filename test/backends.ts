// The backends every suite runs on, with the tolerances each is held to.
import { init, type WebGpuOptions } from '../src/index.js';
import type { WebGpuBackend } from '../src/backend/webgpu/backend.js';
import { activeBackend } from '../src/schedule/scheduler.js';
import { testAdapter, testGpu } from './gpu.js';

// Decided once per test file: without an adapter the WebGPU entry is left out, with a warning from
// testAdapter() (or a failure when WEBGRAD_REQUIRE_WEBGPU=1).
const hasWebGpu = (await testAdapter()) !== null;

/** A backend a suite runs on. */
export interface TestBackend {
  /** Label in test names. */
  name: string;
  /** Makes this backend the active one (call in beforeAll). */
  setup(): Promise<void>;
  /** Relative tolerance against a float64 reference for single ops. */
  rtol: number;
  /** Absolute tolerance floor. */
  atol: number;
}

/** CPU with generated JS loops, CPU interpreted (no code generation), and WebGPU where available. */
export function testBackends(): TestBackend[] {
  return [
    { name: 'cpu', setup: async () => void (await init({ backend: 'cpu' })), rtol: 2e-6, atol: 1e-6 },
    {
      name: 'cpu-interp',
      setup: async () => void (await init({ backend: 'cpu', cpu: { jit: false } })),
      rtol: 2e-6,
      atol: 1e-6,
    },
    ...webGpuBackends('webgpu'),
  ];
}

/**
 * The WebGPU backend under `name`, with `webgpu` options besides the suites' own (waits nudged as in a
 * browser, say): one entry where an adapter is there, none otherwise.
 */
export function webGpuBackends(name: string, webgpu: WebGpuOptions = {}): TestBackend[] {
  if (!hasWebGpu) return [];
  return [
    {
      name,
      // cpuBelow 0: every kernel on the GPU, however small (the suites use a few points).
      setup: async () =>
        void (await init({ backend: 'webgpu', gpu: testGpu(), webgpu: { cpuBelow: 0, ...webgpu } })),
      // float32 storage and arithmetic against float64: a few ulp per op through the prelude.
      rtol: 1e-5,
      atol: 1e-6,
    },
  ];
}

/**
 * WebGPU made the active backend for tests of its workings: every run on the device (cpuBelow 0), and sin,
 * cos and tan reduced speculatively, since these tests count the range-reduction flag, its reads and reruns
 * ('auto' would reduce exactly on a GPU); `webgpu` overrides either. Throws where WebGPU does not open.
 */
export async function useWebGpu(webgpu: WebGpuOptions = {}): Promise<WebGpuBackend> {
  const info = await init({
    backend: 'webgpu',
    gpu: testGpu(),
    webgpu: { cpuBelow: 0, exactRangeReduction: false, ...webgpu },
  });
  if (info.backend !== 'webgpu') throw new Error(`expected WebGPU, got ${info.backend}`);
  return activeBackend() as WebGpuBackend;
}
