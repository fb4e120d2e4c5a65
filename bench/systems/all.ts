// Every benchmarked system, made on one GPU: the same set in Node (Dawn) and in the browser page.
import { handSystem } from './hand.js';
import { jaxSystem } from './jax.js';
import type { System, SystemId } from './system.js';
import { tfjsSystem } from './tfjs.js';
import { webgradSystem } from './webgrad.js';
import type { WebGpuOptions } from '../../src/index.js';

/**
 * Makes the system `id` on `gpu` (webgrad's CPU backend ignores it), webgrad with `webgrad` WebGPU options and
 * the hand kernels tuned as webgrad then is.
 */
export function makeSystem(id: SystemId, gpu: GPU, webgrad: WebGpuOptions = {}): System {
  const make: Record<SystemId, () => System> = {
    webgrad: () => webgradSystem('webgpu', gpu, webgrad),
    hand: () => handSystem(gpu, false, webgrad),
    'hand-acc': () => handSystem(gpu, true, webgrad),
    jax: () => jaxSystem(gpu),
    tfjs: () => tfjsSystem(gpu),
    'webgrad-cpu': () => webgradSystem('cpu'),
  };
  return make[id]();
}
