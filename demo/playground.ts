/** The playground: a typed formula, its derivatives over many points in one batched call, plotted. */
import { derivative, parse } from 'mathjs';
import { formula, stats, sum, tensor, type Tensor } from '../src/index.js';
import { chainRule } from './chain.js';
import {
  ExprError,
  FUNCTION_NAMES,
  parseFormula,
  readingNote,
  toDifferentiable,
  type Parsed,
} from './expr.js';
import { toTensor } from './lower.js';
import { COLOURS, decimate, Plot } from './plot.js';
import { byId, diffText, num, say, showFormula } from './format.js';

/** The largest number of points the playground computes at once. */
export const MAX_POINTS = 10_000_000;

/** Formulas to start from: the notebook's functions and a few that show gaps and kinks. */
export const EXAMPLES: readonly [string, string, string][] = [
  ['sin(x) * x^2', '-6', '6'],
  ['(x - 2)^2', '-2', '6'],
  ['1 / (1 + exp(-x))', '-8', '8'],
  ['exp(-x^2 - 2x - sin(x))', '-4', '3'],
  ['8x^4 + 3x^3 + 7x^2 + 6x + 3', '-2', '2'],
  ['tanh(ln(1 + (2x) / sin(y)))', '0.1', '3'],
  ['relu(x) - abs(x - 1) / 2', '-3', '3'],
  ['x < 0 ? x^2 : sin(x)', '-3', '3'],
  ['1 / x', '-2', '2'],
  ['exp(x)', '0', '100'],
];

/** What the user asked for, read and checked. */
export interface Request {
  parsed: Parsed;
  lo: number;
  hi: number;
  n: number;
  y: number;
  second: boolean;
}

/** One computed batch: the points and every derivative, as float32 arrays read back from the backend. */
export interface Computed {
  xs: Float32Array;
  f: Float32Array;
  df: Float32Array;
  d2f: Float32Array | null;
  dfdy: Float32Array | null;
  /** webgrad's f′ (∂f/∂x) printed by formula(). */
  gradFormula: string;
  /** Why webgrad's f′ could not be printed (too long), or null. */
  gradFormulaError: string | null;
  ms: number;
  dispatches: number;
  compiled: number;
}

/** The playground's state, for the page and for tests that read the computed arrays. */
export interface PlaygroundState {
  /** Completed attempts, successful or not. */
  run: number;
  status: 'idle' | 'busy' | 'ok' | 'error';
  error: string | null;
  notice: string | null;
  request: (Omit<Request, 'parsed'> & { expr: string; vars: string[] }) | null;
  result: Computed | null;
}

/** Reads a number field; small expressions such as `2*pi` are welcome. */
export function readNumber(label: string, src: string): number {
  if (src.trim() === '') throw new ExprError(`${label} is empty: enter a number.`);
  let v: number;
  try {
    const p = parseFormula(src);
    if (p.vars.length > 0) throw new ExprError('');
    v = chainRule(p.expr, {}).value;
  } catch {
    throw new ExprError(`${label} must be a number, not '${src.trim()}'.`);
  }
  if (!Number.isFinite(v)) throw new ExprError(`${label} must be finite, not ${num(v)}.`);
  return v;
}

/** A number for webgrad to compute at: finite in float32 too (1e40 would silently become Infinity). */
export function readFloat32(label: string, src: string): number {
  const v = readNumber(label, src);
  if (!Number.isFinite(Math.fround(v)))
    throw new ExprError(`${label} must lie within float32 (|${label}| < 3.4e38), not ${num(v)}.`);
  return v;
}

/** Reads N: a whole number of points from 2 to MAX_POINTS. */
export function readCount(src: string): number {
  const v = Number(src.trim().replace(/[_,\s]/g, ''));
  if (src.trim() === '' || !Number.isInteger(v) || v < 2 || v > MAX_POINTS) {
    throw new ExprError(
      `N must be a whole number from 2 to ${MAX_POINTS.toLocaleString('en-US')}, not '${src.trim()}'.`,
    );
  }
  return v;
}

/** Checks the range [lo, hi]: not empty, not inverted, representable in float32. */
export function checkRange(lo: number, hi: number): void {
  if (lo === hi) throw new ExprError(`The range is empty: from and to are both ${num(lo)}.`);
  if (lo > hi)
    throw new ExprError(`The range is inverted: from (${num(lo)}) is greater than to (${num(hi)}).`);
  if (Math.abs(lo) > 3.4e38 || Math.abs(hi) > 3.4e38) {
    throw new ExprError('The range must lie within float32 (|x| < 3.4e38).');
  }
}

/** Evenly spaced float32 points from lo to hi. */
function linspace(lo: number, hi: number, n: number): Float32Array {
  const xs = new Float32Array(n);
  const step = (hi - lo) / (n - 1);
  for (let i = 0; i < n; i++) xs[i] = lo + step * i;
  xs[n - 1] = hi;
  return xs;
}

/** Reads a gradient as host data, or zeros where the output does not depend on the input. */
function readGrad(t: Tensor | null, n: number): Promise<Float32Array> {
  if (!t) return Promise.resolve(new Float32Array(n));
  return t.data().then((d) => (d.length === n ? d : new Float32Array(n).fill(d[0] ?? 0)));
}

/**
 * Computes f, ∂f/∂x (and ∂²f/∂x², ∂f/∂y when asked or used) at every point in one batch: all results are
 * requested together, so the backend fuses them into as few kernels as the math allows.
 */
export async function compute(req: Request): Promise<Computed> {
  const { parsed, lo, hi, n, y: y0, second } = req;
  const xs = linspace(lo, hi, n);
  const before = stats();
  const t0 = performance.now();
  const x = tensor(xs, { requiresGrad: true });
  const usesY = parsed.vars.includes('y');
  const y = usesY ? tensor(new Float32Array(n).fill(y0), { requiresGrad: true }) : null;
  const env: Record<string, Tensor> = y ? { x, y } : { x };
  const out = toTensor(parsed.expr, env);
  const owned: Tensor[] = [x];
  if (y) owned.push(y);
  let fPromise: Promise<Float32Array>;
  let g1: Tensor | null = null;
  let g2: Tensor | null = null;
  let gy: Tensor | null = null;
  if (typeof out === 'number' || !out.requiresGrad) {
    // Nothing to differentiate, every derivative is 0: a constant, or values that depend on x and y only
    // through comparisons (steps), which pass no gradient.
    fPromise = typeof out === 'number' ? Promise.resolve(new Float32Array(n).fill(out)) : readGrad(out, n);
    if (typeof out !== 'number') owned.push(out);
  } else {
    owned.push(out);
    sum(out).backward(undefined, { createGraph: second });
    g1 = x.grad;
    gy = y?.grad ?? null;
    if (second && g1?.requiresGrad) {
      // The gradient of the gradient: PyTorch's way, with x.grad reset so f″ does not add onto f′.
      x.grad = null;
      sum(g1).backward();
      g2 = x.grad;
    }
    fPromise = out.data();
  }
  const [f, df, d2f, dfdy] = await Promise.all([
    fPromise,
    readGrad(g1, n),
    second ? readGrad(g2, n) : Promise.resolve(null),
    usesY ? readGrad(gy, n) : Promise.resolve(null),
  ]);
  const ms = performance.now() - t0;
  const after = stats();
  let gradFormula = '0';
  let gradFormulaError: string | null = null;
  if (g1) {
    try {
      gradFormula = formula(g1, y ? { x, y } : { x }, { maxLength: 4000 });
    } catch (e) {
      gradFormulaError = e instanceof Error ? e.message : String(e);
    }
  }
  for (const t of [...owned, g1, g2, gy]) t?.dispose();
  return {
    xs,
    f,
    df,
    d2f,
    dfdy,
    gradFormula,
    gradFormulaError,
    ms,
    dispatches: after.dispatches - before.dispatches,
    compiled: after.pipelinesCompiled - before.pipelinesCompiled,
  };
}

/** Where a series is not finite: how often, and the first x. */
function nonFinite(name: string, xs: Float32Array, ys: Float32Array): string | null {
  let count = 0;
  let first = -1;
  for (let i = 0; i < ys.length; i++) {
    if (!Number.isFinite(ys[i]!)) {
      count++;
      if (first < 0) first = i;
    }
  }
  if (count === 0) return null;
  return `${name} is not finite (overflow, NaN or a pole) at ${count.toLocaleString('en-US')} of ${ys.length.toLocaleString('en-US')} points, first at x = ${num(xs[first]!)}: drawn as gaps.`;
}

/**
 * Throughput in words, in the largest unit that shows at least 1 once rounded (999,990 points/s is
 * "1.0 M", not "1000.0 k"); a dash where nothing was timed (a constant formula computes nothing, and the
 * clock's steps may read 0 ms).
 */
export function rate(n: number, ms: number): string {
  if (!(ms > 0)) return '–';
  const per = n / (ms / 1000);
  for (const [scale, unit, digits] of [
    [1e9, 'G', 2],
    [1e6, 'M', 1],
  ] as const) {
    const shown = (per / scale).toFixed(digits);
    if (Number(shown) >= 1) return `${shown} ${unit} points/s`;
  }
  return `${(per / 1e3).toFixed(1)} k points/s`;
}

/**
 * webgrad's f′ against mathjs's symbolic f′ (float64) at up to 200 of the points: the largest difference
 * relative to the size of f′ there.
 */
// mathjs's simplification takes time that grows steeply with the formula (20 ms for x^2 sin x, 0.3 s for
// four terms like sin(k x)/(k + 1 + x^2), seconds beyond) and runs on the page's thread: beyond this many
// nodes, mathjs's derivative is shown as differentiated, unsimplified.
const SIMPLIFY_MAX_NODES = 30;

/** The note under an unsimplified mathjs derivative. */
function unsimplifiedNote(): HTMLElement {
  const p = document.createElement('p');
  p.className = 'hint small';
  p.dataset.note = 'unsimplified';
  p.textContent = `Not simplified: mathjs's simplification of a formula of more than ${SIMPLIFY_MAX_NODES} nodes would hold the page for seconds.`;
  return p;
}

function compareWithMathjs(req: Request, c: Computed, d: { evaluate(scope: object): unknown }): string {
  const n = c.xs.length;
  const k = Math.min(200, n);
  let worst = 0;
  let scale = 0;
  let used = 0;
  const y = Math.fround(req.y);
  const pairs: [number, number][] = [];
  for (let j = 0; j < k; j++) {
    const i = Math.round((j * (n - 1)) / Math.max(1, k - 1));
    const want = Number(d.evaluate({ x: c.xs[i]!, y }));
    const got = c.df[i]!;
    if (!Number.isFinite(want) || !Number.isFinite(got)) continue;
    pairs.push([got, want]);
    scale = Math.max(scale, Math.abs(want));
  }
  for (const [got, want] of pairs) {
    worst = Math.max(worst, Math.abs(got - want) / Math.max(Math.abs(want), 1e-3 * scale, 1e-30));
    used++;
  }
  if (used === 0) return 'No finite points to compare with mathjs.';
  const mark = worst <= 1e-4 ? '✓' : '≈';
  return `${mark} webgrad's f′ against mathjs's at ${used} points: largest relative difference ${diffText(worst)} (float32 against float64).`;
}

/** The playground section: reads the form, computes, plots, and reports. */
export class Playground {
  /** Exposed for tests and curious users: the last request and its arrays. */
  readonly state: PlaygroundState = {
    run: 0,
    status: 'idle',
    error: null,
    notice: null,
    request: null,
    result: null,
  };
  private plots: Plot[] = [];
  private running: Promise<void> | null = null;
  private again = false;
  /** Called with the formula after each successful run, for the chain rule view. */
  onFormula: (p: Parsed) => void = () => {};

  private readonly section = byId('playground');
  private readonly form = byId<HTMLFormElement>('pg-form');
  private readonly exprIn = byId<HTMLInputElement>('pg-expr');
  private readonly loIn = byId<HTMLInputElement>('pg-lo');
  private readonly hiIn = byId<HTMLInputElement>('pg-hi');
  private readonly nIn = byId<HTMLInputElement>('pg-n');
  private readonly yIn = byId<HTMLInputElement>('pg-y');
  private readonly secondIn = byId<HTMLInputElement>('pg-second');
  private readonly errorEl = byId('pg-error');
  private readonly noticeEl = byId('pg-notice');
  private readonly statsEl = byId('pg-stats');
  private readonly plotsEl = byId('pg-plots');
  private readonly webgradTex = byId('pg-formula-webgrad');
  private readonly mathjsTex = byId('pg-formula-mathjs');
  private readonly checkEl = byId('pg-check');

  constructor() {
    byId('pg-help').textContent =
      `Functions: ${FUNCTION_NAMES.join(', ')}; operators + - * / ^; comparisons < <= > >= == != ` +
      `(1 or 0) and c ? a : b for piecewise formulas; constants pi, e. ` +
      `N from 2 to ${MAX_POINTS.toLocaleString('en-US')}.`;
    this.form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      void this.run();
    });
    this.secondIn.addEventListener('change', () => void this.run());
    // Mistakes show while typing; computing waits for Enter or the button.
    for (const el of [this.exprIn, this.loIn, this.hiIn, this.nIn, this.yIn]) {
      el.addEventListener('input', () => this.validate());
    }
    const examples = byId('pg-examples');
    for (const [expr, lo, hi] of EXAMPLES) {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'example';
      b.textContent = expr;
      b.addEventListener('click', () => {
        this.exprIn.value = expr;
        this.loIn.value = lo;
        this.hiIn.value = hi;
        this.validate();
        void this.run();
      });
      examples.append(b);
    }
    this.validate();
  }

  /** Says what is wrong with the form as it stands, without computing; y is only asked for when used. */
  private validate(): void {
    let usesY = false;
    try {
      usesY = parseFormula(this.exprIn.value).vars.includes('y');
    } catch {
      // The formula's mistake is reported by read() below.
    }
    this.yIn.disabled = !usesY;
    try {
      this.read();
      say(this.errorEl, null);
    } catch (e) {
      say(this.errorEl, e instanceof Error ? e.message : String(e));
    }
  }

  /** Computes what the form says; a request made while busy runs once the current one ends. */
  run(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.runOnce();
      } while (this.again);
      this.running = null;
    })();
    return this.running;
  }

  private read(): Request {
    const parsed = parseFormula(this.exprIn.value);
    const lo = readNumber('x from', this.loIn.value);
    const hi = readNumber('x to', this.hiIn.value);
    checkRange(lo, hi);
    const n = readCount(this.nIn.value);
    const y = parsed.vars.includes('y') ? readFloat32('y', this.yIn.value) : 0;
    return { parsed, lo, hi, n, y, second: this.secondIn.checked };
  }

  private async runOnce(): Promise<void> {
    const s = this.state;
    s.status = 'busy';
    this.section.dataset.status = 'busy';
    let req: Request;
    try {
      req = this.read();
    } catch (e) {
      this.fail(e);
      return;
    }
    try {
      const c = await compute(req);
      s.request = {
        expr: this.exprIn.value,
        vars: req.parsed.vars,
        lo: req.lo,
        hi: req.hi,
        n: req.n,
        y: req.y,
        second: req.second,
      };
      s.result = c;
      s.error = null;
      say(this.errorEl, null);
      this.show(req, c);
      s.status = 'ok';
      this.onFormula(req.parsed);
    } catch (e) {
      this.fail(e);
      return;
    }
    this.finish();
  }

  private fail(e: unknown): void {
    const msg = e instanceof Error ? e.message : String(e);
    this.state.error = msg;
    this.state.status = 'error';
    say(this.errorEl, msg);
    // The notice was about the last result, which stays on the page dimmed (see style.css).
    say(this.noticeEl, null);
    if (!(e instanceof ExprError)) console.warn('playground:', e);
    this.finish();
  }

  private finish(): void {
    this.state.run++;
    this.section.dataset.status = this.state.status;
    this.section.dataset.run = String(this.state.run);
  }

  private show(req: Request, c: Computed): void {
    const { parsed, n } = req;
    const usesY = parsed.vars.includes('y');
    const at = usesY ? `, y = ${num(req.y)}` : '';
    const series: [string, Float32Array][] = [
      [`f(x${at})`, c.f],
      [usesY ? `∂f/∂x (y = ${num(req.y)})` : 'f′(x)', c.df],
    ];
    if (c.d2f) series.push([usesY ? '∂²f/∂x²' : 'f″(x)', c.d2f]);
    if (c.dfdy) series.push([`∂f/∂y (y = ${num(req.y)})`, c.dfdy]);

    for (const p of this.plots) p.destroy();
    this.plots = series.map(
      ([label, ys], i) => new Plot(this.plotsEl, label, COLOURS[i]!, decimate(c.xs, ys)),
    );

    const notes = [
      readingNote(this.exprIn.value, parsed.node),
      ...series.map(([label, ys]) => nonFinite(label, c.xs, ys)),
    ].filter((m): m is string => m !== null);
    this.state.notice = notes.length ? notes.join(' ') : null;
    say(this.noticeEl, this.state.notice);

    const backend = stats().backend === 'webgpu' ? 'WebGPU' : 'CPU';
    this.statsEl.innerHTML = '';
    const items: [string, string][] = [
      ['points', n.toLocaleString('en-US')],
      ['time', `${c.ms.toFixed(1)} ms`],
      // Nothing computed (a constant formula): no throughput to speak of.
      ['throughput', c.dispatches > 0 ? rate(n, c.ms) : '–'],
      ['backend', backend],
      ['kernels run', String(c.dispatches)],
      ['kernels compiled', String(c.compiled)],
    ];
    for (const [k, v] of items) {
      const el = document.createElement('span');
      el.className = 'stat';
      el.dataset.stat = k;
      el.innerHTML = `<b></b><small></small>`;
      el.querySelector('b')!.textContent = v;
      el.querySelector('small')!.textContent = k;
      this.statsEl.append(el);
    }

    // webgrad's derivative as it built it, and mathjs's symbolic one (plain text where typesetting would
    // take long: see showFormula).
    if (c.gradFormulaError) this.webgradTex.textContent = c.gradFormulaError;
    else if (c.gradFormula.length > 1500) this.webgradTex.textContent = c.gradFormula;
    else showFormula(this.webgradTex, parse(c.gradFormula));
    try {
      const expr = parse(toDifferentiable(parsed.expr));
      const simplify = expr.filter(() => true).length <= SIMPLIFY_MAX_NODES;
      const d = derivative(expr, 'x', { simplify });
      showFormula(this.mathjsTex, d);
      if (!simplify) this.mathjsTex.append(unsimplifiedNote());
      this.checkEl.textContent = compareWithMathjs(req, c, d.compile());
    } catch (e) {
      this.mathjsTex.textContent = `mathjs could not differentiate this formula: ${mathjsFailure(e)}`;
      this.checkEl.textContent = '';
    }
  }
}

/** Why mathjs could not differentiate a formula, in words where its own message is about its insides. */
export function mathjsFailure(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  // A sum of 2000 terms, say: mathjs walks formulas recursively.
  if (e instanceof RangeError) return `it is nested too deeply for mathjs (${msg})`;
  // (-2)^x: the derivative's ln(-2) is complex, which mathjs cannot write back as a formula.
  if (/Complex/.test(msg))
    return `its derivative takes the logarithm of a negative number, a complex value (${msg})`;
  return msg;
}
