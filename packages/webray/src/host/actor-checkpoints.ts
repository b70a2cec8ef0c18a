/**
 * Opt-in actor checkpoints (`checkpointEvery`, for actors that run one call at a time): after every
 * N calls sent to an actor's node, the host asks the actor for `webrayCheckpoint()` as one more
 * call in its queue. The last checkpoint that arrived and the calls sent since it (their arguments
 * pinned) are kept here on the host, off the actor's worker. When the worker dies and the actor
 * restarts, `webrayRestore(state)` runs first, then only the calls after the checkpoint are
 * replayed, in the order the actor ran them (their side effects happen again).
 */
import type { ActorSpec } from '../api/core.js';
import { RayUsageError } from '../shared/errors.js';
import { childTaskId, type ActorId, type ObjectId, type TaskId } from '../shared/ids.js';
import type { ActorOptions } from '../shared/options.js';
import type { ActorRecord } from './actors.js';
import type { HostContext } from './host-context.js';
import type { NodeHandle } from './node-handle.js';
import { INLINE, IN_STORE, READY } from './objects.js';
import type { ReferenceCounter } from './reference-counter.js';
import { ACTOR_TASK, type TaskRecord } from './task-record.js';
import type { EncodedArgs, TaskManager } from './task-manager.js';
import { fromWire, toWire } from './cluster-host.js';
import { MAX_FRAME_CHARS, type ActorRestore, type Frame } from '../mesh/frames.js';

export const CHECKPOINT_METHOD = 'webrayCheckpoint';
export const RESTORE_METHOD = 'webrayRestore';

/** A checkpoint asked for: its result object, and how many logged calls ran before it. */
interface Checkpoint {
  object: ObjectId;
  logged: number;
}

/** One actor's checkpoints and the calls sent since the oldest one kept. */
class CheckpointLog {
  /** Calls sent since the last checkpoint was asked for. */
  sinceLast = 0;
  /** Calls sent to the actor, in the order it ran them, since the oldest checkpoint kept (or its creation). */
  calls: TaskRecord[] = [];
  /** At most the last one that arrived and the one being taken. */
  checkpoints: Checkpoint[] = [];
  /** The restore call waiting to be sent: not logged, not replayed (checkpoint calls are sent at once, past the log). */
  readonly internal = new Set<TaskId>();
  /** Counter for the ids of the calls the host makes itself. */
  next = 0;
  /** Calls logged so far (sent to the owner with each, when another host owns the actor). */
  seq = 0;
  constructor(readonly every: number) {}
}

/** Refuses `checkpointEvery` on an actor that cannot be checkpointed, saying why and what to do. */
export function checkCheckpointing(spec: ActorSpec, options: ActorOptions, maxConcurrency: number): void {
  const every = options.checkpointEvery;
  if (every === undefined) return;
  const missing = [CHECKPOINT_METHOD, RESTORE_METHOD].filter((m) => !spec.methods.includes(m));
  if (missing.length) {
    throw new RayUsageError(`${spec.className}: checkpointEvery (${every}) needs the methods ${CHECKPOINT_METHOD}() (returning the state) and ${RESTORE_METHOD}(state); the class lacks ${missing.join(' and ')}. Add them, or drop checkpointEvery.`);
  }
  if ((options.maxRestarts ?? 0) === 0) {
    throw new RayUsageError(`${spec.className}: checkpointEvery (${every}) is used only when the actor restarts, and it has maxRestarts ${options.maxRestarts ?? '0 (the default)'}. Give { maxRestarts } (-1 for ever), or drop checkpointEvery.`);
  }
  if (maxConcurrency !== 1) {
    throw new RayUsageError(`${spec.className}: checkpointEvery needs calls that run one at a time (maxConcurrency: 1), got maxConcurrency ${maxConcurrency}${options.maxConcurrency === undefined ? ' (the default for a class with async methods)' : ''}. Give { maxConcurrency: 1 }, or drop checkpointEvery.`);
  }
}

export class ActorCheckpoints {
  private readonly logs = new Map<ActorId, CheckpointLog>();

  constructor(
    private readonly host: HostContext,
    private readonly tasks: TaskManager,
    private readonly refs: ReferenceCounter,
  ) {}

  /** A new actor with `checkpointEvery`: its calls are logged from now on. */
  start(a: ActorRecord, every: number): void {
    this.logs.set(a.id, new CheckpointLog(every));
  }

  /** `t` was sent to the actor's node: logged, and every N calls a checkpoint is asked for right after it. */
  sent(a: ActorRecord, t: TaskRecord, node: NodeHandle): void {
    const log = this.logs.get(a.id);
    if (!log || log.internal.delete(t.id)) return;
    if (t.pinned) this.refs.pin(t.pinned);
    log.calls.push(t);
    const seq = log.seq++;
    if (a.ownerHost !== undefined) {
      // Kept at its owner too, which restarts it elsewhere if this host goes: only values cross hosts.
      this.toOwner(a, t.argRefs || t.nested ? { t: 'actor-log', actor: a.id, seq } : { t: 'actor-log', actor: a.id, seq, method: t.method!, args: toWire(t.args) });
    }
    if (++log.sinceLast < log.every) return;
    log.sinceLast = 0;
    this.compact(log);
    const c = this.internalCall(a, log, CHECKPOINT_METHOD, [], undefined, noop);
    log.checkpoints.push({ object: c.returns[0]!, logged: log.calls.length });
    this.tasks.send(c, node);
    if (a.ownerHost !== undefined) this.stateToOwner(a, c.returns[0]!, seq);
  }

  /** Sends the owner a checkpoint taken after call `seq`, once it arrives. */
  private stateToOwner(a: ActorRecord, id: ObjectId, seq: number): void {
    const { objects, store } = this.host;
    const e = objects.get(id);
    if (!e) return;
    objects.addWaiter(e, {
      settled: (d) => {
        // A state holding ObjectRefs or handles cannot cross hosts; bytes in the store (a marker) can.
        if (d.state !== READY || d.contains?.length || (d.place !== IN_STORE && (d.place !== INLINE || d.nested))) return;
        const state = toWire(d.place === IN_STORE ? store!.store.read(d.id) : d.value);
        if (state.length > MAX_FRAME_CHARS / 2) {
          console.warn(`webray: actor ${a.spec.className} (${a.id}): its checkpoint (${state.length} characters encoded) is too large to keep at its owner host ${a.ownerHost}; if this host leaves, it restarts from its last checkpoint that fit, or its constructor.`);
          return;
        }
        this.toOwner(a, { t: 'actor-log', actor: a.id, seq, state });
      },
    });
  }

  private toOwner(a: ActorRecord, f: Frame): void {
    try { this.host.cluster?.member.send(a.ownerHost!, f); } catch { /* the owner left: nobody restarts it elsewhere */ }
  }

  /** The calls that bring an actor restarted from its owner's log back to its state: a restore, then the replays. */
  restoringFrom(a: ActorRecord, restore: ActorRestore): TaskRecord[] {
    const log = this.logs.get(a.id);
    if (!log) return [];
    const out: TaskRecord[] = [];
    if (restore.state !== undefined) out.push(this.internalCall(a, log, RESTORE_METHOD, [fromWire(restore.state)], undefined, a.pump));
    for (const c of restore.calls) out.push(this.replay(a, log, c.method, `${a.spec.className}.${c.method}`, { args: fromWire(c.args) as unknown[], argRefs: undefined, nested: false }, 1));
    return out;
  }

  /** Calls lost in flight with the worker: not run as far as the log knows (they are retried as new calls, or fail). */
  lost(a: ActorRecord, inflight: TaskRecord[]): void {
    const log = this.logs.get(a.id);
    if (!log) return;
    const gone = new Set(inflight.map((t) => t.id));
    const kept: TaskRecord[] = [];
    for (const t of log.calls) {
      if (!gone.has(t.id)) kept.push(t);
      else if (t.pinned) this.refs.unpin(t.pinned);
    }
    log.calls = kept;
    log.checkpoints = log.checkpoints.filter((c) => c.logged <= kept.length);
  }

  /**
   * The calls that bring a restarted actor back to its state: a restore from the last checkpoint
   * that arrived (if any), then the calls sent after it, as new calls whose results nobody reads.
   */
  restoring(a: ActorRecord): TaskRecord[] {
    const log = this.logs.get(a.id);
    if (!log) return [];
    const { objects } = this.host;
    let from = 0;
    const out: TaskRecord[] = [];
    const last = log.checkpoints.findLast((c) => objects.get(c.object)?.state === READY);
    log.internal.clear();
    if (last) {
      out.push(this.internalCall(a, log, RESTORE_METHOD, [last.object], [0], a.pump));
      from = last.logged;
    }
    for (const t of log.calls.slice(from)) out.push(this.replay(a, log, t.method!, t.name, { args: t.args.slice(), argRefs: t.argRefs, nested: t.nested }, t.returns.length));
    // The log starts again from that checkpoint: the replays are logged as they are sent.
    for (const t of log.calls) if (t.pinned) this.refs.unpin(t.pinned);
    log.calls = [];
    for (const c of log.checkpoints) if (c !== last) this.refs.removeLocalRef(c.object);
    log.checkpoints = last ? [{ object: last.object, logged: 0 }] : [];
    log.sinceLast = 0;
    return out;
  }

  /** The actor is dead: what its log held goes. */
  drop(a: ActorRecord): void {
    const log = this.logs.get(a.id);
    if (!log) return;
    this.logs.delete(a.id);
    for (const t of log.calls) if (t.pinned) this.refs.unpin(t.pinned);
    for (const c of log.checkpoints) this.refs.removeLocalRef(c.object);
    log.calls = [];
    log.checkpoints = [];
  }

  /** Keeps only the last checkpoint that arrived (and the later ones) and the calls after it. */
  private compact(log: CheckpointLog): void {
    const { objects } = this.host;
    const i = log.checkpoints.findLastIndex((c) => objects.get(c.object)?.state === READY);
    if (i < 0) return;
    for (const c of log.checkpoints.splice(0, i)) this.refs.removeLocalRef(c.object);
    const cut = log.checkpoints[0]!.logged;
    for (const t of log.calls.splice(0, cut)) if (t.pinned) this.refs.unpin(t.pinned);
    for (const c of log.checkpoints) c.logged -= cut;
  }

  /** `onReady`: the actor's pump for calls queued before the restarted actor's others; nothing for a checkpoint, sent at once. */
  /** A call run again; its result goes to nobody. */
  private replay(a: ActorRecord, log: CheckpointLog, method: string, name: string, args: EncodedArgs, numReturns: number): TaskRecord {
    const r = this.tasks.newTask(this.nextId(a, log), ACTOR_TASK, a.spec.fn, name, undefined, args, a.creation.id, this.host.nodeId, numReturns);
    this.admit(a, r, method, a.pump);
    // A replay lost in a later crash must run again, or the state would miss it.
    r.retriesLeft = -1;
    return r;
  }

  private internalCall(a: ActorRecord, log: CheckpointLog, method: string, args: unknown[], argRefs: number[] | undefined, onReady: () => void): TaskRecord {
    const t = this.tasks.newTask(this.nextId(a, log), ACTOR_TASK, a.spec.fn, `${a.spec.className}.${method}`, undefined, { args, argRefs, nested: false }, a.creation.id, this.host.nodeId, 1);
    if (method === RESTORE_METHOD) log.internal.add(t.id);
    this.admit(a, t, method, onReady);
    return t;
  }

  private admit(a: ActorRecord, t: TaskRecord, method: string, onReady: () => void): void {
    t.actorId = a.id;
    t.method = method;
    a.pendingCalls++;
    // Held by the host: a checkpoint until a later one arrives; a replay's or a restore's result by nobody.
    this.tasks.admit(t, onReady, 1);
    if (method !== CHECKPOINT_METHOD) for (const r of t.returns) this.refs.removeLocalRef(r);
  }

  private nextId(a: ActorRecord, log: CheckpointLog): TaskId {
    return childTaskId(`${a.id}c`, 0, log.next++);
  }
}

const noop = (): void => {};
