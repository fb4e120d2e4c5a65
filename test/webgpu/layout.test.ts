// Where a run's uniform blocks and read-back values go (no device needed).
import { describe, expect, it } from 'vitest';
import { READ_AHEAD, readbackLayout, uniformLayout } from '../../src/backend/webgpu/layout.js';
import type { Step } from '../../src/backend/webgpu/plan.js';
import { leaf } from '../../src/ops/build.js';

/** A step whose program reads `uniformBytes` and whose dispatches carry the given uniform words. */
const step = (uniformBytes: number, words: number[][]): Step => ({
  program: { source: '', bindings: [], uniformBytes, consts: [], constRefs: [] },
  binds: [],
  dispatches: words.map((w) => ({ words: w, grid: [1, 1] as const, start: 0, n: 1 })),
  constsOf: 0,
});

describe('run layout', () => {
  it('puts the uniform block of every dispatch at an aligned offset of one buffer, with its words there', () => {
    const l = uniformLayout([step(48, [[1, 2], [3]]), step(300, [[4, 5, 6]])], 256);
    expect(l.at).toEqual([
      [
        { offset: 0, size: 48 },
        { offset: 256, size: 48 },
      ],
      [{ offset: 512, size: 300 }],
    ]);
    // The last block takes its stride (two alignments of 256), so the buffer holds whole strides.
    expect(l.bytes).toBe(1024);
    expect(l.words.length).toBe(256);
    expect([...l.words.subarray(0, 2)]).toEqual([1, 2]);
    expect(l.words[64]).toBe(3);
    expect([...l.words.subarray(128, 131)]).toEqual([4, 5, 6]);
    expect(l.words.filter((w) => w !== 0).length).toBe(6);
  });

  it('brings back small outputs and read ones with a waited run, else four bytes of the first as a fence', () => {
    const node = (n: number) => leaf(new Float32Array(n), [n], false);
    const [loss, big, other] = [node(1), node(READ_AHEAD + 1), node(READ_AHEAD * 4)];
    // Read: the scalar and the read output come back whole, after each other; the flag word after them.
    const read = readbackLayout([loss, big, other], new Set([big]), true);
    expect(read.waited).toBe(true);
    expect(read.small).toEqual([loss, big]);
    expect([...read.offsets]).toEqual([
      [loss, 0],
      [big, 4],
    ]);
    expect(read.bytesOf(big)).toBe(4 * (READ_AHEAD + 1));
    expect(read.flagAt).toBe(4 + 4 * (READ_AHEAD + 1));
    expect(read.stagingBytes).toBe(read.flagAt + 4);
    // Neither read nor speculative: not waited for (the layout still says what a fence would take).
    const idle = readbackLayout([big, other], new Set(), false);
    expect(idle.waited).toBe(false);
    expect(idle.small).toEqual([]);
    expect([...idle.offsets]).toEqual([[big, 0]]);
    expect(idle.bytesOf(big)).toBe(4);
    expect(idle.stagingBytes).toBe(4);
    // Speculative alone: waited for, four bytes of the first output as the fence, then the flag.
    const spec = readbackLayout([big, other], new Set(), true);
    expect(spec.waited).toBe(true);
    expect(spec.flagAt).toBe(4);
    expect(spec.stagingBytes).toBe(8);
  });
});
