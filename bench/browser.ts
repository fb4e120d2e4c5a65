// npm run bench: builds the benchmark page with vite, serves it on http://localhost (a secure context, as
// WebGPU requires), runs it in headless Chromium on SwiftShader (or the adapter CHROMIUM_ARGS pick), or in
// headless Firefox with --browser=firefox, shows its progress, prints the tables and writes
// bench/results/<date>-<adapter>-browser.{json,md,svg}.
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import { basename, extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer, { type Browser, type ConsoleMessage, type Page } from 'puppeteer-core';
import { build } from 'vite';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './chromium.js';
import { FIREFOX_PATH, FIREFOX_PREFS } from './firefox.js';
import { parseOptions, USAGE, type BrowserName } from './options.js';
import { checkWebgradOrExit, parseArgsOrExit } from './cli.js';
import { printTables, writeReport, type BenchReport } from './report.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const dist = join(here, '../node_modules/.cache/webgrad-bench/page');

const TYPES: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
};

/** Serves the built page in `dir` on a free localhost port. */
export async function serve(dir: string): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent((req.url ?? '/').split('?')[0]!)).replace(/^(\.\.[/\\])+/, '');
    const file = join(dir, path.endsWith('/') ? `${path}index.html` : path);
    readFile(file).then(
      (body) => {
        // Cross-origin isolation gives the page's performance.now() finer steps: 5 µs rather than 100 in
        // Chromium, 20 rather than 1000 in Firefox.
        res.writeHead(200, {
          'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
          'cross-origin-opener-policy': 'same-origin',
          'cross-origin-embedder-policy': 'require-corp',
        });
        res.end(body);
      },
      () => {
        res.writeHead(404);
        res.end();
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return { server, url: `http://localhost:${port}/` };
}

/** Each browser the benchmark, the fuzzer and the tests drive: its name in messages, its binary, and the variable that overrides it. */
export const BROWSER_BINARIES: Readonly<Record<BrowserName, { label: string; path: string; env: string }>> = {
  chromium: { label: 'Chromium', path: CHROMIUM_PATH, env: 'CHROMIUM_PATH' },
  firefox: { label: 'Firefox', path: FIREFOX_PATH, env: 'FIREFOX_PATH' },
};

/** Why `name` cannot be launched (its binary is not there), or null. */
export function missingBrowser(name: BrowserName): string | null {
  const { label, path, env } = BROWSER_BINARIES[name];
  return existsSync(path) ? null : `No ${label} at ${path}: install it (bash scripts/setup.sh) or set ${env}`;
}

/**
 * Headless `name` with WebGPU; `protocolTimeout` ms for each protocol call (0, the default here: none, as a
 * long benchmark run outlasts any).
 */
export function launchBrowser(name: BrowserName, protocolTimeout = 0): Promise<Browser> {
  const executablePath = BROWSER_BINARIES[name].path;
  if (name === 'firefox')
    return puppeteer.launch({
      browser: 'firefox',
      executablePath,
      extraPrefsFirefox: FIREFOX_PREFS,
      protocolTimeout,
    });
  return puppeteer.launch({ executablePath, args: CHROMIUM_ARGS, protocolTimeout });
}

/**
 * The adapter as a report names it: Firefox names none (its adapter info is empty, against fingerprinting), and
 * on Linux runs on the Vulkan driver VK_ICD_FILENAMES names, else on the system's: that driver is named instead.
 */
function adapterOf(label: string, browser: BrowserName): string {
  if (browser !== 'firefox' || !label.startsWith('Firefox | unnamed')) return label;
  const icd = process.env.VK_ICD_FILENAMES;
  const driver = icd
    ? basename(icd)
        .replace(/\.json$/, '')
        .replace(/^vk_|_icd.*$/g, '')
    : "the system's Vulkan driver";
  return `Firefox | ${driver} | ${label.slice('Firefox | '.length)}`;
}

/**
 * Loads `url` in `page` and waits until the page logs `[tag] done` or `[tag] failed`: `say` hears the page's
 * lines of that tag (without it), its uncaught errors and its console errors (a module that failed to load
 * says nothing else). A page that crashes or closes ends the wait, and so do, where asked, an uncaught error
 * (`endOnPageError`: where the page's own code catches what it can) and `timeoutMs`. Resolves with what ended
 * the wait other than the page's word, or null.
 */
export async function runPage(
  page: Page,
  url: string,
  tag: string,
  say: (line: string) => void,
  { endOnPageError = false, timeoutMs = Infinity }: { endOnPageError?: boolean; timeoutMs?: number } = {},
): Promise<string | null> {
  const prefix = `[${tag}] `;
  let ended: string | null = null;
  let finished: () => void = () => {};
  const done = new Promise<void>((resolve) => (finished = resolve));
  const end = (why: string | null): void => {
    ended ??= why;
    if (why) say(why);
    finished();
  };
  const onConsole = (m: ConsoleMessage): void => {
    const t = m.text();
    if (!t.startsWith(prefix)) {
      if (m.type() === 'error') say(`console error: ${t}`);
      return;
    }
    say(t.slice(prefix.length));
    if (t === `${prefix}done` || t.startsWith(`${prefix}failed`)) end(null);
  };
  const onPageError = (e: unknown): void => {
    const message = `page error: ${e instanceof Error ? e.message : String(e)}`;
    if (endOnPageError) end(message);
    else say(message);
  };
  const onCrash = (): void => end('the page crashed');
  const onClose = (): void => end('the page closed');
  page.on('console', onConsole);
  page.on('pageerror', onPageError);
  page.on('error', onCrash);
  page.on('close', onClose);
  const timer = Number.isFinite(timeoutMs)
    ? setTimeout(() => end(`no result after ${timeoutMs / 1000} s`), timeoutMs)
    : undefined;
  try {
    await page.goto(url);
    await done;
    return ended;
  } finally {
    clearTimeout(timer);
    page.off('console', onConsole);
    page.off('pageerror', onPageError);
    page.off('error', onCrash);
    page.off('close', onClose);
  }
}

/** Builds, serves and runs the page with `args` (benchmark options); resolves with its report. */
export async function runInBrowser(args: readonly string[], log: (s: string) => void): Promise<BenchReport> {
  await build({ configFile: join(here, 'vite.config.ts') });
  const name = parseOptions(args).browser;
  const { server, url } = await serve(dist);
  let browser: Browser | undefined;
  try {
    browser = await launchBrowser(name);
    const page = await browser.newPage();
    // The page says when it is done on the console: a long run outlasts any single protocol call.
    const lost = await runPage(page, `${url}?${args.map(encodeURIComponent).join('&')}`, 'bench', log);
    if (lost) throw new Error(`the benchmark page failed: ${lost}`);
    const { report, error } = await page.evaluate(() => {
      const w = window as unknown as { benchReport?: unknown; benchError?: string };
      return { report: w.benchReport, error: w.benchError };
    });
    if (error !== undefined) throw new Error(`the benchmark page failed: ${error}`);
    const r = report as BenchReport;
    r.meta.adapter = adapterOf(r.meta.adapter, name);
    return r;
  } finally {
    await browser?.close();
    server.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  if (args.includes('--help')) {
    console.log(
      `npm run bench -- [options]\n${USAGE}\nCHROMIUM_PATH overrides /usr/bin/chromium, FIREFOX_PATH /usr/bin/firefox-esr.`,
    );
    process.exit(0);
  }
  const opts = parseArgsOrExit(args, 'npm run bench', true);
  await checkWebgradOrExit(opts, 'npm run bench');
  const missing = missingBrowser(opts.browser);
  if (missing) {
    console.error(`npm run bench: ${missing}`);
    process.exit(2);
  }
  const t0 = performance.now();
  const report = await runInBrowser(args, (line) => console.log(`  ${line}`));
  console.log(`webgrad benchmark in ${report.meta.runtime}: adapter ${report.meta.adapter}`);
  printTables(report, console.log);
  if (opts.out) console.log(`wrote ${(await writeReport(report, opts.out)).join(', ')}`);
  console.log(`${((performance.now() - t0) / 1e3).toFixed(0)} s`);
}
