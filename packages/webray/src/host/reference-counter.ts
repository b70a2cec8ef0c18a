/**
 * The reference counter (Ray's ownership, the owner's half): references the driver's ObjectRefs and
 * its nodes hold, pins by pending tasks, objects borrowed from other hosts, and where an owned
 * object's bytes are brought from when someone here reads them.
 */
import type { Caller } from '../api/core.js';
import { encode, makeStoredMarker } from '../shared/codec.js';
import { ObjectLostError } from '../shared/errors.js';
import { putObjectId, type ObjectId } from '../shared/ids.js';
import type { ArgRef } from '../mesh/frames.js';
import type { HostContext } from './host-context.js';
import type { NodeHandle } from './node-handle.js';
import { IN_STORE, REMOTE, SPILLED, type ObjectEntry } from './objects.js';

/** What the reference counter asks of object recovery when an object's only copy cannot be brought here. */
export interface LostObjects {
  /** The copy on host `from` (its spilled copy if undefined) is gone: resolves once the object is made again. */
  recover(e: ObjectEntry, from: string | undefined, why: string): Promise<void>;
}

export class ReferenceCounter {
  /** Set by the runtime. */
  recovery!: LostObjects;

  /** Borrowed copies pulled from other hosts, held while a task here borrows them (see borrowFromOwner). */
  private readonly copyHolds = new Map<ObjectId, () => void>();

  constructor(private readonly host: HostContext) {}

  /** `ray.put`: a new object the caller owns, with the caller's one reference. */
  put(caller: Caller, value: unknown): ObjectId {
    const { objects, store } = this.host;
    const id = putObjectId(caller.taskId, caller.attempt, caller.puts++);
    const enc = encode(value, () => 'ray.put(value)');
    const e = objects.create(id, this.host.nodeId, undefined);
    e.refs++;
    const marker = store?.putLarge(id, enc.v, enc.refs);
    if (marker) {
      objects.resolve(e, marker, true, enc.refs, IN_STORE);
      return id;
    }
    // A put is a snapshot: later changes to the caller's value must not show through.
    const v = enc.nested || typeof enc.v !== 'object' || enc.v === null ? enc.v : structuredClone(enc.v);
    objects.resolve(e, v, enc.nested, enc.nested ? enc.refs : undefined);
    return id;
  }

  /** A large argument passed by value becomes an object in the store (as Ray does); its id, or undefined to pass it inline. */
  putArg(id: ObjectId, value: unknown, refs: string[]): ObjectId | undefined {
    const marker = this.host.store!.putLarge(id, value, refs);
    if (!marker) return undefined;
    const { objects } = this.host;
    objects.resolve(objects.create(id, this.host.nodeId, undefined), marker, true, refs, IN_STORE);
    return id;
  }

  addLocalRef(id: ObjectId): void {
    this.host.objects.addRef(id);
  }

  removeLocalRef(id: ObjectId): void {
    this.host.objects.removeRef(id);
  }

  /** Pins a task's arguments for its life; the first one already freed, if any (nothing is pinned then). */
  pin(ids: ObjectId[]): ObjectId | undefined {
    const { objects } = this.host;
    let lost: ObjectId | undefined;
    for (const id of ids) { if (objects.get(id)) objects.pin(id); else lost ??= id; }
    return lost;
  }

  unpin(ids: ObjectId[]): void {
    for (const id of ids) this.host.objects.unpin(id);
  }

  /** A node took ObjectRefs (it got them in arguments or results): each holds a reference until released. */
  borrow(node: NodeHandle, ids: ObjectId[]): void {
    for (const id of ids) { node.borrowed.set(id, (node.borrowed.get(id) ?? 0) + 1); this.host.objects.addRef(id); }
  }

  release(node: NodeHandle, ids: ObjectId[]): void {
    for (const id of ids) {
      const n = node.borrowed.get(id);
      if (n === undefined) continue;
      if (n <= 1) node.borrowed.delete(id); else node.borrowed.set(id, n - 1);
      this.host.objects.removeRef(id);
    }
  }

  /** A node died: what it borrowed is released. */
  releaseAll(node: NodeHandle): void {
    for (const [id, n] of node.borrowed) for (let i = 0; i < n; i++) this.host.objects.removeRef(id);
    node.borrowed.clear();
  }

  /**
   * Objects a task from another host takes by reference: brought into this store (unless here
   * already) and entered in the table for the task's life. Those kept here for their owner stay
   * when the task ends; pulled copies go.
   */
  async borrowFromOwner(owner: string, refs: ArgRef[]): Promise<void> {
    const { objects } = this.host;
    const cluster = this.host.cluster;
    await Promise.all(refs.map(async (r) => {
      // Said to be here, but its owner pulled it and freed this copy since (that 'free' overtook the task): the owner has it now.
      const from = r.host === this.host.hostId && !cluster?.keepsFor(r.id) ? owner : r.host;
      if (from !== this.host.hostId && !objects.get(r.id)) {
        const pulls = cluster?.pulls;
        if (!pulls) throw new ObjectLostError(r.id, `it is on host ${from}, and this host has no object store to pull it into`);
        // A copy pulled for an earlier task here stays (unpinned: evicted first when room is short):
        // a host pulls an object once for all its tasks, as every host does the ES noise table.
        if (!this.holdCopy(r.id)) {
          await pulls.pull(from, r.id, false).catch((e: unknown) => {
            // Said to be on another host, but the owner pulled it and freed that copy since: the owner
            // has it now. If not, the first host's answer says what happened (it left, say).
            if (from === owner || !(e instanceof ObjectLostError)) throw e;
            return pulls.pull(owner, r.id, false).catch(() => { throw e; });
          });
          this.holdCopy(r.id);
        }
      }
      const e = objects.create(r.id, owner, undefined);
      objects.resolve(e, makeStoredMarker(r.id, r.size, []), true, [], IN_STORE);
    }));
  }

  /** The owner freed an object this host kept for it: deleted now, or when the task here that borrows it ends (bytesFreed). */
  keptObjectFreed(id: ObjectId): void {
    if (!this.host.objects.get(id)) this.host.store?.store.delete(id);
  }

  /**
   * Brings an object's bytes here: from the spill target, or from the host that has them. If that
   * copy is lost, the object is made again (object recovery) and brought from where it is then.
   */
  resident(e: ObjectEntry): Promise<void> {
    if (e.place === SPILLED) return this.recovering(e, undefined, this.host.store!.restore(e));
    if (e.place !== REMOTE) return Promise.resolve();
    const { host, size } = e.value as { host: string; size: number };
    const cluster = this.host.cluster;
    if (!cluster?.pulls) return Promise.reject(new ObjectLostError(e.id, `it is on host ${host}, and this host cannot pull objects (no store or no cluster)`));
    return this.recovering(e, host, cluster.pulls.pull(host, e.id).then(() => {
      if (e.place !== REMOTE) return;
      e.place = IN_STORE;
      e.value = makeStoredMarker(e.id, size, []);
      cluster.free(host, [e.id]);
    }));
  }

  /** A copy that could not be brought (lost, not merely refused for room) is made again, then brought. */
  private recovering(e: ObjectEntry, from: string | undefined, bringing: Promise<void>): Promise<void> {
    return bringing.catch((err: unknown) => {
      if (!(err instanceof ObjectLostError)) throw err;
      return this.recovery.recover(e, from, err.detail).then(() => this.resident(e));
    });
  }

  /** Holds a borrowed copy in this host's store while a task here borrows it; false if it is not here. */
  private holdCopy(id: ObjectId): boolean {
    const hold = this.host.store?.store.holdBytes(id);
    if (!hold) return false;
    this.copyHolds.get(id)?.();
    this.copyHolds.set(id, hold.done);
    return true;
  }

  /** The owner freed an object whose bytes are not in its entry. */
  bytesFreed(e: ObjectEntry): void {
    const copy = this.copyHolds.get(e.id);
    if (copy) {
      // A borrowed copy: no task here borrows it now; it stays, for the next one, until evicted.
      this.copyHolds.delete(e.id);
      copy();
      return;
    }
    const cluster = this.host.cluster;
    if (e.place === REMOTE) cluster?.free((e.value as { host: string }).host, [e.id]);
    // Borrowed by a task from another host, but kept here for its owner: the owner frees it.
    else if (!cluster?.keepsFor(e.id)) this.host.store?.freed(e);
  }

  /** The host whose store has an object's bytes, or undefined for an inline (or spilled) value. */
  bytesAt(e: ObjectEntry): { host: string; size: number } | undefined {
    if (e.place === REMOTE) return e.value as { host: string; size: number };
    if (e.place === IN_STORE) return { host: this.host.hostId, size: (e.value as { size: number }).size };
    return undefined;
  }
}
