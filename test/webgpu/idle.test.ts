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
    expect(w.sleepFor(a, 1200)).toBeCloseTo(90, 9);
    // Sizes beyond a factor of about two are learned apart (fixed costs weigh on small runs).
    expect(w.sleepFor(a, 4000)).toBe(0);
    expect(w.sleepFor(a, 250)).toBe(0);
    w.record(a, 50, 3);
    // Expected under 4 ms: waited for at once.
    expect(w.sleepFor(a, 50)).toBe(0);
    // Kinds are learned apart.
    expect(w.sleepFor(b, 1000)).toBe(0);
    // The estimate is the fastest of the last four measurements: a slow one does not raise it...
    w.record(a, 1000, 200);
    expect(w.sleepFor(a, 1000)).toBeCloseTo(75, 9);
    w.record(a, 1000, 80);
    expect(w.sleepFor(a, 1000)).toBeCloseTo(60, 9);
    // ... until it is all there is.
    for (let r = 0; r < 4; r++) w.record(a, 1000, 160);
    expect(w.sleepFor(a, 1000)).toBeCloseTo(120, 9);
    // Bad measurements are ignored.
    w.record(a, 0, 5);
    w.record(a, 1000, Number.NaN);
    expect(w.sleepFor(a, 1000)).toBeCloseTo(120, 9);
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
