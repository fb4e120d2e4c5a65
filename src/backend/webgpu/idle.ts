/**
 * Waiting for GPU work. Dawn in Node (the `webgpu` package) polls its event queue from setImmediate for
 * as long as a mapAsync is pending: on a CPU implementation of WebGPU (SwiftShader) that polling takes a
 * core from the kernel itself, which then runs about a third slower on two cores, so there the wait
 * sleeps through most of the work's expected time first (a timer costs nothing while it waits). A browser
 * delivers a finished mapAsync when its GPU process next looks at the device, which it does on a timer
 * and whenever the page submits: headless Chromium on SwiftShader took a median 2.5–2.8 ms to run a small
 * kernel over 1024 points and return its two outputs, 0.5 ms at best; with an empty submit at once and then
 * every millisecond while waiting, 0.7–1.2 ms (4096 points: 2.6–2.9 against 0.7–1.8 ms; 65536: 3.1–4.7
 * against 2.2–3.8; six runs of 61 calls, nudged and not interleaved).
 * So in browsers the wait nudges (submits nothing), from its start: a result comes about 0.4 ms after a
 * nudge that finds the work done, so nudging from a share of a learned time teaches itself a later and
 * later start (the time learned includes the delay; 4096 points settled at 2 ms where 1 would do).
 */

// Runs expected to take less than this are waited for at once: a timer's granularity would cost more.
const MIN_SLEEP_MS = 4;
// Sleeps cover this share of the expected time; the rest is polled, so a faster run is not delayed much.
const SHARE = 0.75;
// The estimate is the fastest of this many latest measurements: a slow outlier (a first touch of new
// memory, another process) must not make the next runs oversleep, and an overslept run measures the
// sleep, not the work, so only the fastest says how long the work took.
const WINDOW = 4;
// A result there within this share of the sleep once asked for means the sleep outlasted the work (a
// correct estimate leaves a third of the sleep to wait). Such a run is recorded at half its time: recorded
// as it was, a slow run alone in the window (the first call at a size, with new buffers to fill) would have
// each next run sleep through three quarters of the last, 20 ms calls for several calls where 1 ms would do.
// Half is a guess, not a measurement: the next measured run replaces it, where the fastest-of-the-window rule
// would keep it for WINDOW runs, each sleeping through too little (in Node at 2^22, after the first call at
// the size: the 20-op chain's calls took about 420 ms for four calls with sleeps of 142 ms, then 340 with
// 230; six rounds of exp, log and tanh took 620 ms with 214 ms sleeps, then 530 with 440).
const OVERSLEPT = 0.1;
// A wait shorter than this, without a sleep, found the work already done: the time since its submit says
// how late the wait began, so it bounds how long the work took rather than measuring it.
const MEASURABLE_MS = 1;
// Nudges come at least this far apart: setTimeout takes whole milliseconds (its delay is a WebIDL `long`,
// so 0.5 would be 0), and nudging on every turn of the event loop made a bare round trip of 1024 points
// slower (2.7 ms) than nudging every millisecond (0.7) or not at all (2.5), in one run of all three.
const NUDGE_MS = 1;
// ... and at most this share of the time waited so far apart, so that a long wait costs a few dozen nudges
// and its result still comes back within about this share of its time.
const NUDGE_SHARE = 0.1;

/**
 * Expected milliseconds per unit of work, learned per kind of work and size (within a factor of two:
 * fixed costs make small runs slower per unit), the sleeps they call for, and nudges.
 */
export class IdleWait {
  // Latest rates, by kind and size class; `guess` for an overslept run's (see OVERSLEPT).
  private readonly rates = new WeakMap<object, Map<number, { rate: number; guess: boolean }[]>>();
  /** Nudges sent so far. */
  nudges = 0;

  constructor(
    /** False: never sleep (waiting goes straight to the GPU's promise). */
    readonly sleeping: boolean,
    /** The queue nudged (submitted nothing, so that the GPU looks for finished work); null: never nudge. */
    private readonly queue: { submit(buffers: Iterable<GPUCommandBuffer>): unknown } | null = null,
  ) {}

  /** Milliseconds `units` of work of kind `kind` is expected to take (0 when unknown or nothing is learned). */
  estimate(kind: object, units: number): number {
    const seen = this.rates.get(kind)?.get(sizeClass(units));
    return seen ? Math.min(...seen.map((s) => s.rate)) * units : 0;
  }

  /** The share of the expected time of `units` of work of kind `kind` worth sleeping through (0 when unknown). */
  expected(kind: object, units: number): number {
    return this.sleeping ? SHARE * this.estimate(kind, units) : 0;
  }

  /** Milliseconds to sleep before waiting on `units` of work of kind `kind` (0 when unknown or short). */
  sleepFor(kind: object, units: number): number {
    const ms = this.expected(kind, units);
    return ms >= MIN_SLEEP_MS ? ms : 0;
  }

  /** Sleeps `ms` if that is long enough to be worth a timer; resolves with the ms it set out to sleep (or 0). */
  async sleepMs(ms: number): Promise<number> {
    if (!this.sleeping || !(ms >= MIN_SLEEP_MS)) return 0;
    await new Promise((resolve) => setTimeout(resolve, ms));
    return ms;
  }

  /**
   * `pending`, with nudges while it is unsettled where this waits by nudging: the first at once, the next
   * ones NUDGE_MS or a NUDGE_SHARE of the time waited apart.
   */
  nudged<T>(pending: Promise<T>): Promise<T> {
    const queue = this.queue;
    if (!queue) return pending;
    const begun = performance.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let settled = false;
    // In Node a pending timer keeps the process alive: a wait that never ends must not (browsers' timers
    // are numbers, without unref).
    const after = (ms: number): void => {
      timer = setTimeout(tick, ms);
      (timer as { unref?: () => void }).unref?.();
    };
    const tick = (): void => {
      if (settled) return;
      queue.submit([]);
      this.nudges++;
      after(Math.max(NUDGE_MS, NUDGE_SHARE * (performance.now() - begun)));
    };
    after(0);
    const stop = (): void => {
      settled = true;
      clearTimeout(timer);
    };
    pending.then(stop, stop);
    return pending;
  }

  /**
   * Waits for work expected to take `estimateMs` from `since`: sleeps through SHARE of it where this
   * sleeps (if what is left is worth a timer), then `done()`, nudged where this nudges. Resolves with
   * done()'s result, the ms slept and when done() was asked.
   */
  async waitFor<T>(
    estimateMs: number,
    since: number,
    done: () => Promise<T>,
  ): Promise<{ out: T; slept: number; asked: number }> {
    const slept = await this.sleepMs(SHARE * estimateMs - (performance.now() - since));
    const asked = performance.now();
    const out = await this.nudged(done());
    return { out, slept, asked };
  }

  /**
   * Waits for `units` of work of kind `kind` submitted at `submitted` as waitFor() does, and learns how
   * long the work took.
   */
  async wait<T>(kind: object, units: number, submitted: number, done: () => Promise<T>): Promise<T> {
    const { out, slept, asked } = await this.waitFor(this.estimate(kind, units), submitted, done);
    const now = performance.now();
    this.learn(kind, units, slept, now - asked, now - submitted);
    return out;
  }

  /**
   * Learns from `units` of work of kind `kind` that took `ms` from submit to result, after a sleep of `slept`
   * and a wait of `waited` ms: its time, or half of it as a guess where the sleep outlasted it (see OVERSLEPT).
   */
  learn(kind: object, units: number, slept: number, waited: number, ms: number): void {
    const overslept = slept > 0 && waited < OVERSLEPT * slept;
    this.add(kind, units, overslept ? ms / 2 : ms, overslept);
  }

  /**
   * Learns from `count` runs of kind `kind`, `units` each, waited for together `ms` after the first was
   * submitted (sleeping `slept`, then waiting `waited`): each is taken to have had an equal share. Where the
   * wait found them already done, the share is only a bound, kept where it is below the estimate: learning
   * only from the waits long enough to measure would learn only slow outliers (in Node on SwiftShader,
   * 1024 points came to an expected 1.2–1.6 ms where they took 0.15, and a wait after five such runs slept
   * 4–6 ms through work long done).
   */
  learnShare(kind: object, units: number, count: number, slept: number, waited: number, ms: number): void {
    const each = ms / count;
    if (slept > 0 || waited >= MEASURABLE_MS) this.learn(kind, units, slept, waited, each);
    else if (each < this.estimate(kind, units)) this.record(kind, units, each);
  }

  /** Records that `units` of work of kind `kind` took `ms` from submit to result. */
  record(kind: object, units: number, ms: number): void {
    this.add(kind, units, ms, false);
  }

  /** Adds a rate to the window of its kind and size (where sleeps use them). */
  private add(kind: object, units: number, ms: number, guess: boolean): void {
    if (!this.sleeping || units <= 0 || !(ms >= 0)) return;
    let bySize = this.rates.get(kind);
    if (!bySize) this.rates.set(kind, (bySize = new Map()));
    const size = sizeClass(units);
    // A measurement replaces the guesses before it.
    const seen = (bySize.get(size) ?? []).filter((s) => guess || !s.guess);
    bySize.set(size, [...seen.slice(1 - WINDOW), { rate: ms / units, guess }]);
  }
}

/** Sizes within a factor of two share an estimate. */
const sizeClass = (units: number): number => Math.round(Math.log2(units));

/** True in Node (where Dawn's waiting polls), false in browsers. */
export const inNode = (): boolean =>
  // Through globalThis: the library is built without Node's types (it runs in browsers too).
  typeof (globalThis as { process?: { versions?: { node?: unknown } } }).process?.versions?.node === 'string';
