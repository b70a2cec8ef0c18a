/**
 * The host's side of the shared object store: which of its objects live there or were spilled,
 * and the space policy. When the store runs short it first evicts unreferenced cached objects,
 * then grows the memory, then spills objects nobody is reading to IndexedDB (files in Node) and
 * brings them back when they are needed; only when none of that helps is the store full.
 */
import { makeStoredMarker, type Marker } from '../shared/codec.js';
import { ObjectLostError, ObjectStoreFullError } from '../shared/errors.js';
import type { ObjectId } from '../shared/ids.js';
import type { StoreBoot } from '../shared/protocol.js';
import type { SpillTarget } from '../platform/types.js';
import { ObjectStore, type ObjectStoreOptions } from '../store/object-store.js';
import { PAGE, sharedMemoryAvailable, WASM32_MAX_PAGES } from '../store/shared-memory.js';
import { WasmStore } from '../store/wasm-store.js';
import { IN_STORE, INLINE, SPILLED, type ObjectEntry, type ObjectTable } from './objects.js';

export interface StoreConfig extends ObjectStoreOptions {
  initialBytes: number;
  maxBytes: number;
}

const MiB = 1024 * 1024;

export class StoreOwner {
  /** Restores in flight, so two readers of one spilled object share one read. */
  private readonly restoring = new Map<ObjectId, Promise<void>>();
  /** Space requests run one at a time: each sees what the previous freed. */
  private room: Promise<unknown> = Promise.resolve();
  spilledCount = 0;
  restoredCount = 0;

  private constructor(readonly store: ObjectStore, private readonly spill: SpillTarget, private readonly objects: ObjectTable) {}

  /** The host's store, or undefined where threads cannot share memory (a page without cross-origin isolation). */
  static async create(config: StoreConfig, spill: SpillTarget, objects: ObjectTable): Promise<StoreOwner | undefined> {
    if (!sharedMemoryAvailable()) return undefined;
    const wasm = await WasmStore.create(config.initialBytes, config.maxBytes);
    return new StoreOwner(new ObjectStore(wasm, config), spill, objects);
  }

  /** What a worker needs to join this store. */
  get boot(): StoreBoot {
    return { ...this.store.wasm.handle, inlineLimit: this.store.options.inlineLimit, checks: this.store.options.checks };
  }

  /**
   * Puts a large value (already encoded for crossing threads: markers for refs) in the store as
   * object `id` and returns the marker that stands for it; undefined if it stays inline — small,
   * or no room right now (room is then made in the background for the next one).
   */
  putLarge(id: ObjectId, value: unknown, refs: string[]): Marker | undefined {
    if (!this.store.isLarge(value)) return undefined;
    this.checkFits(this.store.payloadBytes(value, this.maxBytes));
    const encoded = this.store.encode(value);
    this.checkFits(encoded.byteLength);
    const r = this.store.write(id, encoded);
    if (r === 'full') {
      void this.makeRoom(encoded.byteLength).catch(() => undefined);
      return undefined;
    }
    return makeStoredMarker(id, r.size, refs);
  }

  private get maxBytes(): number {
    return this.store.wasm.handle.maxPages * PAGE;
  }

  /** Throws when an object can never fit, whatever is freed. */
  private checkFits(bytes: number): void {
    const max = this.maxBytes;
    if (bytes + MiB <= max) return;
    const limit = this.store.wasm.handle.maxPages >= WASM32_MAX_PAGES
      ? ' — 4 GiB is the most a wasm32 memory can address; split the object into several smaller ones'
      : '';
    throw new ObjectStoreFullError(`an object of ${fmt(bytes)} cannot fit in a store whose maximum is ${fmt(max)}${limit}`);
  }

  /** Makes room for `bytes`: evict, grow, then spill. Resolves false if the store stays full. */
  makeRoom(bytes: number): Promise<boolean> {
    const run = this.room.then(() => this.makeRoomNow(bytes));
    this.room = run.catch(() => undefined);
    return run;
  }

  private async makeRoomNow(bytes: number): Promise<boolean> {
    if (this.store.makeRoom(bytes)) return true;
    for (const e of this.objects.entries.values()) {
      if (e.place !== IN_STORE || e.pins > 0) continue;
      await this.spillOne(e);
      if (this.store.makeRoom(bytes)) return true;
    }
    return false;
  }

  /** Copies an object nobody reads out to the spill target and frees it from shared memory. */
  private async spillOne(e: ObjectEntry): Promise<void> {
    const bytes = this.store.copyBytes(e.id);
    if (!bytes) return;
    await this.spill.write(e.id, bytes);
    // Between the copy and now a reader may have taken a view, or the owner freed it.
    if (e.freed || e.place !== IN_STORE || e.pins > 0 || !this.store.wasm.removeIfUnreferenced(e.id)) {
      await this.spill.remove(e.id);
      return;
    }
    e.place = SPILLED;
    this.spilledCount++;
  }

  /** Brings a spilled object back into shared memory (making room for it, which may spill others). */
  restore(e: ObjectEntry): Promise<void> {
    let p = this.restoring.get(e.id);
    if (p) return p;
    p = this.restoreNow(e).finally(() => this.restoring.delete(e.id));
    this.restoring.set(e.id, p);
    return p;
  }

  private async restoreNow(e: ObjectEntry): Promise<void> {
    if (e.place !== SPILLED) return;
    const bytes = await this.spill.read(e.id);
    if (!bytes) throw new ObjectLostError(e.id, `its spilled copy is missing from ${this.spill.kind}`);
    // Pinned while restoring, so making room does not spill it straight back.
    e.pins++;
    try {
      let r = this.store.writeBytes(e.id, bytes);
      if (r === 'full' && (await this.makeRoom(bytes.byteLength))) r = this.store.writeBytes(e.id, bytes);
      if (r === 'full') throw new ObjectStoreFullError(`${fmt(bytes.byteLength)} are needed to bring back object ${e.id} from ${this.spill.kind}, and everything else in the store is being read`);
    } finally {
      e.pins--;
    }
    e.place = IN_STORE;
    this.restoredCount++;
    await this.spill.remove(e.id);
  }

  /** The owner freed an object: free its bytes wherever they are. */
  freed(e: ObjectEntry): void {
    if (e.place === IN_STORE) this.store.delete(e.id);
    else if (e.place === SPILLED) void this.spill.remove(e.id).catch(() => undefined);
    e.place = INLINE;
  }

  async shutdown(): Promise<void> {
    await this.room;
    await this.spill.clear().catch(() => undefined);
  }
}

function fmt(bytes: number): string {
  return bytes >= MiB ? `${(bytes / MiB).toFixed(1)} MiB` : `${bytes} bytes`;
}
