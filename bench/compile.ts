/** Compiling the benchmark's own WGSL kernels (hand-written, bench:prelude) with WebGPU's automatic layout. */

/**
 * The pipeline of `code`'s `main` on `device`; a shader that does not compile throws with the compiler's
 * messages and the source, prefixed by `what`.
 */
export async function compileKernel(
  device: GPUDevice,
  code: string,
  what: string,
): Promise<GPUComputePipeline> {
  const module = device.createShaderModule({ code });
  const errors = (await module.getCompilationInfo()).messages.filter((m) => m.type === 'error');
  if (errors.length > 0) throw new Error(`${what}: ${errors.map((e) => e.message).join('; ')}\n${code}`);
  return device.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: 'main' } });
}
