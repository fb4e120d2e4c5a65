// CPU benchmark: webgrad's CPU backend against hand-written JS loops of the same formulas, same run;
// then a memory soak (build + backward + read, many cycles) that must keep the heap flat.
import { init, stats, sum, tensor } from '../src/index.js';
import { median } from './median.js';
import { notebookCases, points } from './notebook.js';
import { scaledError } from './reference.js';
import { INTEGER, POSITIVE, scriptOptions } from '../scripts/options.js';

const USAGE = `npm run bench:cpu -- [options]
  --log2n=20      log2 of the points of each case, 0 to 28
  --reps=9        timed runs of each system per case (the median is reported)
  --soak=10000    build + backward + read cycles of the memory soak (0: none)`;
// Up to 2^28 points: four arrays of them are a few GiB, and 1 << 31 is negative.
const LOG2N = /^(?:[0-9]|1[0-9]|2[0-8])$/;
const given = scriptOptions('npm run bench:cpu', USAGE, { log2n: LOG2N, reps: POSITIVE, soak: INTEGER });
const N = 2 ** given.number('log2n', 20);
const REPS = given.number('reps', 9);
const SOAK = given.number('soak', 10_000);

/** Medians of both functions, timed alternately so that machine noise hits both alike. */
async function timePair(a: () => unknown, b: () => unknown): Promise<[number, number]> {
  for (let w = 0; w < 3; w++) {
    await a();
    await b();
  }
  const ta: number[] = [];
  const tb: number[] = [];
  for (let r = 0; r < REPS; r++) {
    let t0 = performance.now();
    await a();
    ta.push(performance.now() - t0);
    t0 = performance.now();
    await b();
    tb.push(performance.now() - t0);
  }
  return [median(ta), median(tb)];
}

const info = await init({ backend: 'cpu' });
console.log(
  `webgrad CPU benchmark: backend ${info.backend}, N = ${N} points, median of ${REPS} runs, Node ${process.version}`,
);
// Error: per output, the largest |webgrad - hand loop| over the largest |hand loop| (scaledError: differences
// near a zero of an output say nothing about its accuracy), the worst output's.
console.log('| case | webgrad ms | hand loop ms | ratio | error |');
console.log('|---|---|---|---|---|');
for (const c of notebookCases) {
  const xs = Array.from({ length: c.vars }, (_, k) =>
    points(N, k === 1 ? 0.3 : c.vars === 3 ? 0.1 : -2, k === 1 ? 2.8 : 2, k * 0.37),
  );
  const got = await c.webgrad(xs, c.params);
  const ref = c.hand(xs, c.params);
  const worst = Math.max(...got.map((g, j) => scaledError(g, ref[j]!)));
  const [tw, th] = await timePair(
    () => c.webgrad(xs, c.params),
    () => c.hand(xs, c.params),
  );
  console.log(
    `| ${c.name} | ${tw.toFixed(2)} | ${th.toFixed(2)} | ${(tw / th).toFixed(2)}x | ${worst.toExponential(1)} |`,
  );
}
{
  // A dense layer (no matmul: X [R, 1, K] times W [1, H, K] summed over K) and both gradients of a loss
  // weighted by G [R, H]: a sum along the last axis and two along others, read and folded through broadcasts.
  const [H, K] = [32, 32];
  const R = Math.max(1, Math.floor(N / (H * K)));
  const xd = points(R * K, -1, 1, 0.1);
  const wd = points(H * K, -1, 1, 0.2);
  const gd = points(R * H, -1, 1, 0.3);
  const webgrad = async (): Promise<Float32Array[]> => {
    const x = tensor(xd, { shape: [R, 1, K], requiresGrad: true });
    const w = tensor(wd, { shape: [1, H, K], requiresGrad: true });
    const y = sum(x.mul(w), 2);
    sum(y.mul(tensor(gd, { shape: [R, H] }))).backward();
    return Promise.all([y.data(), x.grad!.data(), w.grad!.data()]);
  };
  const hand = (): Float32Array[] => {
    const [y, dx, dw] = [new Float32Array(R * H), new Float64Array(R * K), new Float64Array(H * K)];
    for (let r = 0; r < R; r++)
      for (let h = 0; h < H; h++) {
        let s = 0;
        const g = gd[r * H + h]!;
        for (let k = 0; k < K; k++) {
          s += xd[r * K + k]! * wd[h * K + k]!;
          dx[r * K + k]! += g * wd[h * K + k]!;
          dw[h * K + k]! += g * xd[r * K + k]!;
        }
        y[r * H + h] = s;
      }
    return [y, Float32Array.from(dx), Float32Array.from(dw)];
  };
  const got = await webgrad();
  const ref = hand();
  const worst = Math.max(...got.map((g, j) => scaledError(g, ref[j]!)));
  const [tw, th] = await timePair(webgrad, hand);
  console.log(
    `| dense ${R}x${K} by ${H}x${K}, both gradients | ${tw.toFixed(2)} | ${th.toFixed(2)} | ${(tw / th).toFixed(2)}x | ${worst.toExponential(1)} |`,
  );
}
console.log(`kernels compiled: ${stats().pipelinesCompiled}, cache hits: ${stats().cacheHits}`);

// Memory soak: the notebook's scalar exercise, built, differentiated and read many times (--soak=0: none).
if (SOAK === 0) process.exit(0);
const c = notebookCases[5]!;
const small = [points(1024, -2, 2)];
const heap = (): number => {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed / 2 ** 20;
};
await c.webgrad(small, []);
const h0 = heap();
const marks: string[] = [];
// Five readings, evenly spaced (fewer for fewer cycles).
const readAt = new Set([1, 2, 3, 4, 5].map((k) => Math.max(1, Math.round((k * SOAK) / 5))));
for (let i = 1; i <= SOAK; i++) {
  await c.webgrad(small, []);
  if (readAt.has(i)) marks.push(`${i}: ${heap().toFixed(1)} MiB`);
}
console.log(
  `soak (${SOAK} build+backward+read cycles of ${c.name} over 1024 points): start ${h0.toFixed(1)} MiB; ${marks.join(', ')}`,
);
