/** What kind of adapter webgrad runs on; its own module so that bundles can read it without loading the backend. */

/** True for a CPU implementation of WebGPU: flagged as a fallback adapter, or known by name. */
export function isSoftware(info: GPUAdapterInfo): boolean {
  const flagged = (info as { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  const named = /swiftshader|llvmpipe|lavapipe|microsoft basic render|warp/i.test(
    [info.vendor, info.architecture, info.device, info.description].join(' '),
  );
  return flagged || named;
}
