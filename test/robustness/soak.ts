// The memory soak: many evaluate + backward + read cycles, sampling the backend's live buffers and
// bytes, compiled pipelines and the JS heap, to show that nothing grows with the number of cycles.
import v8 from 'node:v8';
import vm from 'node:vm';
import { exp, sin, stats, sum, tensor } from '../../src/index.js';

/** One sample of the figures that must stay flat. */
export interface SoakSample {
  cycle: number;
  liveBuffers: number;
  liveBytes: number;
  pipelinesCompiled: number;
  heapBytes: number;
}

/** Options of a soak run. */
export interface SoakOptions {
  /** Cycles to run. */
  cycles: number;
  /** Points per cycle. */
  points?: number;
  /** Samples taken (evenly spaced, after a settle). */
  samples?: number;
  /**
   * How tensors are freed: 'dispose' calls dispose() on everything a cycle creates; 'gc' drops the
   * references and leaves the buffers to the FinalizationRegistry (collections are forced at samples).
   */
  free?: 'dispose' | 'gc';
}

/** A full garbage collection: global.gc under --expose-gc, else the V8 flag set at run time. */
export function collector(): () => void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) return g;
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

/** Collects, then lets finalizers run (they are queued as tasks after the collection). */
export async function settle(gc: () => void): Promise<void> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 0));
  }
}

/**
 * One cycle: a new input and a new constant (the same kernels, with different data and uniforms: the factor
 * is never 1, since x * 1 is built as x, a kernel of another shape that would compile anew), the value and
 * gradient read back, and everything the cycle made disposed ('dispose') or left unreferenced ('gc').
 * A function of its own so that nothing of it is still in scope when the soak samples: a variable of the
 * caller's loop may or may not count as live to the collector, depending on how far V8 has optimised the
 * loop, which made the live buffers at a sample differ by one cycle's.
 */
async function cycle(c: number, base: Float32Array, free: 'dispose' | 'gc'): Promise<void> {
  const x = tensor(
    base.map((v) => v + c * 1e-4),
    { requiresGrad: true },
  );
  const y = exp(x.mul(x).mul(-0.5)).mul(sin(x.mul(2 + (c % 7))));
  const loss = sum(y);
  loss.backward();
  const [l, g] = await Promise.all([loss.item(), x.grad!.data()]);
  if (!Number.isFinite(l) || g.length !== base.length) throw new Error(`soak: cycle ${c} gave ${l}`);
  if (free === 'dispose') for (const t of [x.grad!, loss, y, x]) t.dispose();
}

/** Runs the soak on the active backend; returns the samples (the first is taken after one cycle). */
export async function soak(opts: SoakOptions): Promise<SoakSample[]> {
  const { cycles, points = 4096, samples = 10, free = 'dispose' } = opts;
  const gc = collector();
  const every = Math.max(1, Math.floor(cycles / samples));
  const out: SoakSample[] = [];
  const base = new Float32Array(points).map((_, i) => -3 + (6 * i) / points);
  for (let c = 1; c <= cycles; c++) {
    await cycle(c, base, free);
    if (c === 1 || c % every === 0) {
      await settle(gc);
      const s = stats();
      out.push({
        cycle: c,
        liveBuffers: s.liveBuffers,
        liveBytes: s.liveBytes,
        pipelinesCompiled: s.pipelinesCompiled,
        heapBytes: process.memoryUsage().heapUsed,
      });
    }
  }
  return out;
}
