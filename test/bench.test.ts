// The benchmark's quick mode as a test: every case on every system (webgrad on WebGPU and on the CPU, the
// hand-written WGSL kernels, jax-js, TensorFlow.js) at small sizes, in Node through Dawn and in headless
// Chromium and Firefox (npm run bench's page). It asserts that each system gave the right gradients and produced a
// timing — never how fast anything is.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BROWSER_BINARIES, missingBrowser, runInBrowser } from '../bench/browser.js';
import { benchCases } from '../bench/cases.js';
import { BROWSERS } from '../bench/options.js';
import type { BenchReport } from '../bench/report.js';
import { TOLERANCE } from '../bench/reference.js';
import { SYSTEM_IDS } from '../bench/systems/system.js';

const requireWebGpu = process.env.WEBGRAD_REQUIRE_WEBGPU === '1';
const dir = mkdtempSync(join(tmpdir(), 'webgrad-bench-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `npm run bench:node -- --quick` (bundle, then Node with Dawn); exit 2 means no adapter. */
function runQuick(): { status: number | null; output: string; report: BenchReport | null } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/node.ts', '--quick', `--out=${dir}`], {
    encoding: 'utf8',
    env: {
      ...process.env,
      VK_ICD_FILENAMES: process.env.VK_ICD_FILENAMES ?? '/usr/lib/chromium/vk_swiftshader_icd.json',
    },
    timeout: 170_000,
  });
  const json = r.status === 0 ? readdirSync(dir).find((f) => f.endsWith('.json')) : undefined;
  return {
    status: r.status,
    output: `${r.stdout}\n${r.stderr}`,
    report: json ? (JSON.parse(readFileSync(join(dir, json), 'utf8')) as BenchReport) : null,
  };
}

/** Every case on every system at every size: checked against float64, timed, latency measured. */
function expectComplete(r: BenchReport): void {
  expect(r.meta.quick).toBe(true);
  expect(r.meta.systems.map((s) => s.id).sort()).toEqual([...SYSTEM_IDS].sort());
  for (const c of benchCases)
    for (const s of SYSTEM_IDS)
      for (const n of r.meta.sizes) {
        const m = r.measurements.find((x) => x.case === c.id && x.system === s && x.log2n === n);
        const where = `${c.id} on ${s} at 2^${n}: ${m?.status} ${m?.note ?? ''}`;
        expect(m?.status, where).toBe('ok');
        expect(m!.error!, where).toBeLessThanOrEqual(TOLERANCE);
        expect(m!.ms!, where).toBeGreaterThan(0);
        expect(Number.isFinite(m!.pointsPerSec!), where).toBe(true);
        expect(m!.residentNote, where).toBeUndefined();
        expect(m!.residentMs!, where).toBeGreaterThan(0);
      }
  for (const l of r.latency) {
    expect(l.note, `${l.case} on ${l.system}`).toBeUndefined();
    expect(l.firstCallMs!, `${l.case} on ${l.system}`).toBeGreaterThan(0);
    expect(l.singlePointUs!, `${l.case} on ${l.system}`).toBeGreaterThan(0);
  }
  expect(r.latency).toHaveLength(benchCases.length * SYSTEM_IDS.length);
  // webgrad on WebGPU sends the sizes below its cpuBelow (8192 points on a CPU adapter, 256 on a GPU) to its
  // CPU backend, and dispatches kernels at the others, of which quick mode has one.
  const below = r.meta.webgradCpuBelow!;
  expect([256, 8192]).toContain(below);
  expect(r.meta.sizes.some((n) => 2 ** n >= below)).toBe(true);
  for (const m of r.measurements.filter((x) => x.system === 'webgrad'))
    if (2 ** m.log2n < below) expect(m.dispatches, `${m.case} at 2^${m.log2n}`).toBe(0);
    else expect(m.dispatches, `${m.case} at 2^${m.log2n}`).toBeGreaterThan(0);
}

describe('benchmark quick mode (Node, Dawn)', () => {
  it('checks and times every case on every system', { timeout: 180_000 }, (ctx) => {
    const { status, output, report } = runQuick();
    if (status === 2 && !requireWebGpu) {
      console.warn('skipping the benchmark check: no WebGPU adapter');
      ctx.skip();
    }
    expect(status, output.slice(-4000)).toBe(0);
    expect(report).not.toBeNull();
    expectComplete(report!);
  });
});

describe("--webgrad's options are checked before anything runs", () => {
  // A misspelt option would otherwise stop only webgrad's setup, and the run go on without it.
  it.each([
    ['bench/node.ts', 'npm run bench:node'],
    ['bench/browser.ts', 'npm run bench'],
  ])('%s refuses a misspelt one, status 2', { timeout: 60_000 }, (file, command) => {
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', file, '--webgrad={"exactRangeReductoin":true}'],
      {
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${command}: --webgrad: init(): webgpu: unknown option 'exactRangeReductoin'`);
  });
});

describe.each(BROWSERS.map((flag) => ({ flag, name: BROWSER_BINARIES[flag].label })))(
  'benchmark quick mode (headless $name)',
  ({ name, flag }) => {
    it(
      'checks and times every case on every system in the page npm run bench serves',
      { timeout: 240_000 },
      async (ctx) => {
        const missing = missingBrowser(flag);
        if (missing) throw new Error(missing);
        const lines: string[] = [];
        let r: BenchReport;
        try {
          r = await runInBrowser(['--quick', '--out=', `--browser=${flag}`], (l) => lines.push(l));
        } catch (e) {
          // Without WebGPU in the browser the page fails up front ("no WebGPU adapter").
          if (!requireWebGpu && /WebGPU/.test(String(e))) {
            console.warn(`skipping the ${name} benchmark check: ${String(e)}`);
            ctx.skip();
          }
          throw new Error(`${String(e)}\n${lines.slice(-20).join('\n')}`, { cause: e });
        }
        expect(r.meta.platform).toBe('browser');
        expect(r.meta.runtime.startsWith(name)).toBe(true);
        expect(r.meta.quick).toBe(true);
        // The page is served cross-origin isolated: its clock has steps of 5 µs in Chromium (100 by
        // default) and 20 in Firefox (1 ms by default).
        expect(r.meta.clockStepUs!).toBeLessThanOrEqual(20);
        expectComplete(r);
      },
    );
  },
);
