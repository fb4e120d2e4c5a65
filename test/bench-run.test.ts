// The benchmark loop's own rules, with stand-in systems (no GPU): a system is dropped at a size its
// scaled time would put over the budget, and nothing starts after the deadline — the two limits that
// keep a run inside a lent GPU machine's minutes.
import { describe, expect, it, vi } from 'vitest';
import { benchCases, selectCases, type BenchCase } from '../bench/cases.js';
import { median } from '../bench/median.js';
import { accurateBody } from '../bench/systems/hand.js';
import { parseOptions } from '../bench/options.js';
import { runtimeOf } from '../bench/page/runtime.js';
import { reference } from '../bench/reference.js';
import { markdown, stem, svgChart, writeReport, type BenchReport } from '../bench/report.js';
import {
  benchmarkReport,
  clockStepUs,
  roundOrder,
  runBenchmark,
  withinBudget,
  type RunOptions,
  type RunResult,
} from '../bench/run.js';
import { gpuCalls, type System, type SystemId } from '../bench/systems/system.js';

/** The reference's own outputs, as a system returns them. */
function outputsOf(c: BenchCase, xs: readonly Float32Array[]): Float32Array[] {
  const ref = reference(c, xs);
  return [...ref.points.map((p) => Float32Array.from(p)), ...[...ref.sums].map((v) => Float32Array.of(v))];
}

/** A system that returns the reference's own outputs, after waiting `delayMs` per call. */
function standIn(id: SystemId, delayMs: number): System & { calls: number } {
  return {
    id,
    label: id,
    phase: 'gpu',
    calls: 0,
    async setup() {},
    prepare() {},
    async run(c: BenchCase, xs: readonly Float32Array[]) {
      this.calls++;
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      return outputsOf(c, xs);
    },
    async teardown() {},
  };
}

const options = (systems: System[], over: Partial<RunOptions>): RunOptions => ({
  sizes: [4, 6, 8],
  cases: selectCases(['sq']),
  systems,
  reps: 2,
  warmup: 1,
  jitWarmupMs: 0,
  budgetMs: Infinity,
  deadlineS: Infinity,
  quick: true,
  progress: () => {},
  ...over,
});

/** A run of `systems` at 2^4 as a saved report, with what a test sets in `meta`. */
const asReport = (
  r: RunResult,
  systems: readonly System[],
  meta: Partial<BenchReport['meta']> = {},
): BenchReport =>
  ({
    ...r,
    meta: {
      date: '2026-11-26T00:00:00.000Z',
      platform: 'browser',
      runtime: 'test',
      adapter: 'test',
      sizes: [4],
      reps: 2,
      warmup: 1,
      quick: false,
      cases: [{ id: 'sq', name: '(x-2)^2', bytesPerPoint: 12 }],
      systems: systems.map((s) => ({ id: s.id, label: s.label })),
      seconds: 1,
      ...meta,
    },
  }) as BenchReport;

describe('timing statistics', () => {
  it('the median of an even count is the mean of the two middle timings', () => {
    // bench:prelude and bench:cpu once took the larger middle one: of two runs, the slower.
    expect(median([3.45, 0.151])).toBeCloseTo(1.8005, 12);
    expect(median([0.387, 0.26, 0.221, 0.188])).toBeCloseTo(0.2405, 12);
    expect(median([5, 1, 3])).toBe(3);
  });
});

describe('benchmark loop', () => {
  it("draws each round's order: a permutation, the same for the same seed, no system always after the same one", () => {
    const ids = ['webgrad', 'hand', 'hand-acc', 'jax', 'tfjs'];
    const rounds = Array.from({ length: 9 }, (_, r) => roundOrder(ids, 24, r));
    for (const o of rounds) expect([...o].sort()).toEqual([...ids].sort());
    expect(roundOrder(ids, 24, 3)).toEqual(rounds[3]);
    expect(new Set(rounds.map((o) => o.join())).size).toBeGreaterThan(4);
    // Who comes right after tfjs (the last system of a round precedes the first of the next).
    const after = new Set<string>();
    rounds.flat().forEach((id, i, all) => {
      if (id === 'tfjs' && i + 1 < all.length) after.add(all[i + 1]!);
    });
    expect(after.size).toBeGreaterThan(2);
  });

  it('scales the last median by the number of points to decide the next size', () => {
    expect(withinBudget(30, 20, 22, 120)).toBe(true);
    expect(withinBudget(31, 20, 22, 120)).toBe(false);
    expect(withinBudget(100, 20, 21, 150)).toBe(false);
  });

  it('drops a system at the first size its scaled time exceeds the budget, and keeps the others', async () => {
    // 40 ms at 2^4 scales to 160 ms at 2^6: over a 100 ms budget. The instant system runs every size.
    const slow = standIn('jax', 40);
    const fast = standIn('hand', 0);
    const r = await runBenchmark(options([slow, fast], { budgetMs: 100 }));
    const at = (s: SystemId, n: number) => r.measurements.find((m) => m.system === s && m.log2n === n);
    expect(at('jax', 4)?.status).toBe('ok');
    expect(at('jax', 6)).toMatchObject({ status: 'skipped', note: 'over the time budget' });
    expect(at('jax', 8)?.status).toBe('skipped');
    for (const n of [4, 6, 8]) expect(at('hand', n)?.status).toBe('ok');
  });

  it('warms each system up at the smallest size, after its first call, within the time given', async () => {
    /** A stand-in that records the size of each call. */
    const recording = (id: SystemId, delayMs: number) => {
      const s = standIn(id, delayMs);
      const sizes: number[] = [];
      const run = s.run.bind(s);
      return Object.assign(s, {
        sizes,
        run: (c: BenchCase, xs: readonly Float32Array[], p: readonly number[]) => {
          sizes.push(xs[0]!.length);
          return run(c, xs, p);
        },
      });
    };
    const count = (xs: number[], n: number) => xs.filter((x) => x === n).length;
    // Per size: the check call, one untimed and two timed calls; then four single-point calls.
    const cold = recording('hand', 0);
    await runBenchmark(options([cold], {}));
    expect([16, 64, 256, 1].map((n) => count(cold.sizes, n))).toEqual([4, 4, 4, 4]);
    // An instant system gets every warm-up call there is (300), a slow one what fits in the time.
    const fast = recording('hand', 0);
    const slow = recording('jax', 10);
    await runBenchmark(options([fast, slow], { jitWarmupMs: 40 }));
    expect([16, 64, 256, 1].map((n) => count(fast.sizes, n))).toEqual([4 + 300, 4, 4, 4]);
    expect(count(slow.sizes, 16) - 4).toBeGreaterThanOrEqual(1);
    expect(count(slow.sizes, 16) - 4).toBeLessThan(8);
    // The first call of the case (the one timed as compilation) comes before any warm-up call.
    expect(fast.sizes[0]).toBe(16);
    expect(fast.sizes.slice(0, 301).every((n) => n === 16)).toBe(true);
  });

  it('warms a system up again at the first size where it dispatches kernels, if it did not at the smallest', async () => {
    // As webgrad on a CPU adapter: below 64 points its CPU backend (no dispatch), from 64 on kernels.
    const routed = standIn('webgrad', 0);
    const always = standIn('hand', 0);
    const sizes = new Map<System, number[]>([
      [routed, []],
      [always, []],
    ]);
    for (const [s, seen] of sizes) {
      const run = s.run.bind(s);
      s.run = (c, xs, p) => {
        seen.push(xs[0]!.length);
        if (s === always || xs[0]!.length >= 64) gpuCalls.dispatches++;
        return run(c, xs, p);
      };
    }
    const count = (s: System, n: number) => sizes.get(s)!.filter((x) => x === n).length;
    const r = await runBenchmark(options([routed, always], { jitWarmupMs: 1000 }));
    expect(r.measurements.every((m) => m.status === 'ok')).toBe(true);
    // Per size: the check call, one untimed and two timed calls, and 300 warm-up calls where warmed.
    expect([16, 64, 256].map((n) => count(routed, n))).toEqual([304, 304, 4]);
    expect([16, 64, 256].map((n) => count(always, n))).toEqual([304, 4, 4]);
    // At 2^6 the warm-up comes right after the check call, before the timed calls.
    const at64 = sizes.get(routed)!.filter((n) => n === 64);
    expect(sizes.get(routed)!.indexOf(64) + at64.length - 1).toBe(sizes.get(routed)!.lastIndexOf(64));
    expect(
      sizes.get(routed)!.slice(sizes.get(routed)!.indexOf(64), sizes.get(routed)!.indexOf(64) + 301),
    ).toEqual(new Array(301).fill(64));
  });

  it("passes --webgrad's JSON object to webgrad's init, and names a value that is not one", () => {
    expect(parseOptions([]).webgrad).toEqual({});
    expect(parseOptions(['--webgrad={"exactRangeReduction":true}']).webgrad).toEqual({
      exactRangeReduction: true,
    });
    expect(() => parseOptions(['--webgrad={exact}'])).toThrow(/^--webgrad is not JSON .*: \{exact\}$/);
    expect(() => parseOptions(['--webgrad=[1]'])).toThrow(
      "--webgrad must be a JSON object of webgrad's WebGPU options, got [1]",
    );
  });

  it('takes the JIT warm-up time from --jit-warmup-ms: 300 ms by default, none in quick mode', () => {
    expect(parseOptions([]).jitWarmupMs).toBe(300);
    expect(parseOptions(['--quick']).jitWarmupMs).toBe(0);
    expect(parseOptions(['--jit-warmup-ms=50']).jitWarmupMs).toBe(50);
    expect(() => parseOptions(['--jit-warmup-ms=-1'])).toThrow(
      '--jit-warmup-ms must be a number >= 0, got -1',
    );
    // A run with no timed call has no median, and a fraction of a call is none.
    expect(() => parseOptions(['--reps=0'])).toThrow('--reps must be an integer >= 1, got 0');
    expect(() => parseOptions(['--reps=1.5'])).toThrow('--reps must be an integer >= 1, got 1.5');
    expect(() => parseOptions(['--reps'])).toThrow('--reps must be an integer >= 1, got no value');
    expect(() => parseOptions(['--warmup='])).toThrow('--warmup must be an integer >= 0, got no value');
    // Decimal numbers only (Number() reads 0x3 as 3), and lists without empty or repeated items.
    expect(() => parseOptions(['--reps=0x3'])).toThrow('--reps must be an integer >= 1, got 0x3');
    expect(() => parseOptions(['--budget-ms=1e3'])).toThrow('--budget-ms must be a number > 0, got 1e3');
    expect(() => parseOptions(['--cases=,'])).toThrow('--cases has an empty item: ,');
    expect(() => parseOptions(['--cases=sq,sq'])).toThrow('--cases: sq is given more than once');
    expect(() => parseOptions(['--deadline-s'])).toThrow('--deadline-s must be a number > 0, got no value');
    expect(() => parseOptions(['--budget-ms=0'])).toThrow('--budget-ms must be a number > 0, got 0');
    expect(parseOptions(['--reps=3', '--warmup=0', '--deadline-s=0.5']).reps).toBe(3);
    expect(parseOptions(['--deadline-s=Infinity']).deadlineS).toBe(Infinity);
    expect(() => parseOptions(['--reps=3', '--reps=0'])).toThrow('--reps is given more than once');
  });

  it('reads size ranges, and refuses an empty one instead of falling back to the defaults', () => {
    expect(parseOptions(['--sizes=16-22']).sizes).toEqual([16, 18, 20, 22]);
    expect(parseOptions(['--sizes=16-18', '--step=1']).sizes).toEqual([16, 17, 18]);
    expect(parseOptions(['--sizes=10,14']).sizes).toEqual([10, 14]);
    expect(() => parseOptions(['--sizes=22-16'])).toThrow(
      '--sizes: the range 22-16 is empty; write the smaller size first (16-22)',
    );
    for (const bad of ['--sizes=40', '--sizes=0', '--sizes=20-30'])
      expect(() => parseOptions([bad])).toThrow(
        /--sizes: (40|0|30) is out of range: sizes are log2 of the point count, from 1 to 28/,
      );
  });

  it('takes sizes in any order, each once; refuses what would silently run another benchmark', () => {
    expect(parseOptions(['--sizes=20,10,14']).sizes).toEqual([10, 14, 20]);
    expect(parseOptions(['--sizes=10-15', '--step=1']).sizes).toEqual([10, 11, 12, 13, 14, 15]);
    const refused: [string[], string][] = [
      [['--sizes=10,12,10'], '--sizes: 2^10 is given more than once'],
      [['--sizes=10-14,12'], '--sizes: 2^12 is given more than once'],
      [
        ['--sizes=10-15'],
        '--sizes: the range 10-15 does not end on its step of 2 (--step); end it at 14 or set --step',
      ],
      [['--step=1'], '--step applies to a range of sizes (--sizes=a-b), and none is given'],
      [['--systems=webgrad,hand,webgrad'], '--systems: webgrad is given more than once'],
      [['--quick=false'], '--quick takes no value, got --quick=false'],
      [['--help=1'], '--help takes no value, got --help=1'],
      [['--sizes='], '--sizes needs a value, as --sizes=...'],
      [['--cases'], '--cases needs a value, as --cases=...'],
      [['--systems='], '--systems needs a value, as --systems=...'],
      [['--out'], '--out needs a folder, as --out=DIR (--out= writes nothing)'],
    ];
    for (const [args, message] of refused) expect(() => parseOptions(args), args.join(' ')).toThrow(message);
    expect(parseOptions(['--out=']).out).toBe('');
  });

  it('names the browser in the report by its name and version, not by the whole user-agent string', () => {
    expect(
      runtimeOf(
        'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/142.0.7444.59 Safari/537.36',
      ),
    ).toBe('Chromium 142.0.7444.59 (headless)');
    expect(
      runtimeOf(
        'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36',
      ),
    ).toBe('Chromium 142.0.0.0');
    expect(runtimeOf('Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0')).toBe(
      'Firefox 140.0',
    );
    expect(
      runtimeOf(
        'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Safari/605.1.15',
      ),
    ).toBe('Safari 18.5');
    expect(runtimeOf('SomethingElse/1')).toBe('SomethingElse/1');
  });

  it('refuses arguments that are not options, as npm passes them without its --', () => {
    for (const stray of ['quick', '-q'])
      expect(() => parseOptions(['--cases=sq', stray])).toThrow(
        `unexpected argument ${stray}: options are --name or --name=value, after npm's own (npm run bench -- --quick)`,
      );
  });

  it('prints a progress line per case and size with results only: a phase without systems prints none', async () => {
    const lines: string[] = [];
    await runBenchmark(options([standIn('hand', 0)], { progress: (l) => lines.push(l) }));
    const sizeLines = lines.filter((l) => /^sq N=2\^\d+:/.test(l));
    // Three sizes, each once (from the GPU phase), each with the system's time.
    expect(sizeLines).toHaveLength(3);
    for (const l of sizeLines) expect(l).toMatch(/hand [0-9.]+ ms/);
  });

  it('says a system left after an error at its later sizes, not that it ran over the budget', async () => {
    const broken: System = {
      ...standIn('jax', 0),
      async run() {
        throw new Error('out of luck');
      },
    };
    const r = await runBenchmark(options([standIn('hand', 0), broken], {}));
    const rows = r.measurements.filter((m) => m.system === 'jax');
    expect(rows.map((m) => [m.log2n, m.status, m.note])).toEqual([
      [4, 'error', 'out of luck'],
      [6, 'skipped', 'after an error at 2^4'],
      [8, 'skipped', 'after an error at 2^4'],
    ]);
  });

  it('charts the mean over the cases every system has at a size, and says which it left out', async () => {
    const systems = [standIn('hand', 0), standIn('jax', 0)];
    const r = await runBenchmark(options(systems, { cases: selectCases(['sq', 'poly']), sizes: [4, 6] }));
    // poly at 2^6 skipped for both (as over the budget): 2^6 is charted over sq alone.
    for (const m of r.measurements)
      if (m.case === 'poly' && m.log2n === 6)
        Object.assign(m, { status: 'skipped', pointsPerSec: undefined });
    const report = asReport(r, systems, {
      sizes: [4, 6],
      cases: [
        { id: 'sq', name: '(x-2)^2', bytesPerPoint: 12 },
        { id: 'poly', name: 'poly', bytesPerPoint: 12 },
      ],
    });
    const chart = markdown(report, 'chart.svg').split('```')[1]!;
    expect(chart).toContain('2^6: the mean of 1 of 2 cases (without poly)');
    expect(chart).not.toContain('2^4: the mean');
    // Both systems plotted at both sizes: each column holds an h and a j.
    const rows = chart.split('\n').filter((l) => l.includes(' |'));
    for (const col of [0, 1]) {
      const cells = rows.map((l) => l.slice(l.indexOf('|') + 1).slice(col * 8, col * 8 + 8)).join('');
      expect(cells).toContain('h');
      expect(cells).toContain('j');
    }
  });

  it('starts nothing after the deadline and reports the rest as skipped', async () => {
    const s = standIn('hand', 0);
    const r = await runBenchmark(options([s], { deadlineS: 0, cases: selectCases(['sq', 'd2']) }));
    expect(s.calls).toBe(0);
    expect(r.measurements).toHaveLength(6);
    for (const m of r.measurements) expect(m).toMatchObject({ status: 'skipped', note: 'deadline' });
    expect(r.latency.map((l) => l.note)).toEqual(['not run', 'not run']);
  });

  it('times the resident path of systems that have one, once it matches the reference', async () => {
    const runs = { good: 0, bad: 0 };
    const withResident = (id: SystemId, scale: number): System => ({
      ...standIn(id, 0),
      resident: async (c, xs) => ({
        run: async () => void runs[scale === 1 ? 'good' : 'bad']++,
        read: async () => outputsOf(c, xs).map((o) => o.map((v) => v * scale)),
        release: () => {},
      }),
    });
    const r = await runBenchmark(options([withResident('hand', 1), withResident('jax', 2)], { sizes: [4] }));
    const at = (s: SystemId) => r.measurements.find((m) => m.system === s)!;
    expect(at('hand').residentMs).toBeGreaterThanOrEqual(0);
    expect(runs.good).toBe(3);
    expect(at('jax').residentMs).toBeUndefined();
    expect(at('jax').residentNote).toMatch(/resident path: error .* > 0.001/);
    expect(runs.bad).toBe(0);
  });

  it("reports the run's noise floor: hand-acc / hand on the cases where both run the same kernel", async () => {
    // hand-acc replaces exp, log, sin, cos and tanh: (x-2)^2 and the polynomial have none, sigmoid has exp.
    const cases = selectCases(['sq', 'poly', 'sigmoid']);
    const timing = (): System => ({
      ...standIn('hand', 0),
      resident: async (c, xs) => ({
        run: async () => {},
        read: async () => outputsOf(c, xs),
        release: () => {},
      }),
    });
    const hand = { ...timing(), id: 'hand' as const };
    const acc = { ...timing(), id: 'hand-acc' as const };
    const r = await runBenchmark(options([hand, acc], { cases, sizes: [4] }));
    const report = asReport(r, [hand, acc], {
      platform: 'node',
      cases: cases.map((c) => ({ id: c.id, name: c.name, bytesPerPoint: 12 })),
      sameHandKernels: ['sq', 'poly'],
    });
    // Known medians: hand-acc 1.5x and 0.8x hand's on the two cases, 3x on sigmoid (not counted).
    const set = (c: string, s: SystemId, ms: number, res: number) =>
      Object.assign(
        r.measurements.find((m) => m.case === c && m.system === s)!,
        { ms, residentMs: res },
      );
    set('sq', 'hand', 10, 4);
    set('sq', 'hand-acc', 15, 4.4);
    set('poly', 'hand', 10, 5);
    set('poly', 'hand-acc', 8, 5);
    set('sigmoid', 'hand', 10, 5);
    set('sigmoid', 'hand-acc', 30, 15);
    const md = markdown(report, 'chart.svg');
    // The cases the benchmark itself marks (see benchmarkReport): those whose hand body calls none of them.
    expect(benchCases.filter((c) => accurateBody(c.wgsl) === c.wgsl).map((c) => c.id)).toEqual([
      'sq',
      'z2',
      'relu-wb',
      'poly',
    ]);
    expect(md).toContain('## Noise floor');
    expect(md).toContain('`hand` and `hand-acc` run the same kernel on `sq`, `poly`, so');
    expect(md).toContain('| 2^4 | 0.80–1.50x | 1.00–1.10x |');
  });

  it("measures the clock's step; a call under it reads 0 ms, gets no rate, and the report still renders", async () => {
    const real = performance.now.bind(performance);
    // A browser's coarsened clock: 100 µs steps.
    const coarse = vi.spyOn(performance, 'now').mockImplementation(() => Math.floor(real() / 0.1) * 0.1);
    try {
      expect(clockStepUs()).toBeCloseTo(100, 6);
    } finally {
      coarse.mockRestore();
    }
    expect(clockStepUs()).toBeLessThan(100);
    // A clock that never moves: every call is under its step.
    const still = vi.spyOn(performance, 'now').mockReturnValue(1000);
    let r: RunResult;
    const systems = [standIn('hand', 0), standIn('jax', 0)];
    try {
      r = await runBenchmark(options(systems, { sizes: [4] }));
    } finally {
      still.mockRestore();
    }
    for (const m of r.measurements) {
      expect(m.status).toBe('ok');
      expect(m.ms).toBe(0);
      expect(m.pointsPerSec).toBeUndefined();
      expect(m.gbps).toBeUndefined();
    }
    const report = asReport(r, systems, { clockStepUs: 100 });
    const md = markdown(report, 'chart.svg');
    expect(md).toContain('clock steps of 100 µs');
    expect(md).toContain('| sq | 2^4 | hand | 0.00 | 0.00 | – | – |');
    expect(svgChart(report)).not.toMatch(/NaN|Infinity/);
  });

  it("reports webgrad's own counters per call, nudges included, and a dash for runs saved without them", async () => {
    // A stand-in keeping counters as webgrad's stats() does: per call one dispatch, one submit, 16 points'
    // bytes up and 32 back, and three nudges.
    const counted = { dispatches: 0, submits: 0, bytesUploaded: 0, bytesReadBack: 0, nudges: 0 };
    const base = standIn('webgrad', 0);
    const webgrad: System = {
      ...base,
      async run(c, xs, ps) {
        Object.assign(counted, {
          dispatches: counted.dispatches + 1,
          submits: counted.submits + 1,
          bytesUploaded: counted.bytesUploaded + 64,
          bytesReadBack: counted.bytesReadBack + 128,
          nudges: counted.nudges + 3,
        });
        return base.run(c, xs, ps);
      },
      counters: () => ({ ...counted }),
    };
    const r = await runBenchmark(options([webgrad], { sizes: [4] }));
    const m = r.measurements.find((x) => x.system === 'webgrad')!;
    expect(m.own).toEqual({ dispatches: 1, submits: 1, bytesUploaded: 64, bytesReadBack: 128, nudges: 3 });
    const report = asReport(r, [webgrad]);
    expect(markdown(report, 'chart.svg')).toContain('| sq | 2^4 | 1 | 1 | 3.0 | 4.0 | 8.0 | 12 |');
    const { nudges: _, ...saved } = m.own!;
    m.own = saved as typeof m.own;
    expect(markdown(report, 'chart.svg')).toContain('| sq | 2^4 | 1 | 1 | – | 4.0 | 8.0 | 12 |');
  });

  it('writes a report beside one of the same name instead of over it', async () => {
    const { mkdtemp, readdir, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = await mkdtemp(join(tmpdir(), 'webgrad-bench-'));
    try {
      const hand = standIn('hand', 0);
      const r = await runBenchmark(options([hand], { sizes: [4] }));
      const report = asReport(r, [hand]);
      const first = await writeReport(report, dir);
      const second = await writeReport(report, dir);
      expect(second.map((f) => f.replace(/-2\.(json|md|svg)$/, '.$1'))).toEqual(first);
      expect((await readdir(dir)).length).toBe(6);
    } finally {
      await rm(dir, { recursive: true });
    }
  });

  it('says at which sizes webgrad ran on its CPU backend, by the cpuBelow its init() reported', async () => {
    const base = standIn('webgrad', 0);
    const webgrad: System = { ...base, info: () => ({ backend: 'webgpu', cpuBelow: 100 }) };
    const r = await runBenchmark(options([webgrad], { sizes: [4, 6, 8] }));
    const report = await benchmarkReport(
      { platform: 'node', runtime: 'test', adapter: 'test' },
      { ...parseOptions(['--quick']), cases: selectCases(['sq']) },
      [4, 6, 8],
      [webgrad],
      () => {},
    );
    expect(report.meta.webgradCpuBelow).toBe(100);
    const md = markdown(report, 'chart.svg');
    expect(md).toContain(
      'At 2^4 and 2^6 points webgrad ran on its CPU backend, without dispatches (work of fewer than 100 points',
    );
    expect(md).toContain(
      'webgrad runs work of fewer than 100 points whose inputs are all on the host on its CPU backend',
    );
    // A report saved before cpuBelow was recorded ran with 256: no note at 2^8 and up.
    const old = asReport(r, [webgrad], { sizes: [8] });
    expect(markdown(old, 'chart.svg')).not.toContain('ran on its CPU backend, without dispatches');
    expect(markdown(old, 'chart.svg')).toContain('fewer than 256 points');
    // Without webgrad among the systems, nothing is said.
    const others = asReport(r, [standIn('hand', 0)], { sizes: [4], webgradCpuBelow: 64 });
    expect(markdown(others, 'chart.svg')).not.toContain('without dispatches');
    // The first call at a size below cpuBelow ran on the CPU: said, as it leaves out the GPU's compiling.
    expect(md).toContain(
      "The smallest size here is below 100 points: webgrad's first call ran on its CPU backend",
    );
    expect(markdown(old, 'chart.svg')).not.toContain('The smallest size here is below');
    // With cpuBelow 0 every call makes the round trip: not "fewer than 0 points".
    const all = markdown(asReport(r, [webgrad], { sizes: [4], webgradCpuBelow: 0 }), 'chart.svg');
    expect(all).not.toContain('fewer than 0 points');
    expect(all).toContain('its `webgpu.cpuBelow` 0 here, makes the GPU round trip');
  });

  it('names result files by the machine where the run names one, else by the adapter', () => {
    const meta = { date: '2026-11-26T14:42:23.278Z', platform: 'node', quick: false };
    const named = (m: object) => stem({ meta: { ...meta, ...m } } as unknown as BenchReport);
    expect(named({ adapter: 'nvidia | NVIDIA: 580.159.04', machine: 'NVIDIA H200' })).toBe(
      '2026-11-26-nvidia-h200-node',
    );
    expect(named({ adapter: 'google | swiftshader | SwiftShader driver 5.0.0' })).toBe(
      '2026-11-26-google-swiftshader-node',
    );
  });
});
