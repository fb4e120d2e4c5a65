// jax-js and TensorFlow.js find WebGPU through `navigator` (jax-js also reads `navigator.userAgent`);
// Node has no such global, so one is provided around the GPU the benchmark uses.

/** Makes `navigator.gpu` (and a `userAgent`) available where the platform lacks them. */
export function provideNavigator(gpu: GPU): void {
  const nav = (globalThis as { navigator?: { gpu?: GPU; userAgent?: string } }).navigator;
  if (nav?.gpu && typeof nav.userAgent === 'string') return;
  const value = {
    userAgent: `Node.js ${typeof process !== 'undefined' ? process.version : ''}`,
    ...nav,
    gpu,
  };
  Object.defineProperty(globalThis, 'navigator', { value, configurable: true, writable: true });
}
