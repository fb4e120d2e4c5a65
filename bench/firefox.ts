// Headless Firefox with WebGPU, as the demo's end-to-end tests launch it: a second browser engine, whose
// WebGPU is wgpu and whose WGSL compiler is naga (Chromium's are Dawn and Tint).

/** The Firefox binary: FIREFOX_PATH, else Debian's ESR. */
export const FIREFOX_PATH = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';

/**
 * Preferences that give headless WebGPU on Linux (Firefox ESR 153): WebGPU itself, and the adapters its
 * blocklist holds back, among them every CPU implementation (SwiftShader, lavapipe) a machine without a
 * GPU has. Without the first there is no navigator.gpu; without the second, no adapter.
 */
export const FIREFOX_PREFS: Record<string, unknown> = {
  'dom.webgpu.enabled': true,
  'gfx.webgpu.ignore-blocklist': true,
};
