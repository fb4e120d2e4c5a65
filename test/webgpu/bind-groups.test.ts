// The bind group cache on a stand-in device (no GPU): a group is made once per layout and bound buffer
// ranges, and anything that differs (a buffer, an offset, a size, the layout) gets its own.
import { describe, expect, it } from 'vitest';
import { BindGroupCache } from '../../src/backend/webgpu/bind-groups.js';

/** A device that records the bind groups it makes. */
function standInDevice() {
  const made: { layout: unknown; entries: unknown[] }[] = [];
  const device = {
    createBindGroup(d: { layout: unknown; entries: unknown[] }) {
      const g = { ...d };
      made.push(g);
      return g;
    },
  };
  return { device: device as unknown as GPUDevice, made };
}

const buffer = (): GPUBuffer => ({}) as GPUBuffer;
const layout = (): GPUBindGroupLayout => ({}) as GPUBindGroupLayout;

describe('bind group cache', () => {
  it('the same layout and buffer ranges give the group made the first time', () => {
    const { device, made } = standInDevice();
    const cache = new BindGroupCache(device);
    const [l, u, a, b] = [layout(), buffer(), buffer(), buffer()];
    const entries = (off: number, size: number, second = b) => [
      { binding: 0, resource: { buffer: u, offset: 256, size: 64 } },
      { binding: 1, resource: { buffer: a, offset: off, size } },
      { binding: 2, resource: { buffer: second, size: 16 } },
    ];
    const g = cache.get(l, entries(0, 1024));
    expect(cache.get(l, entries(0, 1024))).toBe(g);
    expect(made).toHaveLength(1);
    expect(made[0]!.entries).toEqual(entries(0, 1024));
    // Another offset (the next chunk), size, buffer or layout: another group.
    const others = [
      cache.get(l, entries(1024, 1024)),
      cache.get(l, entries(0, 512)),
      cache.get(l, entries(0, 1024, buffer())),
      cache.get(layout(), entries(0, 1024)),
    ];
    expect(new Set([g, ...others]).size).toBe(5);
    expect(cache.created).toBe(5);
    expect(cache.get(l, entries(1024, 1024))).toBe(others[0]);
  });

  it('keeps the 1024 most recently used groups, and none after clear()', () => {
    const { device } = standInDevice();
    const cache = new BindGroupCache(device);
    const l = layout();
    const bufs = Array.from({ length: 1100 }, buffer);
    const one = (b: GPUBuffer) => cache.get(l, [{ binding: 0, resource: { buffer: b, size: 4 } }]);
    const first = one(bufs[0]!);
    for (const b of bufs.slice(1, 1024)) one(b);
    expect(one(bufs[0]!)).toBe(first); // used again: now the most recent
    for (const b of bufs.slice(1024)) one(b);
    expect(one(bufs[0]!)).toBe(first);
    expect(cache.created).toBe(1100);
    one(bufs[1]!); // dropped long ago
    expect(cache.created).toBe(1101);
    cache.clear();
    expect(one(bufs[0]!)).not.toBe(first);
  });
});
