/** Backend choice: WebGPU when asked for and available, else the CPU, with the reason said. */
// The WebGPU types (GPU, GPUPowerPreference) appear in init()'s options: a program that imports webgrad gets
// them through this reference, whether or not it lists @webgpu/types itself.
/// <reference types="@webgpu/types" preserve="true" />
import { CpuBackend, type CpuOptions } from './backend/cpu.js';
import type { Backend, Stats } from './schedule/backend.js';
import { activeBackend, requested, retireBackend, setBackend } from './schedule/scheduler.js';
import { checkOptions, optionNames, written } from './options.js';

/** Which backend `init` should use. */
export type BackendName = 'auto' | 'webgpu' | 'cpu';

/** The adapter webgrad runs on (from GPUAdapter.info). */
export interface AdapterSummary {
  vendor: string;
  architecture: string;
  description: string;
  /** True for a CPU implementation of WebGPU (SwiftShader, llvmpipe, WARP, or any fallback adapter). */
  software: boolean;
}

/** Options of `init`. */
export interface InitOptions {
  /** 'auto' (default: WebGPU if available, else CPU), 'webgpu' (required: throws without it) or 'cpu'. */
  backend?: BackendName;
  /** A `GPU` object to use instead of `navigator.gpu` (in Node: `create([])` from the `webgpu` package). */
  gpu?: GPU;
  /** CPU backend options. */
  cpu?: CpuOptions;
  /** WebGPU options. */
  webgpu?: WebGpuOptions;
}

/** WebGPU backend options. */
export interface WebGpuOptions {
  /** Largest buffer binding to use, in bytes (default: the device limit); lower it to force chunking. */
  maxBindingBytes?: number;
  /**
   * Work of fewer points than this whose inputs are all on the host runs on the CPU: a GPU round trip
   * (upload, submit, map) costs a fraction of a millisecond to milliseconds, a few points of arithmetic
   * microseconds. Default 256, and 8192 on CPU implementations of WebGPU (SwiftShader, llvmpipe, WARP),
   * where webgrad's CPU backend is the faster way to the same processor for such work. 0 sends
   * everything to the GPU.
   */
  cpuBelow?: number;
  /** Adapter power preference. */
  powerPreference?: GPUPowerPreference;
  /**
   * How scalar sums (gradients of broadcast parameters, losses) are split before their finishing pass:
   * 'workgroup' (a tree in workgroup memory, for GPUs), 'invocation' (a partial per invocation and no
   * barriers, for CPU implementations, where barriers are slow) or 'auto' (default: by the adapter's
   * `software` flag).
   */
  reduce?: 'auto' | 'workgroup' | 'invocation';
  /**
   * Points each invocation of a kernel without sums computes, in consecutive runs of 256 (so loads and
   * stores stay coalesced): an integer from 1 to 256, or 'auto' (default: 1 on a GPU, 32 on a CPU
   * implementation of WebGPU, where every workgroup has a fixed cost).
   */
  pointsPerInvocation?: 'auto' | number;
  /**
   * Sleep through most of a run's expected time (learned from earlier runs of the same kernel) before
   * waiting on the GPU: Dawn in Node polls busily while it waits, which takes a core from a CPU
   * implementation of WebGPU. 'auto' (default): on CPU adapters in Node.
   */
  sleepWhileWaiting?: 'auto' | boolean;
  /**
   * Submit nothing at once and then every millisecond or so (a tenth of the time waited, in long waits)
   * while waiting for a result: a browser delivers finished work when its GPU process next looks at the
   * device, which a submit makes it do. 'auto' (default): in browsers.
   */
  nudgeWhileWaiting?: 'auto' | boolean;
  /**
   * sin, cos and tan with their full range reduction from the start: nothing is redone and realize()
   * resolves at submission, as for kernels without sin, cos or tan. false: a kernel reduces by Cody-Waite
   * alone, exact to |x| = 8192, flags larger arguments and is redone at once where one was met, so that a
   * CPU implementation of WebGPU, which runs every branch, does not pay for the rarely needed reduction at
   * each point; realize() then waits for the flag. 'auto' (default): true on a GPU, false on CPU adapters.
   */
  exactRangeReduction?: 'auto' | boolean;
}

/** What `init` chose. */
export interface InitInfo {
  backend: 'webgpu' | 'cpu';
  adapter?: AdapterSummary;
  /** Why WebGPU is not used, when it was wanted: `no-webgpu`, `no-adapter`, `no-device`, `device-lost`, with detail. */
  fallbackReason?: string;
  /** On WebGPU: work of fewer points than this, with every input on the host, runs on the CPU (`webgpu.cpuBelow`). */
  cpuBelow?: number;
}

const NAMES: readonly BackendName[] = ['auto', 'webgpu', 'cpu'];
const REDUCE_MODES: readonly string[] = ['auto', 'workgroup', 'invocation'];

let current: InitInfo = { backend: 'cpu' };

const INIT_OPTIONS = optionNames<InitOptions>({ backend: true, gpu: true, cpu: true, webgpu: true });
const WEBGPU_OPTIONS = optionNames<WebGpuOptions>({
  maxBindingBytes: true,
  cpuBelow: true,
  powerPreference: true,
  reduce: true,
  pointsPerInvocation: true,
  sleepWhileWaiting: true,
  nudgeWhileWaiting: true,
  exactRangeReduction: true,
});

// Overlapping init() calls: the last one decides (a double click on a backend switch must not leave the
// first choice in place once it finishes opening its device); a call still opening its device when a later
// one starts resolves with the later one's result.
let generation = 0;
let latest: Promise<InitInfo> | null = null;

/** Makes `b` the backend for all later work, retiring the one it replaces (see Backend.retire). */
function switchTo(b: Backend): void {
  const old = activeBackend();
  setBackend(b);
  if (old !== b) retireBackend(old);
}

/**
 * Chooses the backend for all later work. When calls overlap, the last one decides: a call still opening its
 * device when a later one starts resolves with the later one's result (or, if that one fails, with the
 * backend then in use, as backendInfo() gives it).
 */
export async function init(opts: InitOptions = {}): Promise<InitInfo> {
  checkOptions('init()', opts, INIT_OPTIONS);
  checkOptions('init(): webgpu', opts.webgpu, WEBGPU_OPTIONS);
  checkOptions('init(): cpu', opts.cpu, optionNames<CpuOptions>({ jit: true }));
  const name = opts.backend ?? 'auto';
  if (!NAMES.includes(name)) {
    throw new Error(`init(): unknown backend ${JSON.stringify(name)}; expected 'auto', 'webgpu' or 'cpu'`);
  }
  const reduce = opts.webgpu?.reduce;
  if (reduce !== undefined && !REDUCE_MODES.includes(reduce)) {
    throw new Error(
      `init(): unknown webgpu.reduce ${JSON.stringify(reduce)}; expected 'auto', 'workgroup' or 'invocation'`,
    );
  }
  const points = opts.webgpu?.pointsPerInvocation;
  if (
    points !== undefined &&
    points !== 'auto' &&
    !(typeof points === 'number' && Number.isInteger(points) && points >= 1 && points <= 256)
  ) {
    throw new Error(
      `init(): webgpu.pointsPerInvocation must be 'auto' or an integer from 1 to 256, got ${written(points)}`,
    );
  }
  for (const key of ['sleepWhileWaiting', 'nudgeWhileWaiting', 'exactRangeReduction'] as const) {
    const v: unknown = opts.webgpu?.[key];
    if (v !== undefined && v !== 'auto' && typeof v !== 'boolean')
      throw new Error(`init(): webgpu.${key} must be 'auto', true or false, got ${written(v)}`);
  }
  // Checked here whichever backend is asked for: under 'auto' a bad value would otherwise show up as a
  // fallback to the CPU, as if there were no GPU, or send all work there (cpuBelow: NaN).
  const binding: unknown = opts.webgpu?.maxBindingBytes;
  if (binding !== undefined && !(Number.isInteger(binding) && (binding as number) >= 1024))
    throw new Error(
      `init(): webgpu.maxBindingBytes must be an integer of at least 1024, got ${written(binding)}`,
    );
  const below: unknown = opts.webgpu?.cpuBelow;
  if (below !== undefined && !(typeof below === 'number' && below >= 0))
    throw new Error(
      `init(): webgpu.cpuBelow must be a number of points >= 0 (0 sends all work to the GPU), got ${written(below)}`,
    );
  // A `gpu` that is not one would fail inside requestAdapter() and read as a missing adapter.
  const gpu: unknown = opts.gpu;
  if (
    gpu !== undefined &&
    (typeof gpu !== 'object' || gpu === null || typeof (gpu as GPU).requestAdapter !== 'function')
  )
    throw new Error(
      `init(): gpu must be a GPU (navigator.gpu, or create([]) of the webgpu package in Node), got ${written(gpu)}`,
    );
  const power: unknown = opts.webgpu?.powerPreference;
  if (power !== undefined && power !== 'low-power' && power !== 'high-performance')
    throw new Error(
      `init(): webgpu.powerPreference must be 'low-power' or 'high-performance', got ${written(power)}`,
    );
  const jit: unknown = opts.cpu?.jit;
  if (jit !== undefined && typeof jit !== 'boolean')
    throw new Error(`init(): cpu.jit must be true or false, got ${written(jit)}`);
  const gen = ++generation;
  const decided = choose(name, opts, gen);
  latest = decided;
  return decided;
}

/** init()'s work once its options are checked; `gen` tells whether a later init() has started since. */
async function choose(name: BackendName, opts: InitOptions, gen: number): Promise<InitInfo> {
  if (name === 'cpu') {
    switchTo(new CpuBackend(opts.cpu));
    return (current = { backend: 'cpu' });
  }
  const { openWebGpu } = await import('./backend/webgpu/open.js');
  const cpu = new CpuBackend(opts.cpu);
  let backend: Backend | null = null;
  // A lost device hands pending and later work to the CPU; backendInfo() says so.
  const onLost = (reason: string): void => {
    if (activeBackend() !== backend) return;
    setBackend(cpu);
    current = { backend: 'cpu', fallbackReason: `device-lost: ${reason}` };
  };
  const got = await openWebGpu(opts.gpu, opts.webgpu ?? {}, cpu, onLost);
  if (gen !== generation) {
    // A later init() has started while the device opened: its choice stands, and this device is let go.
    if ('backend' in got) got.backend.close();
    // Its error is the later call's to report, not this one's.
    return latest!.then(
      (info) => info,
      () => backendInfo(),
    );
  }
  if ('backend' in got) {
    backend = got.backend;
    switchTo(backend);
    return (current = { backend: 'webgpu', adapter: got.adapter, cpuBelow: got.cpuBelow });
  }
  if (name === 'webgpu')
    throw new Error(`init(): WebGPU was required but is not available: ${got.fallbackReason}`);
  switchTo(cpu);
  return (current = { backend: 'cpu', fallbackReason: got.fallbackReason });
}

/** The backend in use now, as init() reported it, or with `fallbackReason: 'device-lost: …'` after a loss. */
export function backendInfo(): InitInfo {
  return { ...current };
}

/**
 * Resolves once all work submitted to the active backend has finished on the device, as
 * torch.cuda.synchronize(): `realize()` resolves once its kernels are submitted, so timing GPU work that
 * stays on the GPU takes both.
 */
export async function synchronize(): Promise<void> {
  // Work asked for and not yet submitted (a realize() not awaited) is waited for too.
  await requested();
  await activeBackend().sync();
}

/** What the active backend has done so far: dispatches, submits, compiles, bytes moved, live buffers. */
export function stats(): Stats & { backend: 'cpu' | 'webgpu' } {
  const b = activeBackend();
  return { ...b.stats(), backend: b.name };
}
