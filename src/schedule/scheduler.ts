/** The scheduler: collects what is asked for in one tick and realizes it together on the active backend. */
import { holdingMoreThan, topoSort, type Node } from '../graph/node.js';
import type { Backend } from './backend.js';
import { planKernels, storageNode } from './fuse.js';
import { CpuBackend } from '../backend/cpu.js';

interface Request {
  node: Node;
  /** Asked for by a read (data()), not only to be computed. */
  read: boolean;
  resolve: () => void;
  reject: (e: unknown) => void;
}

let active: Backend = new CpuBackend();
let queue: Request[] = [];
let scheduled = false;
// Nodes that are likely to be read soon (a loss and the gradients from its backward()); realized with
// the next batch so that they share its kernels. Held strongly until the task that hinted them ends, so
// that the usual backward-then-read in one task always finds them, and weakly after (see weakenHints): a
// gradient the program dropped unread is then not computed, and its graph and inputs can be collected.
// Not weakly from the start: a WeakRef keeps its target alive until the current job ends, and a loop whose
// reads resolve within the job (the CPU backend's) never ends it, so that every step's graph and inputs (a
// new batch's data each step) stayed alive until the loop yielded to the event loop. Bounded in number too.
const MAX_HINTS = 1024;
// Each with the number of the hint() call that made it: the nodes of one call (a step's value and
// gradients) are superseded together (see unconsumed). `ref` is a WeakRef once weakened.
let hints: { ref: { deref(): Node | undefined }; call: number }[] = [];
let calls = 0;
let weakening = false;

/** After the current task: the hints made in it, held weakly from then on. */
function weakenHints(): void {
  if (weakening) return;
  weakening = true;
  const timer = setTimeout(() => {
    weakening = false;
    // A strong holder always derefs to its node; a WeakRef is left as it is (deref() would keep its target
    // alive through this task).
    hints = hints.map((h) =>
      h.ref instanceof WeakRef ? h : { ref: new WeakRef(h.ref.deref()!), call: h.call },
    );
  }, 0);
  // In Node a pending timer keeps the process alive (browsers' timers are numbers, without unref).
  (timer as { unref?: () => void }).unref?.();
}

/** The backend that realizes pending work. */
export function activeBackend(): Backend {
  return active;
}

/** Makes `b` the backend for all later work. */
export function setBackend(b: Backend): void {
  active = b;
}

// Backends a later init() replaced whose buffers still hold values of nodes: a run on the active backend
// first brings the values it needs from them to the host, rather than recomputing them (their inputs may
// be gone) or failing.
const retired = new Set<Backend>();

// Runs under way, per backend: a backend retired while one is still planning or encoding keeps the values
// that run computes, which later runs elsewhere bring over.
const running = new Map<Backend, number>();

/** Retires `b` (see Backend.retire), remembering it while it holds values or runs work. */
export function retireBackend(b: Backend): void {
  b.retire?.();
  if (b.holdsValues?.() || running.has(b)) retired.add(b);
}

/** Host copies of the values that `targets` need from retired backends (see `retired`). */
async function bringOver(backend: Backend, targets: readonly Node[]): Promise<void> {
  for (const b of retired) if (!b.holdsValues?.() && !running.has(b)) retired.delete(b);
  if (retired.size === 0) return;
  const foreign = (n: Node): boolean => {
    const s = storageNode(n);
    return s.device !== null && !backend.has(s);
  };
  const found = topoSort(targets, (n) => backend.has(n) || foreign(n)).filter(foreign);
  await Promise.all(
    [...new Set(found.map(storageNode))].map(async (s) => {
      const d = s.device!;
      s.host = await d.read(s);
      // The storage goes back to its retired backend, which destroys it (and its device after the last).
      if (s.device === d) {
        s.device = null;
        d.release();
      }
    }),
  );
}

let hintsOff = 0;

/** Marks nodes to be computed together with the next realization. */
export function hint(nodes: readonly Node[]): void {
  if (hintsOff > 0) return;
  const call = ++calls;
  for (const n of nodes) hints.push({ ref: { deref: () => n }, call });
  if (hints.length > MAX_HINTS) hints = hints.slice(hints.length - MAX_HINTS);
  weakenHints();
}

/**
 * Forgets a hint: a `.grad` that backward() has just replaced by a larger sum. Left in, every replaced
 * sum of a loop of backward() calls would be an output of the next run, and the work grow as the
 * square of the number of calls.
 */
export function unhint(node: Node): void {
  for (let at = hints.length - 1; at >= 0; at--) {
    if (hints[at]!.ref.deref() === node) {
      hints.splice(at, 1);
      return;
    }
  }
}

/**
 * Runs `fn` without recording hints: for graphs evaluated elsewhere (float64 references), and for the
 * intermediates of a function being differentiated.
 */
export function withoutHints<T>(fn: () => T): T {
  hintsOff++;
  try {
    return fn();
  } finally {
    hintsOff--;
  }
}

/**
 * Resolves once `node` has values on the active backend; requests made in the same tick share kernels.
 * `read`: the values are about to be read, so a device backend may bring them back with the run.
 */
export function realize(node: Node, read = false): Promise<void> {
  if (active.has(node)) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    queue.push({ node, read, resolve, reject });
    if (!scheduled) {
      scheduled = true;
      queueMicrotask(() => {
        const f = flush();
        flushes.add(f);
        void f.finally(() => flushes.delete(f));
      });
    }
  });
}

// Flushes under way: synchronize() waits for the work they plan and submit before the device's queue.
const flushes = new Set<Promise<void>>();

/**
 * Resolves once every realization asked for before the call has been planned and handed to its backend (or
 * has failed): the work a `realize()` not awaited asked for is then in the device's queue.
 */
export async function requested(): Promise<void> {
  // A flush scheduled now starts on a microtask queued before this one resumes. Only the flushes under way
  // then are waited for: requests made later (a loop of realize() in another task) must not hold this up.
  if (scheduled) await Promise.resolve();
  await Promise.allSettled([...flushes]);
}

async function flush(): Promise<void> {
  scheduled = false;
  const batch = queue;
  queue = [];
  const hinted = hints
    .map((h) => ({ node: h.ref.deref(), call: h.call }))
    .filter((h): h is { node: Node; call: number } => h.node !== undefined && isSafeHint(h.node));
  hints = [];
  const backend = active;
  const wanted = batch.map((r) => r.node);
  const extra = unconsumed(hinted, backend);
  const reads = batch.filter((r) => r.read).map((r) => r.node);
  try {
    await runAll(backend, [...wanted, ...extra], reads);
    for (const r of batch) r.resolve();
  } catch {
    // One bad request must not fail the others: realize each alone, so only the culprit rejects.
    for (const r of batch) {
      try {
        await runAll(backend, [r.node], r.read ? [r.node] : []);
        r.resolve();
      } catch (e) {
        r.reject(e);
      }
    }
  }
}

/**
 * The hinted nodes of the hint() calls none of whose nodes a later call's hinted node was built from. A
 * gradient that a later step's gradient was built from (through the update of the parameter, in a training
 * loop) was superseded rather than dropped unread, and so was the value computed with it: they are computed
 * inside the work that uses them, or not at all, instead of stored. A loop that reads nothing until the end
 * would otherwise store every step's value and gradients, each an output of the one run at the end (a buffer
 * each, and on WebGPU a kernel per few of them). A gradient that only the wanted nodes use (a norm of it,
 * read first) is still stored, for the read that is likely to follow, and so is a value that its own call's
 * gradient is built from (sqrt's derivative reads sqrt).
 */
function unconsumed(hinted: readonly { node: Node; call: number }[], backend: Backend): Node[] {
  const nodes = hinted.map((h) => h.node);
  if (new Set(hinted.map((h) => h.call)).size < 2) return nodes;
  const callOf = new Map<Node, number>();
  for (const h of hinted) callOf.set(h.node, Math.max(callOf.get(h.node) ?? 0, h.call));
  // What a hinted node was built from was made before it (ids grow with creation): the walk stops below the
  // oldest, however long the history behind.
  const oldest = Math.min(...nodes.map((n) => n.id));
  const order = topoSort(nodes, (m) => backend.has(m) || m.id < oldest);
  // The latest call with a hinted node built from each node, passed from users to inputs.
  const later = new Map<Node, number>();
  for (let i = order.length - 1; i >= 0; i--) {
    const n = order[i]!;
    const v = Math.max(later.get(n) ?? 0, callOf.get(n) ?? 0);
    if (v === 0) continue;
    for (const c of n.inputs) if (v > (later.get(c) ?? 0)) later.set(c, v);
  }
  const superseded = new Set(hinted.filter((h) => (later.get(h.node) ?? 0) > h.call).map((h) => h.call));
  return hinted.filter((h) => !superseded.has(h.call)).map((h) => h.node);
}

function isSafeHint(n: Node): boolean {
  return !n.disposed && !storageNode(n).disposed;
}

// A stored value (a run's target, or one a later run read again: see planKernels) with more computed
// values than this behind it is settled: brought to the host with the run's results and made a leaf. A
// loop that updates a parameter step by step, reading or realizing it or not, then keeps a bounded
// history (a few steps: 32 computed values), where each step's graph and buffers would otherwise live on with it.
const SETTLE_AFTER = 32;

// Values of at most this many elements settle whenever they hold a long history; larger ones only where
// they would hold it with those made leaves, or where they are read anyway.
const SETTLE_SMALL = 4096;

/**
 * The outputs of a run to settle (see SETTLE_AFTER): a run of a training step stores its parameters (a few
 * values each) and its per-point intermediates (the activations of a batch), whose histories run through
 * the parameters. Settling the parameters cuts those too, so the intermediates are not read back (an MLP's
 * step read back 1.4 MB of them for a loss of 4 bytes). Not read back either, a large value that the program
 * no longer holds is collected with its history; one it keeps, whose history no small value cuts (a large
 * parameter updated step by step), still settles.
 */
function settling(outputs: ReadonlySet<Node>, stored: (n: Node) => boolean, reads: readonly Node[]): Node[] {
  const own = [...outputs].filter((n) => n.stopsGradients && storageNode(n) === n);
  const long = holdingMoreThan(own, SETTLE_AFTER, stored);
  const read = new Set(reads.map(storageNode));
  // Whether a large value holds a long history is counted with every small value of the run a leaf, long
  // or not: one whose history is still short (a parameter updated in place of the last, whose own history
  // is a step or two) settles a run later, and the large one's history through it stays bounded. Counted
  // with only the long ones as leaves, the activations of a batch settled in their stead, 16 MB a step
  // read back where the loss was 4 bytes.
  const small = new Set(own.filter((n) => n.size <= SETTLE_SMALL || read.has(n)));
  const large = holdingMoreThan(
    own.filter((n) => long.has(n) && !small.has(n)),
    SETTLE_AFTER,
    stored,
    small,
  );
  return own.filter((n) => long.has(n) && (small.has(n) || large.has(n)));
}

// The values runs under way compute, each with its run: a later run that needs one waits for that run
// rather than computing it again (the outputs of a run that waits for its range-reduction flag look
// unrealized until then), which would cost the work twice and could leave the node with values from one
// backend and its users with values from the other.
const computing = new Map<Node, Promise<void>>();

/** Waits for the runs under way that compute values `todo` needs; true if there were any. */
async function awaitComputing(backend: Backend, todo: readonly Node[]): Promise<boolean> {
  const runs = new Set<Promise<void>>();
  topoSort(todo, (n) => {
    const s = storageNode(n);
    if (backend.has(s)) return true;
    const run = computing.get(s);
    if (run) runs.add(run);
    return run !== undefined;
  });
  if (runs.size === 0) return false;
  await Promise.allSettled(runs);
  return true;
}

async function runAll(backend: Backend, targets: readonly Node[], reads: readonly Node[]): Promise<void> {
  running.set(backend, (running.get(backend) ?? 0) + 1);
  try {
    await runAllOn(backend, targets, reads);
  } finally {
    const left = running.get(backend)! - 1;
    if (left > 0) running.set(backend, left);
    else running.delete(backend);
  }
}

async function runAllOn(backend: Backend, targets: readonly Node[], reads: readonly Node[]): Promise<void> {
  let todo = targets.filter((n) => !backend.has(n));
  if (todo.length === 0) return;
  if (computing.size > 0 && (await awaitComputing(backend, todo))) {
    todo = todo.filter((n) => !backend.has(n));
    if (todo.length === 0) return;
  }
  if (retired.size > 0) {
    await bringOver(backend, todo);
    todo = todo.filter((n) => !backend.has(n));
    if (todo.length === 0) return;
  }
  const kernels = planKernels(todo, (n) => backend.has(n), true, backend.bindings);
  // A run planned now keeps what it computes, whatever a disposed view said of an earlier one.
  for (const k of kernels) for (const o of k.outputs) o.node.unwanted = false;
  // The values this run stores count as stored already: a loop that reads nothing until the end stores a
  // value per step in one run, and its history is then as long as the loop (counting only values of
  // earlier runs, none would settle, and each count would walk all of it).
  const outputs = new Set(kernels.flatMap((k) => k.outputs.map((o) => o.node)));
  const stored = (n: Node): boolean => outputs.has(n);
  const settle = settling(outputs, stored, reads);
  const run = Promise.resolve(backend.run(kernels, settle.length > 0 ? [...reads, ...settle] : reads));
  for (const n of outputs) computing.set(n, run);
  try {
    await run;
  } finally {
    for (const n of outputs) if (computing.get(n) === run) computing.delete(n);
  }
  // Host values where the run left them there (the CPU), read back otherwise; not for a value disposed
  // while the run was in flight. Awaited together, so that one failed read leaves no other unhandled.
  const kept = settle.filter((n) => !n.disposed && !n.unwanted);
  const values = await Promise.all(kept.map((n) => n.host ?? backend.read(n)));
  kept.forEach((n, i) => n.settle(values[i]!));
}
