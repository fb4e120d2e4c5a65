/** Plots of many points with uPlot: decimated to what a screen can show, non-finite values drawn as gaps. */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { xRange, yRange } from './range.js';

/** x and y ready for uPlot: y is null where the function is not finite, so uPlot leaves a gap. */
export interface Series {
  x: number[];
  y: (number | null)[];
}

/**
 * Keeps the first, lowest, highest and last point of each of `buckets` runs of points (in x order), so
 * peaks survive; a run with a non-finite value keeps a null there, so the gap survives too.
 */
export function decimate(xs: Float32Array, ys: Float32Array, buckets = 2000): Series {
  const n = xs.length;
  const x: number[] = [];
  const y: (number | null)[] = [];
  const push = (i: number): void => {
    const v = ys[i]!;
    x.push(xs[i]!);
    y.push(Number.isFinite(v) ? v : null);
  };
  if (n <= buckets * 4) {
    for (let i = 0; i < n; i++) push(i);
    return { x, y };
  }
  for (let b = 0; b < buckets; b++) {
    const i0 = Math.floor((b * n) / buckets);
    const i1 = Math.floor(((b + 1) * n) / buckets);
    let lo = -1;
    let hi = -1;
    let bad = -1;
    for (let i = i0; i < i1; i++) {
      const v = ys[i]!;
      if (!Number.isFinite(v)) {
        if (bad < 0) bad = i;
        continue;
      }
      if (lo < 0 || v < ys[lo]!) lo = i;
      if (hi < 0 || v > ys[hi]!) hi = i;
    }
    const keep = [...new Set([i0, lo, hi, bad, i1 - 1].filter((i) => i >= 0))].sort((a, b) => a - b);
    for (const i of keep) push(i);
  }
  return { x, y };
}

/**
 * Tick steps for any float32 magnitude: uPlot's own list stops near 1e15, float32 reaches 3.4e38. Written as
 * uPlot writes its own (`5e-7`, not 5 * 10^-7, a bit away), so that it finds the decimals it knows for them.
 */
const INCREMENTS = Array.from({ length: 90 }, (_, k) => [1, 2, 5].map((m) => +`${m}e${k - 46}`)).flat();

/**
 * Ticks at the multiples of `incr` within [min, max], each a product rather than a running sum. uPlot's own
 * round each to the decimals it knows for `incr`, and it knows none for steps below 1e-16: every tick was
 * 0 and nothing was drawn for x over [-1e-17, 1e-17].
 */
export function splitsOf(min: number, max: number, incr: number): number[] {
  if (!(incr > 0) || !(max >= min)) return [];
  const out: number[] = [];
  const slack = incr * 1e-9;
  for (let k = Math.ceil((min - slack) / incr); k * incr <= max + slack && out.length < 1000; k++)
    out.push(Number((k * incr).toPrecision(12)) || 0);
  return out;
}

/**
 * Tick labels: each with as many significant digits as tell it from its neighbours (at least one), and an
 * exponent for very large or small values. A fixed four repeated labels wherever the range is narrow against
 * the values' size: f' of 2x read 2 2 2 2 2, x^2 over [100000, 100010] 1e+10 five times.
 */
export function tickLabels(splits: readonly number[]): string[] {
  const step = splits.length > 1 ? Math.abs(splits[1]! - splits[0]!) : 0;
  return splits.map((v) => {
    const a = Math.abs(v);
    if (a === 0 || a < step * 1e-9) return '0';
    const digits = step > 0 ? Math.floor(Math.log10(a)) - Math.floor(Math.log10(step)) + 1 : 4;
    const d = Math.min(17, Math.max(1, digits));
    if (a >= 1e6 || a < 1e-3) return v.toExponential(d - 1).replace(/\.?0+e/, 'e');
    return String(Number(v.toPrecision(d)));
  });
}

/** Runs of x where the function is not finite: from a null point to the next finite one. */
function gaps(s: Series): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < s.y.length; i++) {
    if (s.y[i] !== null) continue;
    const start = s.x[Math.max(0, i - 1)]!;
    let j = i;
    while (j < s.y.length && s.y[j] === null) j++;
    out.push([start, s.x[Math.min(j, s.x.length - 1)]!]);
    i = j;
  }
  return out;
}

/**
 * The power of ten a plot multiplies values by before uPlot sees them: uPlot refuses a scale narrower than
 * 1e-16 (nothing was drawn over x in [-1e-17, 1e-17], nor for values near 1e-34), so values smaller than
 * 1e-6 are drawn magnified to about 1, and labelled with their own values.
 */
export function magnification(values: readonly (number | null)[]): number {
  let m = 0;
  for (const v of values) if (v !== null && Number.isFinite(v)) m = Math.max(m, Math.abs(v));
  return m > 0 && m < 1e-6 ? +`1e${-Math.floor(Math.log10(m))}` : 1;
}

/**
 * Poles between the sampled points (1/x, tan x): consecutive values of opposite signs, both beyond 10 times
 * the 99th percentile of |y|. Drawn as they are, the line joined them with a vertical stroke across the
 * plot, and their size (±2.7e5 for tan x sampled near π/2) flattened the rest of the curve to a line at 0.
 * Returns the series with a gap at each pole and the range of y that shows the rest (4 times that
 * percentile), or null where there is no pole (nor spike: see below).
 */
export function poles(s: Series): { series: Series; bound: number; what: 'poles' | 'spikes' } | null {
  const mags = s.y.filter((v): v is number => v !== null && Number.isFinite(v)).map(Math.abs);
  if (mags.length < 100) return null;
  mags.sort((a, b) => a - b);
  const p99 = mags[Math.floor(0.99 * (mags.length - 1))]!;
  if (!(p99 > 0)) return null;
  const x: number[] = [];
  const y: (number | null)[] = [];
  let found = false;
  for (let i = 0; i < s.y.length; i++) {
    const [a, b] = [s.y[i - 1], s.y[i]];
    const pole =
      i > 0 &&
      a != null &&
      b != null &&
      Math.sign(a) === -Math.sign(b) &&
      Math.min(Math.abs(a), Math.abs(b)) > 10 * p99;
    if (pole) {
      found = true;
      x.push((s.x[i - 1]! + s.x[i]!) / 2);
      y.push(null);
    }
    x.push(s.x[i]!);
    y.push(b ?? null);
  }
  if (found) return { series: { x, y }, bound: 4 * p99, what: 'poles' };
  // A pole of even order (1/x^2, the derivative of 1/x) does not change sign: there only a spike a thousand
  // times the 99th percentile counts (a narrow peak, exp(-1000 x^2), is 40 times it at most; exp(10x) 1.2).
  return mags[mags.length - 1]! > 1000 * p99 ? { series: s, bound: 4 * p99, what: 'spikes' } : null;
}

/** Series colours: f, f′, f″, ∂f/∂y. */
export const COLOURS = ['#2563eb', '#dc2626', '#059669', '#9333ea'];

/** A stacked plot of one function, sharing its cursor with the other plots of the page. */
export class Plot {
  private readonly chart: uPlot;
  private readonly resize: ResizeObserver;

  /** Draws `s` labelled `label` into a new element appended to `parent`. */
  constructor(
    readonly parent: HTMLElement,
    label: string,
    colour: string,
    s: Series,
  ) {
    const box = document.createElement('div');
    box.className = 'plot';
    parent.append(box);
    const width = Math.max(240, parent.clientWidth);
    const bands = gaps(s);
    const cut = poles(s);
    if (cut) s = cut.series;
    // Values as uPlot sees them (see magnification), and as they are.
    const fx = magnification(s.x);
    const fy = magnification(s.y);
    const xs = fx === 1 ? s.x : s.x.map((v) => v * fx);
    const ys = fy === 1 ? s.y : s.y.map((v) => (v === null ? null : v * fy));
    this.chart = new uPlot(
      {
        width,
        height: 210,
        cursor: { sync: { key: 'webgrad' } },
        scales: {
          x: { time: false, range: (_u, min, max) => xRange(min, max) },
          y: {
            range: (_u, min, max) =>
              cut && min !== null && max !== null
                ? yRange(Math.max(min, -cut.bound * fy), Math.min(max, cut.bound * fy))
                : yRange(min, max),
          },
        },
        legend: { live: true },
        series: [
          { label: 'x', value: (_u, v) => (v == null ? '—' : (v / fx).toPrecision(6)) },
          {
            label,
            stroke: colour,
            width: 1.5,
            spanGaps: false,
            value: (_u, v, _s, idx) =>
              idx == null ? '—' : v == null ? 'not finite' : (v / fy).toPrecision(6),
          },
        ],
        axes: [
          // Spaced for the long labels of a narrow range far from 0 ([16777216, 16777218] overlapped at 50 px).
          {
            incrs: INCREMENTS,
            splits: (_u, _i, min, max, incr) => splitsOf(min, max, incr),
            values: (_u, splits) => tickLabels(splits.map((v) => v / fx)),
            space: 90,
          },
          // As wide as its longest label (1.00002e+10 was cut off at a fixed 70 px).
          {
            size: (_u, values) => Math.max(50, 24 + 8 * Math.max(0, ...(values ?? []).map((v) => v.length))),
            incrs: INCREMENTS,
            splits: (_u, _i, min, max, incr) => splitsOf(min, max, incr),
            values: (_u, splits) => tickLabels(splits.map((v) => v / fy)),
          },
        ],
        hooks: {
          // Where the function is not finite, the line has a gap; a red band makes the gap easy to see.
          draw: [
            (u) => {
              const ctx = u.ctx;
              ctx.save();
              ctx.fillStyle = 'rgba(220, 38, 38, 0.12)';
              for (const [a, b] of bands) {
                const x0 = u.valToPos(a * fx, 'x', true);
                const x1 = u.valToPos(b * fx, 'x', true);
                ctx.fillRect(x0, u.bbox.top, Math.max(x1 - x0, 2), u.bbox.height);
              }
              if (cut) {
                // Say that the poles' values go beyond what is drawn.
                ctx.fillStyle = '#64748b';
                ctx.font = `${Math.round(11 * devicePixelRatio)}px sans-serif`;
                ctx.textAlign = 'right';
                const text = `${cut.what}: values beyond ±${tickLabels([cut.bound])[0]} not drawn`;
                ctx.fillText(text, u.bbox.left + u.bbox.width - 6, u.bbox.top + 14 * devicePixelRatio);
              }
              ctx.restore();
            },
          ],
        },
      },
      [xs, ys],
      box,
    );
    this.resize = new ResizeObserver(() => {
      this.chart.setSize({ width: Math.max(240, parent.clientWidth), height: 210 });
    });
    this.resize.observe(parent);
  }

  /** Removes the plot from the page. */
  destroy(): void {
    this.resize.disconnect();
    this.chart.root.parentElement?.remove();
    this.chart.destroy();
  }
}
