// The fuzz page (fuzz-page/) built, served and run in a headless browser: for the tests and for
// `npm run fuzz -- --browser=NAME`.
import type { Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { ConsoleMessage, Page } from 'puppeteer-core';
import { build } from 'vite';
import { serve } from '../../bench/browser.js';
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
  let finished: () => void = () => {};
  const done = new Promise<void>((resolve) => (finished = resolve));
  const say = (line: string): void => {
    lines.push(line);
    progress(line);
  };
  const onConsole = (m: ConsoleMessage): void => {
    const t = m.text();
    // The page's own lines, and the browser's errors (a module that failed to load says nothing else).
    if (m.type() === 'error' && !t.startsWith('[fuzz] ')) say(`console error: ${t}`);
    if (!t.startsWith('[fuzz] ')) return;
    say(t.slice(7));
    if (t === '[fuzz] done' || t.startsWith('[fuzz] failed')) finished();
  };
  const onError = (e: unknown): void => {
    say(`page error: ${e instanceof Error ? e.message : String(e)}`);
    finished();
  };
  const onCrash = (): void => {
    say('the page crashed');
    finished();
  };
  const onClose = (): void => {
    say('the page closed');
    finished();
  };
  page.on('console', onConsole);
  page.on('pageerror', onError);
  page.on('error', onCrash);
  page.on('close', onClose);
  const timeoutMs = run.timeoutMs ?? Infinity;
  const timer = Number.isFinite(timeoutMs)
    ? setTimeout(() => {
        say(`no result after ${timeoutMs / 1000} s`);
        finished();
      }, timeoutMs)
    : undefined;
  try {
    const webgpu = encodeURIComponent(JSON.stringify(run.webgpu));
    await page.goto(`${url}?cases=${run.cases}&seed=${run.seed}&webgpu=${webgpu}`);
    await done;
    if (page.isClosed()) return { result: null, log: lines.join('\n') };
    const result = await page.evaluate(
      () => (window as unknown as { fuzzResult?: FuzzResult }).fuzzResult ?? null,
    );
    return { result, log: lines.join('\n') };
  } finally {
    clearTimeout(timer);
    page.off('console', onConsole);
    page.off('pageerror', onError);
    page.off('error', onCrash);
    page.off('close', onClose);
  }
}
