/**
 * The owner's object table (Ray's ownership model): for every object this host's callers
 * submitted or put — its state, value, references and pins. An object is freed when no
 * ObjectRef, borrowing node, pending task or containing object refers to it.
 */
import type { SerializedError } from '../shared/errors.js';
import type { ObjectId } from '../shared/ids.js';
import type { TaskRecord } from './task-record.js';

export const PENDING = 0;
export const READY = 1;
export const FAILED = 2;

/**
 * Where a READY value's bytes are: in the entry, in the shared store, spilled out of it, or in
 * another host's store (then `value` is `{ host, size }` until pulled). From SPILLED on, the
 * bytes must be brought back before anyone reads them.
 */
export const INLINE = 0;
export const IN_STORE = 1;
export const SPILLED = 2;
export const REMOTE = 3;

export interface Waiter {
  /** Called once when the entry leaves PENDING. */
  settled(e: ObjectEntry): void;
}

export interface ObjectEntry {
  readonly id: ObjectId;
  readonly owner: string;
  state: typeof PENDING | typeof READY | typeof FAILED;
  /** The value as it crosses threads (markers for nested refs when `nested`). */
  value: unknown;
  nested: boolean;
  error: SerializedError | undefined;
  /** ObjectRef instances in the driver plus nodes that borrow it. */
  refs: number;
  /** Pending tasks that take it as an argument, objects that contain it. */
  pins: number;
  /** Who waits for it to settle: one waiter (the common case) or several. */
  waiters: Waiter | Waiter[] | undefined;
  /** The task that makes it: its lineage (dropped once the object settles). */
  task: TaskRecord | undefined;
  /** That task's name, kept for the state API after `task` is dropped ('' for puts and arguments). */
  readonly taskName: string;
  /** Refs nested in the value: pinned while this object lives. */
  contains: ObjectId[] | undefined;
  /** Set once the object was freed; late results for it are dropped. */
  freed: boolean;
  place: typeof INLINE | typeof IN_STORE | typeof SPILLED | typeof REMOTE;
}

export class ObjectTable {
  readonly entries = new Map<ObjectId, ObjectEntry>();
  /** Called when an object whose bytes are in the store (or spilled) is freed. */
  onFree: ((e: ObjectEntry) => void) | undefined;
  /** Called when any object is freed (its lineage may go with it). */
  onDropped: ((id: ObjectId) => void) | undefined;

  get size(): number {
    return this.entries.size;
  }

  get(id: ObjectId): ObjectEntry | undefined {
    return this.entries.get(id);
  }

  create(id: ObjectId, owner: string, task: TaskRecord | undefined): ObjectEntry {
    return this.entries.get(id) ?? this.add(id, owner, task);
  }

  /** Creates an entry for an id just minted, which cannot be in the table yet (no lookup first). */
  add(id: ObjectId, owner: string, task: TaskRecord | undefined): ObjectEntry {
    const e: ObjectEntry = {
      id, owner, state: PENDING, value: undefined, nested: false, error: undefined,
      refs: 0, pins: 0, waiters: undefined, task, taskName: task?.name ?? '', contains: undefined, freed: false, place: INLINE,
    };
    this.entries.set(id, e);
    return e;
  }

  /**
   * Seals a value. A second seal of the same id is a no-op, as in Ray (retries re-create the same
   * ids). `place`: IN_STORE when `value` is the marker of bytes in the shared store.
   */
  resolve(e: ObjectEntry, value: unknown, nested: boolean, contains: ObjectId[] | undefined, place: ObjectEntry['place'] = INLINE): void {
    if (e.state !== PENDING || e.freed) return;
    e.state = READY;
    e.place = place;
    e.value = value;
    e.nested = nested;
    e.task = undefined;
    if (contains?.length) {
      e.contains = contains;
      for (const id of contains) this.pin(id);
    }
    this.settle(e);
  }

  fail(e: ObjectEntry, error: SerializedError): void {
    if (e.state !== PENDING || e.freed) return;
    e.state = FAILED;
    e.error = error;
    e.task = undefined;
    this.settle(e);
  }

  /**
   * A READY object whose only copy was lost goes back to PENDING, to be made again by its task
   * (or failed): whoever waits for it waits on, as for an object not made yet.
   */
  unready(e: ObjectEntry): void {
    if (e.state !== READY || e.freed) return;
    e.state = PENDING;
    e.place = INLINE;
    e.value = undefined;
    e.nested = false;
    const contains = e.contains;
    e.contains = undefined;
    if (contains) for (const id of contains) this.unpin(id);
  }

  private settle(e: ObjectEntry): void {
    const ws = e.waiters;
    if (!ws) return;
    e.waiters = undefined;
    if (Array.isArray(ws)) for (const w of ws) w.settled(e);
    else ws.settled(e);
  }

  addWaiter(e: ObjectEntry, w: Waiter): void {
    const ws = e.waiters;
    if (!ws) e.waiters = w;
    else if (Array.isArray(ws)) ws.push(w);
    else e.waiters = [ws, w];
  }

  removeWaiter(e: ObjectEntry, w: Waiter): void {
    const ws = e.waiters;
    if (ws === w) { e.waiters = undefined; return; }
    if (!Array.isArray(ws)) return;
    const i = ws.indexOf(w);
    if (i >= 0) ws.splice(i, 1);
    if (ws.length === 0) e.waiters = undefined;
  }

  /** An ObjectRef (or a borrowing node) now refers to the object. */
  addRef(id: ObjectId): void {
    this.count(id, 'refs', 1);
  }

  removeRef(id: ObjectId): void {
    this.count(id, 'refs', -1);
  }

  /** A pending task or a containing object needs the object. */
  pin(id: ObjectId): void {
    this.count(id, 'pins', 1);
  }

  unpin(id: ObjectId): void {
    this.count(id, 'pins', -1);
  }

  /** Frees an object nobody refers to, pins or waits for (a verified task's replica results once a result is accepted). */
  freeIfUnused(id: ObjectId): void {
    const e = this.entries.get(id);
    if (e) this.maybeFree(e);
  }

  private count(id: ObjectId, field: 'refs' | 'pins', delta: 1 | -1): void {
    const e = this.entries.get(id);
    if (!e) return;
    e[field] += delta;
    if (delta < 0) this.maybeFree(e);
  }

  private maybeFree(e: ObjectEntry): void {
    if (e.refs > 0 || e.pins > 0 || e.waiters) return;
    e.freed = true;
    this.entries.delete(e.id);
    // The store or the host that has the bytes learns of it first (a remote entry's value says which host).
    if (e.place !== INLINE) this.onFree?.(e);
    e.value = undefined;
    if (e.contains) for (const id of e.contains) this.unpin(id);
    this.onDropped?.(e.id);
  }
}
