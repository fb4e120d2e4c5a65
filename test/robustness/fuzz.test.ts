// Differential fuzzing (see fuzz.ts for the rules): 500 random cases, each on WebGPU, on the CPU in
// float32 and in the float64 reference mode, at ordinary points and at the edges of every op's domain.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { init, opNames, stats } from '../../src/index.js';
import { activeBackend } from '../../src/schedule/scheduler.js';
import { testAdapter, testGpu } from '../gpu.js';
import {
  backends,
  batchArb,
  casesOf,
  describeMismatches,
  GENERATED,
  inputsArb,
  minimize,
  POINTS,
  runBatch,
  type Backends,
  type Inputs,
  type Step,
  addTally,
  type Tally,
} from './fuzz.js';

const hasGpu = (await testAdapter()) !== null;

/**
 * A batch is GRAPHS random graphs of STEPS steps, the last PER_GRAPH steps of each a case; small
 * separate graphs compile fastest per case (measured: about a third of one 20-step shared graph).
 */
const STEPS = 8;
const PER_GRAPH = 4;
const GRAPHS = 5;
const CASES_PER_BATCH = PER_GRAPH * GRAPHS;
const BATCHES = 25;

describe('differential fuzzing', () => {
  let be: Backends;
  beforeAll(async () => {
    if (hasGpu) await init({ backend: 'webgpu', gpu: testGpu(), webgpu: { cpuBelow: 0 } });
    be = backends(hasGpu ? activeBackend() : null);
  });

  it('generates every public op', () => {
    expect(opNames.filter((n) => !GENERATED.has(n))).toEqual([]);
  });

  // Found by `npm run fuzz -- --seed=7`. The gradient's last step is (a · 2√x) / (2√x), which is 0/0 = NaN
  // at x = ±0 by the IEEE rules (and so on the CPU). SwiftShader's shader compiler cancels the product
  // and the division (WGSL lets it assume no NaN or infinity) unless every value passes through the
  // kernels' wg_keep().
  it('d/dx sigmoid(sqrt(x)²) at ±0 is NaN on every backend, as 0/0', async () => {
    const steps: Step[] = [
      { k: 'var', i: 0 },
      { k: 'var', i: 1 },
      { k: 'var', i: 2 },
      { k: 'op', op: 'sqrt', args: [1], p: 0 },
      { k: 'op', op: 'powi', args: [3], p: 2 },
      { k: 'op', op: 'sigmoid', args: [4], p: 0 },
    ];
    const x1 = new Float32Array(POINTS).fill(4);
    x1[0] = 0;
    x1[1] = -0;
    const data: Inputs = [new Float32Array(POINTS).fill(1), x1, Float32Array.of(1)];
    const { mismatches } = await runBatch([{ steps, root: 5 }], data, be);
    expect(describeMismatches(mismatches)).toBe('');
  });

  // Found by `npm run fuzz -- --seed=8`: SwiftShader's shader compiler reassociates (x - c) + c into x
  // unless values pass through wg_keep(), which loses the NaN of c = NaN (and for c = 1e30 gives 1 where
  // float32 gives 0).
  it('(x - c) + c is NaN for c = NaN', async () => {
    const steps: Step[] = [
      { k: 'var', i: 0 },
      { k: 'var', i: 1 },
      { k: 'var', i: 2 },
      { k: 'op', op: 'sub', args: [0, 1], p: 0 },
      { k: 'op', op: 'add', args: [3, 1], p: 0 },
    ];
    const x0 = new Float32Array(POINTS).fill(1);
    const x1 = new Float32Array(POINTS).fill(1e30);
    x1[1] = NaN;
    const data: Inputs = [x0, x1, Float32Array.of(1)];
    const { mismatches } = await runBatch([{ steps, root: 4 }], data, be);
    expect(describeMismatches(mismatches)).toBe('');
  });

  it(`${CASES_PER_BATCH * BATCHES} cases agree across backends and with the model`, async () => {
    const total: Tally = { values: 0, uncertain: 0, nonFinite: 0 };
    const compiled = stats().pipelinesCompiled;
    await fc.assert(
      fc.asyncProperty(batchArb(STEPS, PER_GRAPH, GRAPHS), inputsArb(), async (batch, data) => {
        const cases = casesOf(batch);
        const { mismatches, tally } = await runBatch(cases, data, be);
        addTally(total, tally);
        if (mismatches.length > 0) {
          const repro = await minimize(cases[mismatches[0]!.caseIndex]!, data, be);
          throw new Error(`${describeMismatches(mismatches)}\n\nreproduction:\n${repro}`);
        }
      }),
      { seed: 20261126, numRuns: BATCHES, endOnFailure: true },
    );
    console.log(
      `fuzz: ${CASES_PER_BATCH * BATCHES} cases, ${total.values} values, ${total.uncertain} uncertain, ` +
        `${total.nonFinite} NaN/Inf compared, ${stats().pipelinesCompiled - compiled} pipelines`,
    );
    // The comparison must not be vacuous: most values are checked, and NaN/Inf placement is among them.
    expect(total.uncertain).toBeLessThan(0.35 * total.values);
    expect(total.nonFinite).toBeGreaterThan(0.02 * total.values);
  }, 600_000);

  // A repeated computation reuses its plan and generated code (plan-cache.ts): the same graphs on new
  // values must still agree, with nothing of the first run's nodes or values left in the kept plans.
  it.skipIf(!hasGpu)(
    'the same graphs on new values reuse their plans and still agree',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          batchArb(STEPS, PER_GRAPH, GRAPHS),
          inputsArb(),
          inputsArb(),
          async (batch, a, b) => {
            const cases = casesOf(batch);
            await runBatch(cases, a, be);
            const reused = stats().plansReused;
            const { mismatches } = await runBatch(cases, b, be);
            expect(stats().plansReused).toBeGreaterThan(reused);
            if (mismatches.length > 0) {
              const repro = await minimize(cases[mismatches[0]!.caseIndex]!, b, be);
              throw new Error(`${describeMismatches(mismatches)}\n\nreproduction:\n${repro}`);
            }
          },
        ),
        { seed: 20261127, numRuns: 6, endOnFailure: true },
      );
    },
    600_000,
  );
});

// The cases above run with the tuning of the test adapter, a CPU implementation of WebGPU (sums split per
// invocation, 32 points each); a GPU's sums go through workgroup trees and its kernels take one point per
// invocation, code of its own, fuzzed here on the same adapter.
describe.skipIf(!hasGpu)("differential fuzzing with a GPU's tuning", () => {
  let be: Backends;
  beforeAll(async () => {
    await init({
      backend: 'webgpu',
      gpu: testGpu(),
      webgpu: { cpuBelow: 0, reduce: 'workgroup', pointsPerInvocation: 1 },
    });
    be = backends(activeBackend());
  });

  it(`${CASES_PER_BATCH * 10} cases agree across backends and with the model`, async () => {
    // The kernels compiled meanwhile, to check that they are the GPU's kind.
    const proto = (globalThis as unknown as { GPUDevice: { prototype: GPUDevice } }).GPUDevice.prototype;
    const original = proto.createShaderModule;
    const sources: string[] = [];
    proto.createShaderModule = function (this: GPUDevice, d: GPUShaderModuleDescriptor) {
      sources.push(d.code);
      return original.call(this, d);
    };
    try {
      await fc.assert(
        fc.asyncProperty(batchArb(STEPS, PER_GRAPH, GRAPHS), inputsArb(), async (batch, data) => {
          const cases = casesOf(batch);
          const { mismatches } = await runBatch(cases, data, be);
          if (mismatches.length > 0) {
            const repro = await minimize(cases[mismatches[0]!.caseIndex]!, data, be);
            throw new Error(`${describeMismatches(mismatches)}\n\nreproduction:\n${repro}`);
          }
        }),
        { seed: 20261128, numRuns: 10, endOnFailure: true },
      );
    } finally {
      proto.createShaderModule = original;
    }
    const pointKernels = sources.filter((c) => c.includes('const PTS: u32'));
    expect(pointKernels.length).toBeGreaterThan(20);
    // One point per invocation where there are no sums (kernels with sums take several, for fewer partials),
    // and sums by workgroup trees.
    const sums = pointKernels.filter((c) => c.includes(' part: array<f32>'));
    expect(sums.length).toBeGreaterThan(0);
    expect(pointKernels.filter((c) => !sums.includes(c) && !c.includes('const PTS: u32 = 1u;'))).toEqual([]);
    expect(sums.every((c) => c.includes('var<workgroup> sh'))).toBe(true);
  }, 600_000);
});
