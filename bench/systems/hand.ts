// The baseline: a hand-written fused WGSL kernel per case, as a careful WebGPU programmer would write it —
// one load per input, value and derivatives stored, scalar-parameter gradients reduced per workgroup (per
// invocation, without barriers, on a CPU implementation of WebGPU, where barriers are slow) and finished
// by a second, one-workgroup pass. Buffers are made once per size and reused. On a CPU implementation each
// invocation covers several points, as webgrad's kernels do there.
import { preludeFor, setOpaque } from '../../src/backend/webgpu/prelude.js';
import { finishWidth, partialsPerGroup, reducePoints } from '../../src/backend/webgpu/program.js';
import { isSoftware } from '../../src/backend/webgpu/adapter.js';
import { IdleWait } from '../../src/backend/webgpu/idle.js';
import { defaultTuning, tuningFor, type Tuning } from '../../src/backend/webgpu/tuning.js';
import type { WebGpuOptions } from '../../src/index.js';
import { pointOutputs, type BenchCase } from '../cases.js';
import { compileKernel } from '../compile.js';
import type { System } from './system.js';

const WG = 256;
// The spec's flag values (the globals may be missing in Node).
const BUF = { MAP_READ: 0x1, COPY_SRC: 0x4, COPY_DST: 0x8, UNIFORM: 0x40, STORAGE: 0x80 };

/**
 * Points per invocation, as webgrad chooses them with the adapter's tuning (so that the hand kernel stays
 * the limit): those of its reduction where the kernel reduces, else the tuning's points. Consecutive
 * invocations still read consecutive points.
 */
export const perThread = (c: BenchCase, t: Tuning): number =>
  c.params.length > 0 ? reducePoints(t.reduce) : t.points;

/** Adds up `sh[0..width)` into `sh[0]`, halving the active invocations each round. */
const tree = (width: number): string => `workgroupBarrier();
  for (var h = ${width / 2}u; h > 0u; h >>= 1u) {
    if (lid < h) {
      sh[lid] += sh[lid + h];
    }
    workgroupBarrier();
  }`;

/**
 * A case's hand-written body with webgrad's prelude functions (wg_exp, wg_sin, …) in place of WGSL's
 * builtins: the same code at webgrad's accuracy (the builtins may be off by 1e-4 and more).
 */
export const accurateBody = (wgsl: string): string => wgsl.replace(/\b(exp|log|sin|cos|tanh)\(/g, 'wg_$1(');

/**
 * The main kernel of a case: `body` between the loads and the stores, plus the parameter reduction (a
 * workgroup tree, or with the 'invocation' reduction of a CPU implementation one partial per invocation
 * and no barrier). `accurate` calls webgrad's prelude functions instead of the builtins.
 */
export function handKernel(c: BenchCase, t: Tuning, accurate = false): string {
  const perInvocation = t.reduce === 'invocation';
  const body = accurate ? accurateBody(c.wgsl) : c.wgsl;
  const outs = pointOutputs(c);
  const hasParams = c.params.length > 0;
  const decl: string[] = [];
  let b = 1;
  for (let k = 0; k < c.vars; k++)
    decl.push(`@group(0) @binding(${b++}) var<storage, read> in${k}: array<f32>;`);
  for (let k = 0; k < outs; k++)
    decl.push(`@group(0) @binding(${b++}) var<storage, read_write> out${k}: array<f32>;`);
  if (hasParams) decl.push(`@group(0) @binding(${b}) var<storage, read_write> part: array<vec2<f32>>;`);
  const pts = perThread(c, t);
  const loads = Array.from({ length: c.vars }, (_, k) => `let x${k} = in${k}[i];`).join('\n    ');
  const vars = Array.from({ length: outs }, (_, k) => `var o${k}: f32;`).join('\n    ');
  const stores = Array.from({ length: outs }, (_, k) => `out${k}[i] = o${k};`).join('\n    ');
  const reduce = !hasParams
    ? ''
    : perInvocation
      ? `part[wg * ${WG}u + lid] = vec2<f32>(a0, a1);`
      : `sh[lid] = vec2<f32>(a0, a1);
  ${tree(WG)}
  if (lid == 0u) {
    part[wg] = sh[0];
  }`;
  // sin and cos reduced as webgrad's kernels reduce them (by default in full on a GPU, by the fast
  // reduction on a CPU adapter: exact on the cases' ranges, |x| <= 8192, where webgrad never needs its
  // rerun either).
  // The prelude's wg__opaque as webgrad's kernels set it: u.n >> 31 is 0 (a run has fewer than 2^31
  // points), which the compiler cannot know.
  const prelude = accurate ? preludeFor(body, !t.exactRangeReduction) : '';
  return `${prelude}
struct U { n: u32, gx: u32, w: f32, b: f32 }
@group(0) @binding(0) var<uniform> u: U;
${decl.join('\n')}
${hasParams && !perInvocation ? `var<workgroup> sh: array<vec2<f32>, ${WG}>;` : ''}

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let wg = wid.y * u.gx + wid.x;
  ${setOpaque(prelude, 'u.n >> 31u')}
  let w = u.w;
  let b = u.b;
  var a0 = 0.0;
  var a1 = 0.0;
  // As many rounds as this workgroup has points for (webgrad's kernels bound their loop the same way).
  let first = wg * ${pts * WG}u;
  let rounds = select(0u, min(${pts}u, (u.n - first + ${WG - 1}u) / ${WG}u), first < u.n);
  for (var k = 0u; k < rounds; k++) {
    let i = first + k * ${WG}u + lid;
    if (i < u.n) {
      var g0 = 0.0;
      var g1 = 0.0;
      ${loads}
      ${vars}
      ${body}
      ${stores}
      a0 += g0;
      a1 += g1;
    }
  }
  ${reduce}
}
`;
}

/**
 * The second pass: one workgroup adds up the per-workgroup partials of both parameters, as wide as
 * webgrad's finishing pass on the adapter (see finishWidth).
 */
const finishKernel = (width: number): string => `struct F { groups: u32, p0: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> f: F;
@group(0) @binding(1) var<storage, read> part: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read_write> total: array<f32>;
var<workgroup> sh: array<vec2<f32>, ${width}>;

@compute @workgroup_size(${width})
fn main(@builtin(local_invocation_index) lid: u32) {
  var s = vec2<f32>(0.0, 0.0);
  for (var t = lid; t < f.groups; t += ${width}u) {
    s += part[t];
  }
  sh[lid] = s;
  ${tree(width)}
  if (lid == 0u) {
    total[0] = sh[0].x;
    total[1] = sh[0].y;
  }
}
`;

/** A case's kernel and, with parameter sums, the pass that finishes them. */
interface Pipelines {
  main: GPUComputePipeline;
  finish: GPUComputePipeline | null;
}

/** A case loaded on the device: its size, buffers and pipelines. */
interface Loaded {
  n: number;
  s: Sized;
  p: Pipelines;
}

interface Sized {
  n: number;
  inputs: GPUBuffer[];
  outputs: GPUBuffer[];
  staging: GPUBuffer[];
  uniform: GPUBuffer;
  part: GPUBuffer | null;
  total: GPUBuffer | null;
  finishUniform: GPUBuffer | null;
  main: GPUBindGroup;
  finish: GPUBindGroup | null;
  grid: [number, number];
}

/**
 * The hand-written kernels on their own device of the same GPU: with WGSL's builtins, or (`accurate`,
 * system 'hand-acc') with webgrad's prelude functions, the limit at webgrad's accuracy. They run as webgrad
 * does on the adapter with the benchmark's `webgrad` options (--webgrad).
 */
export function handSystem(gpu: GPU, accurate = false, webgrad: WebGpuOptions = {}): System {
  let device: GPUDevice | null = null;
  // webgrad's tuning for the adapter: points per invocation, reduction, waiting (sleeping through most of a
  // run in Node on a CPU implementation, where Dawn's polling would take a core from the kernel; nudging a
  // browser to look for the finished run) and the range reduction of sin and cos.
  let tuning = defaultTuning(false);
  let idle = new IdleWait(false);
  const pipelines = new Map<string, Pipelines>();
  let sized: { key: string; s: Sized } | null = null;

  const compile = (code: string): Promise<GPUComputePipeline> => compileKernel(device!, code, 'hand kernel');

  const buffers = (c: BenchCase, n: number): Sized => {
    const key = `${c.id}:${n}`;
    if (sized?.key === key) return sized.s;
    if (sized) destroy(sized.s);
    const d = device!;
    const bytes = Math.max(16, n * 4);
    if (bytes > d.limits.maxStorageBufferBindingSize)
      throw new Error(`hand kernel: ${n} points exceed the storage binding limit of this device`);
    const p = pipelines.get(c.id)!;
    const storage = (size: number): GPUBuffer =>
      d.createBuffer({ size, usage: BUF.STORAGE | BUF.COPY_SRC | BUF.COPY_DST });
    const inputs = Array.from({ length: c.vars }, () => storage(bytes));
    const outputs = Array.from({ length: pointOutputs(c) }, () => storage(bytes));
    const groups = Math.ceil(n / (WG * perThread(c, tuning)));
    const maxDim = d.limits.maxComputeWorkgroupsPerDimension;
    const gx = Math.min(groups, maxDim);
    const grid: [number, number] = [gx, Math.ceil(groups / gx)];
    const uniform = d.createBuffer({ size: 16, usage: BUF.UNIFORM | BUF.COPY_DST });
    const hasParams = c.params.length > 0;
    const partials = grid[0] * grid[1] * partialsPerGroup(tuning.reduce);
    const part = hasParams ? storage(Math.max(16, partials * 8)) : null;
    const total = hasParams ? storage(16) : null;
    const finishUniform = hasParams ? d.createBuffer({ size: 16, usage: BUF.UNIFORM | BUF.COPY_DST }) : null;
    const entries: GPUBindGroupEntry[] = [uniform, ...inputs, ...outputs, ...(part ? [part] : [])].map(
      (buffer, binding) => ({ binding, resource: { buffer } }),
    );
    const main = d.createBindGroup({ layout: p.main.getBindGroupLayout(0), entries });
    const finish =
      hasParams && p.finish
        ? d.createBindGroup({
            layout: p.finish.getBindGroupLayout(0),
            entries: [finishUniform!, part!, total!].map((buffer, binding) => ({
              binding,
              resource: { buffer },
            })),
          })
        : null;
    if (finishUniform) d.queue.writeBuffer(finishUniform, 0, new Uint32Array([partials, 0, 0, 0]));
    const staging = [...outputs.map(() => bytes), ...(total ? [8] : [])].map((size) =>
      d.createBuffer({ size: Math.max(16, size), usage: BUF.MAP_READ | BUF.COPY_DST }),
    );
    const s = { n, inputs, outputs, staging, uniform, part, total, finishUniform, main, finish, grid };
    sized = { key, s };
    return s;
  };

  const destroy = (s: Sized): void => {
    for (const b of [...s.inputs, ...s.outputs, ...s.staging, s.uniform, s.part, s.total, s.finishUniform])
      b?.destroy();
  };

  /** Compiles the case's kernels where needed, sizes the buffers and uploads the uniforms and inputs. */
  const load = async (c: BenchCase, xs: readonly Float32Array[], ps: readonly number[]): Promise<Loaded> => {
    const d = device!;
    if (!pipelines.has(c.id)) {
      const [main, finish] = await Promise.all([
        compile(handKernel(c, tuning, accurate)),
        c.params.length > 0 ? compile(finishKernel(finishWidth(tuning.reduce))) : Promise.resolve(null),
      ]);
      pipelines.set(c.id, { main, finish });
    }
    const n = xs[0]!.length;
    const s = buffers(c, n);
    const head = new ArrayBuffer(16);
    new Uint32Array(head, 0, 2).set([n, s.grid[0]]);
    new Float32Array(head, 8, 2).set([ps[0] ?? 0, ps[1] ?? 0]);
    d.queue.writeBuffer(s.uniform, 0, head);
    xs.forEach((x, k) => d.queue.writeBuffer(s.inputs[k]!, 0, x.buffer, x.byteOffset, x.byteLength));
    return { n, s, p: pipelines.get(c.id)! };
  };

  /** The kernel (and the finishing pass of parameter sums), then, with `copies`, the copies to staging. */
  const encode = ({ n, s, p }: Loaded, copies: boolean): GPUCommandEncoder => {
    const enc = device!.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(p.main);
    pass.setBindGroup(0, s.main);
    pass.dispatchWorkgroups(s.grid[0], s.grid[1]);
    if (p.finish && s.finish) {
      pass.setPipeline(p.finish);
      pass.setBindGroup(0, s.finish);
      pass.dispatchWorkgroups(1);
    }
    pass.end();
    if (copies) {
      s.outputs.forEach((b, k) => enc.copyBufferToBuffer(b, 0, s.staging[k]!, 0, n * 4));
      if (s.total) enc.copyBufferToBuffer(s.total, 0, s.staging[s.outputs.length]!, 0, 8);
    }
    return enc;
  };

  /** Waits for the submitted run and copies every output out of the staging buffers. */
  const readBack = async ({ n, s, p }: Loaded): Promise<Float32Array[]> => {
    const submitted = performance.now();
    const sizes = [...s.outputs.map(() => n * 4), ...(s.total ? [8] : [])];
    await idle.wait(p, n, submitted, () =>
      Promise.all(s.staging.map((buf, k) => buf.mapAsync(BUF.MAP_READ, 0, sizes[k]!))),
    );
    const outs = s.staging.map((buf, k) => {
      const out = new Float32Array(buf.getMappedRange(0, sizes[k]!).slice(0));
      buf.unmap();
      return out;
    });
    return s.total ? [...outs.slice(0, -1), outs.at(-1)!.subarray(0, 1), outs.at(-1)!.subarray(1, 2)] : outs;
  };

  return {
    id: accurate ? 'hand-acc' : 'hand',
    label: accurate ? "hand-written WGSL, webgrad's prelude" : 'hand-written WGSL',
    phase: 'gpu',
    async setup() {
      const adapter = await gpu.requestAdapter();
      if (!adapter) throw new Error('hand kernel: no WebGPU adapter');
      tuning = tuningFor(isSoftware(adapter.info), webgrad);
      const L = adapter.limits;
      device = await adapter.requestDevice({
        requiredLimits: {
          maxStorageBufferBindingSize: L.maxStorageBufferBindingSize,
          maxBufferSize: L.maxBufferSize,
        },
      });
      idle = new IdleWait(tuning.sleepWhileWaiting, tuning.nudgeWhileWaiting ? device.queue : null);
    },
    prepare(c) {
      // Compiled lazily in run(); prepare only forgets buffers of the previous case.
      if (sized && !sized.key.startsWith(`${c.id}:`)) {
        destroy(sized.s);
        sized = null;
      }
    },
    async run(c, xs, ps) {
      const r = await load(c, xs, ps);
      device!.queue.submit([encode(r, true).finish()]);
      return readBack(r);
    },
    async resident(c, xs, ps) {
      const r = await load(c, xs, ps);
      const queue = device!.queue;
      return {
        // Waiting as webgrad's synchronize() does: sleeping through most of the expected time first where
        // the adapter is a CPU (Dawn's waiting polls on a core the kernel needs).
        run: async () => {
          queue.submit([encode(r, false).finish()]);
          await idle.wait(r.p, r.n, performance.now(), () => queue.onSubmittedWorkDone());
        },
        read: async () => {
          queue.submit([encode(r, true).finish()]);
          return readBack(r);
        },
        release: () => {},
      };
    },
    async teardown() {
      if (sized) destroy(sized.s);
      sized = null;
      device?.destroy();
      device = null;
    },
  };
}
