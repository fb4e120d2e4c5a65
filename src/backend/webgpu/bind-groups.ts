/**
 * Bind groups by what they bind: a repeated run binds the same pooled buffers at the same offsets, so its
 * bind groups are made once (making one is a native call and an object for the garbage collector each).
 */

// Bind groups kept (least recently used dropped first).
const MAX_GROUPS = 1024;

/** One buffer binding: the entry's buffer, offset and size. */
export interface BufferEntry {
  readonly binding: number;
  readonly resource: { readonly buffer: GPUBuffer; readonly offset?: number; readonly size: number };
}

/** Bind groups keyed by layout and bound buffer ranges. */
export class BindGroupCache {
  private readonly groups = new Map<string, GPUBindGroup>();
  // Numbers for layouts and buffers, for the keys. A buffer the pool destroyed is never handed out
  // again, so no key with its number is asked for again and its groups age out.
  private readonly ids = new WeakMap<object, number>();
  private next = 0;
  /** Bind groups made (the rest of the requests were found kept). */
  created = 0;

  constructor(private readonly device: GPUDevice) {}

  private id(o: object): number {
    let v = this.ids.get(o);
    if (v === undefined) this.ids.set(o, (v = this.next++));
    return v;
  }

  /** The bind group of `layout` with `entries`, made when new. */
  get(layout: GPUBindGroupLayout, entries: readonly BufferEntry[]): GPUBindGroup {
    let key = String(this.id(layout));
    for (const e of entries)
      key += ` ${e.binding}:${this.id(e.resource.buffer)}:${e.resource.offset ?? 0}:${e.resource.size}`;
    let g = this.groups.get(key);
    if (g) this.groups.delete(key);
    else {
      g = this.device.createBindGroup({ layout, entries: entries as GPUBindGroupEntry[] });
      this.created++;
      if (this.groups.size >= MAX_GROUPS) this.groups.delete(this.groups.keys().next().value!);
    }
    this.groups.set(key, g);
    return g;
  }

  /** Forgets every group (their buffers are gone: the device was lost). */
  clear(): void {
    this.groups.clear();
  }
}
