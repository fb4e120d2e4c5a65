// How webgrad runs on an adapter: its defaults for GPUs and CPU implementations of WebGPU, and init()'s
// options over them (the backend and the benchmark's hand kernels both take it from tuningFor).
import { describe, expect, it } from 'vitest';
import { defaultTuning, tuningFor } from '../../src/backend/webgpu/tuning.js';

describe('tuning', () => {
  it('GPUs take workgroup sums, a point per invocation and the full range reduction; CPU adapters the others', () => {
    const gpu = defaultTuning(false);
    const cpu = defaultTuning(true);
    expect([gpu.reduce, gpu.points, gpu.exactRangeReduction]).toEqual(['workgroup', 1, true]);
    expect([cpu.reduce, cpu.exactRangeReduction]).toEqual(['invocation', false]);
    expect(cpu.points).toBeGreaterThan(1);
    // Small work goes to webgrad's CPU backend below 256 points on a GPU, below 8192 on a CPU adapter.
    expect([gpu.cpuBelow, cpu.cpuBelow]).toEqual([256, 8192]);
    // Node (this test): no nudges anywhere, sleeps on CPU adapters only.
    expect([gpu.nudgeWhileWaiting, gpu.sleepWhileWaiting, cpu.sleepWhileWaiting]).toEqual([
      false,
      false,
      true,
    ]);
  });

  it("takes each option given, and the default for 'auto' or none", () => {
    for (const software of [false, true]) {
      const d = defaultTuning(software);
      expect(tuningFor(software, {})).toEqual(d);
      expect(
        tuningFor(software, {
          reduce: 'auto',
          pointsPerInvocation: 'auto',
          sleepWhileWaiting: 'auto',
          nudgeWhileWaiting: 'auto',
          exactRangeReduction: 'auto',
        }),
      ).toEqual(d);
      const given = {
        reduce: software ? 'workgroup' : 'invocation',
        pointsPerInvocation: 7,
        sleepWhileWaiting: !d.sleepWhileWaiting,
        nudgeWhileWaiting: !d.nudgeWhileWaiting,
        exactRangeReduction: !d.exactRangeReduction,
        cpuBelow: 0,
      } as const;
      expect(tuningFor(software, given)).toEqual({
        reduce: given.reduce,
        points: 7,
        sleepWhileWaiting: given.sleepWhileWaiting,
        nudgeWhileWaiting: given.nudgeWhileWaiting,
        exactRangeReduction: given.exactRangeReduction,
        cpuBelow: 0,
      });
    }
  });
});
