// The buffer pool's reuse rule and uploads in pieces, on stand-ins (no GPU): released buffers are kept up
// to 256 MiB, or up to the most ever handed out at once, so a large run's buffers serve the next run of its
// size, and each is handed out again for the role it had (uploaded to, or written on the device).
import { describe, expect, it } from 'vitest';
import {
  BufferPool,
  STAGING_USAGE,
  STORAGE_USAGE,
  WRITE_PIECE,
  writeInPieces,
} from '../../src/backend/webgpu/buffers.js';

const MiB = 1024 * 1024;

/** A device whose buffers only record their size, usage and whether they were destroyed. */
function standInDevice() {
  const made: { size: number; usage: number; destroyed: boolean; destroy(): void }[] = [];
  const device = {
    createBuffer({ size, usage }: { size: number; usage: number }) {
      const b = {
        size,
        usage,
        destroyed: false,
        destroy() {
          b.destroyed = true;
        },
      };
      made.push(b);
      return b;
    },
  };
  return { device: device as unknown as GPUDevice, made };
}

describe('buffer pool', () => {
  it("keeps a run's buffers beyond 256 MiB when the run had them all at once", () => {
    const { device, made } = standInDevice();
    const pool = new BufferPool(device, 4096 * MiB);
    // One run at 2^24 points of (x-2)^2: the input, value and gradient, and one staging buffer for both.
    const run = () => [
      pool.acquire(64 * MiB, STORAGE_USAGE),
      pool.acquire(64 * MiB, STORAGE_USAGE),
      pool.acquire(64 * MiB, STORAGE_USAGE),
      pool.acquire(128 * MiB, STAGING_USAGE),
    ];
    for (const b of run()) pool.release(b);
    expect(pool.created).toBe(4);
    expect(pool.idleBytes).toBe(320 * MiB);
    for (let k = 0; k < 3; k++) for (const b of run()) pool.release(b);
    expect(pool.created).toBe(4);
    expect(made.some((b) => b.destroyed)).toBe(false);
  });

  it('hands a released buffer out again only for the role it had: uploads and device writes apart', () => {
    const { device, made } = standInDevice();
    const pool = new BufferPool(device, 4096 * MiB);
    // A run of (x-2)^2: the input is uploaded, the value and gradient are written by the kernel.
    const run = () => [
      pool.acquire(16 * MiB, STORAGE_USAGE),
      pool.acquire(16 * MiB, STORAGE_USAGE),
      pool.acquire(16 * MiB, STORAGE_USAGE, 'upload'),
    ];
    const first = run();
    // Released outputs first, the input last: by recency alone the input's buffer would be the next output.
    for (const b of first) pool.release(b);
    const second = run();
    expect(pool.created).toBe(3);
    expect(second[2]).toBe(first[2]);
    expect(new Set(second.slice(0, 2))).toEqual(new Set(first.slice(0, 2)));
    for (const b of second) pool.release(b);
    // With only an upload buffer idle, a device buffer is made rather than taken from the uploads.
    pool.release(pool.acquire(16 * MiB, STORAGE_USAGE, 'upload'));
    const [a, b] = [pool.acquire(16 * MiB, STORAGE_USAGE), pool.acquire(16 * MiB, STORAGE_USAGE)];
    const c = pool.acquire(16 * MiB, STORAGE_USAGE);
    expect([a, b]).toEqual(expect.arrayContaining(first.slice(0, 2)));
    expect(c).not.toBe(first[2]);
    expect(made).toHaveLength(4);
  });

  it('frees the least recently released buffers beyond what was ever live at once', () => {
    const { device, made } = standInDevice();
    const pool = new BufferPool(device, 4096 * MiB);
    // 192 MiB live at most, one buffer at a time: 256 MiB is the cap, so the first goes when the second comes.
    pool.release(pool.acquire(192 * MiB, STORAGE_USAGE));
    pool.release(pool.acquire(192 * MiB, STAGING_USAGE));
    expect(made.map((b) => b.destroyed)).toEqual([true, false]);
    expect(pool.idleBytes).toBe(192 * MiB);
    expect(pool.peakBytes).toBe(192 * MiB);
  });

  it('counts a buffer handed out and released again by its latest release when freeing the oldest', () => {
    const { device, made } = standInDevice();
    const pool = new BufferPool(device, 4096 * MiB);
    const a = pool.acquire(128 * MiB, STORAGE_USAGE);
    const b = pool.acquire(128 * MiB, STAGING_USAGE);
    pool.release(a);
    pool.release(b);
    // a is handed out and released again: it is now the most recent release, b the oldest.
    expect(pool.acquire(128 * MiB, STORAGE_USAGE)).toBe(a);
    pool.release(a);
    // 64 MiB more idle goes beyond the 256 MiB kept: b goes, not a (released first, but again since).
    pool.release(pool.acquire(64 * MiB, STORAGE_USAGE));
    expect(made.map((m) => m.destroyed)).toEqual([false, true, false]);
    expect(pool.idleBytes).toBe(192 * MiB);
    expect(pool.acquire(128 * MiB, STORAGE_USAGE)).toBe(a);
    expect(pool.created).toBe(3);
  });

  it('keeps its books straight over many reuses among many idle buffers', () => {
    const { device, made } = standInDevice();
    const pool = new BufferPool(device, 4096 * MiB);
    // 3000 idle buffers of 1 KiB, then 20000 reuses of one of another size: nothing made or freed, and
    // the idle buffers are still there to be reused.
    const many = Array.from({ length: 3000 }, () => pool.acquire(1024, STORAGE_USAGE));
    for (const m of many) pool.release(m);
    for (let i = 0; i < 20000; i++) pool.release(pool.acquire(4096, STORAGE_USAGE));
    expect(pool.created).toBe(3001);
    expect(made.some((m) => m.destroyed)).toBe(false);
    expect(pool.idleBytes).toBe(3000 * 1024 + 4096);
    const again = Array.from({ length: 3000 }, () => pool.acquire(1024, STORAGE_USAGE));
    expect(new Set(again)).toEqual(new Set(many));
    expect(pool.created).toBe(3001);
  });
});

describe('writeInPieces', () => {
  it('writes the values in pieces of at most 1 MiB, in order, covering them exactly', () => {
    const writes: { offset: number; dataOffset: number; size: number }[] = [];
    const queue = {
      writeBuffer(_b: GPUBuffer, offset: number, _d: ArrayBufferLike, dataOffset: number, size: number) {
        writes.push({ offset, dataOffset, size });
      },
    } as unknown as GPUQueue;
    // 2.5 MiB + 12 bytes in a view that starts 8 bytes into its ArrayBuffer: the pieces read from there.
    const whole = new Float32Array(2 + (5 * WRITE_PIECE) / 8 + 3);
    const data = whole.subarray(2);
    writeInPieces(queue, {} as GPUBuffer, data);
    expect(writes).toEqual([
      { offset: 0, dataOffset: 8, size: WRITE_PIECE },
      { offset: WRITE_PIECE, dataOffset: 8 + WRITE_PIECE, size: WRITE_PIECE },
      { offset: 2 * WRITE_PIECE, dataOffset: 8 + 2 * WRITE_PIECE, size: WRITE_PIECE / 2 + 12 },
    ]);
    writes.length = 0;
    writeInPieces(queue, {} as GPUBuffer, new Float32Array(3));
    expect(writes).toEqual([{ offset: 0, dataOffset: 0, size: 12 }]);
  });
});
