/** Compute pipelines by generated source: each distinct shader compiles once; compile errors carry the WGSL. */
import type { Stats } from '../../schedule/backend.js';
import type { BindingKind, Program } from './program.js';

// GPUShaderStage.COMPUTE, spelled out (the global may be missing in Node).
const COMPUTE = 0x4;
// Pipelines kept; sources carry no sizes or data, so only programs building endless distinct graphs reach it.
const MAX_CACHED = 512;

/** A compiled program and the layout its bind groups are made with. */
export interface Compiled {
  readonly pipeline: GPUComputePipeline;
  readonly layout: GPUBindGroupLayout;
}

/** The WGSL with line numbers, for error messages. */
function numbered(source: string): string {
  return source
    .split('\n')
    .map((l, i) => `${String(i + 1).padStart(4)}  ${l}`)
    .join('\n');
}

/** Pipelines by source, compiled on first use. */
export class PipelineCache {
  private readonly pipelines = new Map<string, Promise<Compiled>>();
  private readonly layouts = new Map<string, GPUBindGroupLayout>();
  // What each pipeline's promise resolved to, once it has.
  private readonly compiled = new WeakMap<Promise<Compiled>, Compiled>();

  constructor(
    private readonly device: GPUDevice,
    private readonly counters: Stats,
  ) {}

  /**
   * The pipeline for `program` if it has compiled (counted as a cache hit), else undefined: a repeated run
   * takes its pipelines without waiting on a promise for each.
   */
  ready(program: Program): Compiled | undefined {
    const hit = this.pipelines.get(program.source);
    const done = hit && this.compiled.get(hit);
    if (!done) return undefined;
    this.counters.cacheHits++;
    this.pipelines.delete(program.source);
    this.pipelines.set(program.source, hit);
    return done;
  }

  /** The pipeline for `program`, compiling it when new (rejects with the messages and the WGSL). */
  get(program: Program): Promise<Compiled> {
    const hit = this.pipelines.get(program.source);
    if (hit) {
      this.counters.cacheHits++;
      this.pipelines.delete(program.source);
      this.pipelines.set(program.source, hit);
      return hit;
    }
    const p = this.compile(program);
    void p.then(
      (c) => this.compiled.set(p, c),
      () => {},
    );
    this.pipelines.set(program.source, p);
    if (this.pipelines.size > MAX_CACHED) this.pipelines.delete(this.pipelines.keys().next().value!);
    // A failed compile is not cached: the error is thrown again, with its messages, on the next try.
    p.catch(() => this.pipelines.delete(program.source));
    return p;
  }

  private layout(kinds: readonly BindingKind[]): GPUBindGroupLayout {
    const key = kinds.join(',');
    let l = this.layouts.get(key);
    if (!l) {
      const entries: GPUBindGroupLayoutEntry[] = [
        { binding: 0, visibility: COMPUTE, buffer: { type: 'uniform' } },
        ...kinds.map((k, i) => ({
          binding: i + 1,
          visibility: COMPUTE,
          buffer: { type: k === 'read' ? ('read-only-storage' as const) : ('storage' as const) },
        })),
      ];
      l = this.device.createBindGroupLayout({ entries });
      this.layouts.set(key, l);
    }
    return l;
  }

  private async compile(program: Program): Promise<Compiled> {
    const { device } = this;
    const module = device.createShaderModule({ code: program.source });
    const info = await module.getCompilationInfo();
    const errors = info.messages.filter((m) => m.type === 'error');
    if (errors.length > 0) {
      const msgs = errors.map((m) => `  ${m.lineNum}:${m.linePos}: ${m.message}`).join('\n');
      throw new Error(
        `webgpu: the generated WGSL does not compile:\n${msgs}\n--- generated WGSL ---\n${numbered(program.source)}`,
      );
    }
    const layout = this.layout(program.bindings);
    let pipeline: GPUComputePipeline;
    try {
      // Asynchronously: Dawn in Node compiles a synchronous pipeline on the calling thread, holding up
      // the event loop for the tens of milliseconds a kernel takes to compile.
      pipeline = await device.createComputePipelineAsync({
        layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
        compute: { module, entryPoint: 'main' },
      });
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      throw new Error(
        `webgpu: the pipeline for the generated WGSL is invalid: ${why}\n--- generated WGSL ---\n${numbered(program.source)}`,
        { cause: e },
      );
    }
    this.counters.pipelinesCompiled++;
    return { pipeline, layout };
  }
}
