// The demo page in headless Chromium and Firefox: built with vite, served from localhost (a secure context,
// as WebGPU needs), driven with puppeteer. WebGPU runs on whatever adapter each browser finds (a CPU
// implementation without a GPU); the two engines' WebGPU (Dawn, wgpu) and WGSL compilers (Tint, naga) differ.
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build, preview, type PreviewServer } from 'vite';
import type { Browser, Page } from 'puppeteer-core';
import { EXERCISES } from '../../demo/notebook.js';
import { BROWSER_BINARIES, launchBrowser, missingBrowser } from '../../bench/browser.js';
import type { BrowserName } from '../../bench/options.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const OUT = 'dist/demo-e2e';
const SHOTS = fileURLToPath(new URL('./screenshots', import.meta.url));
const REQUIRE_WEBGPU = process.env.WEBGRAD_REQUIRE_WEBGPU === '1';
/** Points in the playground runs: enough to batch, few enough for a CPU-only machine. */
const N = 20_000;
const TIMEOUT = 30_000;

let server: PreviewServer;
let url: string;
/** The page of the browser whose tests run (the browsers' describe blocks run one after the other). */
let page: Page;

/** A browser the page is tested in, beside how bench/browser.ts launches it. */
interface TestBrowser {
  flag: BrowserName;
  name: string;
  /** Whether its adapter names itself (Firefox reports empty adapter info, as a fingerprinting defence). */
  namesAdapter: boolean;
  /** Prefix of its screenshots' file names. */
  shots: string;
}

const BROWSERS: TestBrowser[] = [
  { flag: 'chromium', name: BROWSER_BINARIES.chromium.label, namesAdapter: true, shots: '' },
  { flag: 'firefox', name: BROWSER_BINARIES.firefox.label, namesAdapter: false, shots: 'firefox-' },
];

// Puppeteer's own limit on a protocol call, kept for these tests (the benchmark, whose runs are long, has none).
const PROTOCOL_TIMEOUT = 180_000;

/** Sets a text field of the page. */
async function setField(id: string, value: string): Promise<void> {
  await page.$eval(`#${id}`, (el, v) => ((el as HTMLInputElement).value = v), value);
}

/** Presses Compute and waits until the playground has finished that attempt. */
async function compute(): Promise<'ok' | 'error'> {
  const before = await page.evaluate(() => window.webgradDemo.playground.run);
  await page.click('#pg-run');
  await settled(before);
  return page.evaluate(() => window.webgradDemo.playground.status as 'ok' | 'error');
}

/** Waits until the playground has finished more than `n` attempts and has nothing queued. */
async function settled(n: number): Promise<void> {
  await page.waitForFunction(
    (k: number) => {
      const s = window.webgradDemo.playground;
      return s.run > k && s.status !== 'busy';
    },
    { timeout: TIMEOUT },
    n,
  );
}

/** Fills the playground form. */
async function form(expr: string, lo = '-6', hi = '6', n = String(N)): Promise<void> {
  await setField('pg-expr', expr);
  await setField('pg-lo', lo);
  await setField('pg-hi', hi);
  await setField('pg-n', n);
}

/** The visible text of an element, or null when it is hidden. */
function shown(id: string): Promise<string | null> {
  return page.$eval(`#${id}`, (el) => ((el as HTMLElement).hidden ? null : (el.textContent ?? '')));
}

async function waitNotebook(backend: string): Promise<void> {
  await page.waitForFunction(
    (b: string) => {
      const s = document.getElementById('notebook');
      return s?.dataset.state === 'done' && s.dataset.backend === b;
    },
    { timeout: TIMEOUT },
    backend,
  );
}

/** Checks every row of the notebook table on the page. */
async function expectNotebookRows(): Promise<void> {
  const rows = await page.$$eval('#notebook-table tbody tr', (trs) =>
    trs.map((tr) => ({ ok: (tr as HTMLElement).dataset.ok, check: tr.cells[7]?.textContent ?? '' })),
  );
  expect(rows.length).toBe(EXERCISES.length);
  rows.forEach((r, i) => {
    expect(r.ok, `row ${i} (${EXERCISES[i]!.title} d/d${EXERCISES[i]!.wrt}): ${r.check}`).toBe('true');
    expect(r.check.startsWith('✓')).toBe(true);
  });
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  await build({ root: ROOT, logLevel: 'warn', build: { outDir: OUT, emptyOutDir: true } });
  server = await preview({
    root: ROOT,
    logLevel: 'warn',
    build: { outDir: OUT },
    preview: { host: 'localhost', port: 0, strictPort: false, open: false },
  });
  const local = server.resolvedUrls?.local[0];
  if (!local) throw new Error('vite preview gave no local URL');
  url = local;
}, 120_000);

afterAll(async () => {
  await new Promise<void>((resolve) => (server ? server.httpServer.close(() => resolve()) : resolve()));
});

describe.each(BROWSERS)('demo page in $name', (b) => {
  let backend = 'cpu';
  let browser: Browser | undefined;
  /** Console errors and uncaught exceptions of the page. */
  const problems: string[] = [];
  const SHOT = (name: string): string => `${SHOTS}/${b.shots}${name}.png`;

  beforeAll(async () => {
    const missing = missingBrowser(b.flag);
    if (missing) throw new Error(missing);
    browser = await launchBrowser(b.flag, PROTOCOL_TIMEOUT);
    page = await browser.newPage();
    await page.setViewport({ width: 1440, height: 900 });
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console.error: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e instanceof Error ? e.message : String(e)}`));
    await page.goto(url, { waitUntil: 'load' });
    await page.waitForFunction(() => window.webgradDemo?.backend !== null, { timeout: TIMEOUT });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
  });

  it('shows the backend: WebGPU with its adapter', async () => {
    const info = await page.evaluate(() => window.webgradDemo.backend!);
    const badge = await page.$eval('#backend-badge', (el) => el.textContent ?? '');
    backend = info.backend;
    if (info.backend !== 'webgpu') {
      const why = `no WebGPU in ${b.name} (${info.fallbackReason ?? 'no reason given'})`;
      if (REQUIRE_WEBGPU) throw new Error(`${why}, and WEBGRAD_REQUIRE_WEBGPU=1`);
      console.warn(`${why}: the page is tested on the CPU`);
      expect(badge).toContain(`CPU · ${info.fallbackReason}`);
      return;
    }
    const names = [info.adapter?.vendor, info.adapter?.architecture, info.adapter?.description].filter(
      (s): s is string => !!s && s.trim() !== '',
    );
    expect(badge.startsWith('WebGPU · ')).toBe(true);
    if (b.namesAdapter) expect(names.length, 'the adapter reports no name').toBeGreaterThan(0);
    // An adapter without a name is said to be one rather than left blank.
    if (names.length === 0) expect(badge).toBe('WebGPU · unnamed adapter');
    for (const n of names) expect(badge).toContain(n);
  });

  it('every notebook exercise agrees with its formula and with mathjs', async () => {
    await waitNotebook(backend);
    await settled(0);
    await expectNotebookRows();
    // The numbers the notebook printed (PyTorch), independent of the page's own formulas; float32 loses
    // about 9 bits to the cancellation in sigmoid's y·(1 − y) at v = 6, hence 1e-4.
    const printed: Record<string, number[]> = {
      '#1': [-2],
      sigmoid: [0.10499356687068939],
      Q1: [34, 114],
      'Q2 (ReLU)': [3, 1],
      'Q3 (sigmoid)': [0.012332546456800243, 0.0024665092913600485],
      Q4: [-0.0007545278582400674],
      Q5: [326],
    };
    const results = await page.evaluate(() => window.webgradDemo.notebook.results.map((r) => r.autograd));
    const seen: Record<string, number> = {};
    EXERCISES.forEach((ex, i) => {
      const want = printed[ex.title]?.[(seen[ex.title] = (seen[ex.title] ?? -1) + 1)];
      if (want === undefined) return;
      expect(Math.abs(results[i]! - want), `${ex.title} d/d${ex.wrt}`).toBeLessThanOrEqual(
        1e-4 * Math.abs(want),
      );
    });
    await (await page.$('#notebook'))!.screenshot({ path: SHOT('notebook') });
  });

  it("plots sin(x)*x^2 with f' = 2x sin x + x^2 cos x and f'' at every sampled point", async () => {
    await form('');
    await page.type('#pg-expr', 'sin(x)*x^2');
    expect(await compute()).toBe('ok');
    const got = await page.evaluate(() => {
      const r = window.webgradDemo.playground.result!;
      return { xs: Array.from(r.xs), f: Array.from(r.f), df: Array.from(r.df) };
    });
    expect(got.xs.length).toBe(N);
    expect(got.xs[0]).toBe(-6);
    expect(got.xs[N - 1]).toBe(6);
    const check = (ys: number[], want: (x: number) => number, scale: (x: number) => number, what: string) => {
      for (let k = 0; k < 64; k++) {
        const i = Math.floor(((k + 0.5) * N) / 64);
        const x = got.xs[i]!;
        const w = want(x);
        expect(Math.abs(ys[i]! - w), `${what} at x = ${x}: got ${ys[i]}, want ${w}`).toBeLessThanOrEqual(
          1e-5 * scale(x) + 1e-6,
        );
      }
    };
    check(
      got.f,
      (x) => Math.sin(x) * x * x,
      (x) => x * x,
      'f',
    );
    check(
      got.df,
      (x) => 2 * x * Math.sin(x) + x * x * Math.cos(x),
      (x) => 2 * Math.abs(x) + x * x,
      "f'",
    );

    // f'' is the gradient of the gradient, computed when the box is ticked.
    const before = await page.evaluate(() => window.webgradDemo.playground.run);
    await page.click('#pg-second');
    await settled(before);
    const d2 = await page.evaluate(() => Array.from(window.webgradDemo.playground.result!.d2f ?? []));
    expect(d2.length).toBe(N);
    check(
      d2,
      (x) => 2 * Math.sin(x) + 4 * x * Math.cos(x) - x * x * Math.sin(x),
      (x) => 2 + 4 * Math.abs(x) + x * x,
      "f''",
    );
    const ticked = await page.evaluate(() => window.webgradDemo.playground.run);
    await page.click('#pg-second');
    await settled(ticked);

    // Time, throughput, the backend, and both derivatives as formulas.
    const stats = await page.$eval('#pg-stats', (el) => el.textContent ?? '');
    expect(stats).toMatch(/points\/s/);
    expect(stats).toContain(backend === 'webgpu' ? 'WebGPU' : 'CPU');
    // In a browser, waits for results are nudged (empty submits make the GPU process look for finished
    // work sooner), and the nudges are not counted as submits.
    const counted = await page.evaluate(() => window.webgradDemo.stats());
    if (backend === 'webgpu') {
      expect(counted.submits).toBeGreaterThan(0);
      expect(counted.nudges).toBeGreaterThan(0);
    } else expect(counted.nudges).toBe(0);
    expect(await page.$$('#pg-formula-webgrad .katex')).toHaveLength(1);
    expect(await page.$$('#pg-formula-mathjs .katex')).toHaveLength(1);
    expect(await page.$eval('#pg-check', (el) => el.textContent ?? '')).toMatch(/^✓/);
    expect(await page.$$('#pg-plots .uplot')).toHaveLength(2);
    await (await page.$('#playground'))!.screenshot({ path: SHOT('playground') });
  });

  it('derives the chain rule at one point and agrees with webgrad', async () => {
    await page.waitForFunction(() => window.webgradDemo.chain.status === 'ok', { timeout: TIMEOUT });
    const { grads, webgrad, ok, names } = await page.evaluate(() => {
      const c = window.webgradDemo.chain;
      return {
        grads: c.chain!.grads,
        webgrad: c.webgrad,
        ok: c.ok,
        names: c.chain!.nodes.map((n) => n.name),
      };
    });
    const want = 2 * Math.sin(1) + Math.cos(1);
    expect(Math.abs(grads.x! - want)).toBeLessThanOrEqual(1e-12);
    expect(Math.abs(webgrad.x! - want)).toBeLessThanOrEqual(1e-6);
    expect(ok).toBe(true);
    expect(names).toContain('x');
    expect(names.at(-1)).toBe('f');
    expect(await page.$$eval('#chain-table tbody tr', (r) => r.length)).toBe(names.length);
    expect(
      await page.$$eval('#chain-check tbody tr', (r) => r.map((x) => (x as HTMLElement).dataset.ok)),
    ).toEqual(['true']);
    await (await page.$('#chain'))!.screenshot({ path: SHOT('chain') });
  });

  it('plots a piecewise formula (c ? a : b) with each piece differentiated, and says mathjs cannot', async () => {
    await form('x < 0 ? x^2 : sin(x)', '-3', '3');
    expect(await compute()).toBe('ok');
    const got = await page.evaluate(() => {
      const r = window.webgradDemo.playground.result!;
      return { xs: Array.from(r.xs), f: Array.from(r.f), df: Array.from(r.df) };
    });
    for (let k = 0; k < 64; k++) {
      const i = Math.floor(((k + 0.5) * N) / 64);
      const x = got.xs[i]!;
      const [f, df] = x < 0 ? [x * x, 2 * x] : [Math.sin(x), Math.cos(x)];
      expect(Math.abs(got.f[i]! - f), `f at ${x}`).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(f)));
      expect(Math.abs(got.df[i]! - df), `f' at ${x}`).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(df)));
    }
    expect(await page.$$('#pg-formula-webgrad .katex')).toHaveLength(1);
    expect(await page.$eval('#pg-formula-mathjs', (el) => el.textContent ?? '')).toMatch(
      /mathjs could not differentiate this formula: mathjs does not differentiate piecewise formulas/,
    );
  });

  it('plots near-constant and constant functions (their y range widened), with no throughput for nothing computed', async () => {
    for (const expr of ['sin(x)^2 + cos(x)^2', '1 + 1e-7*x', '3']) {
      await form(expr, '-6', '6');
      expect(await compute(), expr).toBe('ok');
      // f and f' each drawn (the page-error check at the end catches a plot that threw).
      expect(await page.$$eval('#pg-plots .plot canvas', (c) => c.length), expr).toBeGreaterThanOrEqual(2);
    }
    expect(await page.$eval('[data-stat="throughput"] b', (el) => el.textContent)).toBe('–');
  });

  it("says how e^2x was read (mathjs's e^2 times x), and says nothing of sin(x) * x^2", async () => {
    await form('e^2x', '-2', '2');
    expect(await compute()).toBe('ok');
    expect(await shown('pg-notice')).toMatch(/^Read as \(e \^ 2\) \* x: add parentheses/);
    await form('sin(x) * x^2', '-2', '2');
    expect(await compute()).toBe('ok');
    expect(await shown('pg-notice')).toBeNull();
  });

  it('draws ranges of x narrower than 1e-16 and values near 1e-34 (magnified for the plotting library)', async () => {
    // uPlot refuses scales narrower than 1e-16: x^2 over [-1e-17, 1e-17] drew nothing at all.
    await form('x^2', '-1e-17', '1e-17');
    expect(await compute()).toBe('ok');
    // Pixels of each plot's curve (strongly coloured: grid, axes and text are grey or black).
    const coloured = await page.$$eval('#pg-plots .plot canvas', (canvases) =>
      canvases.map((c) => {
        const { data } = (c as HTMLCanvasElement).getContext('2d')!.getImageData(0, 0, c.width, c.height);
        let n = 0;
        for (let i = 0; i < data.length; i += 4) {
          const [r, g, b, a] = [data[i]!, data[i + 1]!, data[i + 2]!, data[i + 3]!];
          if (a > 128 && Math.max(r, g, b) - Math.min(r, g, b) > 100) n++;
        }
        return n;
      }),
    );
    expect(coloured.length).toBeGreaterThanOrEqual(2);
    for (const n of coloured) expect(n).toBeGreaterThan(200);
  });

  it('plots f(x, y) along x at the chosen y, with ∂f/∂x and ∂f/∂y', async () => {
    await form('(x^2 * y + sin(y)) / (1 + x^2)', '-2', '2');
    await setField('pg-y', '0.5');
    expect(await compute()).toBe('ok');
    const r = await page.evaluate(() => {
      const r = window.webgradDemo.playground.result!;
      return { xs: Array.from(r.xs), df: Array.from(r.df), dfdy: Array.from(r.dfdy ?? []) };
    });
    const y = 0.5;
    for (let k = 0; k < 32; k++) {
      const i = Math.floor(((k + 0.5) * N) / 32);
      const x = r.xs[i]!;
      const q = 1 + x * x;
      const dfdx = (2 * x * y * q - (x * x * y + Math.sin(y)) * 2 * x) / (q * q);
      const dfdy = (x * x + Math.cos(y)) / q;
      expect(Math.abs(r.df[i]! - dfdx), `∂f/∂x at x = ${x}`).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(dfdx)));
      expect(Math.abs(r.dfdy[i]! - dfdy), `∂f/∂y at x = ${x}`).toBeLessThanOrEqual(
        1e-5 * (1 + Math.abs(dfdy)),
      );
    }
    expect(await page.$$('#pg-plots .uplot')).toHaveLength(3);
    expect(await page.$$('#pg-formula-webgrad .katex')).toHaveLength(1);
    await page.waitForFunction(() => window.webgradDemo.chain.chain?.grads.y !== undefined, {
      timeout: TIMEOUT,
    });
    expect(await page.evaluate(() => window.webgradDemo.chain.ok)).toBe(true);
  });

  it('says what is wrong with bad input, and computes again afterwards', async () => {
    const bad: [string, string[], RegExp][] = [
      ['malformed formula', ['sin(x'], /Cannot read the formula/],
      ['empty formula', ['  '], /Enter a formula/],
      ['unknown variable', ['x + q'], /Unknown variable 'q'/],
      ['unsupported function', ['gamma(x)'], /Unsupported function 'gamma'/],
      ['N too large', ['x', '-1', '1', '20000000'], /N must be a whole number from 2 to 10,000,000/],
      ['N not a number', ['x', '-1', '1', 'many'], /N must be a whole number/],
      ['empty range', ['x', '1', '1'], /range is empty/],
      ['inverted range', ['x', '2', '-2'], /range is inverted/],
      ['range not a number', ['x', 'a', '2'], /x from must be a number/],
    ];
    for (const [what, args, message] of bad) {
      await form(...(args as [string]));
      expect(await compute(), what).toBe('error');
      expect(await shown('pg-error'), what).toMatch(message);
      await form('sin(x)*x^2');
      expect(await compute(), `${what}, then a good formula`).toBe('ok');
      expect(await shown('pg-error'), what).toBeNull();
    }

    // Mistakes show while typing, before anything is computed.
    const runs = await page.evaluate(() => window.webgradDemo.playground.run);
    await page.click('#pg-n', { count: 3 });
    await page.type('#pg-n', '0');
    expect(await shown('pg-error')).toMatch(/N must be a whole number/);
    await page.click('#pg-n', { count: 3 });
    await page.type('#pg-n', String(N));
    expect(await shown('pg-error')).toBeNull();
    expect(await page.evaluate(() => window.webgradDemo.playground.run)).toBe(runs);

    // Overflow: exp(x) is +Inf beyond x ≈ 88.7 in float32; the page draws gaps and says where. The
    // example button sets the formula and the range [0, 100].
    await page.$$eval('button.example', (bs) => bs.find((b) => b.textContent === 'exp(x)')!.click());
    await settled(runs);
    expect(await page.evaluate(() => window.webgradDemo.playground.status)).toBe('ok');
    expect(await page.$eval('#pg-expr', (el) => (el as HTMLInputElement).value)).toBe('exp(x)');
    expect(await shown('pg-notice')).toMatch(/not finite .* first at x = 88\.7/);
    const { inf, finite } = await page.evaluate(() => {
      const r = window.webgradDemo.playground.result!;
      let inf = 0;
      for (const v of r.f) if (v === Infinity) inf++;
      return { inf, finite: r.f.length - inf };
    });
    expect(inf).toBeGreaterThan(0);
    expect(finite).toBeGreaterThan(0);
    await (await page.$('#playground'))!.screenshot({ path: SHOT('overflow') });
    await form('sin(x)*x^2');
    expect(await compute()).toBe('ok');
    expect(await shown('pg-notice')).toBeNull();
  });

  it('a long formula computes without holding the page: mathjs shows its derivative unsimplified', async () => {
    // Twelve terms: mathjs's simplification alone took 98 s of the page's thread.
    const terms = Array.from({ length: 12 }, (_, k) => `sin(${k + 1}*x)/(${k + 2} + x^2)`).join(' + ');
    await form(terms, '-3', '3', '2000');
    const t0 = Date.now();
    expect(await compute()).toBe('ok');
    expect(Date.now() - t0).toBeLessThan(TIMEOUT);
    expect(await page.$eval('#pg-formula-mathjs', (el) => el.textContent ?? '')).toMatch(/Not simplified/);
    expect(await page.$eval('#pg-check', (el) => el.textContent ?? '')).toMatch(/^✓/);
    // A short one is still simplified.
    await form('sin(x)*x^2');
    expect(await compute()).toBe('ok');
    expect(await page.$('#pg-formula-mathjs [data-note]')).toBeNull();
  });

  it('after a failed run the last results stay dimmed, without their notice', async () => {
    await form('exp(x)', '0', '100');
    expect(await compute()).toBe('ok');
    expect(await shown('pg-notice')).toMatch(/not finite/);
    const opacity = () => page.$eval('#pg-plots', (el) => Number(getComputedStyle(el).opacity));
    expect(await opacity()).toBe(1);
    await form('gamma(x)');
    expect(await compute()).toBe('error');
    expect(await shown('pg-error')).toMatch(/Unsupported function 'gamma'/);
    expect(await shown('pg-notice')).toBeNull();
    expect(await opacity()).toBeLessThan(0.5);
    await form('sin(x)*x^2');
    expect(await compute()).toBe('ok');
    expect(await opacity()).toBe(1);
  });

  it('a formula of calls nested 24 deep is computed, and its formulas shown as text rather than typeset', async () => {
    // mathjs's toTex takes time doubling with each level of nesting: typeset, this stalled the page for
    // minutes (7 s at 20 deep).
    const c0 = await page.evaluate(() => window.webgradDemo.chain.run);
    let expr = 'x';
    for (let i = 0; i < 24; i++) expr = `sin(${expr})`;
    await form(expr, '-3', '3');
    expect(await compute()).toBe('ok');
    // The derivation of this formula, not one of the last test's that ended meanwhile (its formula typeset).
    await page.waitForFunction(
      (k: number) =>
        window.webgradDemo.chain.run > k &&
        /sin\(sin\(sin\(/.test(document.getElementById('chain-formula')?.textContent ?? ''),
      { timeout: TIMEOUT },
      c0,
    );
    const got = await page.evaluate(() => {
      const r = window.webgradDemo.playground.result!;
      return { xs: Array.from(r.xs), f: Array.from(r.f) };
    });
    const i = Math.floor(N / 3);
    let want = got.xs[i]!;
    for (let k = 0; k < 24; k++) want = Math.sin(want);
    expect(Math.abs(got.f[i]! - want)).toBeLessThanOrEqual(1e-6);
    for (const id of ['pg-formula-webgrad', 'pg-formula-mathjs', 'chain-formula']) {
      expect(await page.$$(`#${id} .katex`), id).toHaveLength(0);
      expect(await shown(id), id).toMatch(/sin\(sin\(sin\(/);
    }
  });

  it('the chain rule refuses a point beyond float32 instead of deriving at infinity', async () => {
    // The playground hands its formula to the chain rule: wait for that derivation before starting ours.
    const c0 = await page.evaluate(() => window.webgradDemo.chain.run);
    await form('sin(x)*x^2');
    expect(await compute()).toBe('ok');
    await page.waitForFunction((k: number) => window.webgradDemo.chain.run > k, { timeout: TIMEOUT }, c0);
    const derive = async (x: string): Promise<string> => {
      const before = await page.evaluate(() => window.webgradDemo.chain.run);
      await setField('chain-x', x);
      await page.click('#chain-form button[type=submit]');
      await page.waitForFunction(
        (k: number) => window.webgradDemo.chain.run > k,
        { timeout: TIMEOUT },
        before,
      );
      return page.evaluate(() => window.webgradDemo.chain.status);
    };
    expect(await derive('1e40')).toBe('error');
    expect(await shown('chain-error')).toMatch(/x must lie within float32/);
    expect(await derive('1')).toBe('ok');
    expect(await shown('chain-error')).toBeNull();
  });

  it('reruns the notebook on the other backend', async () => {
    if (backend !== 'webgpu') return;
    await page.click('#backend-toggle');
    await waitNotebook('cpu');
    expect(await page.$eval('#backend-badge', (el) => el.textContent)).toMatch(/^CPU/);
    await expectNotebookRows();
    await page.waitForFunction(
      () => !(document.getElementById('backend-toggle') as HTMLButtonElement).disabled,
    );
    await page.click('#backend-toggle');
    await waitNotebook('webgpu');
    await expectNotebookRows();
    // The playground reruns after the notebook; the toggle comes back when both are done.
    await page.waitForFunction(
      () => !(document.getElementById('backend-toggle') as HTMLButtonElement).disabled,
    );
    expect(await page.$eval('#pg-stats', (el) => el.textContent)).toContain('WebGPU');
    await page.screenshot({ path: SHOT('page'), fullPage: true });
  });

  it('fits a phone-wide screen: nothing but the wide tables scrolls sideways', async () => {
    await page.setViewport({ width: 390, height: 800 });
    try {
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      await page.screenshot({ path: SHOT('narrow') });
    } finally {
      await page.setViewport({ width: 1440, height: 900 });
    }
  });

  it('logs no console errors and throws no page errors', () => {
    expect(problems).toEqual([]);
  });
});
