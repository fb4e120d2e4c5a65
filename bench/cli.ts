// Option mistakes on a benchmark's command line: the message and where the options are listed, not a stack trace.
import { mkdirSync } from 'node:fs';
import { init, type WebGpuOptions } from '../src/index.js';
import { parseOptions, type BenchOptions } from './options.js';

/**
 * parseOptions for a command line (`command` as typed, e.g. 'npm run bench'): a mistake exits with status 2,
 * and so does an --out where the reports cannot go, found before the run rather than after it (a long run's
 * results were lost to a path that named a file), and a --browser given to a runner that has none.
 */
export function parseArgsOrExit(args: readonly string[], command: string, browser = false): BenchOptions {
  const fail = (message: string): never => {
    console.error(`${command}: ${message}`);
    console.error(`(${command} -- --help lists the options)`);
    process.exit(2);
  };
  let opts: BenchOptions;
  try {
    opts = parseOptions(args);
  } catch (e) {
    return fail(e instanceof Error ? e.message : String(e));
  }
  if (!browser && args.some((a) => a.startsWith('--browser')))
    fail('--browser is for npm run bench (this runner has no browser)');
  if (opts.out) {
    try {
      mkdirSync(opts.out, { recursive: true });
    } catch (e) {
      fail(`--out=${opts.out}: the reports cannot go there (${e instanceof Error ? e.message : String(e)})`);
    }
  }
  return opts;
}

/**
 * Checks --webgrad's options as init() does (names and values), before anything runs: a misspelt one would
 * otherwise only stop webgrad's setup, and the run go on without it. A mistake exits with status 2.
 */
export async function checkWebgradOrExit(opts: BenchOptions, command: string): Promise<void> {
  try {
    await init({ backend: 'cpu', webgpu: opts.webgrad as WebGpuOptions });
  } catch (e) {
    console.error(`${command}: --webgrad: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(2);
  }
}
