// The pipeline cache on a real adapter: a program compiles once per source, and a pipeline the device
// rejects (here: a shader whose bindings disagree with the layout the program declares) fails with the
// device's message and the generated WGSL, and is not cached.
import { beforeAll, describe, expect, it } from 'vitest';
import { emptyStats } from '../../src/schedule/backend.js';
import { PipelineCache } from '../../src/backend/webgpu/pipelines.js';
import type { Program } from '../../src/backend/webgpu/program.js';
import { testAdapter } from '../gpu.js';

const adapter = await testAdapter();

/** A program writing its one storage binding, declared as `kind`. */
const program = (kind: 'read' | 'write'): Program => ({
  source: [
    'struct Params { n: u32 }',
    '@group(0) @binding(0) var<uniform> P: Params;',
    '@group(0) @binding(1) var<storage, read_write> out0: array<f32>;',
    '@compute @workgroup_size(64)',
    'fn main(@builtin(global_invocation_id) id: vec3<u32>) {',
    '  if (id.x < P.n) { out0[id.x] = f32(id.x); }',
    '}',
  ].join('\n'),
  bindings: [kind],
  uniformBytes: 16,
  consts: [],
  constRefs: [],
});

describe.skipIf(!adapter)('pipeline cache', () => {
  let device: GPUDevice;
  beforeAll(async () => {
    device = await adapter!.requestDevice();
  });

  it('compiles a program once and finds it again by its source', async () => {
    const stats = emptyStats();
    const cache = new PipelineCache(device, stats);
    const a = await cache.get(program('write'));
    const b = await cache.get(program('write'));
    expect(b).toBe(a);
    expect(stats.pipelinesCompiled).toBe(1);
    expect(stats.cacheHits).toBe(1);
  });

  it('a compiled pipeline is taken at once (ready), a pending or failed one is not', async () => {
    const stats = emptyStats();
    const cache = new PipelineCache(device, stats);
    const p = program('write');
    expect(cache.ready(p)).toBeUndefined();
    const pending = cache.get(p);
    expect(cache.ready(p)).toBeUndefined();
    const a = await pending;
    expect(cache.ready(p)).toBe(a);
    expect(stats.cacheHits).toBe(1);
    // The same source declaring its binding read-only: rejected (in a cache of its own, as sources key it).
    const other = new PipelineCache(device, stats);
    await other.get(program('read')).catch(() => null);
    expect(other.ready(program('read'))).toBeUndefined();
    expect(stats.cacheHits).toBe(1);
  });

  it('a pipeline the device rejects fails with its message and the WGSL, and is not cached', async () => {
    const stats = emptyStats();
    const cache = new PipelineCache(device, stats);
    // The shader writes binding 1; the layout the program declares makes it read-only.
    const bad = program('read');
    const first = await cache.get(bad).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(first).toBeInstanceOf(Error);
    expect(first!.message).toMatch(/^webgpu: the pipeline for the generated WGSL is invalid: \S/);
    expect(first!.message).toMatch(/--- generated WGSL ---\n {3}1 {2}struct Params/);
    // Asked again, it is compiled again (and fails again) rather than served from the cache.
    await expect(cache.get(bad)).rejects.toThrow(/is invalid/);
    expect(stats.pipelinesCompiled).toBe(0);
    expect(stats.cacheHits).toBe(0);
  });
});
