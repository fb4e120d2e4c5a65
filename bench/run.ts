// The benchmark loop shared by the Node and browser runners: checks each system against the float64
// reference, then times value + gradient calls, interleaving the systems of a phase so that machine
// noise hits them alike.
import { bytesPerPoint, caseInputs, type BenchCase } from './cases.js';
import { median } from './median.js';
import { maxError, reference, TOLERANCE } from './reference.js';
import type { BenchOptions } from './options.js';
import type { BenchReport } from './report.js';
import { accurateBody } from './systems/hand.js';
import { gpuCalls, type OwnCounters, type Resident, type System, type SystemId } from './systems/system.js';

// Timed and untimed single-point calls per system (at least; --reps and --warmup raise them).
const SINGLE_POINT_REPS = 31;
const SINGLE_POINT_WARMUP = 5;
// Device-resident calls take milliseconds on a GPU: more of them than the end-to-end reps, after at least
// RESIDENT_WARMUP untimed ones each (a first call can still meet another system's work on the device),
// while the round stays within RESIDENT_BUDGET_MS (on a CPU adapter a call can take a second).
export const RESIDENT_REPS = 9;
export const RESIDENT_WARMUP = 2;
const RESIDENT_BUDGET_MS = 2000;
// At most this many JIT warm-up calls per system and case.
const JIT_WARMUP_CALLS = 300;

/** How a benchmark runs. */
export interface RunOptions {
  /** log2 of the point counts. */
  sizes: number[];
  cases: BenchCase[];
  systems: System[];
  /** Timed calls per size (the median is reported). */
  reps: number;
  /** Untimed calls per size before the timed ones. */
  warmup: number;
  /**
   * Milliseconds per system (at most JIT_WARMUP_CALLS calls each) of untimed calls at a case's smallest
   * size, right after its first (compiling) call, and again at the first size where a system's calls
   * dispatch kernels if they did not at the smallest: a JavaScript engine optimises a function only after
   * many calls, and the few warm-up calls of a size leave a library with more JavaScript per call (a
   * tracing or graph-building one) running partly unoptimised, which the medians at small sizes and on
   * the device would otherwise measure.
   */
  jitWarmupMs: number;
  /**
   * A system is not run at a larger size of a case once its call there, scaled from its median at the
   * last size by the number of points, would take more than this many ms.
   */
  budgetMs: number;
  /** No (case, size) is started after this many seconds from the start; Infinity for no limit. */
  deadlineS: number;
  /** Single-point latency with `reps` and `warmup` calls as given (a check), not with more. */
  quick: boolean;
  /** Called with a line of progress. */
  progress: (line: string) => void;
}

/** What happened to a system at one size. */
export type Status = 'ok' | 'wrong' | 'error' | 'skipped';

/** One (case, system, size) result. */
export interface Measurement {
  case: string;
  system: SystemId;
  log2n: number;
  status: Status;
  /** Median ms per call, end to end (upload, compute, readback of every output). */
  ms?: number;
  /** Fastest call, ms. */
  minMs?: number;
  pointsPerSec?: number;
  /** Bytes a fused kernel must move (bytesPerPoint × N) per second of the median call, in GB/s. */
  gbps?: number;
  /** WebGPU compute dispatches per call (counted for every library alike; 0 on the CPU). */
  dispatches?: number;
  /** Queue submits per call. */
  submits?: number;
  /** Worst normalized error against the float64 reference (see maxError). */
  error?: number;
  /** The system's own counters per call (webgrad: stats()), where it keeps them. */
  own?: OwnCounters;
  /** Why the status is not ok. */
  note?: string;
  /** Median ms per call with the inputs already on the device and the outputs left there (see Resident). */
  residentMs?: number;
  /** Why there is no resident time although the call was timed. */
  residentNote?: string;
}

/** First-call and single-point figures of a (case, system). */
export interface Latency {
  case: string;
  system: SystemId;
  /** The first call of the case at the smallest size: includes pipeline or jit compilation, ms. */
  firstCallMs?: number;
  /** Median of calls with one point (value and gradient read back), µs. */
  singlePointUs?: number;
  note?: string;
}

/** Everything a run measured. */
export interface RunResult {
  measurements: Measurement[];
  latency: Latency[];
  /** Seconds each system took to start (device, backend). */
  setupMs: Partial<Record<SystemId, number>>;
}

/** Whether a call of `ms` at 2^from points, scaled by N, stays within `budgetMs` at 2^to points. */
export function withinBudget(ms: number, from: number, to: number, budgetMs: number): boolean {
  return ms * 2 ** (to - from) <= budgetMs;
}

/**
 * The order of the systems in round `round` of a timing loop: a permutation drawn from `seed` and the
 * round. A fixed rotation keeps each system right after the same other one in nearly every round, so
 * whatever a call leaves behind (unfinished work on the shared GPU, garbage to collect) always lands in
 * the same neighbour's timing; drawn orders spread it over every system, and the same run draws the same.
 */
export function roundOrder<T>(items: readonly T[], seed: number, round: number): T[] {
  // mulberry32, seeded per round.
  let a = (Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(round + 0x7f4a7c15, 0x85ebca6b)) >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const message = (e: unknown): string => (e instanceof Error ? e.message.split('\n')[0]! : String(e));

/**
 * Runs the benchmark: the CPU phase first (short: its budget stops it a few sizes in), then the GPU phase,
 * so that a deadline cuts the long phase rather than leaving the CPU backend unmeasured.
 */
export async function runBenchmark(o: RunOptions): Promise<RunResult> {
  const t0 = performance.now();
  const late = (): boolean => (performance.now() - t0) / 1e3 > o.deadlineS;
  const result: RunResult = { measurements: [], latency: [], setupMs: {} };
  for (const phase of ['cpu', 'gpu'] as const) {
    const started: System[] = [];
    for (const s of o.systems.filter((x) => x.phase === phase)) {
      const t0 = performance.now();
      try {
        await s.setup();
        result.setupMs[s.id] = performance.now() - t0;
        started.push(s);
        o.progress(`${s.label}: started in ${(performance.now() - t0).toFixed(0)} ms`);
      } catch (e) {
        o.progress(`${s.label}: could not start: ${message(e)}`);
        for (const c of o.cases)
          result.measurements.push(
            ...o.sizes.map((log2n) => ({
              case: c.id,
              system: s.id,
              log2n,
              status: 'error' as const,
              note: `setup: ${message(e)}`,
            })),
          );
      }
    }
    // A phase with no system to run (no CPU system asked for, say) prints nothing per case and size.
    if (started.length > 0) for (const c of o.cases) await runCase(o, c, started, result, late);
    for (const s of started) await s.teardown();
  }
  return result;
}

async function runCase(
  o: RunOptions,
  c: BenchCase,
  systems: System[],
  result: RunResult,
  late: () => boolean,
): Promise<void> {
  const live = new Set<System>();
  // Why a system left `live`: what its rows at later sizes of the case say.
  const dropped = new Map<System, string>();
  const lat = new Map<System, Latency>();
  for (const s of systems) {
    lat.set(s, { case: c.id, system: s.id });
    try {
      s.prepare(c);
      live.add(s);
    } catch (e) {
      lat.get(s)!.note = message(e);
    }
  }
  const firstDone = new Set<System>();
  // Systems JIT-warmed at a size where their calls dispatch kernels: one that ran without (webgrad below its
  // `cpuBelow`, on its CPU backend) is warmed again at the first size where they do, or the JavaScript of
  // its device path would first grow hot in the timed calls there.
  const warmedOnDevice = new Set<System>();
  for (const [k, log2n] of o.sizes.entries()) {
    if (late()) {
      // Past the deadline, the remaining sizes are recorded as skipped (the report says why).
      for (const log2 of o.sizes.slice(k))
        for (const s of systems)
          result.measurements.push({
            case: c.id,
            system: s.id,
            log2n: log2,
            status: 'skipped',
            note: 'deadline',
          });
      o.progress(`${c.id}: past the deadline, from 2^${log2n} on skipped`);
      break;
    }
    const n = 2 ** log2n;
    // Inputs and reference only where some system still runs (at 2^26 they take seconds).
    const xs = live.size > 0 ? caseInputs(c, n) : [];
    const ref = live.size > 0 ? reference(c, xs) : null;
    const rows = new Map<System, Measurement>();
    const timed: System[] = [];
    const toWarm: System[] = [];
    for (const s of systems) {
      const row: Measurement = { case: c.id, system: s.id, log2n, status: 'skipped' };
      rows.set(s, row);
      result.measurements.push(row);
      if (!live.has(s)) {
        row.note = lat.get(s)!.note ?? dropped.get(s) ?? 'over the time budget';
        continue;
      }
      // The check call: also the first call of the case, which pays for compilation.
      try {
        const d0 = gpuCalls.dispatches;
        const t0 = performance.now();
        const got = await s.run(c, xs, c.params);
        const t = performance.now() - t0;
        const onDevice = gpuCalls.dispatches > d0;
        if (k === 0 || (onDevice && !warmedOnDevice.has(s))) toWarm.push(s);
        if (onDevice) warmedOnDevice.add(s);
        if (!firstDone.has(s)) {
          firstDone.add(s);
          lat.get(s)!.firstCallMs = t;
        }
        row.error = maxError(got, ref!);
        if (row.error > TOLERANCE) {
          row.status = 'wrong';
          row.note = `error ${row.error.toExponential(1)} > ${TOLERANCE}`;
          continue;
        }
        timed.push(s);
      } catch (e) {
        row.status = 'error';
        row.note = message(e);
        live.delete(s);
        dropped.set(s, `after an error at 2^${log2n}`);
      }
    }
    // JIT warm-up: one system at a time, as nothing is timed, each with its own time. A failure ends a
    // system's calls; it shows again in the timed calls, which record it.
    if (o.jitWarmupMs > 0)
      for (const s of timed.filter((x) => toWarm.includes(x)))
        await interleaved(
          [s],
          { seed: 0, warmup: 0, reps: JIT_WARMUP_CALLS, minReps: 1, budgetMs: o.jitWarmupMs },
          () => s.run(c, xs, c.params),
          () => {},
        );
    const times = new Map<System, number[]>(timed.map((s) => [s, []]));
    const calls = new Map<System, { d: number; q: number }>(timed.map((s) => [s, { d: 0, q: 0 }]));
    const own = new Map<System, OwnCounters>();
    const failed = new Set<System>();
    for (let r = -o.warmup; r < o.reps; r++) {
      for (const s of roundOrder(timed, log2n, r)) {
        if (failed.has(s)) continue;
        try {
          const d0 = gpuCalls.dispatches;
          const q0 = gpuCalls.submits;
          const o0 = s.counters?.();
          const t0 = performance.now();
          await s.run(c, xs, c.params);
          const t = performance.now() - t0;
          if (r >= 0) {
            times.get(s)!.push(t);
            calls.get(s)!.d += gpuCalls.dispatches - d0;
            calls.get(s)!.q += gpuCalls.submits - q0;
            const o1 = s.counters?.();
            if (o0 && o1) {
              const acc = own.get(s) ?? {
                dispatches: 0,
                submits: 0,
                bytesUploaded: 0,
                bytesReadBack: 0,
                nudges: 0,
              };
              for (const k of Object.keys(acc) as (keyof OwnCounters)[]) acc[k] += o1[k] - o0[k];
              own.set(s, acc);
            }
          }
        } catch (e) {
          failed.add(s);
          live.delete(s);
          dropped.set(s, `after an error at 2^${log2n}`);
          rows.get(s)!.status = 'error';
          rows.get(s)!.note = message(e);
        }
      }
    }
    for (const s of timed) {
      if (failed.has(s)) continue;
      const row = rows.get(s)!;
      const ts = times.get(s)!;
      const ms = median(ts);
      // A call under the clock's step reads as 0 ms: no rate is worked out from that.
      const rated = ms > 0;
      Object.assign(row, {
        status: 'ok',
        ms,
        minMs: Math.min(...ts),
        pointsPerSec: rated ? n / (ms / 1e3) : undefined,
        gbps: rated ? (bytesPerPoint(c) * n) / (ms / 1e3) / 1e9 : undefined,
        dispatches: calls.get(s)!.d / ts.length,
        submits: calls.get(s)!.q / ts.length,
      });
      const mine = own.get(s);
      if (mine) {
        row.own = { ...mine };
        for (const k of Object.keys(mine) as (keyof OwnCounters)[]) row.own[k] /= ts.length;
      }
      const next = o.sizes[k + 1];
      if (next !== undefined && !withinBudget(ms, log2n, next, o.budgetMs)) live.delete(s);
    }
    await timeResident(
      o,
      c,
      log2n,
      xs,
      ref!,
      timed.filter((s) => rows.get(s)!.status === 'ok'),
      rows,
    );
    o.progress(
      `${c.id} N=2^${log2n}: ` +
        systems
          .map((s) => {
            const row = rows.get(s)!;
            if (row.status !== 'ok') return `${s.id} ${row.status}`;
            const res = row.residentMs === undefined ? '' : ` (resident ${row.residentMs.toFixed(2)})`;
            return `${s.id} ${row.ms!.toFixed(2)} ms${res}`;
          })
          .join(', '),
    );
  }
  // Single-point latency: one x (and its gradient) in, read back. Calls take well under a millisecond, so
  // there are more of them than for the sizes (JIT warm-up and collections otherwise decide the median),
  // and the systems are interleaved call by call as there.
  const one = caseInputs(c, 1);
  const ref1 = reference(c, one);
  const timed: System[] = [];
  for (const s of systems) {
    const l = lat.get(s)!;
    result.latency.push(l);
    if (!firstDone.has(s) || late()) {
      l.note ??= firstDone.has(s) ? 'deadline' : 'not run';
      continue;
    }
    try {
      const err = maxError(await s.run(c, one, c.params), ref1);
      if (err > TOLERANCE) l.note = `wrong at one point (error ${err.toExponential(1)})`;
      else timed.push(s);
    } catch (e) {
      l.note = message(e);
    }
  }
  const reps = o.quick ? o.reps : Math.max(o.reps, SINGLE_POINT_REPS);
  const warmup = o.quick ? o.warmup : Math.max(o.warmup, SINGLE_POINT_WARMUP);
  const ts = await interleaved(
    timed,
    { seed: 2000, warmup, reps },
    (s) => s.run(c, one, c.params),
    (s, e) => (lat.get(s)!.note = message(e)),
  );
  for (const [s, t] of ts) lat.get(s)!.singlePointUs = median(t) * 1e3;
}

/** How interleaved() repeats its rounds. */
interface Rounds {
  /** Seed of the drawn orders (see roundOrder()). */
  seed: number;
  /** Untimed rounds first. */
  warmup: number;
  /** Timed rounds at most. */
  reps: number;
  /** Timed rounds past this many run only while the loop is within `budgetMs` (default: all of them run). */
  minReps?: number;
  budgetMs?: number;
}

/**
 * Times `call` for every system, round by round, each round in its own drawn order. A system whose call
 * throws is told to `failed` and dropped; the rest get their timed calls' milliseconds.
 */
async function interleaved(
  systems: readonly System[],
  { seed, warmup, reps, minReps = reps, budgetMs = Infinity }: Rounds,
  call: (s: System) => Promise<unknown>,
  failed: (s: System, e: unknown) => void,
): Promise<Map<System, number[]>> {
  const times = new Map<System, number[]>(systems.map((s) => [s, []]));
  const began = performance.now();
  for (let r = -warmup; r < reps; r++) {
    if (r >= minReps && performance.now() - began > budgetMs) break;
    for (const s of roundOrder(systems, seed, r)) {
      const ts = times.get(s);
      if (!ts) continue;
      try {
        const t0 = performance.now();
        await call(s);
        if (r >= 0) ts.push(performance.now() - t0);
      } catch (e) {
        failed(s, e);
        times.delete(s);
      }
    }
  }
  return times;
}

/**
 * Device-resident timing of the systems that offer it: inputs put on the device once, each call computes
 * value and gradients into device memory and waits for the device, with nothing copied in or out. The
 * resident path is checked against the reference first; systems are interleaved call by call.
 */
async function timeResident(
  o: RunOptions,
  c: BenchCase,
  log2n: number,
  xs: Float32Array[],
  ref: ReturnType<typeof reference>,
  systems: System[],
  rows: Map<System, Measurement>,
): Promise<void> {
  const held = new Map<System, Resident>();
  for (const s of systems) {
    if (!s.resident) continue;
    const row = rows.get(s)!;
    try {
      const h = await s.resident(c, xs, c.params);
      const err = maxError(await h.read(), ref);
      if (err > TOLERANCE) {
        row.residentNote = `resident path: error ${err.toExponential(1)} > ${TOLERANCE}`;
        h.release();
      } else held.set(s, h);
    } catch (e) {
      row.residentNote = `resident path: ${message(e)}`;
    }
  }
  const times = await interleaved(
    [...held.keys()],
    {
      seed: 1000 + log2n,
      warmup: o.quick ? o.warmup : Math.max(o.warmup, RESIDENT_WARMUP),
      reps: o.quick ? o.reps : Math.max(o.reps, RESIDENT_REPS),
      minReps: o.reps,
      budgetMs: RESIDENT_BUDGET_MS,
    },
    (s) => held.get(s)!.run(),
    (s, e) => (rows.get(s)!.residentNote = `resident path: ${message(e)}`),
  );
  for (const [s, h] of held) {
    h.release();
    const ts = times.get(s);
    if (ts && ts.length > 0) rows.get(s)!.residentMs = median(ts);
  }
}

/**
 * The smallest step of performance.now() seen over a few hundred readings, in µs: browsers coarsen their
 * clock (to 100 µs in Chromium unless the page is cross-origin isolated), which bounds what a timing says.
 */
export function clockStepUs(): number {
  let step = Infinity;
  for (let i = 0; i < 200; i++) {
    const a = performance.now();
    let b = performance.now();
    while (b === a) b = performance.now();
    step = Math.min(step, b - a);
  }
  return step * 1e3;
}

/** Where a report was measured: the platform, the runtime in words and the adapter's name. */
export interface Platform {
  platform: 'node' | 'browser';
  runtime: string;
  adapter: string;
  /** The machine's name, where the run was given one. */
  machine?: string;
}

/** The cpuBelow that webgrad's WebGPU system's init() reported, as report metadata (none without it). */
function webgradCpuBelow(systems: System[]): { webgradCpuBelow?: number } {
  const below = systems.find((x) => x.id === 'webgrad')?.info?.()?.cpuBelow;
  return below === undefined ? {} : { webgradCpuBelow: below };
}

/** Runs the benchmark with the parsed options and wraps the results in a report with its metadata. */
export async function benchmarkReport(
  where: Platform,
  opts: BenchOptions,
  sizes: number[],
  systems: System[],
  say: (line: string) => void,
): Promise<BenchReport> {
  const t0 = performance.now();
  const result = await runBenchmark({
    sizes,
    cases: opts.cases,
    systems,
    reps: opts.reps,
    warmup: opts.warmup,
    jitWarmupMs: opts.jitWarmupMs,
    budgetMs: opts.budgetMs,
    deadlineS: opts.deadlineS,
    quick: opts.quick,
    progress: (line) => say(`[${((performance.now() - t0) / 1e3).toFixed(0).padStart(4)} s] ${line}`),
  });
  return {
    meta: {
      date: new Date().toISOString(),
      ...where,
      ...(opts.machine ? { machine: opts.machine } : {}),
      ...(Object.keys(opts.webgrad).length > 0 ? { webgradOptions: opts.webgrad } : {}),
      ...webgradCpuBelow(systems),
      sizes,
      reps: opts.reps,
      warmup: opts.warmup,
      jitWarmupMs: opts.jitWarmupMs,
      ...(opts.jitWarmupMs > 0 ? { jitWarmupOnDevice: true } : {}),
      clockStepUs: clockStepUs(),
      quick: opts.quick,
      cases: opts.cases.map((c) => ({ id: c.id, name: c.name, bytesPerPoint: bytesPerPoint(c) })),
      sameHandKernels: opts.cases.filter((c) => accurateBody(c.wgsl) === c.wgsl).map((c) => c.id),
      systems: systems.map((s) => ({ id: s.id, label: s.label })),
      seconds: (performance.now() - t0) / 1e3,
    },
    ...result,
  };
}
