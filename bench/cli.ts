// Option mistakes on a benchmark's command line: the message and where the options are listed, not a stack trace.
import { init, type WebGpuOptions } from '../src/index.js';
import { parseOptions, type BenchOptions } from './options.js';

/** parseOptions for a command line (`command` as typed, e.g. 'npm run bench'): a mistake exits with status 2. */
export function parseArgsOrExit(args: readonly string[], command: string): BenchOptions {
  try {
    return parseOptions(args);
  } catch (e) {
    console.error(`${command}: ${e instanceof Error ? e.message : String(e)}`);
    console.error(`(${command} -- --help lists the options)`);
    process.exit(2);
  }
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
