// The package as another project gets it: built with the build script, packed without the demo's files,
// imported by name from an ES module, and type-checked under strict settings (library files checked too)
// by a project that lists nothing but webgrad.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');
const bin = (name: string): string => join(root, 'node_modules', '.bin', name);
let consumer = '';

beforeAll(() => {
  execFileSync(bin('tsc'), ['-p', 'tsconfig.build.json'], { cwd: root });
  consumer = mkdtempSync(join(tmpdir(), 'webgrad-consumer-'));
  mkdirSync(join(consumer, 'node_modules'));
  symlinkSync(root, join(consumer, 'node_modules', 'webgrad'), 'dir');
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', type: 'module' }));
}, 120_000);

afterAll(() => rmSync(consumer, { recursive: true, force: true }));

describe('the package', () => {
  it('holds the library and its declarations, not the demo builds', () => {
    const [pack] = JSON.parse(
      execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
        cwd: root,
        encoding: 'utf8',
      }),
    ) as [{ files: { path: string }[] }];
    const files = pack.files.map((f) => f.path);
    expect(files).toContain('dist/index.js');
    expect(files).toContain('dist/index.d.ts');
    expect(files).toContain('dist/backend/webgpu/backend.js');
    // The licence package.json declares (MIT), with its text.
    expect(files).toContain('LICENSE');
    expect(files.filter((f) => f.startsWith('dist/demo'))).toEqual([]);
    // The declarations reference the WebGPU types, so the package must bring them to its users.
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
    };
    expect(Object.keys(pkg.dependencies ?? {})).toEqual(['@webgpu/types']);
    expect(readFileSync(join(root, 'dist', 'init.d.ts'), 'utf8')).toContain(
      '<reference types="@webgpu/types"',
    );
  });

  it('runs when imported by name from an ES module (CPU, as without the optional webgpu package)', () => {
    writeFileSync(
      join(consumer, 'main.mjs'),
      `import { init, tensor, sum, sin } from 'webgrad';
await init({ backend: 'cpu' });
const x = tensor([0, 1], { requiresGrad: true });
sum(sin(x)).backward();
console.log(JSON.stringify(Array.from(await x.grad.data())));`,
    );
    const r = spawnSync(process.execPath, ['main.mjs'], { cwd: consumer, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout) as number[]).toEqual([1, Math.fround(Math.cos(1))]);
  });

  it('type-checks in a strict project that lists no WebGPU types of its own', () => {
    writeFileSync(
      join(consumer, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          lib: ['ES2022', 'DOM'],
          types: [],
        },
        files: ['use.ts'],
      }),
    );
    writeFileSync(
      join(consumer, 'use.ts'),
      `import { init, tensor, sum, sin, type Tensor, type InitOptions } from 'webgrad';
const opts: InitOptions = { backend: 'auto', webgpu: { powerPreference: 'high-performance' } };
await init(opts);
const f = (x: Tensor): Tensor => sum(sin(x));
const x = tensor([1, 2], { requiresGrad: true });
f(x).backward();
const g: Float32Array = await x.grad!.data();
export { g };`,
    );
    const r = spawnSync(bin('tsc'), ['-p', consumer], { encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
