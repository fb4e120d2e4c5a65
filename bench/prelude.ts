// What each of webgrad's WGSL functions (shaders/prelude.wgsl) costs on the adapter, next to WGSL's builtin
// of the same name: nanoseconds per point and call, from kernels that apply one function several times to
// every point of a device-resident array, less a kernel that applies none; and how far each is from
// float64 over the same points. Prints a table, and with --out writes it to <dir>/<date>-<adapter>-prelude.md.
//   npm run bench:prelude -- [--size=22] [--reps=9] [--calls=8] [--out=bench/results] [--machine=NAME]
import { create, globals } from 'webgpu';
import { isSoftware } from '../src/backend/webgpu/adapter.js';
import { preludeFor, setOpaque } from '../src/backend/webgpu/prelude.js';
import { WG } from '../src/backend/webgpu/program.js';
import { IdleWait } from '../src/backend/webgpu/idle.js';
import { defaultTuning } from '../src/backend/webgpu/tuning.js';
import { compileKernel } from './compile.js';
import { median } from './median.js';
import { adapterSlug, freeStem, table } from './report.js';
import { adapterLabel } from './systems/system.js';
import { POSITIVE, scriptOptions } from '../scripts/options.js';
import { erf } from '../src/ops/erf.js';

/**
 * A function under test: its builtin form (null where WGSL has none) and webgrad's, over an argument `a`,
 * and its float64 value at a float32 argument (with the float32 rounding of the WGSL's inner arithmetic).
 */
interface Fn {
  name: string;
  builtin: ((a: string) => string) | null;
  webgrad: (a: string) => string;
  ref: (a: number) => number;
}

const f32 = Math.fround;
/** |a| + 0.5 as the kernels compute it, in float32. */
const shifted = (a: number): number => f32(Math.abs(a) + 0.5);

/**
 * 0.19 a within [-0.99, 0.99]: an argument for the functions defined inside (-1, 1) (asin, acos, atanh),
 * formed by operations that are correctly rounded on every device (a GPU's division is not, and its
 * error would be counted as the function's).
 */
const unit = (a: string): string => `wg__kept(clamp(${a} * 0.19, -0.99, 0.99))`;
/** unit(a) as the kernels compute it, in float32. */
const unitValue = (a: number): number => Math.min(f32(0.99), Math.max(f32(-0.99), f32(a * f32(0.19))));

/** The prelude's functions; arguments are kept in each function's domain (positive for log, sqrt, pow, inside (-1, 1) for asin, acos, atanh). */
export const FUNCTIONS: readonly Fn[] = [
  { name: 'exp', builtin: (a) => `exp(${a})`, webgrad: (a) => `wg_exp(${a})`, ref: Math.exp },
  { name: 'exp2', builtin: (a) => `exp2(${a})`, webgrad: (a) => `wg_exp2(${a})`, ref: (a) => 2 ** a },
  {
    name: 'log',
    builtin: (a) => `log(wg__kept(abs(${a}) + 0.5))`,
    webgrad: (a) => `wg_log(wg__kept(abs(${a}) + 0.5))`,
    ref: (a) => Math.log(shifted(a)),
  },
  { name: 'sin', builtin: (a) => `sin(${a})`, webgrad: (a) => `wg_sin(${a})`, ref: Math.sin },
  { name: 'cos', builtin: (a) => `cos(${a})`, webgrad: (a) => `wg_cos(${a})`, ref: Math.cos },
  { name: 'tan', builtin: (a) => `tan(${a})`, webgrad: (a) => `wg_tan(${a})`, ref: Math.tan },
  { name: 'tanh', builtin: (a) => `tanh(${a})`, webgrad: (a) => `wg_tanh(${a})`, ref: Math.tanh },
  {
    name: 'log2',
    builtin: (a) => `log2(wg__kept(abs(${a}) + 0.5))`,
    webgrad: (a) => `wg_log2(wg__kept(abs(${a}) + 0.5))`,
    ref: (a) => Math.log2(shifted(a)),
  },
  {
    name: 'log10',
    // WGSL has no log10: what a careful programmer writes instead.
    builtin: (a) => `log(wg__kept(abs(${a}) + 0.5)) * 0.4342944819032518`,
    webgrad: (a) => `wg_log10(wg__kept(abs(${a}) + 0.5))`,
    ref: (a) => Math.log10(shifted(a)),
  },
  {
    name: 'log1p',
    // What a careful programmer writes without a log1p: 1 + a rounds away the low bits of a small a.
    builtin: (a) => `log(1.0 + abs(${a}))`,
    webgrad: (a) => `wg_log1p(abs(${a}))`,
    ref: (a) => Math.log1p(Math.abs(a)),
  },
  { name: 'expm1', builtin: (a) => `exp(${a}) - 1.0`, webgrad: (a) => `wg_expm1(${a})`, ref: Math.expm1 },
  // WGSL has no erf.
  { name: 'erf', builtin: null, webgrad: (a) => `wg_erf(${a})`, ref: erf },
  { name: 'atan', builtin: (a) => `atan(${a})`, webgrad: (a) => `wg_atan(${a})`, ref: Math.atan },
  {
    name: 'asin',
    builtin: (a) => `asin(${unit(a)})`,
    webgrad: (a) => `wg_asin(${unit(a)})`,
    ref: (a) => Math.asin(unitValue(a)),
  },
  {
    name: 'acos',
    builtin: (a) => `acos(${unit(a)})`,
    webgrad: (a) => `wg_acos(${unit(a)})`,
    ref: (a) => Math.acos(unitValue(a)),
  },
  {
    name: 'atan2',
    // The point (1 - a, a) goes through three quadrants and never meets the jump on the negative x axis.
    builtin: (a) => `atan2(${a}, wg__kept(1.0 - ${a}))`,
    webgrad: (a) => `wg_atan2(${a}, wg__kept(1.0 - ${a}))`,
    ref: (a) => Math.atan2(a, f32(1 - a)),
  },
  { name: 'sinh', builtin: (a) => `sinh(${a})`, webgrad: (a) => `wg_sinh(${a})`, ref: Math.sinh },
  { name: 'cosh', builtin: (a) => `cosh(${a})`, webgrad: (a) => `wg_cosh(${a})`, ref: Math.cosh },
  { name: 'asinh', builtin: (a) => `asinh(${a})`, webgrad: (a) => `wg_asinh(${a})`, ref: Math.asinh },
  {
    name: 'acosh',
    builtin: (a) => `acosh(wg__kept(abs(${a}) + 1.0))`,
    webgrad: (a) => `wg_acosh(wg__kept(abs(${a}) + 1.0))`,
    ref: (a) => Math.acosh(f32(Math.abs(a) + 1)),
  },
  {
    name: 'atanh',
    builtin: (a) => `atanh(${unit(a)})`,
    webgrad: (a) => `wg_atanh(${unit(a)})`,
    ref: (a) => Math.atanh(unitValue(a)),
  },
  {
    name: 'sigmoid',
    builtin: (a) => `1.0 / (1.0 + exp(-(${a})))`,
    webgrad: (a) => `wg_sigmoid(${a})`,
    ref: (a) => 1 / (1 + Math.exp(-a)),
  },
  {
    name: 'sqrt',
    builtin: (a) => `sqrt(abs(${a}))`,
    webgrad: (a) => `wg_sqrt(abs(${a}))`,
    ref: (a) => Math.sqrt(Math.abs(a)),
  },
  {
    name: 'pow',
    builtin: (a) => `pow(wg__kept(abs(${a}) + 0.5), 1.7)`,
    webgrad: (a) => `wg_pow(wg__kept(abs(${a}) + 0.5), 1.7)`,
    ref: (a) => Math.pow(shifted(a), f32(1.7)),
  },
  {
    name: 'relu',
    builtin: (a) => `max(${a}, 0.0)`,
    webgrad: (a) => `wg_relu(${a})`,
    ref: (a) => Math.max(a, 0),
  },
  {
    name: 'xlogy',
    builtin: (a) => `${a} * log(wg__kept(abs(${a}) + 0.5))`,
    webgrad: (a) => `wg_xlogy(${a}, wg__kept(abs(${a}) + 0.5))`,
    ref: (a) => a * Math.log(shifted(a)),
  },
  { name: 'powi 9', builtin: null, webgrad: (a) => `wg_powi(${a}, 9u)`, ref: (a) => a ** 9 },
];

/** The argument of a kernel's k-th call (0-based) at input x, as WGSL computes it in float32. */
export const argument = (x: number, k: number): number => f32(x * 0.5 + f32(0.1 * (k + 1)));

/** The spacing of float32 values at |v|, for |v| >= 2^-126. */
export const ulpOf = (v: number): number => 2 ** (Math.floor(Math.log2(Math.abs(Math.fround(v)))) - 23);

/**
 * The worst error of `got` against `f` at the inputs `xs` (one call), relative or absolute where |f| < 1,
 * and the kernel argument where it occurs; and the worst in float32 units in the last place at the float64
 * value (`ulps`, at `ulpsAt`), which the mixed measure hides where a function is near 0 (tanh at small
 * arguments, log near 1); counted where |f| >= 2^-126, as a device may flush results below to 0.
 */
export function worstError(
  f: Fn,
  xs: Float32Array,
  got: Float32Array,
): { error: number; at: number; ulps: number; ulpsAt: number } {
  let worst = { error: 0, at: NaN, ulps: 0, ulpsAt: NaN };
  for (let i = 0; i < xs.length; i++) {
    const a = argument(xs[i]!, 0);
    const ref = f.ref(a);
    const diff = Math.abs(got[i]! - ref);
    const error = diff / Math.max(1, Math.abs(ref));
    // NaN (a wrong special value) counts as the worst of all.
    if (!(error <= worst.error)) worst = { ...worst, error: Number.isNaN(error) ? Infinity : error, at: a };
    const ulps = Math.abs(ref) >= 2 ** -126 || Number.isNaN(diff) ? diff / ulpOf(ref) : 0;
    if (!(ulps <= worst.ulps)) worst = { ...worst, ulps: Number.isNaN(ulps) ? Infinity : ulps, ulpsAt: a };
  }
  return worst;
}

/**
 * A kernel adding up `calls` applications of `f` (to distinct arguments, so that none is shared) at each of
 * its points; `f` null applies nothing (the baseline of loads, stores and the argument arithmetic). sin,
 * cos and tan reduce their arguments as webgrad's kernels do: by the fast reduction, or with `exact` in full
 * (webgrad's default on a GPU).
 */
export function kernel(
  f: ((a: string) => string) | null,
  calls: number,
  points: number,
  exact = false,
): string {
  // Each argument is kept (wg__kept) as webgrad's kernels keep every value: a compiler would otherwise fold
  // the function's own arithmetic into the argument's (acosh(|a| + 1) computed from |a| rather than the
  // rounded |a| + 1 that float64 is given).
  const terms = Array.from({ length: calls }, (_, k) => {
    const a = `wg__kept(x * 0.5 + ${(0.1 * (k + 1)).toFixed(1)})`;
    return f ? f(a) : a;
  });
  const body = `@group(0) @binding(0) var<storage, read> xs: array<f32>;
@group(0) @binding(1) var<storage, read_write> ys: array<f32>;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  {{opaque}}
  for (var j = 0u; j < ${points}u; j++) {
    let p = (wid.x * ${points}u + j) * ${WG}u + lid;
    let x = xs[p];
    ys[p] = ${terms.join(' + ')};
  }
}
`;
  const prelude = preludeFor(body, !exact);
  // 0, as every harness's first point is -10 (bench and test alike); the compiler cannot know it (it knows
  // arrayLength(&xs) >> 31 is 0: a length is a byte size over 4).
  return `${prelude}\n${body.replace('{{opaque}}', setOpaque(prelude, 'u32(xs[0] > 0.0)'))}`;
}

const USAGE = `npm run bench:prelude -- [options]
  --size=22          log2 of the points of each kernel (13 to 28 on SwiftShader, 8 to 24 on most GPUs)
  --reps=9           timed runs of each kernel (the median is reported)
  --calls=8          applications of the function per point in each kernel
  --out=DIR          also write the table to DIR/<date>-<adapter>-prelude.md
  --machine=NAME     name the machine in the file name, where the adapter's info does not`;

async function main(): Promise<void> {
  const given = scriptOptions('npm run bench:prelude', USAGE, {
    size: POSITIVE,
    reps: POSITIVE,
    calls: POSITIVE,
    out: /^.+$/,
    machine: /^.+$/,
  });
  const text = (name: string): string | undefined => given.get(name);
  const size = given.number('size', 22);
  const reps = given.number('reps', 9);
  const calls = given.number('calls', 8);
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
  if (!Number.isInteger(groups) || groups > device.limits.maxComputeWorkgroupsPerDimension) {
    // A mistake in the command, not in the program: said as the other option errors are.
    const lo = Math.log2(WG * tuning.points);
    const hi = Math.floor(Math.log2(WG * tuning.points * device.limits.maxComputeWorkgroupsPerDimension));
    console.error(
      `npm run bench:prelude: --size=${size} does not fit one row of whole workgroups on this device: ${lo} to ${hi} do`,
    );
    process.exit(2);
  }
  const xs = device.createBuffer({ size: n * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
  const host = new Float32Array(n).map((_, i) => -10 + (20 * i) / n);
  device.queue.writeBuffer(xs, 0, host);
  const ys = device.createBuffer({ size: n * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });

  const compile = async (code: string): Promise<{ pipeline: GPUComputePipeline; group: GPUBindGroup }> => {
    const pipeline = await compileKernel(device, code, 'bench:prelude kernel');
    const entries = [xs, ys].map((buffer, binding) => ({ binding, resource: { buffer } }));
    return { pipeline, group: device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries }) };
  };
  /** One dispatch of a compiled kernel over every point, in a new command encoder. */
  const dispatch = ({ pipeline, group }: { pipeline: GPUComputePipeline; group: GPUBindGroup }) => {
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(groups);
    pass.end();
    return enc;
  };
  /** A kernel of `n` calls of `f` a point, tuned as webgrad's are on this adapter. */
  const tuned = (f: ((a: string) => string) | null, n: number): string =>
    kernel(f, n, tuning.points, tuning.exactRangeReduction);
  const variants = [
    { key: 'none', code: tuned(null, calls) },
    ...FUNCTIONS.flatMap((f) => [
      ...(f.builtin ? [{ key: `${f.name}:builtin`, code: tuned(f.builtin, calls) }] : []),
      { key: `${f.name}:webgrad`, code: tuned(f.webgrad, calls) },
    ]),
  ];
  const compiled = await Promise.all(variants.map((v) => compile(v.code)));
  const times = new Map<string, number[]>(variants.map((v) => [v.key, []]));
  // Round by round, every kernel once, so that a slow spell of the machine touches all alike; the first
  // two rounds warm up.
  for (let r = 0; r < reps + 2; r++) {
    for (const [i, v] of variants.entries()) {
      device.queue.submit([dispatch(compiled[i]!).finish()]);
      const t0 = performance.now();
      await idle.wait(compiled[i]!.pipeline, n, t0, () => device.queue.onSubmittedWorkDone());
      if (r >= 2) times.get(v.key)!.push(performance.now() - t0);
    }
  }
  // Errors: each function once per point, read back and compared with float64.
  const staging = device.createBuffer({
    size: n * 4,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  const errors = new Map<string, ReturnType<typeof worstError>>();
  for (const f of FUNCTIONS)
    for (const [kind, wgsl] of [
      ['builtin', f.builtin],
      ['webgrad', f.webgrad],
    ] as const) {
      if (!wgsl) continue;
      const enc = dispatch(await compile(tuned(wgsl, 1)));
      enc.copyBufferToBuffer(ys, 0, staging, 0, n * 4);
      device.queue.submit([enc.finish()]);
      await staging.mapAsync(GPUMapMode.READ);
      errors.set(`${f.name}:${kind}`, worstError(f, host, new Float32Array(staging.getMappedRange())));
      staging.unmap();
    }
  const mid = (key: string): number => median(times.get(key)!);
  const base = mid('none');
  const ns = (key: string): number => ((mid(key) - base) * 1e6) / (calls * n);
  // A median at or below the baseline's is within its noise: no time to show (a negative one means nothing).
  // Two significant digits below 0.1 ns (a GPU's), where two decimals would print 0.00.
  const shown = (v: number): string => (v > 0 ? (v >= 0.1 ? v.toFixed(2) : v.toPrecision(2)) : '< noise');
  const label = adapterLabel(adapter.info);
  const head =
    `${label}: 2^${size} points (arguments in [${argument(-10, 0).toFixed(1)}, ${argument(10, calls - 1).toFixed(1)}]), ${calls} calls a point, median of ${reps}; ` +
    `baseline kernel ${base.toFixed(1)} ms ('< noise': no slower than the baseline, within its spread; more ` +
    `--calls or a larger --size resolve it); errors: worst against float64, relative (absolute where |f| < 1), ` +
    `and worst in units in the last place of float32 (ulp), at the argument a of f(a) given`;
  // Up to 1000 ulp with a decimal, beyond in powers of ten; where, unless nowhere (exact everywhere).
  const ulps = ({ ulps: u, ulpsAt: at }: ReturnType<typeof worstError>): string =>
    `${u < 1000 ? u.toFixed(1) : u.toExponential(1)}${Number.isNaN(at) ? '' : ` at ${Math.fround(at)}`}`;
  const rows = FUNCTIONS.map((f) => {
    const w = ns(`${f.name}:webgrad`);
    const b = f.builtin ? ns(`${f.name}:builtin`) : NaN;
    const ours = errors.get(`${f.name}:webgrad`)!;
    const theirs = f.builtin ? errors.get(`${f.name}:builtin`)! : null;
    return {
      function: f.name,
      'builtin ns': f.builtin ? shown(b) : '–',
      'webgrad ns': shown(w),
      'webgrad / builtin': f.builtin && b > 0 && w > 0 ? `${(w / b).toFixed(1)}x` : '–',
      'builtin error': theirs ? theirs.error.toExponential(1) : '–',
      'webgrad error': ours.error.toExponential(1),
      // Where webgrad's error is largest: the argument a of the table's f(a) (see FUNCTIONS).
      'webgrad worst at a =': Number.isNaN(ours.at) ? '–' : String(Math.fround(ours.at)),
      'builtin ulp': theirs ? ulps(theirs) : '–',
      'webgrad ulp': ulps(ours),
    };
  });
  console.log(head);
  console.table(rows);
  const out = text('out');
  if (out) {
    const { mkdir, writeFile } = await import('node:fs/promises');
    const { join } = await import('node:path');
    await mkdir(out, { recursive: true });
    const date = new Date().toISOString();
    const name = `${date.slice(0, 10)}-${adapterSlug(label, text('machine'))}-prelude`;
    const file = join(out, `${await freeStem(out, name, ['.md'])}.md`);
    const cols = Object.keys(rows[0]!);
    const md = [
      `# webgrad's WGSL functions against WGSL's builtins: ${label}`,
      '',
      `${date}; Node ${process.version}, Dawn (webgpu package). ${head}. ns: time per point and call, from ` +
        'kernels applying one function to every point of a device-resident array, less a kernel applying none.',
      '',
      ...table(
        cols,
        rows.map((r) => cols.map((c) => r[c as keyof typeof r])),
      ),
      '',
    ].join('\n');
    await writeFile(file, md);
    console.log(`wrote ${file}`);
  }
  device.destroy();
  process.exit(0);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
