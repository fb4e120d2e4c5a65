// The buffer pool's reuse rule, on a stand-in device (no GPU): released buffers are kept up to 256 MiB,
// or up to the most ever handed out at once, so a large run's buffers serve the next run of its size.
import { describe, expect, it } from 'vitest';
import { BufferPool, STAGING_USAGE, STORAGE_USAGE } from '../../src/backend/webgpu/buffers.js';

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
});
