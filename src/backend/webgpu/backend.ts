/** The WebGPU backend: runs planned steps in one submit, keeps values in pooled buffers, falls back to the CPU on loss. */
import { copyToF32, type Node } from '../../graph/node.js';
import { emptyStats, type Backend, type Bindings, type Stats } from '../../schedule/backend.js';
import { planKernels, storageNode } from '../../schedule/fuse.js';
import type { Kernel } from '../../schedule/kernel.js';
import type { CpuBackend } from '../cpu.js';
import {
  BufferPool,
  CapacityError,
  GpuStorage,
  STAGING_USAGE,
  STORAGE_USAGE,
  UNIFORM_USAGE,
  writeInPieces,
} from './buffers.js';
import { WG } from './program.js';
import type { Tuning } from './tuning.js';
import { IdleWait } from './idle.js';
import { readbackLayout, READ_AHEAD, uniformLayout, uniformWords } from './layout.js';
import { PipelineCache, type Compiled } from './pipelines.js';
import { deviceBindings, type Dispatch, type PlanLimits, type RunPlan, type Step } from './plan.js';
import { PlanCache } from './plan-cache.js';
import { BindGroupCache, type BufferEntry } from './bind-groups.js';
import { packedLayout } from './values.js';

/** Device figures the backend works within, and how it runs there (the adapter's tuning with init()'s options). */
export interface GpuLimits extends Tuning {
  /** Largest storage binding used, in bytes (the device limit, or lower when asked). */
  readonly maxBindingBytes: number;
  readonly maxBufferSize: number;
  readonly maxStorage: number;
  readonly maxDim: number;
  readonly storageAlign: number;
  readonly uniformAlign: number;
}

// GPUMapMode.READ, spelled out (the global may be missing in Node).
const MAP_READ = 0x1;

interface PendingRead {
  storage: GpuStorage;
  bytes: number;
  resolve: (a: Float32Array) => void;
  reject: (e: unknown) => void;
}

/** Buffers a run's dispatches bind besides its nodes' (see WebGpuBackend.bindEntries). */
interface Bound {
  readonly uniform: GPUBuffer;
  /** This dispatch's uniform block in `uniform`. */
  readonly block: { readonly offset: number; readonly size: number };
  readonly partials: ReadonlyMap<number, GPUBuffer>;
  readonly partialBytes: ReadonlyMap<number, number>;
  readonly beyond: GPUBuffer | null;
  /** Packed one-element operands by binding index (see WebGpuBackend.gatherPacked). */
  readonly packed: ReadonlyMap<number, GPUBuffer>;
}

/** Bytes of a packed binding holding `nodes` (see packedLayout). */
const packedBytes = (nodes: readonly Node[]): number => 4 * packedLayout(nodes).elements;

/** Runs fused kernels on a WebGPU device. */
export class WebGpuBackend implements Backend {
  readonly name = 'webgpu' as const;
  private readonly counters: Stats = emptyStats();
  private readonly pool: BufferPool;
  private readonly pipelines: PipelineCache;
  private readonly plans = new PlanCache();
  private readonly groups: BindGroupCache;
  private readonly planLimits: PlanLimits;
  private readonly idle: IdleWait;
  // What writeUniforms() last wrote to each uniform buffer.
  private readonly written = new WeakMap<GPUBuffer, Uint32Array>();
  // Uniform layouts by kept plan (RunPlan.kept).
  private readonly layouts = new WeakMap<object, ReturnType<typeof uniformLayout>>();
  // Runs submitted since the last wait that nobody waited for (see sync()): when the first was submitted,
  // how long they are expected to take together, how many there are, the last one's kind and size, and
  // whether all were of that kind and size.
  private unwaited: {
    first: number;
    expected: number;
    count: number;
    kind: object;
    points: number;
    same: boolean;
  } | null = null;
  // How many of the first submits (counters.submits counts them all) are known finished: a mapAsync of the
  // n-th submit's output resolving says the first n are, as a queue finishes its work in order.
  private finished = 0;
  private lostReason: string | null = null;
  private readonly capacityWarned = new Set<string>();
  private reads: PendingRead[] = [];
  // Values copied back with the run that made them, because a read of them was waiting: the next read
  // takes them instead of a copy and a round trip of its own. Weak, so values nobody reads go with their node.
  private prefetched = new WeakMap<Node, Float32Array>();

  constructor(
    /** The device (exposed for tests). */
    readonly device: GPUDevice,
    private readonly limits: GpuLimits,
    private readonly cpu: CpuBackend,
    private readonly onLost: (reason: string) => void,
  ) {
    this.pool = new BufferPool(device, limits.maxBufferSize);
    this.pipelines = new PipelineCache(device, this.counters);
    this.groups = new BindGroupCache(device);
    this.idle = new IdleWait(limits.sleepWhileWaiting, limits.nudgeWhileWaiting ? device.queue : null);
    // Chunks start at multiples of the workgroup size and of the storage offset alignment.
    const align = Math.max(WG, limits.storageAlign / 4);
    const chunk = Math.max(align, Math.floor(limits.maxBindingBytes / 4 / align) * align);
    this.planLimits = {
      chunk,
      maxDim: limits.maxDim,
      maxStorage: limits.maxStorage,
      reduce: limits.reduce,
      points: limits.points,
      exact: limits.exactRangeReduction,
    };
    void device.lost.then((info) =>
      this.markLost(`${info.reason}: ${info.message || 'the device was lost'}`),
    );
  }

  /**
   * A later init() replaced this backend: frees the idle buffers, stops keeping any, and destroys the
   * device once no buffer holds values any more (tensors' values are brought to the host as they are
   * needed: see the scheduler) and the queue has finished.
   */
  retire(): void {
    this.groups.clear();
    this.pool.retire(() => {
      void this.device.queue.onSubmittedWorkDone().then(
        () => {
          if (this.pool.live === 0) this.device.destroy();
        },
        () => undefined,
      );
    });
  }

  /** The storage buffers one program may bind (maxStorageBuffersPerShaderStage), and what outputs need. */
  get bindings(): Bindings {
    return deviceBindings(this.limits.maxStorage, this.limits.exactRangeReduction);
  }

  /** True while buffers of this device hold values (of tensors, or of reads in flight). */
  holdsValues(): boolean {
    return !this.lost && this.pool.live > 0;
  }

  /** Lets go of a backend that was never used (an overlapping init() decided otherwise): its device too. */
  close(): void {
    this.groups.clear();
    this.device.destroy();
  }

  /** True once the device is lost; everything then runs on the CPU. */
  get lost(): boolean {
    return this.lostReason !== null;
  }

  /** @internal Destroys the device, as a loss would (for tests). */
  lose(): void {
    this.device.destroy();
  }

  has(node: Node): boolean {
    const s = storageNode(node);
    return s.host !== null || this.owns(s);
  }

  private owns(n: Node): n is Node & { device: GpuStorage } {
    return n.device instanceof GpuStorage && n.device.owner === this;
  }

  async run(kernels: readonly Kernel[], reads: readonly Node[] = []): Promise<void> {
    if (this.lost) {
      this.runOnCpu(kernels);
      return;
    }
    if (this.small(kernels)) {
      // Every input is on the host or made by these kernels: the CPU runs them as planned.
      this.counters.cpuFallbacks += kernels.length;
      this.cpu.run(kernels);
      return;
    }
    const first = await this.attempt(kernels, reads, this.planLimits);
    if (first !== 'flagged') return;
    // An argument of sin/cos/tan was beyond the speculative reduction: the same run, exact this time.
    if ((await this.attempt(kernels, reads, { ...this.planLimits, exact: true })) === 'flagged')
      throw new Error('internal: an exact run reported an argument beyond its range reduction');
    this.counters.exactReruns++;
  }

  /**
   * Plans, compiles, encodes and submits the kernels under `limits`, and waits for them: 'done', or
   * 'flagged' when a speculative program met an argument beyond its range (its results are not used).
   * Work the device cannot take, or a loss, ends on the CPU ('done').
   */
  private async attempt(
    kernels: readonly Kernel[],
    reads: readonly Node[],
    limits: PlanLimits,
  ): Promise<'done' | 'flagged'> {
    let check: () => Promise<boolean>;
    try {
      const plan = this.plans.plan(kernels, limits);
      // Compiled already (a repeated run): taken at once; the others waited for, all together.
      const ready = plan.steps.map((s) => this.pipelines.ready(s.program));
      const compiled = ready.every((c) => c !== undefined)
        ? ready
        : await Promise.all(plan.steps.map((s, i) => ready[i] ?? this.pipelines.get(s.program))).catch(
            (e: unknown) => {
              this.plans.forget(kernels, limits);
              throw e;
            },
          );
      if (this.lost) return this.runOnCpu(kernels);
      check = this.encode(plan, compiled, new Set(reads.map(storageNode)));
    } catch (e) {
      // Beyond the device's limits (a tensor larger than its largest buffer, say): right answers from
      // the CPU rather than none; said once per kind of limit.
      if (!(e instanceof CapacityError)) throw e;
      const kind = e.message.replace(/[0-9]+/g, 'N');
      if (!this.capacityWarned.has(kind)) {
        this.capacityWarned.add(kind);
        console.warn(`${e.message}; computing it on the CPU instead`);
      }
      // The device still holds the values these kernels read: the CPU starts from them rather than
      // computing them again from their history (which may be disposed, and costs the whole history).
      await this.pullInputs(kernels);
      return this.runOnCpu(kernels);
    }
    let stands = true;
    try {
      stands = await check();
    } catch (e) {
      this.markLost(`mapAsync failed: ${e instanceof Error ? e.message || e.name : String(e)}`);
    }
    if (this.lost) return this.runOnCpu(kernels);
    return stands ? 'done' : 'flagged';
  }

  /** True for a run too small to be worth a GPU round trip: few points, every input already on the host. */
  private small(kernels: readonly Kernel[]): boolean {
    if (kernels.reduce((a, k) => a + k.size, 0) >= this.limits.cpuBelow) return false;
    const made = new Set(kernels.flatMap((k) => k.outputs.map((o) => o.node)));
    return kernels.every((k) =>
      k.inputs.every((i) => made.has(storageNode(i.node)) || storageNode(i.node).host !== null),
    );
  }

  /** Encodes and submits a plan (returning everything it took to the pool if that fails). */
  private encode(
    plan: RunPlan,
    compiled: readonly Compiled[],
    reads: ReadonlySet<Node>,
  ): () => Promise<boolean> {
    const taken: GPUBuffer[] = [];
    const take = (bytes: number, usage: number): GPUBuffer => {
      const b = this.pool.acquire(bytes, usage);
      taken.push(b);
      return b;
    };
    try {
      return this.encodeWith(plan, compiled, reads, take);
    } catch (e) {
      for (const b of taken) this.pool.release(b);
      throw e;
    }
  }

  /**
   * Encodes and submits a plan; the returned function resolves once its results are readable, to false
   * when a speculative step flagged them (see PointProgram.speculative): nothing is read back then.
   */
  private encodeWith(
    plan: RunPlan,
    compiled: readonly Compiled[],
    reads: ReadonlySet<Node>,
    take: (bytes: number, usage: number) => GPUBuffer,
  ): () => Promise<boolean> {
    const { device, pool } = this;
    const storage = new Map<Node, GpuStorage>();
    const bufferOf = (n: Node): GpuStorage => {
      const s = storageNode(n);
      let st = storage.get(s) ?? (this.owns(s) ? s.device : undefined);
      if (!st) {
        if (!s.host) throw new Error(`internal: node ${s.id} (${s.op}) has no values on the GPU or the host`);
        st = this.upload(s);
      }
      return st;
    };
    for (const n of plan.outputs) {
      const bytes = n.size * 4;
      storage.set(n, new GpuStorage(this, pool, take(bytes, STORAGE_USAGE), bytes));
    }
    const partials = new Map<number, GPUBuffer>();
    for (const [ki, bytes] of plan.partials) partials.set(ki, take(bytes, STORAGE_USAGE));
    // All uniform blocks of the run live in one buffer, each at an aligned offset.
    const blocks = this.uniformsOf(plan);
    const uniform = take(blocks.bytes, UNIFORM_USAGE);
    this.writeUniforms(uniform, blocks.words);

    const encoder = device.createCommandEncoder();
    const gathered: GPUBuffer[] = [];
    // The flag word speculative steps set; cleared first, read back with the run.
    const beyond = plan.speculative ? take(4, STORAGE_USAGE) : null;
    if (beyond) encoder.clearBuffer(beyond, 0, 4);
    let pass: GPUComputePassEncoder | null = null;
    const endPass = (): void => {
      pass?.end();
      pass = null;
    };
    plan.steps.forEach((step, si) => {
      const { pipeline, layout } = compiled[si]!;
      const packed = this.gatherPacked(step, encoder, storage, take, endPass);
      gathered.push(...packed.values());
      pass ??= encoder.beginComputePass();
      pass.setPipeline(pipeline);
      step.dispatches.forEach((d, di) => {
        const bound = {
          uniform,
          block: blocks.at[si]![di]!,
          partials,
          partialBytes: plan.partials,
          beyond,
          packed,
        };
        pass!.setBindGroup(0, this.groups.get(layout, this.bindEntries(step, d, bound, bufferOf)));
        pass!.dispatchWorkgroups(d.grid[0], d.grid[1]);
        this.counters.dispatches++;
      });
    });
    endPass();

    const rb = readbackLayout(plan.outputs, reads, beyond !== null);
    const { small, offsets, stagingBytes, flagAt } = rb;
    const staging = rb.waited ? take(stagingBytes, STAGING_USAGE) : null;
    if (staging) {
      for (const [n, offset] of offsets)
        encoder.copyBufferToBuffer(storage.get(n)!.buffer, 0, staging, offset, rb.bytesOf(n));
      if (beyond) encoder.copyBufferToBuffer(beyond, 0, staging, flagAt, 4);
    }
    device.queue.submit([encoder.finish()]);
    const submitted = performance.now();
    // How long runs take is learned per main pipeline, per point.
    const kind = compiled[0]!;
    const points = plan.steps.reduce((a, st) => a + st.dispatches.reduce((b, d) => b + d.n, 0), 0);
    const serial = ++this.counters.submits;
    pool.release(uniform);
    if (beyond) pool.release(beyond);
    for (const b of partials.values()) pool.release(b);
    for (const b of gathered) pool.release(b);
    // Results of a speculative run belong to their nodes only once the flag says they stand; until then
    // a read from elsewhere finds the nodes pending rather than values that may be redone.
    let attached = false;
    // A node disposed while its run was in flight (or the node under a disposed view: Node.unwanted) gets
    // no buffer: its storage goes back at once.
    // A node that got values elsewhere meanwhile (another run on this device, or the CPU; not this run's own
    // readback, and not a device since lost) keeps them: one node, one set of values.
    const filled = new Set<Node>();
    const attach = (): void => {
      for (const [n, st] of storage) {
        const elsewhere = (n.host !== null && !filled.has(n)) || (this.owns(n) && n.device !== st);
        if (n.disposed || n.unwanted || elsewhere) st.release();
        else st.attach(n);
        n.unwanted = false;
      }
      attached = true;
    };
    if (!beyond) attach();
    if (!staging) {
      const u = this.unwaited;
      const expected = this.idle.estimate(kind, points);
      this.unwaited = u
        ? {
            first: u.first,
            expected: u.expected + expected,
            count: u.count + 1,
            kind,
            points,
            same: u.same && u.kind === kind && u.points === points,
          }
        : { first: submitted, expected, count: 1, kind, points, same: true };
      return () => Promise.resolve(true);
    }
    this.unwaited = null;

    return async () => {
      try {
        await this.idle.wait(kind, points, submitted, () => staging.mapAsync(MAP_READ, 0, stagingBytes));
        this.finished = Math.max(this.finished, serial);
        // Counted once they are here (a failed map brings nothing back).
        this.counters.bytesReadBack += stagingBytes;
        const mapped = staging.getMappedRange(0, stagingBytes);
        const flagged = beyond !== null && new Uint32Array(mapped, flagAt, 1)[0] !== 0;
        // One copy per output, straight out of the mapped range.
        if (!flagged)
          for (const n of small) {
            if (n.disposed || n.unwanted || n.host !== null) continue;
            const values = new Float32Array(mapped, offsets.get(n)!, n.size).slice();
            if (n.size <= READ_AHEAD) {
              n.host = values;
              filled.add(n);
            } else this.prefetched.set(n, values);
          }
        staging.unmap();
        if (!flagged && !attached) attach();
        return !flagged;
      } finally {
        // Flagged (or failed) speculative results go back to the pool unused.
        if (!attached) for (const st of storage.values()) st.release();
        pool.release(staging);
      }
    };
  }

  /**
   * Gathers a step's packed operands (one-element and small broadcast ones: see isPacked) into one buffer per
   * packed binding (by binding index), each after the last: host values by a queue write (ordered before this
   * run's submit), GPU results by copies, which `endPass` makes room for between compute passes.
   */
  private gatherPacked(
    step: Step,
    encoder: GPUCommandEncoder,
    storage: ReadonlyMap<Node, GpuStorage>,
    take: (bytes: number, usage: number) => GPUBuffer,
    endPass: () => void,
  ): Map<number, GPUBuffer> {
    const packed = new Map<number, GPUBuffer>();
    step.binds.forEach((b, i) => {
      if (b.kind !== 'packed') return;
      const { offsets, elements } = packedLayout(b.nodes);
      const buf = take(4 * elements, STORAGE_USAGE);
      packed.set(i, buf);
      // Host values go in one queue write of the whole buffer (device values are copied over theirs).
      const host = new Float32Array(elements);
      let fromHost = 0;
      b.nodes.forEach((node, m) => {
        const at = offsets[m]!;
        const s = storageNode(node);
        const st = storage.get(s) ?? (this.owns(s) ? s.device : undefined);
        if (st) {
          endPass();
          encoder.copyBufferToBuffer(st.buffer, 0, buf, at * 4, node.size * 4);
        } else if (s.host) {
          host.set(s.host.subarray(0, node.size), at);
          fromHost += node.size;
        } else throw new Error(`internal: node ${s.id} (${s.op}) has no values on the GPU or the host`);
      });
      if (fromHost > 0) {
        this.device.queue.writeBuffer(buf, 0, host);
        this.counters.bytesUploaded += 4 * fromHost;
      }
    });
    return packed;
  }

  /** The bind group entries of one dispatch of a step: its uniform block, then each binding's buffer range. */
  private bindEntries(
    step: Step,
    d: Dispatch,
    bound: Bound,
    bufferOf: (n: Node) => GpuStorage,
  ): BufferEntry[] {
    const { uniform, block } = bound;
    const entries: BufferEntry[] = [
      { binding: 0, resource: { buffer: uniform, offset: block.offset, size: block.size } },
    ];
    step.binds.forEach((b, i) => {
      const binding = i + 1;
      if (b.kind === 'partials') {
        const buffer = bound.partials.get(b.kernel)!;
        entries.push({ binding, resource: { buffer, size: bound.partialBytes.get(b.kernel)! } });
      } else if (b.kind === 'beyond') {
        entries.push({ binding, resource: { buffer: bound.beyond!, size: 4 } });
      } else if (b.kind === 'packed') {
        entries.push({ binding, resource: { buffer: bound.packed.get(i)!, size: packedBytes(b.nodes) } });
      } else {
        const st = bufferOf(b.node);
        // Operands bound whole (broadcast ones, sums) are small next to the chunked ones in practice.
        // Against the limit the plan chunks by: the device's, or a lower one standing in for a smaller device.
        const limit = this.limits.maxBindingBytes;
        if (!b.chunked && st.bytes > limit)
          throw new CapacityError(
            `webgpu: a tensor of ${st.bytes} bytes that a kernel binds whole (a broadcast operand, or a sum along axes) exceeds the storage binding limit (${limit} bytes)`,
          );
        const resource = b.chunked
          ? { buffer: st.buffer, offset: d.start * 4, size: d.n * 4 }
          : { buffer: st.buffer, offset: 0, size: st.bytes };
        entries.push({ binding, resource });
      }
    });
    return entries;
  }

  /**
   * The run's uniform layout (see uniformLayout), worked out once per kept plan; its words made again where
   * the run's constants are not the kept plan's (RunPlan.ownConsts).
   */
  private uniformsOf(plan: RunPlan): ReturnType<typeof uniformLayout> {
    if (!plan.kept) return uniformLayout(plan.steps, this.limits.uniformAlign);
    let l = this.layouts.get(plan.kept);
    if (!l) this.layouts.set(plan.kept, (l = uniformLayout(plan.steps, this.limits.uniformAlign)));
    return plan.ownConsts === true ? { ...l, words: uniformWords(plan.steps, l.at, l.bytes) } : l;
  }

  /**
   * Writes a run's uniform words to a uniform buffer through the queue, unless it holds them already: a
   * repeated run takes back the same pooled buffer with the same words. Nothing else writes buffers of
   * this usage, so the record of what each holds stays true.
   */
  private writeUniforms(buf: GPUBuffer, words: Uint32Array<ArrayBuffer>): void {
    const held = this.written.get(buf);
    if (held === words || (held && held.length === words.length && held.every((w, i) => w === words[i])))
      return;
    this.device.queue.writeBuffer(buf, 0, words);
    this.written.set(buf, words);
  }

  /** Copies a node's host values into a fresh GPU buffer owned by the node. */
  private upload(n: Node): GpuStorage {
    const host = n.host!;
    const data = host instanceof Float32Array ? host : new Float32Array(host);
    const bytes = data.byteLength;
    const st = new GpuStorage(this, this.pool, this.pool.acquire(bytes, STORAGE_USAGE, 'upload'), bytes);
    writeInPieces(this.device.queue, st.buffer, data);
    this.counters.bytesUploaded += bytes;
    st.attach(n);
    return st;
  }

  async read(node: Node): Promise<Float32Array> {
    const s = storageNode(node);
    if (s.host) return copyToF32(s.host);
    const ready = this.prefetched.get(s);
    if (ready) {
      this.prefetched.delete(s);
      return ready;
    }
    if (this.lost || !this.owns(s)) return this.readOnCpu(node);
    const storage = s.device;
    // Until its copy is submitted, a dispose() of the node must not hand the buffer to the next run.
    storage.pin();
    try {
      return await new Promise<Float32Array>((resolve, reject) => {
        this.reads.push({ storage, bytes: s.size * 4, resolve, reject });
        // Reads asked for in the same tick share one submit.
        if (this.reads.length === 1) queueMicrotask(() => void this.flushReads());
      });
    } catch (e) {
      this.markLost(`mapAsync failed: ${e instanceof Error ? e.message || e.name : String(e)}`);
      return this.readOnCpu(node);
    }
  }

  private async flushReads(): Promise<void> {
    const batch = this.reads;
    this.reads = [];
    const staging: GPUBuffer[] = [];
    try {
      const encoder = this.device.createCommandEncoder();
      for (const r of batch) {
        const buf = this.pool.acquire(r.bytes, STAGING_USAGE);
        staging.push(buf);
        encoder.copyBufferToBuffer(r.storage.buffer, 0, buf, 0, r.bytes);
      }
      this.device.queue.submit([encoder.finish()]);
    } catch (e) {
      for (const b of staging) this.pool.release(b);
      for (const r of batch) r.reject(e);
      return;
    } finally {
      // The copies are in the queue (or never will be): a later run that takes a buffer now writes it after.
      for (const r of batch) r.storage.unpin();
    }
    const serial = ++this.counters.submits;
    await this.idle.nudged(
      Promise.all(
        batch.map(async (r, i) => {
          const buf = staging[i]!;
          try {
            await buf.mapAsync(MAP_READ, 0, r.bytes);
            this.finished = Math.max(this.finished, serial);
            const out = new Float32Array(buf.getMappedRange(0, r.bytes).slice(0));
            buf.unmap();
            this.counters.bytesReadBack += r.bytes;
            r.resolve(out);
          } catch (e) {
            r.reject(e);
          } finally {
            this.pool.release(buf);
          }
        }),
      ),
    );
  }

  async sync(): Promise<void> {
    // Everything submitted is known finished (a run whose results or flag were read last): nothing to wait
    // for, where asking the queue would cost a browser a round trip of its own.
    if (this.lost || this.finished === this.counters.submits) return;
    const serial = this.counters.submits;
    // Runs submitted without waiting: wait as for a waited run (sleeping through most of what they are
    // expected to take still, or nudging), and learn from a lone run's time.
    const runs = this.unwaited;
    this.unwaited = null;
    const begun = performance.now();
    let waited: { slept: number; asked: number } | null = null;
    try {
      waited = await this.idle.waitFor(runs?.expected ?? 0, runs?.first ?? begun, () =>
        this.device.queue.onSubmittedWorkDone(),
      );
      this.finished = Math.max(this.finished, serial);
    } catch {
      // A device lost meanwhile has nothing left to finish; the loss is reported where work runs.
    }
    // Runs of one kind and size teach their time (see IdleWait.learnShare); mixed runs say nothing of each.
    const now = performance.now();
    if (waited && runs?.same)
      this.idle.learnShare(
        runs.kind,
        runs.points,
        runs.count,
        waited.slept,
        now - waited.asked,
        now - runs.first,
      );
  }

  stats(): Stats {
    const p = this.pool;
    return {
      ...this.counters,
      plansReused: this.plans.hits,
      nudges: this.idle.nudges,
      liveBuffers: p.live,
      liveBytes: p.liveBytes,
      idleBytes: p.idleBytes,
      buffersCreated: p.created,
    };
  }

  /** Records the loss once: the scheduler moves to the CPU and the reason is reported. */
  private markLost(reason: string): void {
    if (this.lostReason !== null) return;
    this.lostReason = reason;
    this.pool.drop(true);
    this.groups.clear();
    this.onLost(reason);
  }

  /** Host copies of the values `kernels` read that only this (live) device holds. */
  private async pullInputs(kernels: readonly Kernel[]): Promise<void> {
    const held = new Set<Node>();
    for (const k of kernels)
      for (const inp of k.inputs) {
        const s = storageNode(inp.node);
        if (s.host === null && this.owns(s)) held.add(s);
      }
    const copies = await Promise.all([...held].map(async (s) => [s, await this.read(s)] as const));
    for (const [s, values] of copies) s.host ??= values;
  }

  /** Computes the kernels' outputs on the CPU, from whatever has host values (leaves always do). */
  private runOnCpu(kernels: readonly Kernel[]): 'done' {
    this.counters.cpuFallbacks += kernels.length;
    const targets = kernels.flatMap((k) => k.outputs.map((o) => o.node));
    this.cpu.run(planKernels(targets, (n) => this.cpu.has(n)));
    return 'done';
  }

  private async readOnCpu(node: Node): Promise<Float32Array> {
    if (!this.cpu.has(node)) this.cpu.run(planKernels([node], (n) => this.cpu.has(n)));
    return this.cpu.read(node);
  }
}
