/**
 * Gets and waits on this host: `ray.get` and `ray.wait` for the driver, and gets asked by nodes —
 * waiting for objects to settle and bringing their bytes here (spilled, or on another host).
 */
import type { Caller, CoreWorker } from '../api/core.js';
import { reviveValue } from '../api/revive.js';
import { deserializeError, GetTimeoutError, ObjectLostError, serializeError, type SerializedError } from '../shared/errors.js';
import type { ObjectId } from '../shared/ids.js';
import type { HostContext } from './host-context.js';
import type { NodeHandle } from './node-handle.js';
import { FAILED, PENDING, READY, SPILLED, type ObjectEntry, type Waiter } from './objects.js';
import type { ReferenceCounter } from './reference-counter.js';

interface GetRequest extends Waiter {
  remaining: number;
}

/** Reading nodes' messages synchronously, where the platform can (Node). */
export interface NodePolling {
  /** Can this platform read a node's messages synchronously? */
  polls(): boolean;
  /** Dispatches what is queued and flushes every node's outbox, without waiting for the turn to end. */
  sendNow(): void;
  /** Handles what the nodes sent so far. */
  pollNodes(): void;
}

export class ObjectGets {
  /** Set by the runtime. */
  polling!: NodePolling;

  constructor(private readonly host: HostContext, private readonly refs: ReferenceCounter, private readonly core: CoreWorker) {}

  get(ids: ObjectId[], timeoutMs: number | undefined, caller: Caller | undefined): Promise<unknown[]> {
    const { objects } = this.host;
    return new Promise((resolve, reject) => {
      const out = new Array<unknown>(ids.length);
      let timer: ReturnType<typeof setTimeout> | undefined;
      /** Entries not ready yet, and their places in `out` (filled when the last one settles, without a second lookup). */
      const pending: ObjectEntry[] = [];
      const pendingAt: number[] = [];
      let done = false;
      let release: (() => void) | undefined;
      const fail = (err: Error) => {
        if (done) return;
        done = true;
        release?.();
        if (timer !== undefined) clearTimeout(timer);
        for (const e of pending) objects.removeWaiter(e, w);
        reject(err);
      };
      const w: GetRequest = {
        remaining: 0,
        settled: (e) => {
          if (done) return;
          if (e.state === FAILED) { fail(deserializeError(e.error!)); return; }
          if (e.place >= SPILLED) { this.refs.resident(e).then(() => w.settled(e), (err) => fail(err)); return; }
          if (--w.remaining === 0) {
            done = true;
            release?.();
            if (timer !== undefined) clearTimeout(timer);
            for (let k = 0; k < pending.length; k++) out[pendingAt[k]!] = this.valueOf(pending[k]!, caller);
            resolve(out);
          }
        },
      };
      for (let i = 0; i < ids.length; i++) {
        const e = objects.get(ids[i]!);
        if (!e) { fail(new ObjectLostError(ids[i]!, 'it was freed (no ObjectRef referred to it any more)')); return; }
        if (e.state === READY && e.place < SPILLED) out[i] = this.valueOf(e, caller);
        else if (e.state === FAILED) { fail(deserializeError(e.error!)); return; }
        else {
          w.remaining++;
          pending.push(e);
          pendingAt.push(i);
          // Pending: wait for it. Ready but not here (spilled, on another host): `settled` brings it first.
          if (e.state === READY) w.settled(e);
          else objects.addWaiter(e, w);
        }
      }
      if (w.remaining === 0) { done = true; resolve(out); return; }
      if (w.remaining <= SPIN_MAX_OBJECTS) this.spin(() => done);
      if (done) return;
      release = this.host.holdProcess();
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => fail(new GetTimeoutError(pending.filter((e) => e.state === PENDING).map((e) => e.id), timeoutMs)), timeoutMs);
      }
    });
  }

  /**
   * Where the platform can read a node's messages synchronously (Node), a `get` waiting for a
   * few objects spins briefly for them: a task's round trip then skips two event-loop wake-ups.
   */
  private spin(done: () => boolean): void {
    if (!this.polling.polls()) return;
    this.polling.sendNow();
    const stop = performance.now() + SPIN_MS;
    while (!done() && performance.now() < stop) this.polling.pollNodes();
  }

  private valueOf(e: ObjectEntry, caller: Caller | undefined): unknown {
    return e.nested ? reviveValue(this.core, e.value, caller) : e.value;
  }

  wait(ids: ObjectId[], numReturns: number, timeoutMs: number | undefined): Promise<number[]> {
    const { objects } = this.host;
    const readyIdx = () => {
      const r: number[] = [];
      for (let i = 0; i < ids.length && r.length < numReturns; i++) {
        const e = objects.get(ids[i]!);
        if (!e || e.state !== PENDING) r.push(i);
      }
      return r;
    };
    const now0 = readyIdx();
    if (now0.length >= numReturns || timeoutMs === 0) return Promise.resolve(now0);
    return new Promise((resolve) => {
      let count = now0.length;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const entries: ObjectEntry[] = [];
      const release = this.host.holdProcess();
      const finish = () => {
        release();
        if (timer !== undefined) clearTimeout(timer);
        for (const e of entries) objects.removeWaiter(e, w);
        resolve(readyIdx());
      };
      const w: Waiter = { settled: () => { if (++count === numReturns) finish(); } };
      for (const id of ids) {
        const e = objects.get(id);
        if (e?.state === PENDING) { entries.push(e); objects.addWaiter(e, w); }
      }
      if (timeoutMs !== undefined) timer = setTimeout(finish, timeoutMs);
    });
  }

  /** A get by a task on `node`: answered with every object's value (or error) once all are here. */
  forNode(node: NodeHandle, req: number, ids: ObjectId[]): void {
    const { objects } = this.host;
    /** Objects that could not be brought here (a spill lost, a pull that failed). */
    const unreachable = new Map<ObjectId, SerializedError>();
    const send = () => {
      if (!node.alive) return;
      node.post({
        t: 'objects', req,
        values: ids.map((id) => {
          const e = objects.get(id);
          const lost = unreachable.get(id);
          if (lost) return { id, error: lost };
          if (!e) return { id, error: serializeError(new ObjectLostError(id, 'it was freed')) };
          if (e.state === FAILED) return { id, error: e.error! };
          return e.nested ? { id, v: e.value, n: 1 as const } : { id, v: e.value };
        }),
      });
    };
    const w: GetRequest = {
      remaining: 0,
      settled: (e) => {
        if (w.remaining < 0) return;
        if (e.state !== FAILED && e.place >= SPILLED) {
          this.refs.resident(e).then(() => w.settled(e), (err) => { unreachable.set(e.id, serializeError(err)); w.remaining = -1; send(); });
          return;
        }
        if (e.state === FAILED || --w.remaining === 0) { w.remaining = -1; send(); }
      },
    };
    for (const id of ids) {
      const e = objects.get(id);
      if (e?.state === PENDING) { w.remaining++; objects.addWaiter(e, w); }
      else if (e && e.place >= SPILLED) { w.remaining++; w.settled(e); }
    }
    if (w.remaining === 0) send();
  }
}

/** A get for at most this many pending objects spins, for at most SPIN_MS. */
const SPIN_MAX_OBJECTS = 4;
const SPIN_MS = 0.15;
