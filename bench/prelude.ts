// What each of webgrad's WGSL functions (shaders/prelude.wgsl) costs on the adapter, next to WGSL's builtin
// of the same name: nanoseconds per point and call, from kernels that apply one function several times to
// every point of a device-resident array, less a kernel that applies none. Prints a table.
//   npm run bench:prelude -- [--size=22] [--reps=9] [--calls=8]
import { create, globals } from 'webgpu';
import { isSoftware } from '../src/backend/webgpu/adapter.js';
import { preludeFor, WG } from '../src/backend/webgpu/codegen.js';
import { IdleWait } from '../src/backend/webgpu/idle.js';
import { defaultTuning } from '../src/backend/webgpu/open.js';
import { adapterLabel } from './systems/system.js';

/** A function under test: its builtin form (null where WGSL has none) and webgrad's, over an argument `a`. */
interface Fn {
  name: string;
  builtin: ((a: string) => string) | null;
  webgrad: (a: string) => string;
}

/** The prelude's functions; arguments are kept in each function's domain (positive for log, sqrt, pow). */
export const FUNCTIONS: readonly Fn[] = [
  { name: 'exp', builtin: (a) => `exp(${a})`, webgrad: (a) => `wg_exp(${a})` },
  { name: 'log', builtin: (a) => `log(abs(${a}) + 0.5)`, webgrad: (a) => `wg_log(abs(${a}) + 0.5)` },
  { name: 'sin', builtin: (a) => `sin(${a})`, webgrad: (a) => `wg_sin(${a})` },
  { name: 'cos', builtin: (a) => `cos(${a})`, webgrad: (a) => `wg_cos(${a})` },
  { name: 'tan', builtin: (a) => `tan(${a})`, webgrad: (a) => `wg_tan(${a})` },
  { name: 'tanh', builtin: (a) => `tanh(${a})`, webgrad: (a) => `wg_tanh(${a})` },
  { name: 'sigmoid', builtin: (a) => `1.0 / (1.0 + exp(-(${a})))`, webgrad: (a) => `wg_sigmoid(${a})` },
  { name: 'sqrt', builtin: (a) => `sqrt(abs(${a}))`, webgrad: (a) => `wg_sqrt(abs(${a}))` },
  {
    name: 'pow',
    builtin: (a) => `pow(abs(${a}) + 0.5, 1.7)`,
    webgrad: (a) => `wg_pow(abs(${a}) + 0.5, 1.7)`,
  },
  { name: 'relu', builtin: (a) => `max(${a}, 0.0)`, webgrad: (a) => `wg_relu(${a})` },
  {
    name: 'xlogy',
    builtin: (a) => `${a} * log(abs(${a}) + 0.5)`,
    webgrad: (a) => `wg_xlogy(${a}, abs(${a}) + 0.5)`,
  },
  { name: 'powi 9', builtin: null, webgrad: (a) => `wg_powi(${a}, 9u)` },
];

/**
 * A kernel adding up `calls` applications of `f` (to distinct arguments, so that none is shared) at each of
 * its points; `f` null applies nothing (the baseline of loads, stores and the argument arithmetic).
 */
export function kernel(f: ((a: string) => string) | null, calls: number, points: number): string {
  const terms = Array.from({ length: calls }, (_, k) => {
    const a = `(x * 0.5 + ${(0.1 * (k + 1)).toFixed(1)})`;
    return f ? f(a) : a;
  });
  const body = `@group(0) @binding(0) var<storage, read> xs: array<f32>;
@group(0) @binding(1) var<storage, read_write> ys: array<f32>;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  for (var j = 0u; j < ${points}u; j++) {
    let p = (wid.x * ${points}u + j) * ${WG}u + lid;
    let x = xs[p];
    ys[p] = ${terms.join(' + ')};
  }
}
`;
  return `${preludeFor(body, true)}\n${body}`;
}

function option(name: string, fallback: number): number {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  const v = arg ? Number(arg.slice(name.length + 3)) : fallback;
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} takes a positive integer, not ${arg}`);
  return v;
}

async function main(): Promise<void> {
  const size = option('size', 22);
  const reps = option('reps', 9);
  const calls = option('calls', 8);
  Object.assign(globalThis, globals);
  // Kept for the life of the process: Dawn crashes if it is collected while the device lives.
  const gpu = create([]) as GPU;
  (globalThis as { webgradBenchGpu?: GPU }).webgradBenchGpu = gpu;
  const adapter = await gpu.requestAdapter();
  if (!adapter) throw new Error('no WebGPU adapter (VK_ICD_FILENAMES selects SwiftShader without a GPU)');
  const tuning = defaultTuning(isSoftware(adapter.info));
  const idle = new IdleWait(tuning.sleepWhileWaiting);
  const device = await adapter.requestDevice();
  const n = 2 ** size;
  const groups = n / (WG * tuning.points);
  if (!Number.isInteger(groups) || groups > device.limits.maxComputeWorkgroupsPerDimension)
    throw new Error(`--size=${size} does not fit one row of whole workgroups on this device`);
  const xs = device.createBuffer({ size: n * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(
    xs,
    0,
    new Float32Array(n).map((_, i) => -10 + (20 * i) / n),
  );
  const ys = device.createBuffer({ size: n * 4, usage: GPUBufferUsage.STORAGE });

  const compile = async (code: string): Promise<{ pipeline: GPUComputePipeline; group: GPUBindGroup }> => {
    const module = device.createShaderModule({ code });
    const errors = (await module.getCompilationInfo()).messages.filter((m) => m.type === 'error');
    if (errors.length > 0) throw new Error(`${errors.map((e) => e.message).join('; ')}\n${code}`);
    const pipeline = await device.createComputePipelineAsync({
      layout: 'auto',
      compute: { module, entryPoint: 'main' },
    });
    const entries = [xs, ys].map((buffer, binding) => ({ binding, resource: { buffer } }));
    return { pipeline, group: device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries }) };
  };
  const variants = [
    { key: 'none', code: kernel(null, calls, tuning.points) },
    ...FUNCTIONS.flatMap((f) => [
      ...(f.builtin ? [{ key: `${f.name}:builtin`, code: kernel(f.builtin, calls, tuning.points) }] : []),
      { key: `${f.name}:webgrad`, code: kernel(f.webgrad, calls, tuning.points) },
    ]),
  ];
  const compiled = await Promise.all(variants.map((v) => compile(v.code)));
  const times = new Map<string, number[]>(variants.map((v) => [v.key, []]));
  // Round by round, every kernel once, so that a slow spell of the machine touches all alike; the first
  // two rounds warm up.
  for (let r = 0; r < reps + 2; r++) {
    for (const [i, v] of variants.entries()) {
      const { pipeline, group } = compiled[i]!;
      const enc = device.createCommandEncoder();
      const pass = enc.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, group);
      pass.dispatchWorkgroups(groups);
      pass.end();
      device.queue.submit([enc.finish()]);
      const t0 = performance.now();
      await idle.wait(pipeline, n, t0, () => device.queue.onSubmittedWorkDone());
      if (r >= 2) times.get(v.key)!.push(performance.now() - t0);
    }
  }
  const median = (key: string): number => {
    const s = [...times.get(key)!].sort((a, b) => a - b);
    return s[s.length >> 1]!;
  };
  const base = median('none');
  const ns = (key: string): number => ((median(key) - base) * 1e6) / (calls * n);
  console.log(
    `${adapterLabel(adapter.info)}: 2^${size} points, ${calls} calls a point, median of ${reps}; ` +
      `baseline kernel ${base.toFixed(1)} ms`,
  );
  console.table(
    FUNCTIONS.map((f) => {
      const w = ns(`${f.name}:webgrad`);
      const b = f.builtin ? ns(`${f.name}:builtin`) : NaN;
      return {
        function: f.name,
        'builtin ns': f.builtin ? b.toFixed(2) : '–',
        'webgrad ns': w.toFixed(2),
        'webgrad / builtin': f.builtin && b > 0 ? `${(w / b).toFixed(1)}x` : '–',
      };
    }),
  );
  device.destroy();
  process.exit(0);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
