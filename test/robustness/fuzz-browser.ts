// The fuzz page (fuzz-page/) built, served and run in a headless browser: for the tests and for
// `npm run fuzz -- --browser=NAME`.
import type { Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { Page } from 'puppeteer-core';
import { build } from 'vite';
import { runPage, serve } from '../../bench/browser.js';
import type { WebGpuOptions } from '../../src/index.js';
import type { FuzzResult } from './fuzz-page/main.js';

const ROOT = fileURLToPath(new URL('./fuzz-page', import.meta.url));
// A cache that git, ESLint and Prettier all leave alone, as the benchmark page's.
const OUT = fileURLToPath(new URL('../../node_modules/.cache/webgrad-fuzz/page', import.meta.url));

/** Builds the fuzz page and serves it on a free localhost port. */
export async function serveFuzzPage(): Promise<{ server: Server; url: string }> {
  await build({
    root: ROOT,
    base: './',
    logLevel: 'warn',
    build: { outDir: OUT, emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 8192 },
  });
  return serve(OUT);
}

/** A run of the page: what it reports, or null where it failed (its log says why). */
export interface PageRun {
  result: FuzzResult | null;
  log: string;
}

/**
 * Runs `cases` random cases from `seed` with `webgpu` in `page` (served at `url`); `progress` hears the page's
 * log lines as they come. The wait ends when the page says it is done or failed, crashes, closes, or
 * `timeoutMs` passes (then with no result, and the log says which).
 */
export async function fuzzInPage(
  page: Page,
  url: string,
  run: { cases: number; seed: number; webgpu: WebGpuOptions; timeoutMs?: number },
  progress: (line: string) => void = () => {},
): Promise<PageRun> {
  const lines: string[] = [];
  const say = (line: string): void => {
    lines.push(line);
    progress(line);
  };
  const webgpu = encodeURIComponent(JSON.stringify(run.webgpu));
  const query = `cases=${run.cases}&seed=${run.seed}&webgpu=${webgpu}`;
  // The page catches its own errors: an uncaught one means it will say nothing more.
  const ended = await runPage(page, `${url}?${query}`, 'fuzz', say, {
    endOnPageError: true,
    timeoutMs: run.timeoutMs,
  });
  const result =
    ended === null
      ? await page.evaluate(() => (window as unknown as { fuzzResult?: FuzzResult }).fuzzResult ?? null)
      : null;
  return { result, log: lines.join('\n') };
}
