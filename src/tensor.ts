/** Tensor: a handle on a graph node, with PyTorch-style gradient bookkeeping and async reads. */
import { copyToF32, Node, type Viewers } from './graph/node.js';
import { fmtShape, sameShape, sizeOf, type Shape } from './graph/shape.js';
import { gradients, onesLike } from './autodiff/grad.js';
import { apply, constant, expand, leaf, leafOf, reshape } from './ops/build.js';
import { opRow } from './ops/table.js';
import { activeBackend, hint, realize, unhint } from './schedule/scheduler.js';
import { storageNode } from './schedule/fuse.js';
import { checkOptions, optionNames, written } from './options.js';

/** Nested arrays of numbers, any depth. */
export type NestedArray = number | readonly NestedArray[];

/** What `tensor()` accepts as data. */
export type TensorData = NestedArray | Float32Array | Float64Array;

/** Options of `tensor()`. */
export interface TensorOptions {
  /** Track gradients with respect to this tensor (it becomes a leaf whose `.grad` backward fills). */
  requiresGrad?: boolean;
  /** Shape to give flat data (its size must match). */
  shape?: readonly number[];
  /**
   * false: use a Float32Array as it is instead of copying it (as torch.from_numpy shares), which saves a
   * copy of large inputs; the array must then stay unchanged while the tensor is in use. Other data is
   * converted, so copied, either way. A tensor given as data is copied as well (when its values are
   * computed); with copy: false, one made from an array keeps sharing that array. Default true.
   */
  copy?: boolean;
}

/** Options of `backward()`. */
export interface BackwardOptions {
  /** Keep the gradients differentiable (for higher derivatives through `.grad`), as PyTorch's create_graph. */
  createGraph?: boolean;
  /**
   * Accepted for code written for PyTorch, where it keeps the graph for another backward(): webgrad's graphs
   * are values that stay usable, so backward() through one again adds its gradients again, whatever this says.
   */
  retainGraph?: boolean;
}

const NON_LEAF_GRAD =
  'webgrad: .grad of a tensor that is not a leaf is read: backward() does not fill it, so it is null. ' +
  'Call retainGrad() on it before backward() to have it filled, or make the updated values a new leaf ' +
  '(w = tensor(w.sub(w.grad!.mul(lr)), { requiresGrad: true })). Said once.';
let nonLeafWarned = false;

/** One view of some node's values is gone: a dispose() held back for the views runs once none is left. */
function unview(v: Viewers): void {
  if (--v.count > 0) return;
  const after = v.after;
  v.after = null;
  after?.();
}

// Views collected without a dispose() count down too (the registry holds the count, not the node: a view
// must not keep alive the graph behind the node it views, a gradient's unread, say).
const viewsGone = new FinalizationRegistry<Viewers>(unview);

const REQUIRES_GRAD_SET =
  'whether gradients flow to a tensor is fixed when it is made: tensor(w, { requiresGrad: true }) makes a ' +
  "leaf of w's values that requires grad (PyTorch's w.detach().requires_grad_())";

/** A lazily evaluated n-dimensional float32 array that can take part in differentiation. */
export class Tensor {
  private accumulated: Tensor | null = null;
  // Reads under way (data(), item(), realize()), and whether dispose() was called: see dispose().
  private reading = 0;
  private released = false;
  // Where this tensor is a view of another's values: the count of their views it is in (see dispose()).
  private viewing: Viewers | null = null;
  /** @internal The graph node this tensor is a handle on. */
  readonly node: Node;

  /** @internal Wraps a graph node; use `tensor()` to make tensors. */
  constructor(node: Node) {
    // `new Tensor([1, 2, 3])` is torch.Tensor's habit; here it would make a handle on no graph that fails
    // later with a TypeError far from the cause.
    if (!(node instanceof Node))
      throw new Error(
        `new Tensor() of ${describe(node)}: tensors are made with tensor(data), zeros(shape), linspace(...) and the like; the Tensor constructor is internal`,
      );
    // One tensor per node. An identity (x * 1, x + 0, --x, a gradient that is some input's node) hands
    // back a node another tensor holds, and sharing it would share that tensor's gradient slot and
    // disposal; as x * 1 is a tensor of its own in PyTorch, the new tensor gets a fresh identity node (a
    // view of the same values, which kernels read through at no cost).
    this.node = node.held ? apply('id', [node]) : node;
    this.node.held = true;
    // Counted only where another tensor holds the values (one that can be disposed): most views are of values
    // no tensor holds (a sum is a reshape of its reduction), and counting those would keep a record of each
    // in a loop that never yields until it yields.
    const s = storageNode(this.node);
    if (s !== this.node && s.held) {
      this.viewing = s.viewers ??= { count: 0, after: null };
      this.viewing.count++;
      viewsGone.register(this, this.viewing, this);
    }
  }

  /** Dimension sizes, outermost first. */
  get shape(): number[] {
    return [...this.node.shape];
  }

  /** Number of elements. */
  get size(): number {
    return this.node.size;
  }

  /** Number of dimensions. */
  get ndim(): number {
    return this.node.shape.length;
  }

  /** Whether gradients flow to this tensor. */
  get requiresGrad(): boolean {
    return this.node.requiresGrad;
  }

  /** Refused with a message: whether gradients flow is fixed when a tensor is made (see requires_grad). */
  set requiresGrad(_: boolean) {
    throw new Error(REQUIRES_GRAD_SET);
  }

  /**
   * PyTorch's spelling, refused: `w.requires_grad = true` would otherwise add a property that changes nothing
   * (PyTorch's requires_grad_() is tensor(w, { requiresGrad: true }) here).
   */
  set requires_grad(_: boolean) {
    throw new Error(REQUIRES_GRAD_SET);
  }

  /** See the setter: there is no requires_grad to read either. */
  get requires_grad(): never {
    throw new Error(`requires_grad is PyTorch's spelling: read requiresGrad. ${REQUIRES_GRAD_SET}`);
  }

  /**
   * True for tensors made by `tensor()` and, as in PyTorch, for every tensor that does not require grad
   * (so a value a loop settles, see the README, stays what it was).
   */
  get isLeaf(): boolean {
    return this.node.stopsGradients;
  }

  /**
   * The gradient accumulated by `backward()` (null until then); assign null to reset it. Read on a tensor
   * that backward() never fills (computed, requiring grad, without retainGrad()) it is null, with a warning
   * once per program, as PyTorch warns: the usual slip of a ported update `w = w.sub(w.grad.mul(lr))`.
   */
  get grad(): Tensor | null {
    if (this.accumulated === null && !nonLeafWarned && this.node.requiresGrad && !this.isLeaf) {
      if (this.node.owner !== this) {
        nonLeafWarned = true;
        console.warn(NON_LEAF_GRAD);
      }
    }
    return this.accumulated;
  }

  /** Takes null (a reset, as PyTorch's `x.grad = None`) or a Tensor of this tensor's shape. */
  set grad(g: Tensor | null) {
    if (g === null) {
      this.accumulated = null;
      return;
    }
    if (!(g instanceof Tensor))
      throw new Error(`.grad can be set to null or a Tensor, not to ${describe(g)}`);
    g.assertLive('.grad');
    if (!sameShape(g.node.shape, this.node.shape)) {
      throw new Error(
        `.grad: a gradient of shape ${fmtShape(g.node.shape)} cannot be assigned to a tensor of shape ${fmtShape(this.node.shape)}`,
      );
    }
    this.accumulated = g;
  }

  /**
   * Adds d(this)/d(leaf), weighted by `gradient`, to `.grad` of every leaf with requiresGrad and every
   * tensor that called `retainGrad()`. A non-scalar tensor needs `gradient` (its shape), as in PyTorch.
   */
  backward(gradient?: Tensor | TensorData, opts: BackwardOptions = {}): void {
    this.assertLive('backward()');
    checkOptions('backward()', opts, BACKWARD_OPTIONS);
    if (gradient !== undefined && !(gradient instanceof Tensor) && !isTensorData(gradient)) {
      const got =
        gradient === null ? 'null' : typeof gradient === 'object' ? 'an object' : `a ${typeof gradient}`;
      throw new Error(
        `backward(gradient): the gradient must be a Tensor, a number or an array of numbers, got ${got}` +
          (gradient !== null && typeof gradient === 'object'
            ? '; options go second: backward(undefined, { createGraph: true })'
            : ''),
      );
    }
    if (!this.node.requiresGrad) {
      throw new Error(
        'backward(): this tensor does not require grad: none of the tensors it was computed from was ' +
          'created with { requiresGrad: true }, or they reach it only through ops that pass no gradient ' +
          '(comparisons, detach)',
      );
    }
    let seed: Node;
    if (gradient === undefined) {
      if (this.size !== 1) {
        throw new Error(
          `backward(): a gradient can be implied only for a scalar output, but this tensor has shape ` +
            `${fmtShape(this.node.shape)}; call backward(gradient) with a tensor of that shape, or reduce it first (sum/mean)`,
        );
      }
      seed = onesLike(this.node);
    } else {
      const g = gradient instanceof Tensor ? gradient : tensor(gradient);
      g.assertLive('backward(gradient)');
      if (!sameShape(g.node.shape, this.node.shape)) {
        throw new Error(
          `backward(gradient): gradient has shape ${fmtShape(g.node.shape)} but the tensor has shape ${fmtShape(this.node.shape)}`,
        );
      }
      seed = g.node;
    }
    const owners = new Map<Node, Tensor>();
    for (const n of reachedThroughGradients(this.node)) {
      const t = n.owner;
      if (t instanceof Tensor) owners.set(n, t);
    }
    const wrt = [...owners.keys()];
    const gs = gradients([this.node], [seed], wrt);
    // The gradients are computed together, and with the output when it is read in the same tick; the
    // output alone is not hinted: a loss nobody reads would cost a reduction and a second dispatch.
    const created: Node[] = [];
    wrt.forEach((n, i) => {
      // A tensor the output depends on only through ops whose derivative is 0 everywhere (the masks in the
      // gradient of relu or abs, floor) gets zeros, as in PyTorch (one behind an inert operand is not reached).
      const g = gs[i] ?? expand(constant(0), n.shape);
      const t = owners.get(n)!;
      const fresh = opts.createGraph ? g : apply('detach', [g]);
      const old = t.grad && !t.grad.isDisposed ? t.grad.node : null;
      if (old) unhint(old);
      const sum = old ? apply('add', [old, fresh]) : fresh;
      t.grad = new Tensor(sum);
      // The tensor's own node: an identity view where sum is some other tensor's node (see the constructor).
      created.push(t.grad.node);
    });
    hint(created);
  }

  /** Makes `backward()` fill `.grad` of this non-leaf tensor too (PyTorch's retain_grad). */
  retainGrad(): void {
    this.assertLive('retainGrad()');
    if (!this.node.requiresGrad) {
      throw new Error('retainGrad(): this tensor does not require grad, so it never gets a gradient');
    }
    this.node.owner = this;
  }

  /** The same values, cut off from differentiation. */
  detach(): Tensor {
    this.assertLive('detach()');
    return new Tensor(apply('detach', [this.node]));
  }

  /** Computes pending work and resolves with a copy of the values. */
  async data(): Promise<Float32Array> {
    this.assertLive('data()');
    this.reading++;
    try {
      await realize(this.node, true);
      // A lost device hands over to the CPU between realizing and reading: realize again on the new backend.
      for (let tries = 0; tries < 3 && !activeBackend().has(this.node); tries++) await realize(this.node);
      return await activeBackend().read(this.node);
    } finally {
      this.readEnded();
    }
  }

  /** The value of a one-element tensor. */
  async item(): Promise<number> {
    this.assertLive('item()');
    if (this.size !== 1) {
      throw new Error(
        `item(): the tensor has ${this.size} elements (shape ${fmtShape(this.node.shape)}); item() needs exactly one`,
      );
    }
    return (await this.data())[0]!;
  }

  /**
   * Computes pending work, keeping the result where it lives (on the GPU for WebGPU). Resolves once the
   * work is submitted (for kernels with sin, cos or tan that speculate on their range, as on CPU adapters
   * by default, once their range check came back; for a value with a long history, once it is settled on
   * the host: see the scheduler); synchronize() waits for the device to finish.
   */
  async realize(): Promise<void> {
    this.assertLive('realize()');
    this.reading++;
    try {
      await realize(this.node);
    } finally {
      this.readEnded();
    }
  }

  /** One read under way has ended: a dispose() asked for meanwhile (see there) is done once none is left. */
  private readEnded(): void {
    if (--this.reading === 0 && this.released) this.dispose();
  }

  /**
   * Frees the values now (once the reads under way, data(), item() or realize(), have them, and the tensors
   * that are views of them, a reshape or a detach(), are gone); using the tensor, or anything computed from
   * it, afterwards is an error.
   */
  dispose(): void {
    // A read asked for before dispose() gets its values, as `const d = t.data(); t.dispose(); return d`
    // expects: the tensor counts as disposed at once, and its values are freed when the last read ends.
    this.released = true;
    if (this.reading > 0) return;
    const n = this.node;
    // Views of this tensor's values that other tensors hold (b = a.reshape(...), a.detach(), a.mul(1)) keep
    // them, as TensorFlow.js's do: they were freed under the views, which then failed as uses of a disposed
    // tensor. This tensor's own are freed once the last view is disposed or collected.
    if (this.viewing) {
      viewsGone.unregister(this);
      const v = this.viewing;
      this.viewing = null;
      unview(v);
    }
    if (n.viewers && n.viewers.count > 0) {
      n.viewers.after = () => this.dispose();
      return;
    }
    n.disposed = true;
    n.free();
    n.host = null;
    // A `.grad` or a sum is often a view (detach, reshape) of the node that holds the values: free that
    // too. Anything else reading it recomputes it; a leaf keeps its host data (free() leaves it).
    // Not where another tensor holds that node (y = x * 1 is a view of x, and x lives on).
    const s = storageNode(n);
    if (s !== n && !s.held) {
      s.free();
      // Its run may be in flight: the values it brings back are then not kept either.
      s.unwanted = true;
    }
  }

  /** True once `dispose()` was called. */
  get isDisposed(): boolean {
    return this.released || this.node.disposed;
  }

  /** Short description: shape and whether it requires grad. */
  toString(): string {
    return `Tensor(shape=${fmtShape(this.node.shape)}${this.requiresGrad ? ', requiresGrad' : ''})`;
  }

  /**
   * JSON.stringify of a tensor is an error that says how to read its values (they may not be computed yet,
   * and stringify cannot wait), rather than one about the circular graph behind it.
   */
  toJSON(): never {
    throw new Error(
      `JSON.stringify of ${this.toString()}: its values are read with await t.data() (a Float32Array), ` +
        'then Array.from(values) for JSON',
    );
  }

  /** Node's console.log and util.inspect show the description, not the graph behind the tensor. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }

  /**
   * A tensor in JavaScript arithmetic (`x * 2`, `x < 1`, `x + 1`) is an error naming the way to do it, instead
   * of a silent NaN or string; as a string (a template literal, String(x)) it is its description.
   */
  [Symbol.toPrimitive](hint: string): string {
    if (hint === 'string') return this.toString();
    throw new Error(
      `${this.toString()} used as a JavaScript number: use its methods or the op functions for arithmetic ` +
        '(x.mul(2), add(x, 1)) and comparisons (x.lt(0), eq(x, y)), and await x.item() or x.data() for its ' +
        "values; in text, + cannot tell it from addition: write `${x}` or String(x) ('loss ' + x is refused)",
    );
  }

  /** @internal Throws when the tensor was disposed. */
  assertLive(what: string): void {
    if (this.isDisposed) throw new Error(`${what}: the tensor was disposed`);
  }
}

const TENSOR_OPTIONS = optionNames<TensorOptions>({ requiresGrad: true, shape: true, copy: true });
const BACKWARD_OPTIONS = optionNames<BackwardOptions>({ createGraph: true, retainGraph: true });

/** @internal Whether `v` is of a kind tensor() takes as data (its contents are checked there). */
export function isTensorData(v: unknown): v is TensorData {
  return typeof v === 'number' || Array.isArray(v) || v instanceof Float32Array || v instanceof Float64Array;
}

/**
 * Makes a tensor from a number, nested arrays of numbers or a typed array (copied unless `copy: false`), or
 * from a tensor: its values, cut off from its history, computed when they are needed rather than read now.
 */
export function tensor(data: TensorData | Tensor, opts: TensorOptions = {}): Tensor {
  checkOptions('tensor()', opts, TENSOR_OPTIONS);
  const copy = opts.copy ?? true;
  if (typeof copy !== 'boolean') throw new Error(`tensor(): copy must be a boolean, got ${typeof copy}`);
  const rg = opts.requiresGrad ?? false;
  if (typeof rg !== 'boolean') throw new Error(`tensor(): requiresGrad must be a boolean, got ${typeof rg}`);
  if (data instanceof Tensor) {
    data.assertLive('tensor()');
    const n = data.node;
    const shape = givenShape(opts.shape, n.shape, n.size);
    // A leaf's values are at hand (copied, as other data is, unless copy: false); a computed tensor's are
    // copied when they are computed (PyTorch's t.detach().clone(), with requiresGrad .requires_grad_()).
    const made =
      n.op === 'leaf' && n.host !== null
        ? leaf(copy ? copyToF32(n.host) : n.host, shape, rg)
        : leafOf(reshape(n, shape), rg);
    return rg ? owned(new Tensor(made)) : new Tensor(made);
  }
  const { values, shape: inferred } = flatten(data, copy);
  const shape = givenShape(opts.shape, inferred, values.length);
  if (values.length === 0)
    throw new Error(`tensor(): empty data (shape ${fmtShape(shape)}); tensors need at least one element`);
  const t = new Tensor(leaf(values, shape, rg));
  return rg ? owned(t) : t;
}

/** `t`, made the owner of its node's gradient slot (a leaf that requires grad). */
function owned(t: Tensor): Tensor {
  t.node.owner = t;
  return t;
}

/** The `shape` option of tensor() checked against the data's `size` elements, or `inferred` without one. */
function givenShape(s: readonly number[] | undefined, inferred: Shape, size: number): Shape {
  if (s === undefined) return inferred;
  if (!Array.isArray(s) || !s.every((d) => Number.isInteger(d) && d >= 0))
    throw new Error(`tensor(): shape must be an array of non-negative integers, got ${written(s)}`);
  if (sizeOf(s) !== size) {
    throw new Error(`tensor(): shape ${fmtShape(s)} has ${sizeOf(s)} elements but the data has ${size}`);
  }
  return [...s];
}

/** @internal A tensor over float64 values, for the float64 reference evaluation of gradient checks. */
export function tensorF64(values: Float64Array, shape: Shape): Tensor {
  return new Tensor(leaf(values, shape, false));
}

function flatten(data: TensorData, copy: boolean): { values: Float32Array; shape: number[] } {
  if (typeof data === 'number') return { values: Float32Array.of(data), shape: [] };
  if (data instanceof Float32Array) return { values: copy ? data.slice() : data, shape: [data.length] };
  if (data instanceof Float64Array) return { values: new Float32Array(data), shape: [data.length] };
  if (!Array.isArray(data)) {
    throw new Error(
      `tensor(): data must be a number, nested arrays of numbers, a Float32Array or a Float64Array; got ${describe(data)}`,
    );
  }
  const shape: number[] = [];
  for (let d: unknown = data; Array.isArray(d); d = d[0]) shape.push(d.length);
  const out = new Float32Array(sizeOf(shape));
  let k = 0;
  const walk = (d: unknown, depth: number, path: string): void => {
    if (depth === shape.length) {
      if (Array.isArray(d)) {
        throw new Error(`tensor(): ragged data: an array at ${path} where a number was expected`);
      }
      if (typeof d !== 'number') {
        throw new Error(`tensor(): data must be numbers; found ${describe(d)} at ${path || 'the top'}`);
      }
      out[k++] = d;
      return;
    }
    if (!Array.isArray(d)) {
      throw new Error(
        `tensor(): ragged data: ${describe(d)} at ${path} where an array of length ${shape[depth]} was expected`,
      );
    }
    if (d.length !== shape[depth]) {
      throw new Error(
        `tensor(): ragged data: the array at ${path || 'the top'} has length ${d.length}, expected ${shape[depth]}`,
      );
    }
    for (let i = 0; i < d.length; i++) {
      // forEach would skip an empty slot ([1, , 3]) and shift the rest: a hole is an error.
      if (!(i in d)) {
        throw new Error(`tensor(): the array at ${path || 'the top'} has an empty slot at index ${i}`);
      }
      walk(d[i], depth + 1, `${path}[${i}]`);
    }
  };
  walk(data, 0, '');
  return { values: out, shape };
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
  return typeof v === 'object' ? (v.constructor?.name ?? 'an object') : `${typeof v} ${String(v)}`;
}

/**
 * The nodes requiring grad that `out` depends on through operands that gradients flow back through: the walk
 * stops at nodes that do not require grad (a value computed from leaves without requiresGrad, however long
 * its history) and at inert operands (a comparison's, where's condition: PyTorch's booleans get no gradient).
 */
function reachedThroughGradients(out: Node): Set<Node> {
  const seen = new Set<Node>();
  const stack = [out];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (seen.has(n) || !n.requiresGrad) continue;
    seen.add(n);
    const inert = opRow(n.op)?.inert;
    n.inputs.forEach((m, i) => {
      if (!inert?.includes(i)) stack.push(m);
    });
  }
  return seen;
}
