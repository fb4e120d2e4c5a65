/** Opens a WebGPU device for webgrad, or says why it cannot. */
import type { AdapterSummary, WebGpuOptions } from '../../init.js';
import type { CpuBackend } from '../cpu.js';
import { isSoftware } from './adapter.js';
import { WebGpuBackend } from './backend.js';
import { inNode } from './idle.js';
import { tuningFor } from './tuning.js';

/** A ready backend, or the reason there is none (`no-webgpu: …`, `no-adapter: …`, `no-device: …`). */
export type WebGpuOpen =
  { backend: WebGpuBackend; adapter: AdapterSummary; cpuBelow: number } | { fallbackReason: string };

// Dawn (the `webgpu` package) crashes the process if the GPU object is collected while a device made from
// it lives, so the one this module creates is kept for the life of the process.
let nodeGpu: GPU | null = null;

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** The GPU of the `webgpu` package in Node, or null where it is not installed or not Node. */
async function gpuFromPackage(): Promise<GPU | string> {
  if (nodeGpu) return nodeGpu;
  if (!inNode()) return 'navigator.gpu is missing and no gpu was passed to init()';
  try {
    // A variable specifier keeps bundlers from resolving the optional Node-only package.
    const name = 'webgpu';
    const mod = (await import(/* @vite-ignore */ name)) as { create(flags: string[]): GPU; globals: object };
    Object.assign(globalThis, mod.globals);
    nodeGpu = mod.create([]);
    return nodeGpu;
  } catch (e) {
    return `navigator.gpu is missing and the optional 'webgpu' package could not be loaded (${message(e)})`;
  }
}

/** Finds a GPU (`gpu`, else navigator.gpu, else the `webgpu` package in Node) and opens a device on it. */
export async function openWebGpu(
  gpu: GPU | undefined,
  opts: WebGpuOptions,
  cpu: CpuBackend,
  onLost: (reason: string) => void = () => {},
): Promise<WebGpuOpen> {
  const found = gpu ?? (globalThis.navigator as Navigator | undefined)?.gpu ?? (await gpuFromPackage());
  if (typeof found === 'string') return { fallbackReason: `no-webgpu: ${found}` };
  let adapter: GPUAdapter | null;
  try {
    adapter = await found.requestAdapter(
      opts.powerPreference ? { powerPreference: opts.powerPreference } : undefined,
    );
  } catch (e) {
    return { fallbackReason: `no-adapter: requestAdapter() failed: ${message(e)}` };
  }
  if (!adapter) return { fallbackReason: 'no-adapter: requestAdapter() found no adapter' };
  const info = adapter.info;
  const software = isSoftware(info);
  const tuning = tuningFor(software, opts);
  const L = adapter.limits;
  const requiredLimits: Record<string, number> = {
    maxStorageBufferBindingSize: L.maxStorageBufferBindingSize,
    maxBufferSize: L.maxBufferSize,
    maxStorageBuffersPerShaderStage: L.maxStorageBuffersPerShaderStage,
    maxComputeWorkgroupsPerDimension: L.maxComputeWorkgroupsPerDimension,
  };
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredLimits });
  } catch (e) {
    return { fallbackReason: `no-device: requestDevice() failed: ${message(e)}` };
  }
  const D = device.limits;
  const maxBindingBytes = Math.min(
    opts.maxBindingBytes ?? D.maxStorageBufferBindingSize,
    D.maxStorageBufferBindingSize,
    D.maxBufferSize,
  );
  const backend = new WebGpuBackend(
    device,
    {
      maxBindingBytes,
      maxBufferSize: D.maxBufferSize,
      maxStorage: D.maxStorageBuffersPerShaderStage,
      maxDim: D.maxComputeWorkgroupsPerDimension,
      storageAlign: D.minStorageBufferOffsetAlignment,
      uniformAlign: D.minUniformBufferOffsetAlignment,
      ...tuning,
    },
    cpu,
    onLost,
  );
  return {
    backend,
    adapter: {
      vendor: info.vendor,
      architecture: info.architecture,
      description: info.description || info.device,
      software,
    },
    cpuBelow: tuning.cpuBelow,
  };
}
