/**
 * Waiting for GPU work by sleeping through most of its expected time before asking for the result. Dawn
 * in Node (the `webgpu` package) polls its event queue from setImmediate for as long as a mapAsync is
 * pending: on a CPU implementation of WebGPU (SwiftShader) that polling takes a core from the kernel
 * itself, which then runs about a third slower on two cores. A timer costs nothing while it waits.
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
const OVERSLEPT = 0.1;

/**
 * Expected milliseconds per unit of work, learned per kind of work and size (within a factor of two:
 * fixed costs make small runs slower per unit), and the sleeps they call for.
 */
export class IdleWait {
  // Latest measured rates, by kind and size class.
  private readonly rates = new WeakMap<object, Map<number, number[]>>();

  constructor(
    /** False: never sleep (waiting goes straight to the GPU's promise). */
    readonly enabled: boolean,
  ) {}

  /** The share of the expected time of `units` of work of kind `kind` worth sleeping through (0 when unknown). */
  expected(kind: object, units: number): number {
    if (!this.enabled) return 0;
    const seen = this.rates.get(kind)?.get(sizeClass(units));
    return seen ? SHARE * Math.min(...seen) * units : 0;
  }

  /** Milliseconds to sleep before waiting on `units` of work of kind `kind` (0 when unknown or short). */
  sleepFor(kind: object, units: number): number {
    const ms = this.expected(kind, units);
    return ms >= MIN_SLEEP_MS ? ms : 0;
  }

  /** Sleeps as sleepFor() says; resolves with the ms it set out to sleep (or 0). */
  sleep(kind: object, units: number): Promise<number> {
    return this.sleepMs(this.sleepFor(kind, units));
  }

  /** Sleeps `ms` if that is long enough to be worth a timer; resolves with the ms it set out to sleep (or 0). */
  async sleepMs(ms: number): Promise<number> {
    if (!this.enabled || !(ms >= MIN_SLEEP_MS)) return 0;
    await new Promise((resolve) => setTimeout(resolve, ms));
    return ms;
  }

  /**
   * Waits for `units` of work of kind `kind` submitted at `submitted`: sleeps as sleepFor() says, then
   * `done()`, and records how long the work took.
   */
  async wait<T>(kind: object, units: number, submitted: number, done: () => Promise<T>): Promise<T> {
    const slept = await this.sleep(kind, units);
    const asked = performance.now();
    const out = await done();
    const now = performance.now();
    this.record(kind, units, this.measured(slept, now - asked, now - submitted));
    return out;
  }

  /** What a run that took `ms` in all says of the work, after a sleep of `slept` and a wait of `waited` ms. */
  measured(slept: number, waited: number, ms: number): number {
    return slept > 0 && waited < OVERSLEPT * slept ? ms / 2 : ms;
  }

  /** Records that `units` of work of kind `kind` took `ms` from submit to result. */
  record(kind: object, units: number, ms: number): void {
    if (!this.enabled || units <= 0 || !(ms >= 0)) return;
    const rate = ms / units;
    let bySize = this.rates.get(kind);
    if (!bySize) this.rates.set(kind, (bySize = new Map()));
    const size = sizeClass(units);
    const seen = bySize.get(size) ?? [];
    bySize.set(size, [...seen.slice(1 - WINDOW), rate]);
  }
}

/** Sizes within a factor of two share an estimate. */
const sizeClass = (units: number): number => Math.round(Math.log2(units));

/** True in Node (where Dawn's waiting polls), false in browsers. */
export const inNode = (): boolean =>
  // Through globalThis: the library is built without Node's types (it runs in browsers too).
  typeof (globalThis as { process?: { versions?: { node?: unknown } } }).process?.versions?.node === 'string';
