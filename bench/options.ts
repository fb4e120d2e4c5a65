// Command-line (or URL) options of both runners, with their defaults.
import { benchCases, selectCases, type BenchCase } from './cases.js';
import { SYSTEM_IDS, type SystemId } from './systems/system.js';

/** Parsed benchmark options. */
export interface BenchOptions {
  /** log2 of the point counts; empty means the runner's default for the adapter. */
  sizes: number[];
  cases: BenchCase[];
  systems: SystemId[];
  reps: number;
  warmup: number;
  /** Milliseconds per system and case of untimed calls at the smallest size, before any timing (see RunOptions). */
  jitWarmupMs: number;
  budgetMs: number;
  /** Seconds after which no (case, size) is started (Infinity: none). */
  deadlineS: number;
  quick: boolean;
  /** Where result files go ('' for nowhere). */
  out: string;
  /** The machine's name for titles and file names ('' for the adapter's), e.g. nvidia-h200. */
  machine: string;
  /** webgrad's WebGPU options (init's `webgpu`) beyond its defaults, as given (--webgrad). */
  webgrad: Record<string, unknown>;
  /** The browser npm run bench drives (the Node runner has none). */
  browser: BrowserName;
}

/** The browsers npm run bench can drive. */
export const BROWSERS = ['chromium', 'firefox'] as const;

/** One of BROWSERS. */
export type BrowserName = (typeof BROWSERS)[number];

/** Help text shared by both runners. */
export const USAGE = `options:
  --sizes=10,12,14 | --sizes=16-22   log2 of the point counts (a-b: from a to b in steps of --step)
  --step=2                           step of an a-b size range (default 2)
  --cases=sq,relu-wb                 ${benchCases.map((c) => c.id).join(', ')} (default: all)
  --systems=webgrad,hand             ${SYSTEM_IDS.join(', ')} (default: all)
  --reps=5 --warmup=2                timed and untimed calls per size
  --jit-warmup-ms=300                untimed calls per system and case at the smallest size, after its
                                     first call and before any timing, so that JavaScript engines have
                                     compiled each library's hot code, and again at the first size where
                                     a system dispatches kernels if it did not at the smallest, at most
                                     300 calls (default 300 ms; 0 with --quick)
  --budget-ms=5000                   skip a system at a larger size once its call there would take longer
                                     (its last median scaled by the number of points)
  --deadline-s=600                   start no (case, size) after this many seconds; the rest is reported
                                     as skipped (default: no deadline)
  --quick                            a few small sizes, 2 reps: a check that everything runs
  --out=bench/results                where the .json/.md/.svg go (--out= for nowhere)
  --machine=nvidia-h200              name the machine in the report's title and file names, where the
                                     adapter's WebGPU info does not say the model (default: the adapter)
  --webgrad='{"exactRangeReduction":false}'
                                     webgrad's WebGPU options beyond its defaults (init's webgpu), as JSON;
                                     the hand kernels take the same tuning
  --browser=chromium                 npm run bench only: chromium or firefox (default chromium)`;

// log2 of the point counts a run may take: 2 points and up (one point is the latency measurement's), and
// at most 2^28 (1 GiB per float32 array: past what a WebGPU buffer or a page can hold).
const MIN_SIZE = 1;
const MAX_SIZE = 28;

/** The first element that comes again later in `xs`, if any. */
const repeated = <T>(xs: readonly T[]): T | undefined => xs.find((x, i) => xs.indexOf(x) !== i);

/** Parses `--name=value` flags (from argv, or from a URL query turned into such strings). */
export function parseOptions(args: readonly string[]): BenchOptions {
  const get = (name: string): string | undefined => {
    const a = args.find((s) => s === `--${name}` || s.startsWith(`--${name}=`));
    return a === undefined ? undefined : a.includes('=') ? a.slice(a.indexOf('=') + 1) : '';
  };
  // A list with an empty item (--cases=, or sq,,z2) is a mistake, not a way to ask for all.
  const list = (v: string | undefined, name: string): string[] => {
    if (v === undefined) return [];
    const items = v.split(',');
    if (items.some((s) => s.length === 0)) throw new Error(`--${name} has an empty item: ${v || 'no value'}`);
    // (Sizes are checked as powers, after their ranges are spread out.)
    const twice = name === 'sizes' ? undefined : repeated(items);
    if (twice !== undefined) throw new Error(`--${name}: ${twice} is given more than once`);
    return items;
  };
  // Counts are integers (reps from 1: a run with no timed call has no median); times are numbers > 0 (0 ms
  // of budget or 0 s of deadline would skip everything). A flag with no value is an error, not 0.
  const RULES = {
    count: { ok: (x: number) => Number.isInteger(x) && x >= 1, want: 'an integer >= 1' },
    count0: { ok: (x: number) => Number.isInteger(x) && x >= 0, want: 'an integer >= 0' },
    time: { ok: (x: number) => x > 0, want: 'a number > 0' },
    time0: { ok: (x: number) => Number.isFinite(x) && x >= 0, want: 'a number >= 0' },
  };
  const num = (name: string, dflt: number, kind: keyof typeof RULES): number => {
    const v = get(name);
    if (v === undefined) return dflt;
    // Decimal numbers only: Number() also reads 0x3 and 1e1, and ' 3' with its space.
    const x = /^(\d+(\.\d+)?|Infinity)$/.test(v) ? Number(v) : NaN;
    if (!RULES[kind].ok(x))
      throw new Error(`--${name} must be ${RULES[kind].want}, got ${v === '' ? 'no value' : v}`);
    return x;
  };
  // npm drops `--` between its own options and the script's: `npm run bench quick` passes 'quick'.
  const stray = args.find((a) => !a.startsWith('--'));
  if (stray !== undefined)
    throw new Error(
      `unexpected argument ${stray}: options are --name or --name=value, after npm's own (npm run bench -- --quick)\n${USAGE}`,
    );
  for (const a of args) {
    if (
      a.startsWith('--') &&
      !/^--(sizes|step|cases|systems|reps|warmup|jit-warmup-ms|budget-ms|deadline-s|quick|out|machine|webgrad|browser|help)(=|$)/.test(
        a,
      )
    )
      throw new Error(`unknown option ${a}\n${USAGE}`);
    // A switch takes no value: --quick=false would otherwise turn quick mode on.
    if (/^--(quick|help)=/.test(a)) throw new Error(`${a.split('=')[0]} takes no value, got ${a}`);
    // A list or name given as --name, or --name= with nothing, would silently mean the default (or, for
    // --out, nothing written: say --out= for that).
    if (/^--(sizes|cases|systems|machine|webgrad|browser|step)=?$/.test(a))
      throw new Error(`${a.replace(/=$/, '')} needs a value, as ${a.replace(/=$/, '')}=...`);
    if (a === '--out') throw new Error('--out needs a folder, as --out=DIR (--out= writes nothing)');
  }
  // A flag given twice would be read from its first place and ignored in the second.
  const names = args.filter((a) => a.startsWith('--')).map((a) => a.split('=')[0]!);
  const twice = repeated(names);
  if (twice !== undefined) throw new Error(`${twice} is given more than once`);
  const quick = get('quick') !== undefined;
  const step = num('step', 2, 'count');
  const sizes: number[] = [];
  for (const part of list(get('sizes'), 'sizes')) {
    const m = /^(\d+)-(\d+)$/.exec(part);
    if (m) {
      const [lo, hi] = [Number(m[1]), Number(m[2])];
      if (lo > hi)
        throw new Error(`--sizes: the range ${part} is empty; write the smaller size first (${hi}-${lo})`);
      const off = (hi - lo) % step;
      if (off !== 0)
        throw new Error(
          `--sizes: the range ${part} does not end on its step of ${step} (--step); ` +
            `end it at ${hi - off} or set --step`,
        );
      for (let s = lo; s <= hi; s += step) sizes.push(s);
    } else if (/^\d+$/.test(part)) sizes.push(Number(part));
    else throw new Error(`--sizes: bad size ${part}`);
  }
  // Runs go from the smallest size up (the JIT warm-up and the first call are at the first size, and a
  // system is dropped at the first size its scaled time exceeds the budget), each size once.
  const twiceSize = repeated(sizes);
  if (twiceSize !== undefined) throw new Error(`--sizes: 2^${twiceSize} is given more than once`);
  sizes.sort((a, b) => a - b);
  if (get('step') !== undefined && !list(get('sizes'), 'sizes').some((p) => p.includes('-')))
    throw new Error('--step applies to a range of sizes (--sizes=a-b), and none is given');
  const beyond = sizes.find((s) => s < MIN_SIZE || s > MAX_SIZE);
  if (beyond !== undefined)
    throw new Error(
      `--sizes: ${beyond} is out of range: sizes are log2 of the point count, from ${MIN_SIZE} to ${MAX_SIZE}`,
    );
  const browser = get('browser') ?? 'chromium';
  if (!(BROWSERS as readonly string[]).includes(browser))
    throw new Error(`--browser must be one of ${BROWSERS.join(', ')}, got ${browser || 'no value'}`);
  const systems = list(get('systems'), 'systems');
  for (const s of systems)
    if (!(SYSTEM_IDS as readonly string[]).includes(s))
      throw new Error(`unknown system ${s}; systems: ${SYSTEM_IDS.join(', ')}`);
  // Two systems of one id would share its rows (and two webgrads, two init() calls).
  const twiceSystem = repeated(systems);
  if (twiceSystem !== undefined) throw new Error(`--systems: ${twiceSystem} is given more than once`);
  return {
    // 2^14: at least one size above webgrad's cpuBelow on a CPU adapter (8192 points), so that its kernels run.
    sizes: sizes.length === 0 && quick ? [10, 14] : sizes,
    cases: selectCases(list(get('cases'), 'cases')),
    systems: systems.length === 0 ? [...SYSTEM_IDS] : (systems as SystemId[]),
    reps: num('reps', quick ? 2 : 5, 'count'),
    warmup: num('warmup', quick ? 1 : 2, 'count0'),
    jitWarmupMs: num('jit-warmup-ms', quick ? 0 : 300, 'time0'),
    budgetMs: num('budget-ms', 5000, 'time'),
    deadlineS: num('deadline-s', Infinity, 'time'),
    quick,
    out: get('out') ?? 'bench/results',
    machine: get('machine') ?? '',
    webgrad: webgradOptions(get('webgrad')),
    browser: browser as BrowserName,
  };
}

/** --webgrad's JSON object (init() checks the options in it). */
function webgradOptions(v: string | undefined): Record<string, unknown> {
  if (v === undefined) return {};
  if (v === '') throw new Error("--webgrad must be a JSON object of webgrad's WebGPU options, got no value");
  let parsed: unknown;
  try {
    parsed = JSON.parse(v);
  } catch (e) {
    throw new Error(`--webgrad is not JSON (${e instanceof Error ? e.message : String(e)}): ${v}`, {
      cause: e,
    });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new Error(`--webgrad must be a JSON object of webgrad's WebGPU options, got ${v}`);
  return parsed as Record<string, unknown>;
}
