// The benchmark page: runs the cases on navigator.gpu (and webgrad's CPU backend) and leaves the report
// on window.benchReport for bench/browser.ts; progress goes to the page and the console.
import { parseOptions } from '../options.js';
import type { BenchReport } from '../report.js';
import { benchmarkReport } from '../run.js';
import { makeSystem } from '../systems/all.js';
import { adapterLabel, installCallCounters } from '../systems/system.js';
import { runtimeOf } from './runtime.js';
import { isSoftware } from '../../src/backend/webgpu/adapter.js';

/** What the page leaves for the driver. */
interface BenchWindow {
  benchReport?: BenchReport;
  benchError?: string;
}

const out = document.getElementById('log')!;
const say = (line: string): void => {
  out.textContent += `${line}\n`;
  console.log(`[bench] ${line}`);
};

async function main(): Promise<BenchReport> {
  // Split before decoding: an option's value may hold an encoded '&' (--webgrad's JSON).
  const args = location.search
    .slice(1)
    .split('&')
    .filter((s) => s.length > 0)
    .map(decodeURIComponent);
  const opts = parseOptions(args);
  const gpu = navigator.gpu;
  if (!gpu) throw new Error('no navigator.gpu (WebGPU is off in this browser)');
  const adapter = await gpu.requestAdapter();
  if (!adapter) throw new Error('no WebGPU adapter');
  const info = adapter.info;
  // Firefox names no adapter (its info is empty, against fingerprinting): the report says so, and which browser.
  const adapterName =
    adapterLabel(info) ||
    `${runtimeOf(navigator.userAgent).split(' ')[0]} | unnamed${isSoftware(info) ? ' fallback' : ''} adapter`;
  const sizes = opts.sizes.length > 0 ? opts.sizes : [10, 12, 14, 16, 18, 20];
  installCallCounters();
  const systems = opts.systems.map((id) => makeSystem(id, gpu, opts.webgrad));
  say(`adapter ${adapterName}; sizes 2^${sizes.join(', 2^')}`);
  return benchmarkReport(
    { platform: 'browser', runtime: runtimeOf(navigator.userAgent), adapter: adapterName },
    opts,
    sizes,
    systems,
    say,
  );
}

const w = window as unknown as BenchWindow;
main().then(
  (r) => {
    w.benchReport = r;
    say('done');
  },
  (e: unknown) => {
    w.benchError = e instanceof Error ? (e.stack ?? e.message) : String(e);
    say(`failed: ${w.benchError}`);
  },
);
