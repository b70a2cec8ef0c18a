/**
 * Runs tasks and actor calls on a node. A task node runs one task at a time, as a Ray worker
 * does, except that a task blocked in `ray.get` lets the next one start (Ray releases a blocked
 * worker's CPU). An actor node runs its calls in the order received, up to `maxConcurrency` at once.
 */
import { RayApi } from '../api/api.js';
import type { Caller } from '../api/core.js';
import { reviveValue } from '../api/revive.js';
import { encode, isJsonSafe, isPrimitive, type Encoded } from '../shared/codec.js';
import { ObjectStoreFullError, RayTaskError, serializeError, TaskCancelledError, type SerializedError } from '../shared/errors.js';
import { now } from '../shared/clock.js';
import { returnObjectId } from '../shared/ids.js';
import { jsonField } from '../shared/outbox.js';
import type { CreateActorMsg, TaskMsg } from '../shared/protocol.js';
import type { FunctionTable, Instantiate, RayProvider } from './functions.js';
import type { NodeCore, Outbox } from './node-core.js';

/** One task running on this node: its caller state (child counters), abort signal and `ray`, made on demand. */
class TaskRun implements Caller, RayProvider {
  submitted = 0;
  puts = 0;
  blocked = false;
  abort: AbortController | undefined = undefined;
  private rayApi: RayApi | undefined = undefined;

  constructor(readonly taskId: string, readonly attempt: number, readonly actorId: string | undefined, readonly verified = false) {}

  signal(): AbortSignal {
    return (this.abort ??= new AbortController()).signal;
  }

  api(): RayApi {
    return (this.rayApi ??= new RayApi(this));
  }
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (typeof v === 'object' || typeof v === 'function') && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

/** A task that starts this long after the node's last message is reported first (see reportStart). */
const REPORT_AFTER_MS = 1;

export class Executor {
  private readonly queue: TaskMsg[] = [];
  private head = 0;
  /** Running and not blocked in ray.get. */
  private active = 0;
  private readonly running = new Map<string, TaskRun>();
  private instance: any;
  private maxConcurrency = 1;
  private actorCaller: Caller | undefined;
  tasksRun = 0;
  /** When the outbox last sent. */
  private flushedAt = 0;
  /** How long each function's (or actor method's) last run took, in ms. */
  private readonly lastRunMs = new Map<string, number>();

  constructor(
    private readonly kind: 'task' | 'actor',
    private readonly core: NodeCore,
    private readonly table: FunctionTable,
    private readonly out: Outbox,
  ) {
    core.blockListener = {
      blocked: (taskId) => {
        const r = this.running.get(taskId);
        if (!r || r.blocked || this.kind !== 'task') return false;
        r.blocked = true;
        this.active--;
        this.pump();
        return true;
      },
      unblocked: (taskId) => {
        const r = this.running.get(taskId);
        if (!r || !r.blocked) return;
        r.blocked = false;
        this.active++;
      },
    };
  }

  /** Nothing queued, nothing running (not even awaiting). */
  get idle(): boolean {
    return this.head >= this.queue.length && this.running.size === 0;
  }

  enqueue(m: TaskMsg): void {
    this.queue.push(m);
    this.pump();
  }

  cancel(id: string): void {
    const i = this.queue.indexOf(this.queue.find((m, j) => j >= this.head && m.id === id)!);
    if (i >= 0) {
      this.queue.splice(i, 1);
      const t = now();
      this.out.post({ t: 'failed', id, error: serializeError(new TaskCancelledError(id)), start: t, end: t, cancelled: true });
      return;
    }
    const r = this.running.get(id);
    if (!r) return;
    // A running task cannot be interrupted in JavaScript: abort its signal, report it cancelled
    // now and free its slot; whatever it does later is discarded.
    r.abort?.abort(new TaskCancelledError(id));
    this.finishRun(id);
    const t = now();
    this.out.post({ t: 'failed', id, error: serializeError(new TaskCancelledError(id)), start: t, end: t, cancelled: true });
    this.pump();
  }

  private pump(): void {
    const limit = this.kind === 'task' ? 1 : this.maxConcurrency;
    if (this.kind === 'actor' && this.instance === undefined) return;
    while (this.active < limit && this.head < this.queue.length) {
      const m = this.queue[this.head++]!;
      if (this.head === this.queue.length) { this.queue.length = 0; this.head = 0; }
      else if (this.head > 4096) { this.queue.splice(0, this.head); this.head = 0; }
      this.active++;
      const start = this.reportStart(m);
      const r = this.execute(m);
      if (r) r.then(() => { this.lastRunMs.set(m.method ?? m.fn, now() - start); this.finishRun(m.id); this.pump(); });
      else { this.lastRunMs.set(m.method ?? m.fn, now() - start); this.finishRun(m.id); }
    }
  }

  /**
   * Tells the host that a task starts, so the state API can say RUNNING. A running synchronous
   * task holds this thread, so it must be said before it runs, with a flush (which also sends the
   * results before it). Said when the task may be slow (its function's last run took
   * REPORT_AFTER_MS or more, or it never ran here) or this node's last message is that old: a
   * stream of tiny tasks then costs at most one message per millisecond, and a call-and-wait loop
   * of sub-millisecond tasks none (a task that reaches an idle node is also counted as started
   * when the host sends it; see host/task-manager.ts `send`). Returns the start time.
   */
  private reportStart(m: TaskMsg): number {
    const t = now();
    if (t - this.flushedAt < REPORT_AFTER_MS && (this.lastRunMs.get(m.method ?? m.fn) ?? Infinity) < REPORT_AFTER_MS) return t;
    this.out.post({ t: 'started', id: m.id, at: t });
    this.out.flush();
    return t;
  }

  /** The outbox sent its batch. */
  flushed(): void {
    this.flushedAt = now();
  }

  /** Frees a task's slot, once (a cancelled task may end later). */
  private finishRun(id: string): void {
    const r = this.running.get(id);
    if (!r) return;
    this.running.delete(id);
    if (!r.blocked) this.active--;
    this.tasksRun++;
  }

  /** Runs one task; returns a promise only if it did not finish synchronously. */
  private execute(m: TaskMsg): Promise<void> | undefined {
    const start = now();
    const caller = new TaskRun(m.id, m.attempt, this.kind === 'actor' ? this.core.actorId : undefined, m.v === 1);
    this.running.set(m.id, caller);
    const name = m.method ?? this.table.descriptor(m.fn)?.name ?? m.fn;
    let result: unknown;
    this.core.current = caller;
    try {
      const args = m.n ? (reviveValue(this.core, m.args, caller) as unknown[]) : m.args;
      if (this.kind === 'actor') {
        const method = this.instance[m.method!];
        if (typeof method !== 'function') throw new TypeError(`the actor has no method '${m.method}'`);
        result = method.apply(this.instance, args);
      } else {
        const inst = this.table.get(m.fn);
        if (isThenable(inst)) {
          return (inst as Promise<Instantiate>).then(
            (i) => this.finishAsync(m, name, start, () => { this.core.current = caller; try { return i(caller)(...args); } finally { this.core.current = undefined; } }),
            (e) => this.fail(m, name, start, e),
          );
        }
        result = (inst as Instantiate)(caller)(...args);
      }
    } catch (e) {
      this.fail(m, name, start, e);
      return undefined;
    } finally {
      this.core.current = undefined;
    }
    if (isThenable(result)) return this.finishAsync(m, name, start, () => result);
    return this.succeed(m, name, start, result);
  }

  private finishAsync(m: TaskMsg, name: string, start: number, run: () => unknown): Promise<void> {
    return Promise.resolve()
      .then(run)
      .then((v) => this.succeed(m, name, start, v), (e) => this.fail(m, name, start, e));
  }

  /** Sends a task's results; a promise if it first waits for room in the object store. */
  private succeed(m: TaskMsg, name: string, start: number, result: unknown): Promise<void> | undefined {
    if (!this.running.has(m.id)) return undefined;
    let values: unknown[];
    let nested = false;
    this.needRoom = 0;
    try {
      if (m.nret === 1 && isPrimitive(result)) {
        values = [result];
      } else if (m.nret === 1) {
        const e = encode(result, () => `${name}(...) return value`);
        const v = this.place(m.id, 0, e);
        nested = e.nested || v !== e.v;
        values = [v];
      } else if (m.nret === 0) {
        values = [];
      } else {
        if (!Array.isArray(result) || result.length !== m.nret) {
          throw new TypeError(`${name} has numReturns: ${m.nret} but returned ${Array.isArray(result) ? `an array of ${result.length}` : typeof result}; return an array of exactly ${m.nret} values`);
        }
        values = result.map((v, i) => {
          const e = encode(v, () => `${name}(...) return value [${i}]`);
          const x = this.place(m.id, i, e);
          if (e.nested || x !== e.v) nested = true;
          return x;
        });
      }
    } catch (e) {
      this.fail(m, name, start, e);
      return undefined;
    }
    const needRoom = this.needRoom;
    if (needRoom) {
      // The store is full: the host evicts, grows or spills, then the results are written again.
      return this.core.makeRoom(needRoom).then((ok) => {
        if (ok) return this.succeed(m, name, start, result);
        this.fail(m, name, start, new ObjectStoreFullError(`no room for a ${needRoom}-byte result of ${name}, even after spilling what nothing reads`));
        return undefined;
      });
    }
    const end = now();
    // Results holding objects go at once, as they are now (the task's code may change them next);
    // a JSON run keeps their text.
    if (nested) this.out.postNow({ t: 'done', id: m.id, values, n: 1, start, end });
    else if (isJsonSafe(values)) {
      this.out.jsonRun().push(m.id, jsonField(values), start, end); // DONE_FIELDS
      this.out.added();
    }
    else this.out.postNow({ t: 'done', id: m.id, values, start, end });
    return undefined;
  }

  /** Bytes a result could not get in the full store (set by `place`). */
  private needRoom = 0;

  /** Return `i` of task `id`: a large value goes to the shared store and its marker to the host. */
  private place(id: string, i: number, e: Encoded): unknown {
    if (!this.core.store) return e.v;
    const stored = this.core.storeValue(returnObjectId(id, i), e.v, e.refs);
    if (stored === undefined) return e.v;
    if (typeof stored === 'number') { this.needRoom = Math.max(this.needRoom, stored); return undefined; }
    return stored;
  }

  private fail(m: TaskMsg, name: string, start: number, e: unknown): void {
    if (!this.running.has(m.id)) return;
    const cause = e instanceof Error ? e : new Error(`non-Error value thrown: ${String(e)}`);
    const error: SerializedError = serializeError(new RayTaskError(name, m.id, cause));
    this.out.post({ t: 'failed', id: m.id, error, start, end: now() });
  }

  /** Constructs the actor instance (again, after a restart). */
  async createActor(m: CreateActorMsg): Promise<void> {
    this.maxConcurrency = m.maxConcurrency;
    this.core.actorId = m.actor;
    this.core.actorRestarted = m.restarted;
    const caller = new TaskRun(m.id, m.attempt, m.actor);
    this.actorCaller = caller;
    try {
      const inst = await this.table.get(m.fn);
      const args = m.n ? (reviveValue(this.core, m.args, caller) as unknown[]) : m.args;
      this.core.current = caller;
      const Cls = inst(caller);
      this.instance = new Cls(...args);
      this.core.current = undefined;
      this.out.post({ t: 'actor-ready', actor: m.actor, id: m.id });
      this.pump();
    } catch (e) {
      this.core.current = undefined;
      const cause = e instanceof Error ? e : new Error(String(e));
      this.out.post({ t: 'actor-failed', actor: m.actor, id: m.id, error: serializeError(cause) });
    }
  }

  get actorCallerForContext(): Caller | undefined {
    return this.actorCaller;
  }
}
