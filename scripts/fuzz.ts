// Differential fuzzing at length: random graphs on WebGPU (when there is an adapter), the CPU in float32
// and the float64 reference, compared under the rules of test/robustness/fuzz.ts. The run goes on past
// disagreements; the first few are shrunk and printed as runnable code, and the exit status is 1.
//   npm run fuzz -- --cases=10000 --seed=123
//   npm run fuzz -- --webgpu='{"reduce":"workgroup","pointsPerInvocation":1}'   (a GPU's tuning, on any adapter)
//   npm run fuzz -- --browser=firefox   (in a headless browser's own WebGPU, against its CPU backend)
import fc from 'fast-check';
import { init, stats, type WebGpuOptions } from '../src/index.js';
import { collector } from '../test/robustness/soak.js';
import { activeBackend } from '../src/schedule/scheduler.js';
import { adapterLabel } from '../bench/systems/system.js';
import { testGpu } from '../test/gpu.js';
import { INTEGER, scriptOptions } from './options.js';
import type { Browser } from 'puppeteer-core';
import { launchBrowser, missingBrowser } from '../bench/browser.js';
import { BROWSERS, type BrowserName } from '../bench/options.js';
import { fuzzInPage, serveFuzzPage } from '../test/robustness/fuzz-browser.js';
import {
  backends,
  batchArb,
  casesOf,
  describeMismatches,
  reproCode,
  inputsArb,
  minimize,
  runBatch,
  addTally,
  type Tally,
} from '../test/robustness/fuzz.js';

const options = scriptOptions(
  'npm run fuzz',
  `npm run fuzz -- [options]
  --cases=10000      random cases (four steps of each of five random graphs to a batch)
  --seed=N           the random seed (default: from the clock; a failing run prints its seed)
  --webgpu=JSON      WebGPU options beyond the defaults, e.g. '{"reduce":"workgroup","pointsPerInvocation":1}'
  --show=5           disagreements shrunk to their smallest graph and printed as code (the rest are printed
                     as code unshrunk, with their first mismatch)
  --browser=firefox  run in headless chromium or firefox instead, on its own WebGPU (the first disagreement
                     printed as code, unshrunk; --show does not apply)`,
  {
    cases: INTEGER,
    seed: INTEGER,
    webgpu: /^\{.*\}$/s,
    show: INTEGER,
    browser: new RegExp(`^(${BROWSERS.join('|')})$`),
  },
);
// As in test/robustness/fuzz.test.ts: five separate 8-step graphs, the last four steps of each a case.
const PER_BATCH = 20;
const CASES = options.number('cases', 10_000);
const SEED = options.number('seed', Date.now() % 2 ** 31);
// WebGPU options beyond the defaults, as JSON (init() checks them).
const given = options.get('webgpu');
let webgpu: WebGpuOptions = {};
try {
  if (given) webgpu = JSON.parse(given) as WebGpuOptions;
} catch (e) {
  console.error(`npm run fuzz: --webgpu is not JSON (${e instanceof Error ? e.message : String(e)})`);
  process.exit(2);
}

const browser = options.get('browser') as BrowserName | undefined;
if (browser) process.exit(await inBrowser(browser));

/** The run in a headless browser (the fuzz page): its exit status. */
async function inBrowser(name: BrowserName): Promise<number> {
  const missing = missingBrowser(name);
  if (missing) {
    console.error(`npm run fuzz: ${missing}`);
    return 2;
  }
  const { server, url } = await serveFuzzPage();
  let b: Browser | undefined;
  try {
    b = await launchBrowser(name);
    const page = await b.newPage();
    const { result, log } = await fuzzInPage(page, url, { cases: CASES, seed: SEED, webgpu }, (l) =>
      console.log(`${name}: ${l}`),
    );
    if (!result) {
      console.error(`fuzz: the page failed in ${name}\n${log}`);
      return 1;
    }
    // Without WebGPU the page compares the CPU with itself: not a fuzzing of anything.
    if (result.backend !== 'webgpu') {
      console.error(`fuzz: no WebGPU in ${name}, so nothing was compared with the CPU`);
      return 2;
    }
    if (result.first) console.error(`fuzz: first disagreement (not shrunk)\n${result.first}`);
    if (result.threw) console.error(`fuzz: a batch threw\n${result.threw}`);
    return result.failures > 0 || result.threw ? 1 : 0;
  } finally {
    await b?.close();
    server.close();
  }
}

const info = await init({ backend: 'auto', gpu: testGpu(), webgpu: { cpuBelow: 0, ...webgpu } });
console.log(
  `fuzz: ${CASES} cases, seed ${SEED}, on ${info.backend}${info.fallbackReason ? ` (${info.fallbackReason})` : ''}` +
    `${info.adapter ? ` (${adapterLabel(info.adapter)})` : ''}` +
    `${given ? ` with ${JSON.stringify(webgpu)}` : ''} and the CPU`,
);
const be = backends(info.backend === 'webgpu' ? activeBackend() : null);
const total: Tally = { values: 0, uncertain: 0, nonFinite: 0 };
const gc = collector();
const t0 = performance.now();
const batches = Math.ceil(CASES / PER_BATCH);
let done = 0;
// Disagreements shrunk and printed; later ones printed unshrunk (shrinking takes time that a lent GPU
// machine may not have).
const SHOW = options.number('show', 5);
let failures = 0;
let threw = false;
await fc
  .assert(
    fc.asyncProperty(batchArb(8, 4, 5), inputsArb(), async (batch, data) => {
      const cases = casesOf(batch);
      const { mismatches, tally } = await runBatch(cases, data, be);
      addTally(total, tally);
      if (mismatches.length > 0) {
        failures++;
        if (failures <= SHOW) {
          const repro = await minimize(cases[mismatches[0]!.caseIndex]!, data, be);
          console.error(
            `fuzz: disagreement ${failures}\n${describeMismatches(mismatches)}\n\nreproduction:\n${repro}\n`,
          );
        } else {
          const c = cases[mismatches[0]!.caseIndex]!;
          const repro = reproCode(
            c,
            data,
            `disagreement (not shrunk):\n${describeMismatches(mismatches, 1)}`,
          );
          console.error(`fuzz: disagreement ${failures} (not shrunk)\n${repro}\n`);
        }
      }
      done++;
      // Evicted pipelines hold native memory (compiled code) that V8 does not see: collect now and then,
      // or a long run grows by megabytes per pipeline.
      if (done % 5 === 0) gc();
      if (done % 25 === 0 || done === batches) {
        const s = (performance.now() - t0) / 1000;
        console.log(
          `${done * PER_BATCH} cases in ${s.toFixed(0)} s: ${total.values} values, ${total.uncertain} uncertain, ` +
            `${total.nonFinite} NaN/Inf, ${stats().pipelinesCompiled} pipelines, ` +
            `${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB resident`,
        );
      }
      return true;
    }),
    { seed: SEED, numRuns: batches, endOnFailure: true },
  )
  .catch((e: unknown) => {
    // A batch that throws (rather than disagrees) ends the run. fast-check keeps what was thrown as the
    // cause; its own message is the counterexample (every input of the batch), cut short here.
    threw = true;
    const cause = e instanceof Error ? e.cause : undefined;
    const what = cause instanceof Error ? (cause.stack ?? cause.message) : String(cause ?? e);
    const message = e instanceof Error ? e.message : '';
    console.error(
      `fuzz: a batch threw\n${what}\n${message.slice(0, 500)}${message.length > 500 ? ' …' : ''}`,
    );
  });
const summary =
  `${done * PER_BATCH} cases, ${failures} batches with disagreements${threw ? ', and a batch threw' : ''} ` +
  `(seed ${SEED})`;
console.log(`fuzz: ${summary}`);
process.exit(failures > 0 || threw ? 1 : 0);
