// The README's opening example, run as printed (its import pointed at src/), so that the first code a reader
// copies keeps working and keeps saying what it does.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { backendInfo, stats, Tensor, tensor } from '../src/index.js';
import { requireWebGpu } from './gpu.js';

const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');
const example = /```ts\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
const index = pathToFileURL(fileURLToPath(new URL('../src/index.ts', import.meta.url))).href;

/** What the example leaves behind, for the checks. */
interface Ran {
  x: Tensor;
  xs: Tensor;
  dfdx: Float32Array;
  d2f: (x: Tensor) => Tensor;
  /** Dispatches counted from the example's linspace to its data(), where it ran on WebGPU. */
  dispatches: number;
}

// The example's module files, removed when the tests are done.
const made: string[] = [];
afterAll(() => made.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** Runs the example as a module of its own, with `backend: 'auto'` replaced by `backend`. */
async function run(backend: 'auto' | 'cpu'): Promise<Ran> {
  const lines = example
    .replace("from 'webgrad'", `from '${index}'`)
    .replace("backend: 'auto'", `backend: '${backend}'`);
  // Dispatches are read around the batched lines (the stats() of the module's own import of src/).
  const counted = lines
    .replace('const xs = linspace', 'const before = stats().dispatches;\nconst xs = linspace')
    .replace(
      'const dfdx = await xs.grad!.data();',
      'const dfdx = await xs.grad!.data();\nconst dispatches = stats().dispatches - before;',
    )
    .replace('import { init,', 'import { stats, init,');
  // The example's lines this relies on, as the replacements above found them.
  expect(counted.match(/stats\(\)\.dispatches/g)?.length).toBe(2);
  const dir = mkdtempSync(join(tmpdir(), 'webgrad-readme-'));
  made.push(dir);
  const file = join(dir, 'example.ts');
  writeFileSync(file, `${counted}\nexport { x, xs, dfdx, d2f, dispatches };\n`);
  return (await import(pathToFileURL(file).href)) as Ran;
}

/** f of the example and its first two derivatives, in float64. */
const f = (x: number): number => Math.exp(-x * x - 2 * x - Math.sin(x));
const df = (x: number): number => f(x) * (-2 * x - 2 - Math.cos(x));
const d2f = (x: number): number => f(x) * ((-2 * x - 2 - Math.cos(x)) ** 2 - 2 + Math.sin(x));

describe("the README's first example", () => {
  it('is found, and imports from the package by its name', () => {
    expect(example).toContain("from 'webgrad'");
    expect(example).toContain('await init(');
  });

  it.each(['auto', 'cpu'] as const)(
    'runs as printed (backend %s) and gives what its comments say',
    async (backend) => {
      const ran = await run(backend);
      // One library instance: the example's tensors are this file's, and backendInfo() says where they ran.
      expect(ran.x).toBeInstanceOf(Tensor);
      const info = backendInfo();
      if (backend === 'cpu') expect(info.backend).toBe('cpu');
      else if (requireWebGpu) expect(info.backend).toBe('webgpu');
      expect(await ran.x.grad!.item()).toBe(-2);
      // The gradient over a million points, against float64 at every 997th.
      expect(ran.dfdx.length).toBe(1_000_000);
      const xs = await ran.xs.data();
      for (let i = 0; i < xs.length; i += 997) expect(ran.dfdx[i]).toBeCloseTo(df(xs[i]!), 4);
      // "one fused kernel": the gradient over the million points is one dispatch where WebGPU ran it.
      if (info.backend === 'webgpu') expect(ran.dispatches).toBe(1);
      // grad(grad(f)) is f'' at a point, as the comment says at 0.5.
      for (const a of [-2.5, -1, 0, 0.5, 2]) expect(await ran.d2f(tensor(a)).item()).toBeCloseTo(d2f(a), 5);
      expect(example).toContain(`// ${Math.fround(d2f(0.5)).toPrecision(8)}, f''(0.5)`);
      expect(stats().backend).toBe(info.backend);
    },
  );
});
