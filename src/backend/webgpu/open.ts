/** Opens a WebGPU device for webgrad, or says why it cannot. */
import type { Backend } from '../../schedule/backend.js';
import type { AdapterSummary, WebGpuOptions } from '../../init.js';
import type { CpuBackend } from '../cpu.js';

/** A ready backend, or the reason there is none (`no-webgpu: …`, `no-adapter: …`, `no-device: …`). */
export type WebGpuOpen = { backend: Backend; adapter: AdapterSummary } | { fallbackReason: string };

/** Finds a GPU (`gpu`, else navigator.gpu, else the `webgpu` package in Node) and opens a device on it. */
export async function openWebGpu(
  gpu: GPU | undefined,
  _opts: WebGpuOptions,
  _cpu: CpuBackend,
): Promise<WebGpuOpen> {
  const g = gpu ?? (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!g) return { fallbackReason: 'no-webgpu: navigator.gpu is missing and no gpu was passed to init()' };
  return { fallbackReason: 'no-device: the WebGPU backend is not available yet' };
}
