/** Plots of many points with uPlot: decimated to what a screen can show, non-finite values drawn as gaps. */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { yRange } from './range.js';

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

/** Tick steps for any float32 magnitude: uPlot's own list stops near 1e15, float32 reaches 3.4e38. */
const INCREMENTS = Array.from({ length: 90 }, (_, k) =>
  [1, 2, 5].map((m) => m * Math.pow(10, k - 46)),
).flat();

/** A tick label: short, with an exponent for very large or small values. */
function tickLabel(v: number): string {
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toExponential(1).replace('.0e', 'e');
  return String(Number(v.toPrecision(4)));
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
    this.chart = new uPlot(
      {
        width,
        height: 210,
        cursor: { sync: { key: 'webgrad' } },
        scales: { x: { time: false }, y: { range: (_u, min, max) => yRange(min, max) } },
        legend: { live: true },
        series: [
          { label: 'x', value: (_u, v) => (v == null ? '—' : v.toPrecision(6)) },
          {
            label,
            stroke: colour,
            width: 1.5,
            spanGaps: false,
            value: (_u, v, _s, idx) => (idx == null ? '—' : v == null ? 'not finite' : v.toPrecision(6)),
          },
        ],
        axes: [
          {},
          {
            size: 70,
            incrs: INCREMENTS,
            values: (_u, splits) => splits.map(tickLabel),
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
                const x0 = u.valToPos(a, 'x', true);
                const x1 = u.valToPos(b, 'x', true);
                ctx.fillRect(x0, u.bbox.top, Math.max(x1 - x0, 2), u.bbox.height);
              }
              ctx.restore();
            },
          ],
        },
      },
      [s.x, s.y],
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
