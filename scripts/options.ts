// The command lines of the project's scripts (fuzz, soak, bench:prelude, bench:cpu): --help prints the
// usage, and an option that is unknown or malformed is refused before any work starts.

/** The options given on a script's command line, by name. */
export class GivenOptions extends Map<string, string> {
  /** The number given for option `name` (its pattern has checked it), or `fallback`. */
  number(name: string, fallback: number): number {
    return Number(this.get(name) ?? fallback);
  }
}

/** `--name=value` options of a script, checked against `spec` (name → pattern of its value). */
export function scriptOptions(
  command: string,
  usage: string,
  spec: Readonly<Record<string, RegExp>>,
  args: readonly string[] = process.argv.slice(2),
): GivenOptions {
  if (args.includes('--help')) {
    console.log(usage);
    process.exit(0);
  }
  const given = new GivenOptions();
  for (const a of args) {
    const m = /^--([a-z][a-z0-9-]*)=(.*)$/s.exec(a);
    const pattern = m ? spec[m[1]!] : undefined;
    if (!m || !pattern || !pattern.test(m[2]!)) {
      console.error(`${command}: unknown or malformed option ${a}\n${usage}`);
      process.exit(2);
    }
    // Given twice, one of the two would be ignored without a word.
    if (given.has(m[1]!)) {
      console.error(`${command}: --${m[1]!} is given more than once\n${usage}`);
      process.exit(2);
    }
    given.set(m[1]!, m[2]!);
  }
  return given;
}

/** A value pattern: a whole number. */
export const INTEGER = /^\d+$/;

/** A value pattern: a whole number from 1. */
export const POSITIVE = /^[1-9]\d*$/;
