// Turns a run into tables (console and Markdown), an SVG chart of throughput against N, and JSON.
import { RESIDENT_REPS, RESIDENT_WARMUP, type Latency, type Measurement, type RunResult } from './run.js';
import type { OwnCounters, SystemId } from './systems/system.js';

/** A run with what it ran on. */
export interface BenchReport extends RunResult {
  meta: {
    date: string;
    platform: 'node' | 'browser';
    runtime: string;
    adapter: string;
    /** The machine's name where the run was given one (--machine). */
    machine?: string;
    /** webgrad's WebGPU options beyond its defaults, where the run was given any (--webgrad). */
    webgradOptions?: Record<string, unknown>;
    /**
     * Work of fewer points than this, with its inputs on the host, webgrad ran on its CPU backend
     * (`webgpu.cpuBelow`, as init() reported it; absent in older reports, where it was 256).
     */
    webgradCpuBelow?: number;
    sizes: number[];
    reps: number;
    warmup: number;
    /** The smallest step of the clock the timings were read from, in µs (absent in older reports). */
    clockStepUs?: number;
    /** Untimed ms per system and case at the smallest size before any timing (absent in older reports). */
    jitWarmupMs?: number;
    /**
     * The JIT warm-up was repeated at the first size where a system's calls dispatched kernels, for one whose
     * calls at the smallest size did not (absent in older reports, whose warm-up was at the smallest size only).
     */
    jitWarmupOnDevice?: boolean;
    quick: boolean;
    cases: { id: string; name: string; bytesPerPoint: number }[];
    /** Cases on which `hand` and `hand-acc` run the same kernel (no function for hand-acc to replace). */
    sameHandKernels?: string[];
    systems: { id: SystemId; label: string }[];
    seconds: number;
  };
}

/** What every timing covers, said once in every report. */
export const TIMED =
  'Each timing is one call end to end, from host Float32Arrays to host Float32Arrays: upload of the inputs, ' +
  'the value and gradient computation, and readback of every output (values, per-point gradients, summed ' +
  'parameter gradients). Median of the timed calls after warm-up; systems interleaved call by call, in an order drawn afresh each round ' +
  "(webgrad's CPU backend, webgrad-cpu, in a phase of its own before the GPU systems: its ratios compare runs taken minutes apart). " +
  'GB/s counts the bytes a fused kernel must move: 4 per input and per per-point output ' +
  '(12 for one input without parameters, 8 with them). Error: against a float64 reference computed on the host, per output the largest ' +
  'absolute difference over the largest reference value, the worst output (checked before timing). Dispatches and submits are counted for every library alike by wrapping ' +
  'GPUComputePassEncoder.dispatchWorkgroups and GPUQueue.submit (submits of no command buffers, which ' +
  'webgrad and the hand kernel make while waiting in a browser so that it looks for finished work sooner, ' +
  'are left out).';

/** What the device-resident timings cover. */
export const RESIDENT =
  'Device-resident: the inputs are put on the device once (untimed) and each call computes the values and ' +
  'gradients into device memory and waits until the device has finished, copying nothing in or out ' +
  '(scalar parameters excepted; TensorFlow.js waits by reading back one element, as nothing else flushes its ' +
  'queue); the resident path of each system is checked against float64 first. Median of ' +
  `at least the end-to-end number of timed calls (as many as ${RESIDENT_REPS} where that is fewer, within two seconds a size) after ` +
  `${RESIDENT_WARMUP} warm-up calls or more, interleaved as above. ` +
  'This is the work a kernel does, without the transfers that bound the end-to-end figures on a GPU.';

const COLORS: Record<SystemId, string> = {
  webgrad: '#d62728',
  hand: '#222222',
  'hand-acc': '#8c564b',
  jax: '#1f77b4',
  tfjs: '#ff7f0e',
  'webgrad-cpu': '#2ca02c',
};

const fmtMs = (ms: number | undefined): string =>
  ms === undefined ? '–' : ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2);
// A clock step: below a microsecond with two significant digits, else whole microseconds.
const fmtStep = (us: number): string => (us < 1 ? us.toPrecision(2) : us.toFixed(0));
const fmtRate = (x: number | undefined): string => (x === undefined ? '–' : (x / 1e6).toPrecision(3));
const fmtRatio = (a: number | undefined, b: number | undefined): string =>
  a === undefined || b === undefined ? '–' : `${(a / b).toFixed(2)}x`;

function find(r: BenchReport, c: string, s: SystemId, log2n: number): Measurement | undefined {
  return r.measurements.find((m) => m.case === c && m.system === s && m.log2n === log2n);
}

const msOf = (r: BenchReport, c: string, s: SystemId, log2n: number): number | undefined => {
  const m = find(r, c, s, log2n);
  return m?.status === 'ok' ? m.ms : undefined;
};

function cell(m: Measurement | undefined): string {
  if (!m) return '–';
  if (m.status === 'ok') return fmtMs(m.ms);
  return m.status;
}

/** Rows of a Markdown table. */
export function table(head: string[], rows: string[][]): string[] {
  return [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ];
}

// The ratios both per-size tables show, where both systems are in the table.
const GPU_RATIOS: readonly [SystemId, SystemId, string][] = [
  ['webgrad', 'hand', 'webgrad / hand'],
  ['webgrad', 'hand-acc', 'webgrad / hand-acc'],
  ['jax', 'webgrad', 'jax-js / webgrad'],
  ['tfjs', 'webgrad', 'tfjs / webgrad'],
];

/** A case × size table: one cell per system, then the ratios of `value` between systems. */
function sizeTable(
  r: BenchReport,
  sys: readonly SystemId[],
  ratios: readonly [SystemId, SystemId, string][],
  cellOf: (c: string, s: SystemId, n: number) => string,
  value: (c: string, s: SystemId, n: number) => number | undefined,
): string[] {
  const shown = ratios.filter(([a, b]) => sys.includes(a) && sys.includes(b));
  const rows: string[][] = [];
  for (const c of r.meta.cases)
    for (const n of r.meta.sizes)
      rows.push([
        c.id,
        `2^${n}`,
        ...sys.map((s) => cellOf(c.id, s, n)),
        ...shown.map(([a, b]) => fmtRatio(value(c.id, a, n), value(c.id, b, n))),
      ]);
  return table(['case', 'N', ...sys.map((s) => `${s} ms`), ...shown.map(([, , h]) => h)], rows);
}

/** The per-case ratio table at every size: the figures the benchmark is about. */
function ratioTable(r: BenchReport): string[] {
  return sizeTable(
    r,
    r.meta.systems.map((s) => s.id),
    [...GPU_RATIOS, ['webgrad-cpu', 'webgrad', 'cpu / webgrad']],
    (c, s, n) => cell(find(r, c, s, n)),
    (c, s, n) => msOf(r, c, s, n),
  );
}

/**
 * The run's own noise floor: on the cases where `hand` and `hand-acc` run the same kernel, their ratio would
 * be 1 on a quiet machine; its spread per size, end to end and device-resident, is how far apart two
 * systems must be in this run before a ratio tells them apart.
 */
function noiseFloor(r: BenchReport): string[] {
  const same = r.meta.sameHandKernels ?? [];
  const spread = (key: 'ms' | 'residentMs', n: number): string => {
    const rs = same
      .map((c) => {
        const a = find(r, c, 'hand-acc', n)?.[key];
        const b = find(r, c, 'hand', n)?.[key];
        return a === undefined || b === undefined ? undefined : a / b;
      })
      .filter((x): x is number => x !== undefined);
    return rs.length === 0 ? '–' : `${Math.min(...rs).toFixed(2)}–${Math.max(...rs).toFixed(2)}x`;
  };
  const rows = r.meta.sizes.map((n) => [`2^${n}`, spread('ms', n), spread('residentMs', n)]);
  if (rows.every(([, e, d]) => e === '–' && d === '–')) return [];
  return [
    `\`hand\` and \`hand-acc\` run the same kernel on ${same.map((c) => `\`${c}\``).join(', ')}, so their ` +
      'ratio there would be 1 on a quiet machine: its spread in this run is how far apart two systems must be ' +
      'before a ratio tells them apart.',
    '',
    ...table(['N', 'hand-acc / hand, end to end', 'hand-acc / hand, device-resident'], rows),
  ];
}

/** Device-resident medians per case and size, with the same ratios as the end-to-end table. */
function residentTable(r: BenchReport): string[] {
  const res = (c: string, s: SystemId, n: number): number | undefined => find(r, c, s, n)?.residentMs;
  const sys = r.meta.systems
    .map((s) => s.id)
    .filter((s) => r.measurements.some((m) => m.system === s && m.residentMs !== undefined));
  if (sys.length === 0) return [];
  return sizeTable(r, sys, GPU_RATIOS, (c, s, n) => fmtMs(res(c, s, n)), res);
}

/** Throughput, bandwidth, calls and the ratio to the hand-written kernel, per system and size. */
function detailTable(r: BenchReport): string[] {
  const rows = r.measurements
    .filter((m) => m.status === 'ok')
    .map((m) => [
      m.case,
      `2^${m.log2n}`,
      m.system,
      fmtMs(m.ms),
      fmtMs(m.minMs),
      fmtRate(m.pointsPerSec),
      m.gbps === undefined ? '–' : m.gbps.toPrecision(3),
      fmtRatio(m.ms, msOf(r, m.case, 'hand', m.log2n)),
      m.dispatches!.toFixed(0),
      m.submits!.toFixed(0),
      m.error!.toExponential(1),
    ]);
  return table(
    [
      'case',
      'N',
      'system',
      'median ms',
      'min ms',
      'Mpoints/s',
      'GB/s',
      '/ hand',
      'dispatches',
      'submits',
      'error',
    ],
    rows,
  );
}

/** webgrad's own counters (stats()) per call at the largest size of each case: where its time can go. */
function ownTable(r: BenchReport): string[] {
  const rows: string[][] = [];
  for (const c of r.meta.cases) {
    const m = r.measurements
      .filter((x) => x.case === c.id && x.own && x.status === 'ok')
      .sort((a, b) => b.log2n - a.log2n)
      .find((x) => x.system === 'webgrad');
    if (!m?.own) continue;
    const n = 2 ** m.log2n;
    rows.push([
      c.id,
      `2^${m.log2n}`,
      m.own.dispatches.toFixed(0),
      m.own.submits.toFixed(0),
      // Saved runs from before nudging have no count.
      (m.own as Partial<OwnCounters>).nudges?.toFixed(1) ?? '–',
      (m.own.bytesUploaded / n).toFixed(1),
      (m.own.bytesReadBack / n).toFixed(1),
      String(c.bytesPerPoint),
    ]);
  }
  return rows.length === 0
    ? []
    : table(
        [
          'case',
          'N',
          'dispatches',
          'submits',
          'nudges',
          'bytes uploaded / point',
          'bytes read back / point',
          'minimum bytes / point',
        ],
        rows,
      );
}

function latencyTable(r: BenchReport): string[] {
  const sys = r.meta.systems.map((s) => s.id);
  const get = (c: string, s: SystemId): Latency | undefined =>
    r.latency.find((l) => l.case === c && l.system === s);
  const rows = r.meta.cases.map((c) => [
    c.id,
    ...sys.map((s) => fmtMs(get(c.id, s)?.firstCallMs)),
    ...sys.map((s) => {
      const us = get(c.id, s)?.singlePointUs;
      return us === undefined ? '–' : us.toFixed(0);
    }),
  ]);
  return table(['case', ...sys.map((s) => `${s} first call ms`), ...sys.map((s) => `${s} 1-point µs`)], rows);
}

function problems(r: BenchReport): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const m of r.measurements) {
    if (m.status === 'ok' || !m.note) continue;
    const key = `${m.case} ${m.system} ${m.status} ${m.note}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(`- ${m.case}, ${m.system}, from 2^${m.log2n}: ${m.status} (${m.note})`);
  }
  for (const m of r.measurements)
    if (m.residentNote) out.push(`- ${m.case}, ${m.system}, 2^${m.log2n}: ${m.residentNote}`);
  for (const l of r.latency) if (l.note) out.push(`- ${l.case}, ${l.system}: ${l.note}`);
  return out;
}

/** A timed measurement with a rate: a call under the clock's step has none (see runBenchmark). */
const rated = (m: Measurement | undefined): m is Measurement & { pointsPerSec: number } =>
  m?.status === 'ok' && m.pointsPerSec !== undefined;

/** Geometric mean over cases of points/s, per system and size: the one-line summary of the chart. */
function meanThroughput(r: BenchReport, s: SystemId, n: number): number | undefined {
  const cases = chartCases(r, n);
  const xs = cases.map((c) => find(r, c, s, n)).filter(rated);
  if (xs.length === 0 || xs.length !== cases.length) return undefined;
  return Math.exp(xs.reduce((a, m) => a + Math.log(m.pointsPerSec), 0) / xs.length);
}

/**
 * The cases the chart averages over at size n: those that every system with a rate there has a rate for
 * (a case skipped over the budget or past the deadline at that size must not take every system off the
 * chart, nor make systems' means cover different cases).
 */
function chartCases(r: BenchReport, n: number): string[] {
  const present = r.meta.systems
    .map((s) => s.id)
    .filter((s) => r.meta.cases.some((c) => rated(find(r, c.id, s, n))));
  return r.meta.cases
    .map((c) => c.id)
    .filter((c) => present.length > 0 && present.every((s) => rated(find(r, c, s, n))));
}

/** Lines saying at which sizes the chart's means leave cases out, and which. */
function chartGaps(r: BenchReport): string[] {
  return r.meta.sizes.flatMap((n) => {
    const kept = chartCases(r, n);
    if (kept.length === r.meta.cases.length || kept.length === 0) return [];
    const left = r.meta.cases.map((c) => c.id).filter((c) => !kept.includes(c));
    return [
      `2^${n}: the mean of ${kept.length} of ${r.meta.cases.length} cases (without ${left.join(', ')})`,
    ];
  });
}

/** A text chart of the geometric-mean throughput against N (log scale), one letter per system. */
function asciiChart(r: BenchReport): string[] {
  const sys = r.meta.systems.map((s) => s.id);
  const pts = sys
    .flatMap((s) => r.meta.sizes.map((n) => meanThroughput(r, s, n)))
    .filter((v) => v !== undefined);
  if (pts.length === 0) return [];
  const lo = Math.floor(Math.log10(Math.min(...pts)));
  const hi = Math.ceil(Math.log10(Math.max(...pts)));
  const H = 12;
  const colW = 8;
  const grid = Array.from({ length: H + 1 }, () =>
    Array.from({ length: r.meta.sizes.length * colW }, () => ' '),
  );
  const mark = (s: SystemId): string => (s === 'webgrad-cpu' ? 'c' : s === 'hand-acc' ? 'a' : s[0]!);
  sys.forEach((s, k) =>
    r.meta.sizes.forEach((n, j) => {
      const v = meanThroughput(r, s, n);
      if (v === undefined) return;
      const y = Math.round(((Math.log10(v) - lo) / Math.max(1e-9, hi - lo)) * H);
      grid[H - y]![j * colW + 2 + k] = mark(s);
    }),
  );
  const label = (row: number): string => {
    const v = lo + ((H - row) / H) * (hi - lo);
    return row % 3 === 0 ? `${(10 ** v / 1e6).toPrecision(2)}`.padStart(8) : ' '.repeat(8);
  };
  return [
    '```',
    `Mpoints/s (geometric mean over cases, log scale); ${sys.map((s) => `${mark(s)} = ${s}`).join(', ')}`,
    ...grid.map((row, i) => `${label(i)} |${row.join('')}`),
    `${' '.repeat(8)} +${'-'.repeat(r.meta.sizes.length * colW)}`,
    `${' '.repeat(10)}${r.meta.sizes.map((n) => `2^${n}`.padEnd(colW)).join('')}`,
    ...chartGaps(r),
    '```',
  ];
}

/** Small multiples: throughput against N for every case, one line per system, log-log. */
export function svgChart(r: BenchReport): string {
  const sys = r.meta.systems.map((s) => s.id);
  const cols = 4;
  const W = 260;
  const H = 190;
  const pad = { l: 48, r: 20, t: 24, b: 30 };
  const cases = r.meta.cases;
  const rowsN = Math.ceil(cases.length / cols);
  const legendH = 28;
  const all = r.measurements.filter(rated).map((m) => m.pointsPerSec);
  const lo = Math.floor(Math.log10(Math.min(...all, 1e6)));
  const hi = Math.ceil(Math.log10(Math.max(...all, 1e7)));
  const nlo = Math.min(...r.meta.sizes);
  const nhi = Math.max(...r.meta.sizes, nlo + 1);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${cols * W}" height="${rowsN * H + legendH}" font-family="sans-serif" font-size="10">`,
    `<rect width="100%" height="100%" fill="white"/>`,
  ];
  // Legend entries side by side, each as wide as its label (about 5.6 px a character at font-size 10).
  let lx = 10;
  sys.forEach((s, k) => {
    const label = r.meta.systems[k]!.label;
    out.push(`<line x1="${lx}" y1="14" x2="${lx + 20}" y2="14" stroke="${COLORS[s]}" stroke-width="2"/>`);
    out.push(`<text x="${lx + 24}" y="18">${label}</text>`);
    lx += 24 + Math.ceil(label.length * 5.6) + 18;
  });
  cases.forEach((c, i) => {
    const ox = (i % cols) * W;
    const oy = legendH + Math.floor(i / cols) * H;
    const pw = W - pad.l - pad.r;
    const ph = H - pad.t - pad.b;
    const X = (n: number): number => ox + pad.l + ((n - nlo) / (nhi - nlo)) * pw;
    const Y = (v: number): number => oy + pad.t + ph - ((Math.log10(v) - lo) / (hi - lo)) * ph;
    out.push(`<text x="${ox + pad.l}" y="${oy + 14}" font-weight="bold">${escape(c.name)}</text>`);
    out.push(
      `<rect x="${ox + pad.l}" y="${oy + pad.t}" width="${pw}" height="${ph}" fill="none" stroke="#ccc"/>`,
    );
    for (let e = lo; e <= hi; e++) {
      out.push(
        `<line x1="${ox + pad.l}" x2="${ox + pad.l + pw}" y1="${Y(10 ** e)}" y2="${Y(10 ** e)}" stroke="#eee"/>`,
      );
      out.push(`<text x="${ox + pad.l - 4}" y="${Y(10 ** e) + 3}" text-anchor="end">1e${e}</text>`);
    }
    for (const n of r.meta.sizes)
      out.push(`<text x="${X(n)}" y="${oy + H - pad.b + 12}" text-anchor="middle">2^${n}</text>`);
    for (const s of sys) {
      const pts = r.meta.sizes
        .map((n) => [n, find(r, c.id, s, n)] as const)
        .filter((e): e is readonly [number, Measurement & { pointsPerSec: number }] => rated(e[1]))
        .map(([n, m]) => `${X(n).toFixed(1)},${Y(m.pointsPerSec).toFixed(1)}`);
      if (pts.length > 0)
        out.push(
          `<polyline points="${pts.join(' ')}" fill="none" stroke="${COLORS[s]}" stroke-width="1.5"/>`,
        );
    }
  });
  out.push(
    `<text x="${cols * W - 8}" y="${rowsN * H + legendH - 4}" text-anchor="end" fill="#666">points/s (log) against N</text>`,
    '</svg>',
  );
  return out.join('\n');
}

const escape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The Markdown report; `svgName` is the chart file beside it. */
export function markdown(r: BenchReport, svgName: string): string {
  const m = r.meta;
  const setup = Object.entries(r.setupMs)
    .map(([s, ms]) => `${s} ${fmtMs(ms)} ms`)
    .join(', ');
  const resident = residentTable(r);
  const own = ownTable(r);
  const notTimed = problems(r);
  const noise = noiseFloor(r);
  return [
    `# webgrad benchmark: ${m.machine ? `${m.machine}, adapter ${m.adapter}` : m.adapter} (${m.platform})`,
    '',
    `${m.date}; ${m.runtime}; sizes 2^${m.sizes.join(', 2^')}; ${m.reps} timed call${m.reps === 1 ? '' : 's'} after ${m.warmup} warm-up; ` +
      (m.jitWarmupMs
        ? `first, ${m.jitWarmupMs} ms of untimed calls (300 at most) per system and case at the smallest size (JIT warm-up)` +
          (m.jitWarmupOnDevice
            ? ', and again at the first size where a system dispatched kernels if it had not at the smallest; '
            : '; ')
        : '') +
      (m.clockStepUs !== undefined ? `clock steps of ${fmtStep(m.clockStepUs)} µs; ` : '') +
      `${m.seconds.toFixed(0)} s in all${m.quick ? '; quick mode (a correctness check, not a measurement)' : ''}` +
      `${m.webgradOptions ? `; webgrad's WebGPU options: \`${JSON.stringify(m.webgradOptions)}\`` : ''}.`,
    '',
    TIMED,
    '',
    `Cases: ${m.cases.map((c) => `\`${c.id}\` ${c.name}`).join('; ')}. Start-up: ${setup}.`,
    '',
    '## Median ms per call and ratios',
    '',
    ...ratioTable(r),
    '',
    ...onCpu(r),
    '## Throughput',
    '',
    `![throughput against N](${svgName})`,
    '',
    ...asciiChart(r),
    '',
    ...detailTable(r),
    '',
    ...(resident.length > 0
      ? ['## Device-resident median ms per call and ratios', '', RESIDENT, '', ...resident, '']
      : []),
    ...(noise.length > 0 ? ['## Noise floor', '', ...noise, ''] : []),
    ...(own.length > 0
      ? ["## webgrad's own counters per call (stats(), WebGPU, largest size)", '', ...own, '']
      : []),
    '## First call (compilation) and single-point latency',
    '',
    'First call: the first value + gradient at the smallest size, compilation included. Single point: one x ' +
      '(one value per input) and its gradients, read back; the median of at least 31 calls after 5 warm-up ' +
      'calls (fewer with --quick), systems interleaved call by call in an order drawn each round. ' +
      (cpuBelow(r) > 0
        ? `webgrad runs work of fewer than ${cpuBelow(r)} points whose inputs are all on the host on its CPU backend (its ` +
          '`webgpu.cpuBelow`: there a GPU round trip costs more than the math); the other systems make the round trip. '
        : 'webgrad, its `webgpu.cpuBelow` 0 here, makes the GPU round trip as the other systems do. ') +
      'A first call includes what a library compiles for that case alone: one that reuses ' +
      "kernels compiled for earlier cases (TensorFlow.js's are shared) shows a short first call after the first case." +
      (2 ** Math.min(...r.meta.sizes) < cpuBelow(r)
        ? ` The smallest size here is below ${cpuBelow(r)} points: webgrad's first call ran on its CPU backend, ` +
          'so that it leaves out the compiling of its WebGPU kernels, which its first call at a larger size paid.'
        : ''),
    '',
    ...latencyTable(r),
    '',
    ...(notTimed.length > 0 ? ['## Not timed', '', ...notTimed, ''] : []),
  ].join('\n');
}

/** The points below which webgrad ran work with host inputs on its CPU backend in this run. */
const cpuBelow = (r: BenchReport): number => r.meta.webgradCpuBelow ?? 256;

/**
 * A note under the ratio table where webgrad's WebGPU system ran sizes on its CPU backend (cpuBelow): its
 * columns there time that, not a kernel.
 */
function onCpu(r: BenchReport): string[] {
  if (!r.meta.systems.some((s) => s.id === 'webgrad')) return [];
  const below = r.meta.sizes.filter((k) => 2 ** k < cpuBelow(r));
  if (below.length === 0) return [];
  return [
    `At 2^${below.join(' and 2^')} points webgrad ran on its CPU backend, without dispatches (work of fewer than ` +
      `${cpuBelow(r)} points with its inputs on the host: its \`webgpu.cpuBelow\` here); ` +
      'webgrad-cpu is the same backend by its own init().',
    '',
  ];
}

/** Prints the detail, ratio and latency tables. */
export function printTables(r: BenchReport, print: (s: string) => void): void {
  print('');
  print(TIMED);
  print('');
  for (const l of detailTable(r)) print(l);
  print('');
  for (const l of ratioTable(r)) print(l);
  print('');
  const resident = residentTable(r);
  if (resident.length > 0) {
    print(RESIDENT);
    print('');
    for (const l of resident) print(l);
    print('');
  }
  for (const l of latencyTable(r)) print(l);
  for (const l of problems(r)) print(l);
}

/** File name stem of a run: date, machine name or adapter (vendor and architecture), and platform. */
export function stem(r: BenchReport): string {
  const adapter = adapterSlug(r.meta.adapter, r.meta.machine);
  return `${r.meta.date.slice(0, 10)}-${adapter}-${r.meta.platform}${r.meta.quick ? '-quick' : ''}`;
}

/** The machine's name, or the adapter's vendor and architecture, as a file-name part. */
export function adapterSlug(adapter: string, machine?: string): string {
  const slug = (machine || adapter.split(' | ').slice(0, 2).join('-'))
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 40);
  return slug || 'unknown';
}

/** `name`, or `name-2` and so on: the first under which `dir` holds no file with any of `exts`. */
export async function freeStem(dir: string, name: string, exts: readonly string[]): Promise<string> {
  const { existsSync } = await import('node:fs');
  const { join } = await import('node:path');
  const taken = (n: string): boolean => exts.some((ext) => existsSync(join(dir, `${n}${ext}`)));
  let s = name;
  for (let k = 2; taken(s); k++) s = `${name}-${k}`;
  return s;
}

/**
 * Writes `<dir>/<stem>.json`, `.md` and `.svg`, or `<stem>-2` and so on where a report of that name exists
 * (a second run on one day, or a narrower one, must not replace a report others cite); returns their paths.
 */
export async function writeReport(r: BenchReport, dir: string): Promise<string[]> {
  const { mkdir, writeFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  await mkdir(dir, { recursive: true });
  const s = await freeStem(dir, stem(r), ['.json', '.md', '.svg']);
  const files = [join(dir, `${s}.json`), join(dir, `${s}.md`), join(dir, `${s}.svg`)];
  await writeFile(files[0]!, JSON.stringify(r, null, 1) + '\n');
  await writeFile(files[1]!, markdown(r, `${s}.svg`));
  await writeFile(files[2]!, svgChart(r));
  return files;
}
