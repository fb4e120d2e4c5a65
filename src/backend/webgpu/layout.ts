/** Where a run's uniform blocks and read-back values go in their buffers. */
import type { Node } from '../../graph/node.js';
import type { Step } from './plan.js';

/**
 * Outputs up to this many elements are copied back with the run, so reading a loss or a scalar gradient
 * needs no submit of its own (and the copy doubles as the run's completion and device-loss check).
 */
export const READ_AHEAD = 1024;

/**
 * Every dispatch's uniform block in one buffer of `bytes`, each at an offset aligned to `align`
 * (`at[step][dispatch]`), and the words to write there.
 */
export function uniformLayout(
  steps: readonly Step[],
  align: number,
): { bytes: number; at: { offset: number; size: number }[][]; words: Uint32Array<ArrayBuffer> } {
  let bytes = 0;
  const at = steps.map((step) => {
    const size = step.program.uniformBytes;
    const stride = Math.ceil(size / align) * align;
    return step.dispatches.map(() => {
      const b = { offset: bytes, size };
      bytes += stride;
      return b;
    });
  });
  return { bytes, at, words: uniformWords(steps, at, bytes) };
}

/** The words of `steps`' uniform blocks, laid out at `at` in a buffer of `bytes` (see uniformLayout). */
export function uniformWords(
  steps: readonly Step[],
  at: readonly (readonly { offset: number }[])[],
  bytes: number,
): Uint32Array<ArrayBuffer> {
  const words = new Uint32Array(bytes / 4);
  steps.forEach((step, si) =>
    step.dispatches.forEach((d, di) => words.set(d.words, at[si]![di]!.offset / 4)),
  );
  return words;
}

/**
 * What comes back with a run. A run that is read, or speculative, is waited for: its small outputs and those a
 * read waits for come back with it (a loss or a scalar gradient read next needs no round trip of its own), or
 * with none four bytes do, to learn when the work is done; so does the flag word. Any other run is done with
 * submission: its values stay on the device until a read or synchronize() waits for them, and the next run is
 * planned while this one computes.
 */
export function readbackLayout(
  outputs: readonly Node[],
  reads: ReadonlySet<Node>,
  speculative: boolean,
): {
  waited: boolean;
  /** Outputs whose values come back (offsets lists the fence instead, four bytes, where there are none). */
  small: Node[];
  offsets: Map<Node, number>;
  bytesOf: (n: Node) => number;
  stagingBytes: number;
  flagAt: number;
} {
  const small = outputs.filter((n) => n.size <= READ_AHEAD || reads.has(n));
  const bytesOf = (n: Node): number => (small.length === 0 ? 4 : n.size * 4);
  const offsets = new Map<Node, number>();
  let stagingBytes = 0;
  for (const n of small.length === 0 ? [outputs[0]!] : small) {
    offsets.set(n, stagingBytes);
    stagingBytes += bytesOf(n);
  }
  const flagAt = stagingBytes;
  if (speculative) stagingBytes += 4;
  return { waited: reads.size > 0 || speculative, small, offsets, bytesOf, stagingBytes, flagAt };
}
