// The command lines of the long-run scripts: --help prints the options and exits, and a misspelt or
// malformed option is refused before any work starts (it used to start the full default run).
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const scripts: [string, string, string][] = [
  ['scripts/fuzz.ts', '--case=3', 'npm run fuzz'],
  ['scripts/soak.ts', '--free=maybe', 'npm run soak'],
  ['bench/prelude.ts', '--size=0', 'npm run bench:prelude'],
  ['bench/cpu.ts', '--log2=20', 'npm run bench:cpu'],
];

const run = (file: string, arg: string) =>
  spawnSync(process.execPath, ['--import', 'tsx', file, arg], { encoding: 'utf8', timeout: 60_000 });

describe.each(scripts)('%s', (file, bad, command) => {
  it('--help lists the options and exits', () => {
    const r = run(file, '--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`${command} -- [options]`);
  });

  it(`${bad} is refused with its name, status 2`, () => {
    const r = run(file, bad);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${command}: unknown or malformed option ${bad}`);
    expect(r.stdout).toBe('');
  });
});

it('npm run fuzz: --webgpu that is not JSON is refused, status 2', () => {
  const r = run('scripts/fuzz.ts', '--webgpu={cases:1}');
  expect(r.status).toBe(2);
  expect(r.stderr).toContain('npm run fuzz: --webgpu is not JSON');
});

it('npm run fuzz: a browser it does not drive is refused, status 2', () => {
  const r = run('scripts/fuzz.ts', '--browser=safari');
  expect(r.status).toBe(2);
  expect(r.stderr).toContain('npm run fuzz: unknown or malformed option --browser=safari');
});

it('an option given twice is refused rather than one of them ignored, status 2', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/cpu.ts', '--log2n=10', '--log2n=12'], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(r.status).toBe(2);
  expect(r.stderr).toContain('npm run bench:cpu: --log2n is given more than once');
});
