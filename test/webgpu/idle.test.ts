// Sleeping through a run's expected time before waiting on it (no device needed): what is expected, when.
import { describe, expect, it, vi } from 'vitest';
import { IdleWait } from '../../src/backend/webgpu/idle.js';

describe('IdleWait', () => {
  it('sleeps through three quarters of the time learned for a kind of work, scaled by its size', () => {
    const w = new IdleWait(true);
    const a = {};
    const b = {};
    // Nothing learned yet: no sleep.
    expect(w.sleepFor(a, 1000)).toBe(0);
    w.record(a, 1000, 100);
    expect(w.sleepFor(a, 1000)).toBeCloseTo(75, 9);
    expect(w.sleepFor(a, 2000)).toBeCloseTo(150, 9);
    // Expected under 4 ms: waited for at once.
    expect(w.sleepFor(a, 50)).toBe(0);
    // Kinds are learned apart.
    expect(w.sleepFor(b, 1000)).toBe(0);
    // A new measurement moves the estimate by 30% of the difference.
    w.record(a, 1000, 200);
    expect(w.sleepFor(a, 1000)).toBeCloseTo(0.75 * 130, 9);
    // Bad measurements are ignored.
    w.record(a, 0, 5);
    w.record(a, 1000, Number.NaN);
    expect(w.sleepFor(a, 1000)).toBeCloseTo(0.75 * 130, 9);
  });

  it('never sleeps when disabled, and sleep() waits on a timer for the expected time', async () => {
    const off = new IdleWait(false);
    const k = {};
    off.record(k, 1000, 100);
    expect(off.sleepFor(k, 1000)).toBe(0);
    vi.useFakeTimers();
    try {
      const on = new IdleWait(true);
      on.record(k, 1000, 100);
      let done = false;
      const p = on.sleep(k, 1000).then(() => (done = true));
      await vi.advanceTimersByTimeAsync(74);
      expect(done).toBe(false);
      await vi.advanceTimersByTimeAsync(2);
      await p;
      expect(done).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });
});
