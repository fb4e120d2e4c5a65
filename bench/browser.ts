// npm run bench: builds the benchmark page with vite, serves it on http://localhost (a secure context, as
// WebGPU requires), runs it in headless Chromium on SwiftShader (or the adapter CHROMIUM_ARGS pick), or in
// headless Firefox with --browser=firefox, shows its progress, prints the tables and writes
// bench/results/<date>-<adapter>-browser.{json,md,svg}.
import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer, { type Browser } from 'puppeteer-core';
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
        // Cross-origin isolation gives the page's performance.now() 5 µs steps rather than 100.
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

/** Headless `name` with WebGPU; no timeout on protocol calls, as a long run outlasts any. */
export function launchBrowser(name: BrowserName): Promise<Browser> {
  if (name === 'firefox')
    return puppeteer.launch({
      browser: 'firefox',
      executablePath: FIREFOX_PATH,
      extraPrefsFirefox: FIREFOX_PREFS,
      protocolTimeout: 0,
    });
  return puppeteer.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, protocolTimeout: 0 });
}

/** Builds, serves and runs the page with `args` (benchmark options); resolves with its report. */
export async function runInBrowser(args: readonly string[], log: (s: string) => void): Promise<BenchReport> {
  await build({ configFile: join(here, 'vite.config.ts') });
  const { server, url } = await serve(dist);
  const browser = await launchBrowser(parseOptions(args).browser);
  try {
    const page = await browser.newPage();
    // The page says when it is done on the console: a long run outlasts any single protocol call.
    let finished: () => void = () => {};
    const done = new Promise<void>((resolve) => (finished = resolve));
    page.on('console', (m) => {
      const t = m.text();
      if (!t.startsWith('[bench] ')) return;
      log(t.slice(8));
      if (t === '[bench] done' || t.startsWith('[bench] failed')) finished();
    });
    page.on('pageerror', (e) => log(`page error: ${e instanceof Error ? e.message : String(e)}`));
    await page.goto(`${url}?${args.map(encodeURIComponent).join('&')}`);
    await done;
    const { report, error } = await page.evaluate(() => {
      const w = window as unknown as { benchReport?: unknown; benchError?: string };
      return { report: w.benchReport, error: w.benchError };
    });
    if (error !== undefined) throw new Error(`the benchmark page failed: ${error}`);
    return report as BenchReport;
  } finally {
    await browser.close();
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
  const opts = parseArgsOrExit(args, 'npm run bench');
  await checkWebgradOrExit(opts, 'npm run bench');
  const t0 = performance.now();
  const report = await runInBrowser(args, (line) => console.log(`  ${line}`));
  console.log(`webgrad benchmark in ${report.meta.runtime}: adapter ${report.meta.adapter}`);
  printTables(report, console.log);
  if (opts.out) console.log(`wrote ${(await writeReport(report, opts.out)).join(', ')}`);
  console.log(`${((performance.now() - t0) / 1e3).toFixed(0)} s`);
}
