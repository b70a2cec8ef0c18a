/**
 * The WASM object store as the host and each worker see it: one instance of the module per
 * thread, all over the same shared memory. This layer speaks in object ids and entry fields;
 * values are ObjectStore's business (object-store.ts).
 */
import { STORE_WASM_BASE64 } from './store-wasm.generated.js';
import type { StoreHandle } from '../shared/protocol.js';
import { PAGE, reserveSharedMemory } from './shared-memory.js';


interface Exports {
  init(at: number, tableCap: number, maxPages: number): number;
  attach(at: number): number;
  create(...a: [...Key, size: number, meta: number, flags: number]): number;
  seal(...a: [...Key, sum: number]): number;
  abort(...k: Key): number;
  get(...k: Key): number;
  release(...k: Key): number;
  del(...k: Key): number;
  removeIfUnreferenced(...k: Key): number;
  evict(bytes: number): number;
  grow(pages: number): number;
  largestFree(): number;
  freeBytes(): number;
  pages(): number;
  checksum(data: number, size: number): number;
}

type Key = [number, number, number, number, number, number, number, number];

/** The store's header sits past the module's (empty) static data, at 64 KiB. */
const BASE = PAGE;
/** An object's block: header [block size, used, object size, meta] before its bytes, footer [block size, checksum] (see wasm/assembly/store.ts). */
const B_SIZE = -16;
const B_OBJECT_SIZE = -8;
const B_META = -4;
const F_SUM = 4;
/** Header fields. */
const H_HEAP_END = 20;
const H_COUNT = 28;
const H_USED = 36;
const H_SEAL_SEQ = 44;
const H_OBJECT_BYTES = 52;

export const MAX_ID_LENGTH = 32;

let compiled: Promise<WebAssembly.Module> | undefined;

function wasmBytes(): Uint8Array {
  const text = atob(STORE_WASM_BASE64);
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

/** An entry as read under a reference: where its bytes are. */
export interface Entry {
  data: number;
  size: number;
  meta: number;
  sum: number;
}

export class WasmStore {
  private readonly x: Exports;
  private readonly key: Key = [0, 0, 0, 0, 0, 0, 0, 0];
  private u32: Uint32Array;
  private i32: Int32Array;
  private u8: Uint8Array;
  /** Atomics.wait throws on a browser's main thread: the lock spins there instead. */
  private readonly canBlock: boolean;

  private constructor(readonly handle: StoreHandle, instance: WebAssembly.Instance) {
    this.x = instance.exports as unknown as Exports;
    this.u32 = new Uint32Array(handle.memory.buffer);
    this.i32 = new Int32Array(handle.memory.buffer);
    this.u8 = new Uint8Array(handle.memory.buffer);
    this.canBlock = threadCanBlock(this.i32);
  }

  private static imports(memory: WebAssembly.Memory, self: () => WasmStore | undefined): WebAssembly.Imports {
    const lockView = new Int32Array(memory.buffer, 0, BASE / 4 + 1);
    return {
      env: {
        memory,
        wait: (addr: number, expected: number) => {
          if (self()?.canBlock) Atomics.wait(lockView, addr >> 2, expected, 50);
        },
      },
    };
  }

  /** The host's store: compiles the module, reserves the memory and lays out an empty store. */
  static async create(initialBytes: number, maxBytes: number, tableCap = 4096): Promise<WasmStore> {
    const module = await (compiled ??= WebAssembly.compile(wasmBytes() as BufferSource));
    const { memory, maxPages } = reserveSharedMemory(Math.max(initialBytes, BASE * 4), maxBytes);
    let store: WasmStore | undefined;
    const instance = await WebAssembly.instantiate(module, WasmStore.imports(memory, () => store));
    store = new WasmStore({ module, memory, base: BASE, maxPages }, instance);
    if (!store.x.init(BASE, tableCap, maxPages)) throw new Error('webray: the object store could not lay out its table');
    return store;
  }

  /** A worker's view of its host's store. */
  static attach(handle: StoreHandle): WasmStore {
    let store: WasmStore | undefined;
    const instance = new WebAssembly.Instance(handle.module, WasmStore.imports(handle.memory, () => store));
    store = new WasmStore(handle, instance);
    if (!store.x.attach(handle.base)) throw new Error('webray: no object store at the address this worker was given');
    return store;
  }

  /** Bytes of the whole memory, refreshed after growth (old views keep their old length). */
  bytes(): Uint8Array {
    this.refresh();
    return this.u8;
  }

  get buffer(): SharedArrayBuffer {
    this.refresh();
    return this.u8.buffer as SharedArrayBuffer;
  }

  /**
   * Views that reach `end`. Another thread's `memory.grow` reaches this thread's JS a moment after
   * its wasm (V8 tells each isolate by an interrupt), so an address the module just returned may lie
   * past `memory.buffer` for a few instructions: call into wasm until the buffer catches up.
   */
  ensure(end: number): void {
    this.refresh();
    for (let i = 0; this.u8.byteLength < end && i < 10_000; i++) {
      this.x.pages();
      this.refresh();
    }
    if (this.u8.byteLength < end) throw new Error(`webray: the object store's memory reaches ${end} bytes, but this thread still sees ${this.u8.byteLength}`);
  }

  private refresh(): void {
    if (this.u8.byteLength !== this.handle.memory.buffer.byteLength) {
      const b = this.handle.memory.buffer;
      this.u8 = new Uint8Array(b);
      this.u32 = new Uint32Array(b);
      this.i32 = new Int32Array(b);
    }
  }

  private k(id: string): Key {
    if (id.length > MAX_ID_LENGTH) throw new RangeError(`webray: object id ${id} is longer than ${MAX_ID_LENGTH} characters`);
    const k = this.key;
    for (let w = 0; w < 8; w++) {
      const i = w * 4;
      k[w] = (id.charCodeAt(i) | (id.charCodeAt(i + 1) << 8) | (id.charCodeAt(i + 2) << 16) | (id.charCodeAt(i + 3) << 24)) >>> 0;
    }
    return k;
  }

  /** What the block at `data` says about its object (immutable while a reference is held). */
  private entry(data: number): Entry {
    this.ensure(data);
    const u = this.u32;
    const footer = data - 16 + u[(data + B_SIZE) >> 2]! - 16;
    this.ensure(footer + 16);
    return { data, size: u[(data + B_OBJECT_SIZE) >> 2]!, meta: u[(data + B_META) >> 2]!, sum: this.u32[(footer + F_SUM) >> 2]! };
  }

  /** Creates an object (held by the caller until `seal`). The entry, 'exists' if the id is there, or 'full'. */
  create(id: string, size: number, meta: number, pinned: boolean): Entry | 'exists' | 'full' {
    const e = this.x.create(...this.k(id), size, meta, pinned ? 1 : 0);
    if (e === -1) return 'exists';
    if (e === 0) return 'full';
    return this.entry(e);
  }

  seal(id: string, sum = 0): boolean {
    return this.x.seal(...this.k(id), sum) === 1;
  }

  abort(id: string): boolean {
    return this.x.abort(...this.k(id)) === 1;
  }

  /** Takes a reference. The entry, 'absent', or 'unsealed' (being written: wait with `waitForSeal`). */
  get(id: string): Entry | 'absent' | 'unsealed' {
    const e = this.x.get(...this.k(id));
    if (e === 0) return 'absent';
    if (e === -2) return 'unsealed';
    return this.entry(e);
  }

  release(id: string): boolean {
    return this.x.release(...this.k(id)) === 1;
  }

  delete(id: string): boolean {
    return this.x.del(...this.k(id)) === 1;
  }

  removeIfUnreferenced(id: string): boolean {
    return this.x.removeIfUnreferenced(...this.k(id)) === 1;
  }

  evict(bytes: number): number {
    return this.x.evict(bytes) >>> 0;
  }

  /** Grows the memory by at least `bytes`; false at the maximum. */
  grow(bytes: number): boolean {
    const ok = this.x.grow(Math.ceil(bytes / PAGE)) === 1;
    this.refresh();
    return ok;
  }

  largestFree(): number {
    return this.x.largestFree() >>> 0;
  }

  checksum(data: number, size: number): number {
    return this.x.checksum(data, size) >>> 0;
  }

  /** A counter bumped by every seal: wait on it for an object being written by another thread. */
  sealSequence(): number {
    return Atomics.load(this.i32, (this.handle.base + H_SEAL_SEQ) >> 2);
  }

  /** Blocks (workers) until the seal counter moves past `seen`, up to `ms`. */
  waitForSeal(seen: number, ms: number): void {
    if (this.canBlock) Atomics.wait(this.i32, (this.handle.base + H_SEAL_SEQ) >> 2, seen, ms);
  }

  /** Objects, their bytes, bytes in allocated and free blocks, the heap's size and the most it may grow to. */
  stats(): { objects: number; objectBytes: number; usedBytes: number; freeBytes: number; heapBytes: number; maxBytes: number } {
    const freeBytes = this.x.freeBytes() >>> 0;
    this.refresh();
    const h = (f: number) => this.u32[(this.handle.base + f) >> 2]!;
    return {
      objects: h(H_COUNT),
      objectBytes: h(H_OBJECT_BYTES),
      usedBytes: h(H_USED),
      freeBytes,
      heapBytes: h(H_HEAP_END) - this.handle.base,
      maxBytes: this.handle.maxPages * PAGE,
    };
  }
}

function threadCanBlock(i32: Int32Array): boolean {
  try {
    Atomics.wait(i32, 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}
