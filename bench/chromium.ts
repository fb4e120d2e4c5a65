// Headless Chromium with WebGPU, as the benchmark and the demo's end-to-end tests launch it.

/** The Chromium binary: CHROMIUM_PATH, else Debian's. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Chromium flags that give headless WebGPU on SwiftShader (Vulkan) from a page on localhost. */
export const CHROMIUM_ARGS = [
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-vulkan=swiftshader',
  '--use-webgpu-adapter=swiftshader',
  '--no-sandbox',
  '--disable-background-networking',
  '--no-first-run',
  '--headless=new',
];
