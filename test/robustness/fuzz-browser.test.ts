// The differential fuzzer in headless Chromium and Firefox (test/robustness/fuzz-page): each browser's own
// WebGPU and WGSL compiler (Dawn with Tint, wgpu with naga) computing random graphs, compared with the CPU
// backend and float64 under the error model, as the Node suite does on Dawn.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from 'vite';
import type { Server } from 'node:http';
import type { Browser, ConsoleMessage, Page } from 'puppeteer-core';
import { launchBrowser, serve } from '../../bench/browser.js';
import { CHROMIUM_PATH } from '../../bench/chromium.js';
import { FIREFOX_PATH } from '../../bench/firefox.js';
import type { BrowserName } from '../../bench/options.js';
import { requireWebGpu } from '../gpu.js';
import type { WebGpuOptions } from '../../src/index.js';
import type { FuzzResult } from './fuzz-page/main.js';

const ROOT = fileURLToPath(new URL('./fuzz-page', import.meta.url));
// A cache that git, ESLint and Prettier all leave alone, as the benchmark page's.
const OUT = fileURLToPath(new URL('../../node_modules/.cache/webgrad-fuzz/page', import.meta.url));
const CASES = 100;
const SEED = 20261128;

let server: Server;
let url: string;

beforeAll(async () => {
  await build({
    root: ROOT,
    base: './',
    logLevel: 'warn',
    build: { outDir: OUT, emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 8192 },
  });
  ({ server, url } = await serve(OUT));
}, 120_000);

afterAll(() => server?.close());

// The adapter's own tuning, and a GPU's on any adapter (sums by workgroup trees, one point per invocation, the
// exact range reduction), as the Node suite runs both.
const TUNINGS: { label: string; webgpu: WebGpuOptions }[] = [
  { label: "the adapter's tuning", webgpu: {} },
  {
    label: "a GPU's tuning",
    webgpu: { reduce: 'workgroup', pointsPerInvocation: 1, exactRangeReduction: true },
  },
];

/** Runs the fuzz page in `page` with `webgpu`; resolves with its result and its log. */
async function fuzzIn(page: Page, webgpu: WebGpuOptions): Promise<{ r: FuzzResult | null; log: string }> {
  const lines: string[] = [];
  let finished: () => void = () => {};
  const done = new Promise<void>((resolve) => (finished = resolve));
  const onConsole = (m: ConsoleMessage): void => {
    const t = m.text();
    if (!t.startsWith('[fuzz] ')) return;
    lines.push(t.slice(7));
    if (t === '[fuzz] done' || t.startsWith('[fuzz] failed')) finished();
  };
  const onError = (e: unknown): void => {
    lines.push(`page error: ${e instanceof Error ? e.message : String(e)}`);
    finished();
  };
  page.on('console', onConsole);
  page.on('pageerror', onError);
  try {
    const q = `cases=${CASES}&seed=${SEED}&webgpu=${encodeURIComponent(JSON.stringify(webgpu))}`;
    await page.goto(`${url}?${q}`);
    await done;
    const r = await page.evaluate(
      () => (window as unknown as { fuzzResult?: FuzzResult }).fuzzResult ?? null,
    );
    return { r, log: lines.join('\n') };
  } finally {
    page.off('console', onConsole);
    page.off('pageerror', onError);
  }
}

describe.each([
  { name: 'Chromium', flag: 'chromium' as BrowserName, path: CHROMIUM_PATH },
  { name: 'Firefox', flag: 'firefox' as BrowserName, path: FIREFOX_PATH },
])('differential fuzzing in headless $name', ({ name, flag, path }) => {
  let browser: Browser | undefined;
  let page: Page;

  beforeAll(async () => {
    if (!existsSync(path)) throw new Error(`No ${name} at ${path}: install it (bash scripts/setup.sh)`);
    browser = await launchBrowser(flag);
    page = await browser.newPage();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
  });

  it.each(TUNINGS)(
    `${CASES} random cases agree on the page's WebGPU, the CPU backend and the error model ($label)`,
    { timeout: 300_000 },
    async ({ webgpu }) => {
      const { r, log } = await fuzzIn(page, webgpu);
      expect(r, log).not.toBeNull();
      if (requireWebGpu) expect(r!.backend, log).toBe('webgpu');
      expect(r!.threw).toBeNull();
      expect(r!.first).toBeNull();
      expect(r!.failures).toBe(0);
      expect(r!.tally.values).toBeGreaterThan(1000);
    },
  );
});
