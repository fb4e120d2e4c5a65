// The differential fuzzer in headless Chromium and Firefox (test/robustness/fuzz-page): each browser's own
// WebGPU and WGSL compiler (Dawn with Tint, wgpu with naga) computing random graphs, compared with the CPU
// backend and float64 under the error model, as the Node suite does on Dawn.
import type { Server } from 'node:http';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BROWSER_BINARIES, launchBrowser, missingBrowser } from '../../bench/browser.js';
import { BROWSERS } from '../../bench/options.js';
import type { WebGpuOptions } from '../../src/index.js';
import { requireWebGpu } from '../gpu.js';
import { fuzzInPage, serveFuzzPage } from './fuzz-browser.js';

const CASES = 100;
const SEED = 20261128;

let server: Server;
let url: string;

beforeAll(async () => {
  ({ server, url } = await serveFuzzPage());
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

describe.each(BROWSERS.map((flag) => ({ flag, name: BROWSER_BINARIES[flag].label })))(
  'differential fuzzing in headless $name',
  ({ name, flag }) => {
    let browser: Browser | undefined;
    let page: Page;

    beforeAll(async () => {
      const missing = missingBrowser(flag);
      if (missing) throw new Error(missing);
      browser = await launchBrowser(flag);
      page = await browser.newPage();
    }, 60_000);

    afterAll(async () => {
      await browser?.close();
    });

    it.for(TUNINGS)(
      `${CASES} random cases agree on the page's WebGPU, the CPU backend and the error model ($label)`,
      { timeout: 300_000 },
      async ({ webgpu }, ctx) => {
        const run = { cases: CASES, seed: SEED, webgpu, timeoutMs: 240_000 };
        const { result: r, log } = await fuzzInPage(page, url, run);
        expect(r, log).not.toBeNull();
        // Without WebGPU in the browser the page compares the CPU with itself: a failure where WebGPU is
        // required, else a skip that says so.
        if (r!.backend !== 'webgpu') {
          if (requireWebGpu) expect(r!.backend, log).toBe('webgpu');
          console.warn(`skipping the fuzzer in ${name}: no WebGPU there (${log})`);
          ctx.skip();
        }
        expect(r!.threw).toBeNull();
        expect(r!.first).toBeNull();
        expect(r!.failures).toBe(0);
        expect(r!.tally.values).toBeGreaterThan(1000);
      },
    );
  },
);
