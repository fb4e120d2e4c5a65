// The differential fuzzer in a browser page: random graphs run on the page's WebGPU and on the CPU backend,
// compared under the error model (see ../fuzz.ts), so that a browser's own WebGPU and WGSL compiler are
// checked, not only Dawn's in Node. Driven by test/robustness/fuzz-browser.ts (for its test and for
// npm run fuzz -- --browser=NAME): ?cases=N&seed=S (and webgpu=JSON, init()'s WebGPU options beyond the
// defaults), the result left on window.fuzzResult.
import fc from 'fast-check';
import { init, type WebGpuOptions } from '../../../src/index.js';
import { activeBackend } from '../../../src/schedule/scheduler.js';
import {
  addTally,
  backends,
  batchArb,
  casesOf,
  describeMismatches,
  inputsArb,
  reproCode,
  runBatch,
  type Tally,
} from '../fuzz.js';

/** What the page reports. */
export interface FuzzResult {
  backend: string;
  cases: number;
  failures: number;
  first: string | null;
  threw: string | null;
  tally: Tally;
}

const log = document.getElementById('log')!;
const say = (line: string): void => {
  log.textContent += `${line}\n`;
  console.log(`[fuzz] ${line}`);
};

// As scripts/fuzz.ts: five separate 8-step graphs, the last four steps of each a case.
const PER_BATCH = 20;

async function main(): Promise<FuzzResult> {
  const q = new URLSearchParams(location.search);
  const cases = Number(q.get('cases') ?? 100);
  const seed = Number(q.get('seed') ?? 1);
  const webgpu = JSON.parse(q.get('webgpu') ?? '{}') as WebGpuOptions;
  const info = await init({ backend: 'auto', webgpu: { cpuBelow: 0, ...webgpu } });
  say(
    `${cases} cases, seed ${seed}, on ${info.backend}${info.fallbackReason ? ` (${info.fallbackReason})` : ''}`,
  );
  const be = backends(info.backend === 'webgpu' ? activeBackend() : null);
  const tally: Tally = { values: 0, uncertain: 0, nonFinite: 0 };
  let failures = 0;
  let first: string | null = null;
  let threw: string | null = null;
  await fc
    .assert(
      fc.asyncProperty(batchArb(8, 4, 5), inputsArb(), async (batch, data) => {
        const cases = casesOf(batch);
        const { mismatches, tally: t } = await runBatch(cases, data, be);
        addTally(tally, t);
        if (mismatches.length > 0) {
          failures++;
          // The first disagreement as code that reproduces it (unshrunk: shrinking is the Node script's).
          first ??= reproCode(cases[mismatches[0]!.caseIndex]!, data, describeMismatches(mismatches));
        }
        return true;
      }),
      { seed, numRuns: Math.ceil(cases / PER_BATCH), endOnFailure: true },
    )
    .catch((e: unknown) => {
      const cause = e instanceof Error ? e.cause : undefined;
      threw = cause instanceof Error ? (cause.stack ?? cause.message) : String(cause ?? e);
    });
  return { backend: info.backend, cases, failures, first, threw, tally };
}

main().then(
  (r) => {
    (window as unknown as { fuzzResult: FuzzResult }).fuzzResult = r;
    say(`${r.cases} cases, ${r.failures} batches with disagreements, ${r.tally.values} values compared`);
    say('done');
  },
  (e: unknown) => {
    (window as unknown as { fuzzError: string }).fuzzError = String(e);
    say(`failed: ${String(e)}`);
  },
);
