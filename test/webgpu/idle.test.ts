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

  it('learns from an overslept run at half its time, a guess that the next measured run replaces', async () => {
    const w = new IdleWait(true);
    const a = {};
    // One slow run (a first call at a size), then work that takes 31 ms.
    w.record(a, 1000, 40);
    expect(w.sleepFor(a, 1000)).toBeCloseTo(30, 9);
    // A result there at once after the sleep: the work took less than the sleep, so half is learned.
    w.learn(a, 1000, 30, 1, 31);
    expect(w.sleepFor(a, 1000)).toBeCloseTo(0.75 * 15.5, 9);
    // A result that was still being waited for: its time stands, and replaces the guess (kept as the fastest
    // of the window, it would have the next three runs sleep through little more than a third of theirs).
    w.learn(a, 1000, 11.625, 19.4, 31);
    expect(w.sleepFor(a, 1000)).toBeCloseTo(0.75 * 31, 9);
    // So does any run not slept through.
    w.learn(a, 1000, 0, 0.2, 28);
    expect(w.sleepFor(a, 1000)).toBeCloseTo(0.75 * 28, 9);
    // Guesses stand among themselves.
    w.learn(a, 1000, 21, 1, 22);
    w.learn(a, 1000, 8.25, 0.5, 9);
    expect(w.expected(a, 1000)).toBeCloseTo(0.75 * 4.5, 9);
    // One slow run (a first call at a size) and then work that is always done by the time it is asked for.
    const k = {};
    w.record(k, 1000, 40);
    const sleeps: number[] = [];
    for (let r = 0; r < 8 && w.sleepFor(k, 1000) > 0; r++) {
      sleeps.push(w.sleepFor(k, 1000));
      await w.wait(k, 1000, performance.now(), async () => {});
    }
    // 30 ms, then each sleep about 3/8 of the one before (3/4 of half), until under the 4 ms worth a timer;
    // learning the overslept times as they were would go 30, 22.5, 16.9, 12.7, ...
    expect(sleeps[0]).toBeCloseTo(30, 9);
    expect(sleeps[1]!).toBeLessThan(0.55 * sleeps[0]!);
    expect(sleeps.length).toBeLessThanOrEqual(4);
    expect(w.sleepFor(k, 1000)).toBe(0);
  });

  it('learns from runs waited for together a share each, and from a wait that found them done only a lower bound', () => {
    const w = new IdleWait(true);
    const a = {};
    // An estimate learned from a slow outlier: 12 ms for work that takes 1.
    w.record(a, 1000, 12);
    // Four runs waited for together, still running when asked (3 ms of waiting): 20 ms from the first submit
    // is 5 each, a measurement that stands.
    w.learnShare(a, 1000, 4, 0, 3, 20);
    expect(w.estimate(a, 1000)).toBeCloseTo(5, 9);
    // Three runs found done at once, 6 ms after the first submit: each took at most 2, below the estimate.
    w.learnShare(a, 1000, 3, 0, 0.05, 6);
    expect(w.estimate(a, 1000)).toBeCloseTo(2, 9);
    // A bound above the estimate says nothing (the wait came late); the estimate stays.
    w.learnShare(a, 1000, 1, 0, 0.05, 9);
    expect(w.estimate(a, 1000)).toBeCloseTo(2, 9);
    // Runs slept through: the share is learned as learn() learns a run (halved where the sleep outlasted it).
    const b = {};
    w.record(b, 1000, 40);
    w.learnShare(b, 1000, 2, 30, 0.5, 31);
    expect(w.estimate(b, 1000)).toBeCloseTo(31 / 2 / 2, 9);
    // Nothing learned, nothing bounded: an unknown kind stays unknown.
    const c = {};
    w.learnShare(c, 1000, 2, 0, 0.05, 6);
    expect(w.estimate(c, 1000)).toBe(0);
  });

  it('never sleeps when disabled, and waitFor() sleeps on a timer through three quarters of the expected time', async () => {
    const off = new IdleWait(false);
    const k = {};
    off.record(k, 1000, 100);
    expect(off.sleepFor(k, 1000)).toBe(0);
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    try {
      const on = new IdleWait(true);
      on.record(k, 1000, 100);
      let asked = false;
      const p = on.waitFor(on.estimate(k, 1000), performance.now(), async () => {
        asked = true;
        return 7;
      });
      await vi.advanceTimersByTimeAsync(74);
      expect(asked).toBe(false);
      await vi.advanceTimersByTimeAsync(2);
      const r = await p;
      expect(asked).toBe(true);
      expect(r.out).toBe(7);
      expect(r.slept).toBe(75);
    } finally {
      vi.useRealTimers();
    }
  });

  it('nudges while a result is pending: at once, then ever further apart, and never after', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    try {
      // A queue that records when it is nudged.
      const at: number[] = [];
      const nudged = {
        submit: (buffers: Iterable<GPUCommandBuffer>) => {
          expect([...buffers]).toEqual([]);
          at.push(performance.now());
        },
      };
      const w = new IdleWait(false, nudged);
      const k = {};
      let finish = (): void => {};
      const pending = (): Promise<void> => new Promise<void>((r) => (finish = r));
      // A millisecond apart at first, then a tenth of the time waited (about 35 in 100 ms, where one per
      // timer tick would be hundreds).
      for (let r = 0; r < 2; r++) {
        at.length = 0;
        const t0 = performance.now();
        const waiting = w.wait(k, 1000, t0, pending);
        await vi.advanceTimersByTimeAsync(100);
        // At once, on every run (a run learned before does not delay it).
        expect(at[0]).toBe(t0);
        expect(at[1]! - t0).toBe(1);
        expect(at.length).toBeGreaterThan(20);
        expect(at.length).toBeLessThan(60);
        const gaps = at.slice(1).map((t, i) => t - at[i]!);
        expect(gaps.at(-1)!).toBeGreaterThanOrEqual(8);
        expect(gaps.at(-1)!).toBeLessThanOrEqual(10);
        finish();
        await waiting;
        // None once the result is there.
        const sent = at.length;
        await vi.advanceTimersByTimeAsync(200);
        expect(at.length).toBe(sent);
      }
      expect(w.nudges).toBeGreaterThan(40);
      // Sleeping and nudging: nudges from the end of the sleep on.
      const both = new IdleWait(true, nudged);
      both.record(k, 1000, 100);
      at.length = 0;
      const t1 = performance.now();
      const slept = both.wait(k, 1000, t1, pending);
      await vi.advanceTimersByTimeAsync(74);
      expect(at).toEqual([]);
      await vi.advanceTimersByTimeAsync(2);
      expect(at.length).toBe(1);
      expect(at[0]! - t1).toBeGreaterThanOrEqual(75);
      finish();
      await slept;
      // A wait that does not nudge sends none.
      const quiet = new IdleWait(false);
      const third = quiet.wait(k, 1000, performance.now(), pending);
      await vi.advanceTimersByTimeAsync(50);
      finish();
      await third;
      expect(quiet.nudges).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});
