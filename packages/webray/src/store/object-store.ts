/**
 * Values in the shared object store, as one thread sees them. `put` encodes a value once into
 * shared memory (typed arrays out of band, raw); `read` gives it back with every typed array a
 * view of that memory — no copy. A view holds its object: while it is reachable (or until
 * `releaseView` / `Symbol.dispose`), the object is not freed, evicted or spilled.
 */
import { ObjectLostError, ObjectMutatedError } from '../shared/errors.js';
import { decodeValue, encodeValue, payloadBytes, type EncodedValue } from './value-codec.js';
import { PAGE } from './shared-memory.js';
import type { WasmStore } from './wasm-store.js';

/** Entry meta word: the bytes are a value-codec encoding. */
const META_VALUE = 1;
/** Growth step: at least this much, so a stream of puts does not grow page by page. */
const GROW_STEP = 16 * 1024 * 1024;
/** How long a reader waits for an object another thread is still writing. */
const SEAL_WAIT_MS = 10_000;

export interface ObjectStoreOptions {
  /** Values with at least this many payload bytes go to the store; smaller ones travel inline. */
  inlineLimit: number;
  /** Debug mode: checksum at seal, verified at every read and release (finds writes into sealed objects). */
  checks: boolean;
}

export type PutResult = { size: number } | 'full';

export class ObjectStore {
  /** Views this thread holds, per object; the thread holds one store reference per object with live views. */
  private readonly held = new Map<string, number>();
  private readonly viewIds = new WeakMap<object, string>();
  private readonly finalizer = new FinalizationRegistry<string>((id) => this.drop(id));
  /** Writes into sealed objects found in debug mode. */
  mutations = 0;

  constructor(readonly wasm: WasmStore, readonly options: ObjectStoreOptions) {}

  /** Does this value belong in the store rather than inline in a message? */
  isLarge(value: unknown): boolean {
    return payloadBytes(value, this.options.inlineLimit) >= this.options.inlineLimit;
  }

  /** Bytes of typed arrays and strings in a value, counted up to `limit`. */
  payloadBytes(value: unknown, limit: number): number {
    return payloadBytes(value, limit);
  }

  encode(value: unknown): EncodedValue {
    return encodeValue(value);
  }

  /**
   * Writes an encoded value as object `id` and seals it. A `pinned` object is a primary copy: it is
   * never evicted, only spilled. 'full' when there is no room even after evicting and growing.
   * Writing an id that exists is a no-op (a retried task re-creates the same ids).
   */
  write(id: string, value: EncodedValue, pinned = true): PutResult {
    const size = value.byteLength;
    const at = this.beginWrite(id, size, pinned);
    if (at === 'full') return 'full';
    if (at === 'exists') return { size };
    try {
      value.writeTo(this.wasm.bytes(), at);
    } catch (err) {
      this.abort(id);
      throw err;
    }
    this.seal(id, at, size);
    return { size };
  }

  /**
   * Starts writing an object whose encoded bytes arrive in pieces (a pull from another host):
   * the address to write at, 'exists', or 'full'. Finish with `seal`, or `abort` on failure.
   */
  beginWrite(id: string, size: number, pinned = true): number | 'exists' | 'full' {
    let e = this.wasm.create(id, size, META_VALUE, pinned);
    if (e === 'full' && this.makeRoom(size)) e = this.wasm.create(id, size, META_VALUE, pinned);
    return typeof e === 'string' ? e : e.data;
  }

  writeAt(address: number, bytes: Uint8Array): void {
    this.wasm.bytes().set(bytes, address);
  }

  seal(id: string, address: number, size: number): void {
    this.wasm.seal(id, this.options.checks ? this.wasm.checksum(address, size) : 0);
  }

  abort(id: string): void {
    this.wasm.abort(id);
  }

  /**
   * An object's encoded bytes as a view of shared memory, held until `done` is called (for
   * sending it to another host in chunks). Undefined if it is not here.
   */
  holdBytes(id: string): { bytes: Uint8Array; done: () => void } | undefined {
    const e = this.wasm.get(id);
    if (typeof e === 'string') return undefined;
    let held = true;
    return {
      bytes: this.wasm.bytes().subarray(e.data, e.data + e.size),
      done: () => { if (held) { held = false; this.wasm.release(id); } },
    };
  }

  /** Raw bytes of a spilled object back in the store (pinned, as a primary copy). */
  writeBytes(id: string, bytes: Uint8Array, pinned = true): PutResult {
    return this.write(id, { byteLength: bytes.byteLength, writeTo: (to, at) => to.set(bytes, at) }, pinned);
  }

  /** Room for `bytes` more: evicts unreferenced unpinned objects, then grows the memory. */
  makeRoom(bytes: number): boolean {
    const need = bytes + 64;
    if (this.wasm.largestFree() >= need) return true;
    this.wasm.evict(need);
    if (this.wasm.largestFree() >= need) return true;
    if (this.wasm.grow(Math.max(need + PAGE, GROW_STEP)) || this.wasm.grow(need + PAGE)) return this.wasm.largestFree() >= need;
    return false;
  }

  /** The value of object `id`; typed arrays inside are views of the shared memory that hold the object. */
  read(id: string): unknown {
    const e = this.acquire(id);
    if (this.options.checks) this.verify(id, e.data, e.size, e.sum, true);
    let value: unknown;
    try {
      value = decodeValue(this.wasm.buffer, e.data, e.size);
    } catch (err) {
      this.wasm.release(id);
      throw err;
    }
    const views = viewsOf(value, this.wasm.buffer);
    if (views.length === 0) {
      this.wasm.release(id);
      return value;
    }
    const n = this.held.get(id);
    if (n === undefined) this.held.set(id, views.length);
    else {
      this.held.set(id, n + views.length);
      this.wasm.release(id); // this thread already holds one reference
    }
    for (const v of views) this.track(v, id);
    return value;
  }

  /** Raw bytes of an object, copied out of shared memory (for spilling: IndexedDB refuses shared views). */
  copyBytes(id: string): Uint8Array | undefined {
    const e = this.wasm.get(id);
    if (typeof e === 'string') return undefined;
    const out = this.wasm.bytes().slice(e.data, e.data + e.size);
    this.wasm.release(id);
    return out;
  }

  /** Drops one view's hold now (ray.release, `using`). False if it is not a view of this store. */
  releaseView(view: object): boolean {
    const id = this.viewIds.get(view);
    if (id === undefined) return false;
    this.viewIds.delete(view);
    this.finalizer.unregister(view);
    this.drop(id);
    return true;
  }

  delete(id: string): void {
    this.wasm.delete(id);
  }

  private acquire(id: string): { data: number; size: number; sum: number } {
    const deadline = Date.now() + SEAL_WAIT_MS;
    for (;;) {
      const seq = this.wasm.sealSequence();
      const e = this.wasm.get(id);
      if (e === 'absent') throw new ObjectLostError(id, 'it is not in the object store (freed, or never written)');
      if (e !== 'unsealed') return e;
      if (Date.now() > deadline) throw new ObjectLostError(id, `its writer did not seal it within ${SEAL_WAIT_MS} ms`);
      this.wasm.waitForSeal(seq, 50);
    }
  }

  private track(view: object, id: string): void {
    this.viewIds.set(view, id);
    this.finalizer.register(view, id, view);
    Object.defineProperty(view, Symbol.dispose, { value: () => this.releaseView(view), configurable: true });
  }

  private drop(id: string): void {
    const n = (this.held.get(id) ?? 1) - 1;
    if (n > 0) { this.held.set(id, n); return; }
    this.held.delete(id);
    if (this.options.checks) {
      const e = this.wasm.get(id);
      if (typeof e !== 'string') {
        this.verify(id, e.data, e.size, e.sum, false);
        this.wasm.release(id);
      }
    }
    this.wasm.release(id);
  }

  private verify(id: string, data: number, size: number, sum: number, fatal: boolean): void {
    if (this.wasm.checksum(data, size) === sum) return;
    this.mutations++;
    const err = new ObjectMutatedError(id);
    if (fatal) {
      this.wasm.release(id);
      throw err;
    }
    console.error(err.message);
  }
}

/** Typed arrays and DataViews inside a decoded value that are views of `buffer`. */
function viewsOf(value: unknown, buffer: ArrayBufferLike): ArrayBufferView[] {
  if (ArrayBuffer.isView(value)) return value.buffer === buffer ? [value] : [];
  const out: ArrayBufferView[] = [];
  if (typeof value !== 'object' || value === null) return out;
  const seen = new Set<object>();
  const stack: unknown[] = [value];
  while (stack.length) {
    const v = stack.pop();
    if (typeof v !== 'object' || v === null || seen.has(v)) continue;
    seen.add(v);
    if (ArrayBuffer.isView(v)) { if (v.buffer === buffer) out.push(v); continue; }
    if (v instanceof Map) { for (const [k, x] of v) stack.push(k, x); continue; }
    if (v instanceof Set) { for (const x of v) stack.push(x); continue; }
    if (Array.isArray(v)) { for (const x of v) stack.push(x); continue; }
    for (const k of Object.keys(v)) stack.push((v as Record<string, unknown>)[k]);
  }
  return out;
}
