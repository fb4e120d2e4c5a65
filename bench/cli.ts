// Option mistakes on a benchmark's command line: the message and where the options are listed, not a stack trace.
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
