/** GPU buffers: a pool that reuses released buffers by size class, and node storage freed with its node. */
import type { DeviceStorage, Node } from '../../graph/node.js';

// The spec's flag values, spelled out: in Node the GPUBufferUsage global exists only if the caller installed it.
const MAP_READ = 0x1;
const COPY_SRC = 0x4;
const COPY_DST = 0x8;
const UNIFORM = 0x40;
const STORAGE = 0x80;

/** Usage of buffers that hold node values, partial sums and everything copied in or out of them. */
export const STORAGE_USAGE = STORAGE | COPY_SRC | COPY_DST;
/** Usage of staging buffers that reads map. */
export const STAGING_USAGE = MAP_READ | COPY_DST;
/** Usage of the per-run uniform blocks. */
export const UNIFORM_USAGE = UNIFORM | COPY_DST;

// Released buffers kept for reuse: at most this many bytes, or as many as were ever handed out at once if
// that is more (a run's own buffers then come back for the next run of its size instead of being made
// again, which costs more than the run at large sizes); the least recently released go first.
const IDLE_BYTES = 256 * 1024 * 1024;

/** Work the device cannot hold (a buffer, binding or grid beyond its limits): it runs on the CPU instead. */
export class CapacityError extends Error {}

/** The size a request is rounded up to, so that nearby sizes share buffers (at most 1/8 wasted above 1 KiB). */
export function sizeClass(bytes: number): number {
  if (bytes <= 1024) return Math.max(16, Math.ceil(bytes / 16) * 16);
  const step = 2 ** (Math.floor(Math.log2(bytes)) - 3);
  return Math.ceil(bytes / step) * step;
}

/** Largest piece of one queue write (see writeInPieces). */
export const WRITE_PIECE = 1024 * 1024;

/**
 * Writes `data` to the start of `buffer` through the queue, in pieces of at most WRITE_PIECE bytes. Dawn
 * serves a write that fits its 4 MiB upload ring from staging memory it keeps, and gives a larger one
 * staging memory of its own, made for it and freed after it, which the system then maps in page by page:
 * on SwiftShader 16 MiB written at once took 15–20 ms where pieces took about 5.
 */
export function writeInPieces(queue: GPUQueue, buffer: GPUBuffer, data: Float32Array): void {
  const bytes = data.byteLength;
  for (let at = 0; at < bytes; at += WRITE_PIECE)
    queue.writeBuffer(buffer, at, data.buffer, data.byteOffset + at, Math.min(WRITE_PIECE, bytes - at));
}

/**
 * What fills a buffer: writes from the host through the queue ('upload'), or work on the device (kernels
 * and copies). The pool keeps the two apart: a buffer the last run's kernel wrote, handed out for this
 * run's upload, made a 2^22-point run of (x-2)^2 on SwiftShader 15–20% slower end to end, in Chromium and
 * in Node alike, than buffers that keep their role from run to run.
 */
export type BufferRole = 'upload' | 'device';

/** What the pool knows of a buffer it made: its reuse key and size, and when it was last released. */
interface Kept {
  readonly key: string;
  readonly size: number;
  /** The release that made it idle; 0 while it is handed out. */
  idleAt: number;
}

/** Buffers handed out and idle ones kept for reuse. */
export class BufferPool {
  /** Buffers handed out and not yet released. */
  live = 0;
  /** Bytes of the buffers handed out. */
  liveBytes = 0;
  /** The most bytes handed out at once. */
  peakBytes = 0;
  /** Buffers made (rather than reused) so far. */
  created = 0;
  /** Bytes of the released buffers kept for reuse. */
  idleBytes = 0;
  private readonly idle = new Map<string, GPUBuffer[]>();
  // Written once per buffer and then changed in place: V8 rebuilds a whole hash table when an entry is
  // deleted and another added to a full one, so a Map or WeakMap entry taken out on each reuse and put back
  // on each release cost 20–40 µs a reuse with 10000 buffers idle (and a list filtered on each reuse, 130).
  private readonly kept = new WeakMap<GPUBuffer, Kept>();
  // Releases in order, for dropping the oldest idle buffers first. A buffer handed out again leaves its
  // entry behind, stale (the buffer's idleAt is no longer the entry's): skipped when met, and cleared out
  // once stale entries outnumber idle ones.
  private order: { buf: GPUBuffer; at: number }[] = [];
  private head = 0;
  private releases = 0;
  private idleCount = 0;
  private dead = false;
  // Set once a later init() replaced the backend: buffers coming back are destroyed, not kept, and once
  // none is handed out any more, `whenEmpty` is called.
  private retired = false;
  private whenEmpty: (() => void) | null = null;

  constructor(
    private readonly device: GPUDevice,
    private readonly maxBufferSize: number,
  ) {}

  /** A buffer of at least `bytes` with `usage`, for `role` (reused when one of that role is idle). */
  acquire(bytes: number, usage: number, role: BufferRole = 'device'): GPUBuffer {
    const cls = sizeClass(bytes);
    const size = cls <= this.maxBufferSize ? cls : bytes;
    if (size > this.maxBufferSize)
      throw new CapacityError(
        `webgpu: a buffer of ${bytes} bytes exceeds the device's maxBufferSize (${this.maxBufferSize}); use fewer points per tensor`,
      );
    const key = `${role}:${usage}:${size}`;
    const buf = this.idle.get(key)?.pop();
    this.live++;
    this.liveBytes += size;
    this.peakBytes = Math.max(this.peakBytes, this.liveBytes);
    if (buf) {
      this.idleBytes -= size;
      this.idleCount--;
      this.kept.get(buf)!.idleAt = 0;
      return buf;
    }
    this.created++;
    const made = this.device.createBuffer({ size, usage });
    this.kept.set(made, { key, size, idleAt: 0 });
    return made;
  }

  /** Takes back a buffer from acquire(); it may be handed out again at once (queue order keeps that safe). */
  release(buf: GPUBuffer): void {
    const k = this.kept.get(buf)!;
    this.live--;
    this.liveBytes -= k.size;
    if (this.dead) return;
    if (this.retired) {
      buf.destroy();
      if (this.live === 0) this.whenEmpty?.();
      return;
    }
    const list = this.idle.get(k.key);
    if (list) list.push(buf);
    else this.idle.set(k.key, [buf]);
    k.idleAt = ++this.releases;
    this.order.push({ buf, at: k.idleAt });
    this.idleBytes += k.size;
    this.idleCount++;
    const keep = Math.max(IDLE_BYTES, this.peakBytes);
    while (this.idleBytes > keep && this.head < this.order.length) {
      const { buf: old, at } = this.order[this.head++]!;
      const o = this.kept.get(old)!;
      if (o.idleAt !== at) continue;
      const l = this.idle.get(o.key)!;
      l.splice(l.indexOf(old), 1);
      o.idleAt = 0;
      this.idleBytes -= o.size;
      this.idleCount--;
      old.destroy();
    }
    if (this.order.length - this.head > 2 * this.idleCount + 64) {
      this.order = this.order.slice(this.head).filter((e) => this.kept.get(e.buf)!.idleAt === e.at);
      this.head = 0;
    }
  }

  /** Destroys the idle buffers; after a device loss, releases only update the counts. */
  drop(lost: boolean): void {
    for (const list of this.idle.values()) for (const b of list) b.destroy();
    this.idle.clear();
    this.order = [];
    this.head = 0;
    this.idleBytes = 0;
    this.idleCount = 0;
    this.dead ||= lost;
  }

  /**
   * Destroys the idle buffers and, from now on, every buffer released (the backend is no longer used);
   * calls `whenEmpty` once no buffer is handed out (at once if none is).
   */
  retire(whenEmpty: () => void): void {
    this.drop(false);
    this.retired = true;
    this.whenEmpty = whenEmpty;
    if (this.live === 0) whenEmpty();
  }
}

// A node's GPU buffer goes back to its pool when the node becomes unreachable; dispose() does it at once.
const registry = new FinalizationRegistry<GpuStorage>((s) => s.release());

/** The GPU buffer holding a node's values. */
export class GpuStorage implements DeviceStorage {
  readonly backend = 'webgpu';
  private released = false;
  // Reads whose copy out of the buffer is not yet submitted: until it is, a release keeps the buffer from
  // the pool, where the next run could take it as an output and overwrite the values before the copy.
  private pins = 0;
  private releaseDeferred = false;

  constructor(
    /** The backend instance the buffer belongs to (a later init() makes another), which reads it back. */
    readonly owner: { read(node: Node): Promise<Float32Array> },
    private readonly pool: BufferPool,
    /** The buffer (possibly larger than the values). */
    readonly buffer: GPUBuffer,
    /** Bytes of values: 4 per element. */
    readonly bytes: number,
  ) {}

  /** Attaches the storage to `node`, to be released when the node is freed or collected. */
  attach(node: Node): void {
    node.device?.release();
    node.device = this;
    registry.register(node, this, this);
  }

  read(node: Node): Promise<Float32Array> {
    return this.owner.read(node);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    registry.unregister(this);
    if (this.pins > 0) this.releaseDeferred = true;
    else this.pool.release(this.buffer);
  }

  /** Keeps the buffer out of the pool (a release waits) until as many unpin() calls. */
  pin(): void {
    this.pins++;
  }

  /** Ends a pin(); a release that came meanwhile happens now. */
  unpin(): void {
    if (--this.pins > 0 || !this.releaseDeferred) return;
    this.releaseDeferred = false;
    this.pool.release(this.buffer);
  }
}
