/**
 * The task manager: a task from submission to its end on this host — its record and return
 * objects, its arguments (pinned, waited for), the local scheduler and dispatch to nodes, the
 * results, retries and cancellation. Placement on other hosts is the bridge's (RemoteWork).
 */
import type { Caller } from '../api/core.js';
import { isObjectRef } from '../api/object-ref.js';
import { encode, isJsonSafe, isPrimitive, refsInside, isStoredMarker, snapshot } from '../shared/codec.js';
import { ObjectLostError, RayUsageError, serializeError, TaskCancelledError, WorkerCrashedError, type SerializedError } from '../shared/errors.js';
import { argObjectId, childTaskId, returnObjectId, taskOfObject, type ObjectId, type TaskId } from '../shared/ids.js';
import { demandOf, type Resources, type TaskOptions } from '../shared/options.js';
import type { FunctionDescriptor, SubmitMsg, TaskMsg } from '../shared/protocol.js';
import type { ArgRef } from '../mesh/frames.js';
import type { ActorHoldings } from '../scheduler/resources.js';
import { now } from '../shared/clock.js';
import type { HostContext } from './host-context.js';
import type { NodeHandle } from './node-handle.js';
import { FAILED, IN_STORE, INLINE, PENDING, REMOTE, SPILLED, type ObjectEntry } from './objects.js';
import type { ReferenceCounter } from './reference-counter.js';
import { ACTOR_CREATION, ACTOR_TASK, NORMAL, type TaskRecord } from './task-record.js';

/** Arguments a submission brings already encoded (a node's or another host's). */
export interface EncodedArgs {
  args: unknown[];
  argRefs?: number[];
  nested: boolean;
}

/** What the task manager asks of the bridge to other hosts. */
export interface RemoteWork {
  /** Takes a ready task of this host's that should run elsewhere (sent, spilled to the head, or refused): true if it did. */
  placeElsewhere(t: TaskRecord): boolean;
  /** Cancels a task of this host's that runs on another host (`t.nodeId`): that host cancels it. */
  cancelElsewhere(t: TaskRecord, force: boolean, recursive: boolean): void;
  /** A task another host sent ended here: its results go back there. */
  returnToOwner(t: TaskRecord, values: unknown[] | undefined, nested: boolean, error: SerializedError | undefined, start: number, end: number): void;
}

/** Whether this host takes a task another host sent, now ready to run here (see HostPause). */
export interface WorkGate {
  /** True if it took the task elsewhere (handed it back to its owner, or set it aside): it is not queued here. */
  declines(t: TaskRecord): boolean;
}

/** What the task manager tells object recovery: a task of this host's ended with its results (its lineage may be kept). */
export interface LineageKeeper {
  finished(t: TaskRecord): void;
}

/** What the task manager asks of quorum verification (host/verification.ts). */
export interface Verifier {
  /** A verified task, or a replica of one, is ready: true if it took it (a verified task runs as its replicas; a replica that has no host left ends). */
  ready(t: TaskRecord): boolean;
  /** A replica ended: its returns are settled, or it failed with `error`. */
  replicaEnded(t: TaskRecord, error: SerializedError | undefined): void;
  /** `ray.cancel` of a verified task whose replicas run: it fails cancelled and they are cancelled. False if none run. */
  cancel(t: TaskRecord, force: boolean): boolean;
}

export class TaskManager {
  /** Set by the runtime: the bridge to other hosts, object recovery, verification, and how to kill a node (force-cancel). */
  remote!: RemoteWork;
  lineage!: LineageKeeper;
  verifier!: Verifier;
  gate!: WorkGate;
  killNode!: (node: NodeHandle, reason: string) => Promise<void>;
  private dispatchQueued = false;
  private taskHold: (() => void) | undefined;
  private readonly demands = new WeakMap<TaskOptions, { demand: Resources; key: string }>();

  constructor(private readonly host: HostContext, private readonly refs: ReferenceCounter, private readonly holdings: ActorHoldings) {}

  registerFunction(fn: FunctionDescriptor): void {
    if (!this.host.functions.has(fn.id)) this.host.functions.set(fn.id, fn);
  }

  /** A remote function's call by a caller on this host (the driver). */
  submit(caller: Caller, fn: FunctionDescriptor, args: unknown[], options: TaskOptions): ObjectId[] {
    this.registerFunction(fn);
    const id = childTaskId(caller.taskId, caller.attempt, caller.submitted++);
    const t = this.newTask(id, NORMAL, fn, options.name ?? fn.name, args, undefined, caller.taskId, this.host.nodeId, options.numReturns ?? 1);
    this.applyOptions(t, options);
    this.admit(t, this.enqueue, 1);
    return t.returns;
  }

  /** A remote function's call by a task running on `node`. */
  submitFromNode(node: NodeHandle, m: SubmitMsg, fn: FunctionDescriptor | undefined): void {
    const numReturns = m.options.numReturns ?? 1;
    if (!fn) { this.failNew(m.id, node.id, numReturns, serializeError(new RayUsageError(`unknown function ${m.fn}`))); return; }
    const t = this.newTask(m.id, NORMAL, fn, m.options.name ?? fn.name, undefined, { args: m.args, argRefs: m.refArgs, nested: !!m.n }, m.parent, node.id, numReturns);
    this.applyOptions(t, m.options);
    this.admit(t);
  }

  private applyOptions(t: TaskRecord, options: TaskOptions): void {
    // The same options object comes with every call of a remote function: work its demand out once.
    let d = this.demands.get(options);
    if (!d) {
      const demand = demandOf(options.numCpus, options.resources, 1);
      d = { demand, key: demandKey(demand) };
      this.demands.set(options, d);
    }
    t.demand = d.demand;
    t.key = d.key;
    t.strategy = options.schedulingStrategy ?? 'DEFAULT';
    t.retriesLeft = options.maxRetries ?? 3;
    t.retryExceptions = options.retryExceptions ?? false;
    if (options.verify) t.verify = options.verify;
  }

  /** Encodes arguments: top-level refs become ids to resolve; nested refs are pinned as they are. */
  newTask(
    id: TaskId, type: TaskRecord['type'], fn: FunctionDescriptor, name: string, rawArgs: unknown[] | undefined,
    pre: EncodedArgs | undefined, parent: TaskId, owner: string, numReturns: number,
  ): TaskRecord {
    let args: unknown[];
    let argRefs: number[] | undefined;
    let nested = false;
    let pinned: ObjectId[] | undefined;
    if (rawArgs) {
      // `rawArgs` is the rest-parameter array of `.remote(...)`: ours to rewrite in place.
      args = rawArgs;
      for (let i = 0; i < rawArgs.length; i++) {
        const a = rawArgs[i];
        if (isPrimitive(a)) continue;
        if (isObjectRef(a)) {
          a.checkSession(() => `${name}.remote`);
          (argRefs ??= []).push(i);
          args[i] = a.id;
          (pinned ??= []).push(a.id);
          continue;
        }
        const e = encode(a, () => `${name}(args[${i}])`);
        const stored = this.host.store && this.refs.putArg(argObjectId(id, i), e.v, e.refs);
        if (stored) {
          (argRefs ??= []).push(i);
          args[i] = stored;
          (pinned ??= []).push(stored);
          continue;
        }
        // Copied now: the task gets the value as it was at `.remote()`, not at dispatch.
        args[i] = snapshot(e.v, () => `${name}(args[${i}])`);
        if (e.nested) {
          nested = true;
          if (e.refs.length) (pinned ??= []).push(...e.refs);
        }
      }
    } else {
      args = pre!.args;
      argRefs = pre!.argRefs;
      nested = pre!.nested;
      if (argRefs) for (const i of argRefs) (pinned ??= []).push(args[i] as string);
      if (nested) for (let i = 0; i < args.length; i++) if (!argRefs?.includes(i)) (pinned ??= []).push(...refsInside(args[i]));
    }
    const returns: ObjectId[] = new Array(numReturns);
    for (let i = 0; i < numReturns; i++) returns[i] = returnObjectId(id, i);
    const t: TaskRecord = {
      id, attempt: 0, type, fn, name, args, nested, argRefs, pinned, returns, parent, owner, remoteOwner: undefined,
      demand: ONE_CPU, key: 'CPU:1', strategy: 'DEFAULT', retriesLeft: 0, retryExceptions: false,
      pendingDeps: 0, state: 'PENDING_ARGS_AVAIL', nodeId: null, actorId: null, method: undefined,
      children: undefined, cancelled: false, submittedAt: now(), startedAt: null, endedAt: null, error: undefined,
    };
    return t;
  }

  /**
   * Records the task, creates its return objects, pins its arguments and waits for them.
   * `refs`: 1 when the driver just minted the task's id and holds one ObjectRef per return (its
   * return ids are new), 0 for a node's submission (which borrows, and may repeat ids on retry).
   */
  admit(t: TaskRecord, onReady: (t: TaskRecord) => void = this.enqueue, refs = 0): void {
    const { objects } = this.host;
    this.host.tasks.set(t.id, t);
    this.tasksChanged();
    // The driver's own root task has no record; the parent of a task another host sent is that host's.
    if (t.parent !== this.host.driverTaskId && t.remoteOwner === undefined) {
      const parent = this.host.tasks.get(t.parent);
      if (parent) (parent.children ??= []).push(t.id);
    }
    // A task another host sent has its return objects there, with its owner.
    if (t.remoteOwner === undefined) {
      for (const r of t.returns) {
        if (refs > 0) objects.add(r, t.owner, t).refs = refs;
        else objects.create(r, t.owner, t);
      }
    }
    const lost = t.pinned && this.refs.pin(t.pinned);
    if (lost !== undefined) {
      this.finish(t, serializeError(new ObjectLostError(lost, `it was freed before task ${t.name} could use it`)));
      return;
    }
    this.awaitArgs(t, onReady);
  }

  /** Waits for a task's arguments (again, when one was lost and is being made again), then `onReady`. */
  awaitArgs(t: TaskRecord, onReady: (t: TaskRecord) => void = this.enqueue): void {
    const { objects } = this.host;
    t.state = 'PENDING_ARGS_AVAIL';
    t.pendingDeps = 0;
    if (t.argRefs) {
      for (const i of t.argRefs) {
        const e = objects.get(t.args[i] as string)!;
        if (e.state === FAILED) { this.finish(t, e.error!); return; }
        if (e.state === PENDING) {
          t.pendingDeps++;
          objects.addWaiter(e, { settled: (d) => this.depSettled(t, d, onReady) });
        } else if (this.bringsFirst(t, e)) {
          t.pendingDeps++;
          this.depSettled(t, e, onReady);
        }
      }
    }
    if (t.pendingDeps === 0) onReady(t);
  }

  private depSettled(t: TaskRecord, d: ObjectEntry, onReady: (t: TaskRecord) => void): void {
    if (t.state !== 'PENDING_ARGS_AVAIL') return;
    if (d.state === FAILED) { this.finish(t, d.error!); return; }
    // Spilled meanwhile, or made on another host for a task that runs here: its bytes come here first.
    if (this.bringsFirst(t, d)) { this.refs.resident(d).then(() => this.depSettled(t, d, onReady), (err) => this.finish(t, serializeError(err))); return; }
    if (--t.pendingDeps === 0) onReady(t);
  }

  /**
   * Must an argument's bytes come here before the task is ready? Spilled ones must; those on
   * another host wait for placement when the task may go there (enqueueHere brings them if not).
   */
  private bringsFirst(t: TaskRecord, e: ObjectEntry): boolean {
    return e.place === SPILLED || (e.place === REMOTE && !this.placesAcrossHosts(t));
  }

  /** May the cluster place this task on another host? (This host's own normal tasks, in a cluster.) */
  private placesAcrossHosts(t: TaskRecord): boolean {
    return this.host.cluster !== undefined && t.type === NORMAL && t.remoteOwner === undefined;
  }

  /** A normal task whose arguments are ready: to another host, or to this host's scheduler. */
  readonly enqueue = (t: TaskRecord): void => {
    if ((t.verify !== undefined || t.replicaOf !== undefined) && this.verifier.ready(t)) return;
    if (t.remoteOwner !== undefined ? this.gate.declines(t) : this.placesAcrossHosts(t) && this.remote.placeElsewhere(t)) return;
    this.enqueueHere(t);
  };

  /** Runs a task on this host, once arguments still on other hosts are here. */
  enqueueHere(t: TaskRecord): void {
    // Only a cluster has objects on other hosts, or makes lost ones again: the hot path without one allocates nothing here.
    let away: ObjectEntry[] | undefined;
    if (this.host.cluster && t.argRefs) {
      for (const i of t.argRefs) {
        const e = this.host.objects.get(t.args[i] as string);
        // An argument lost meanwhile is being made again: wait for it first.
        if (e?.state === PENDING) { this.awaitArgs(t); return; }
        if (e?.place === REMOTE) (away ??= []).push(e);
      }
    }
    t.state = 'PENDING_NODE_ASSIGNMENT';
    if (away) {
      Promise.all(away.map((e) => this.refs.resident(e))).then(
        () => { if (t.state === 'PENDING_NODE_ASSIGNMENT') this.enqueueHere(t); },
        (err) => this.finish(t, serializeError(err)),
      );
      return;
    }
    const { scheduler } = this.host;
    if (this.holdings.count > 0) {
      const held = this.holdings.waitsForActors(t.name, t.key, t.demand, scheduler.pool.total);
      if (held) console.warn(held);
    }
    scheduler.enqueue(t);
    this.scheduleDispatch();
  }

  /** Is an argument of the task not made (again) yet? */
  argsInMaking(t: TaskRecord): boolean {
    return !!t.argRefs?.some((i) => this.host.objects.get(t.args[i] as string)?.state === PENDING);
  }

  scheduleDispatch(): void {
    if (this.dispatchQueued) return;
    this.dispatchQueued = true;
    queueMicrotask(this.dispatch);
  }

  /** Dispatches now what a dispatch scheduled for the end of the turn would. */
  dispatchNow(): void {
    if (this.dispatchQueued) this.dispatch();
  }

  private readonly dispatch = (): void => {
    this.dispatchQueued = false;
    if (this.host.closed) return;
    const { scheduler } = this.host;
    scheduler.dispatch((t, n) => this.send(t, n as NodeHandle));
    this.host.cluster?.reportLoad({ free: scheduler.pool.available, queued: scheduler.queueLength });
  };

  /** Arguments with their top-level refs replaced by the objects' values. */
  resolvedArgs(t: TaskRecord): { args: unknown[]; nested: boolean } {
    if (!t.argRefs) return { args: t.args, nested: t.nested };
    const args = t.args.slice();
    let nested = t.nested;
    for (const i of t.argRefs) {
      const e = this.host.objects.get(t.args[i] as string)!;
      args[i] = e.value;
      if (e.nested) nested = true;
    }
    return { args, nested };
  }

  /** A task's arguments for another host: values in the frame, objects in a store by reference (that host pulls them). */
  wireArgs(t: TaskRecord): { args: unknown[]; refs: ArgRef[] } {
    const { args } = this.resolvedArgs(t);
    const refs: ArgRef[] = [];
    if (t.argRefs) {
      for (const i of t.argRefs) {
        const e = this.host.objects.get(t.args[i] as string)!;
        const at = this.refs.bytesAt(e);
        if (!at) continue;
        refs.push({ i, id: e.id, host: at.host, size: at.size });
        args[i] = null;
      }
    }
    return { args, refs };
  }

  ensureFunction(node: NodeHandle, fn: FunctionDescriptor): void {
    if (node.knownFns.has(fn.id)) return;
    node.knownFns.add(fn.id);
    node.post({ t: 'fn', d: fn });
  }

  /** Sends a task (or an actor call) to a node. */
  send(t: TaskRecord, node: NodeHandle): void {
    this.ensureFunction(node, t.fn);
    const { args, nested } = this.resolvedArgs(t);
    t.state = 'SUBMITTED_TO_WORKER';
    t.nodeId = node.id;
    // A node with nothing else to run starts the task on arrival; one that is busy says when it
    // starts it ('started'; node/executor.ts reportStart). An earlier attempt's start does not count.
    t.startedAt = node.taskCount === node.blockedTasks.size ? now() : null;
    node.taskCount++;
    if (!nested && !t.verified && isJsonSafe(args)) {
      node.postJsonTask(t.id, t.fn.id, t.returns.length, t.attempt, args, t.method);
      return;
    }
    const m: TaskMsg = { t: 'task', id: t.id, fn: t.fn.id, args, nret: t.returns.length, attempt: t.attempt };
    if (nested) m.n = 1;
    if (t.verified) m.v = 1;
    if (t.actorId) { m.actor = t.actorId; m.method = t.method; }
    node.post(m);
  }

  /** Fills the returns of a submission that could not be accepted. */
  failNew(id: TaskId, owner: string, numReturns: number, error: SerializedError): void {
    const { objects } = this.host;
    for (let i = 0; i < numReturns; i++) objects.fail(objects.create(returnObjectId(id, i), owner, undefined), error);
  }

  /** A node says when it starts a task it queued. */
  started(node: NodeHandle, id: TaskId, at: number): void {
    const t = this.host.tasks.get(id);
    if (t && this.isOn(t, node)) t.startedAt = at;
  }

  /** A task on `node` blocked in (or returned from) ray.get: its CPU is lent to another task meanwhile. */
  blocked(node: NodeHandle, taskId: TaskId, blocked: boolean): void {
    const t = this.host.tasks.get(taskId);
    if (!t || !this.isOn(t, node) || node.kind !== 'task') return;
    const { scheduler } = this.host;
    if (blocked) {
      if (node.blockedTasks.has(taskId)) return;
      node.blockedTasks.add(taskId);
      scheduler.blocked(node);
    } else {
      if (!node.blockedTasks.delete(taskId)) return;
      scheduler.unblocked(node, t);
    }
    this.scheduleDispatch();
  }

  /** A task attempt ended on `node`: with its return values, or with `error`. */
  ended(node: NodeHandle, id: TaskId, values: unknown[] | undefined, nested: boolean, start: number, end: number, error?: SerializedError): void {
    const t = this.host.tasks.get(id);
    if (!t || !this.isOn(t, node)) return;
    node.taskCount--;
    const wasBlocked = node.blockedTasks.size > 0 && node.blockedTasks.delete(id);
    t.startedAt = start;
    t.endedAt = end;
    if (t.type === NORMAL) {
      this.host.scheduler.finished(node, t.fn.id, end - start, wasBlocked);
      this.scheduleDispatch();
    }
    if (t.cancelled) { this.finish(t, serializeError(new TaskCancelledError(t.id))); return; }
    if (t.remoteOwner !== undefined) { this.remote.returnToOwner(t, values, nested, error, start, end); return; }
    if (values) {
      const { objects } = this.host;
      for (let i = 0; i < t.returns.length; i++) {
        const e = objects.get(t.returns[i]!);
        if (e) objects.resolve(e, values[i], nested, nested ? refsInside(values[i]) : undefined, nested ? placeOf(values[i]) : INLINE);
      }
      this.finish(t, undefined);
      return;
    }
    if (t.type === NORMAL && this.shouldRetryException(t, error!)) { this.retry(t); return; }
    this.finish(t, error);
  }

  shouldRetryException(t: TaskRecord, error: SerializedError): boolean {
    if (t.retriesLeft === 0 || !t.retryExceptions) return false;
    if (t.retryExceptions === true) return true;
    const causeName = error.cause?.name ?? error.name;
    return t.retryExceptions.includes(causeName);
  }

  retry(t: TaskRecord): void {
    if (t.retriesLeft > 0) t.retriesLeft--;
    this.nextAttempt(t);
    if (t.type === NORMAL) this.enqueue(t);
  }

  /** Logs the current attempt as failed; the next one starts afresh (its ids include the attempt). */
  nextAttempt(t: TaskRecord, error = t.error): void {
    this.host.log.add({ ...t, state: 'FAILED', error });
    t.attempt++;
    t.nodeId = null;
    t.startedAt = t.endedAt = null;
  }

  /**
   * Calls in flight to an actor that died and restarts: those with retries left go again (a new
   * attempt, to be queued first), the others fail with `error`.
   */
  retryCalls(inflight: TaskRecord[], error: SerializedError): TaskRecord[] {
    const retried: TaskRecord[] = [];
    for (const t of inflight) {
      if (t.retriesLeft === 0) { this.finish(t, error); continue; }
      if (t.retriesLeft > 0) t.retriesLeft--;
      t.attempt++;
      t.nodeId = null;
      t.state = 'PENDING_NODE_ASSIGNMENT';
      retried.push(t);
    }
    return retried;
  }

  /**
   * Ends a task for good: fills its returns (value already set, or `error`), unpins its arguments.
   * A task another host sent tells that host, unless `answered` already did.
   */
  finish(t: TaskRecord, error: SerializedError | undefined, answered = false): void {
    if (t.state === 'FINISHED' || t.state === 'FAILED') return;
    const { objects, cluster } = this.host;
    if (t.remoteOwner !== undefined && !answered) {
      // Ended here without running to a result (its actor died, it was cancelled, an argument was lost): its owner must hear.
      cluster?.sendDone(t.remoteOwner, t.id, t.attempt, undefined, [], error ?? serializeError(new RayUsageError(`task ${t.name} ended on host ${this.host.hostId} without a result`)), t.startedAt ?? 0, t.endedAt ?? 0);
    }
    if (error) {
      t.error = error;
      for (const r of t.returns) { const e = objects.get(r); if (e) objects.fail(e, error); }
    }
    t.state = error ? 'FAILED' : 'FINISHED';
    t.endedAt ??= now();
    this.host.tasks.delete(t.id);
    this.tasksChanged();
    if (t.type === ACTOR_TASK) {
      const a = this.host.actors.get(t.actorId!);
      if (a) a.pendingCalls--;
    }
    // Before the arguments are unpinned: the lineage takes them over.
    if (!error) this.lineage.finished(t);
    if (t.pinned) this.refs.unpin(t.pinned);
    this.host.log.add(t);
    if (t.replicaOf !== undefined) this.verifier.replicaEnded(t, error);
  }

  /** A task another host sent leaves this host unrun and without a result: it was handed back to its owner. */
  forget(t: TaskRecord): void {
    this.host.tasks.delete(t.id);
    this.tasksChanged();
    if (t.pinned) this.refs.unpin(t.pinned);
  }

  /** An actor's creation task ended: the actor is alive. Its arguments stay pinned: a restart needs them. */
  created(t: TaskRecord): void {
    if (t.state === 'FINISHED') return;
    t.state = 'FINISHED';
    t.endedAt = now();
    this.host.tasks.delete(t.id);
    this.tasksChanged();
    this.host.log.add(t);
  }

  /** `ray.cancel` of the task that makes `objectId` (and its children when `recursive`). */
  async cancel(objectId: ObjectId, force: boolean, recursive: boolean): Promise<void> {
    const t = this.host.tasks.get(taskOfObject(objectId));
    if (!t) return;
    if (t.type !== NORMAL && force) throw new RayUsageError('ray.cancel: force is not supported for actor calls; use ray.kill(actor) to stop the actor.');
    if (recursive && t.children) for (const c of t.children) { const ct = this.host.tasks.get(c); if (ct) await this.cancel(ct.returns[0] ?? returnObjectId(c, 0), force, true); }
    if (t.verify !== undefined && this.verifier.cancel(t, force)) return;
    if (t.state === 'PENDING_ARGS_AVAIL' || t.state === 'PENDING_NODE_ASSIGNMENT') {
      if (t.state === 'PENDING_NODE_ASSIGNMENT' && t.type === NORMAL) this.host.scheduler.remove(t);
      if (t.type === ACTOR_TASK) { const a = this.host.actors.get(t.actorId!); if (a) a.queue = a.queue.filter((x) => x !== t); }
      this.finish(t, serializeError(new TaskCancelledError(t.id)));
      return;
    }
    t.cancelled = true;
    const node = t.nodeId ? this.host.nodes.get(t.nodeId) : undefined;
    if (!node && (t.nodeId === null || !this.host.cluster)) return;
    if (node && force) { await this.killNode(node, 'force-cancelled'); return; }
    // JavaScript cannot interrupt a running task: its result fails now, but the task keeps its
    // lease (the node's CPU) until the node says it ended, so nothing else is run beside it.
    const cancelled = serializeError(new TaskCancelledError(t.id));
    const { objects } = this.host;
    for (const r of t.returns) { const e = objects.get(r); if (e) objects.fail(e, cancelled); }
    // On another host (its id is the task's node): that host cancels it, and its end comes back.
    if (!node) { if (t.type !== ACTOR_CREATION) this.remote.cancelElsewhere(t, force, recursive); return; }
    node.post({ t: 'cancel', id: t.id });
  }

  /** Is this task's current attempt on `node`? (Late messages of an earlier attempt are ignored.) */
  isOn(t: TaskRecord, node: NodeHandle): boolean {
    return t.nodeId === node.id && t.state === 'SUBMITTED_TO_WORKER';
  }

  /** The tasks `node` holds, in submission order, now no longer counted as on it. */
  takeTasksOf(node: NodeHandle): TaskRecord[] {
    const out: TaskRecord[] = [];
    // An actor's creation task is on its node too, but a restart re-runs it separately.
    for (const t of this.host.tasks.values()) if (this.isOn(t, node) && t.type !== ACTOR_CREATION) out.push(t);
    node.taskCount = 0;
    return out;
  }

  /** A task node died (`reason`): its tasks are retried, or fail. */
  nodeLost(node: NodeHandle, reason: string): void {
    this.host.scheduler.removeNode(node);
    for (const t of this.takeTasksOf(node)) {
      // A result it was writing when it died stays unsealed in the store; a retry writes the same
      // ids, and would find it there and leave it, so readers would wait for a seal that never comes.
      for (const r of t.returns) this.host.store?.store.abort(r);
      if (t.cancelled) this.finish(t, serializeError(new TaskCancelledError(t.id)));
      else if (reason === 'force-cancelled') { t.state = 'PENDING_NODE_ASSIGNMENT'; t.nodeId = null; this.enqueue(t); }
      else if (t.retriesLeft !== 0) this.retry(t);
      else this.finish(t, serializeError(new WorkerCrashedError(t.id, reason)));
    }
    this.scheduleDispatch();
  }

  /** A message for the task could not be sent to its node (an argument the channel refused). */
  unsendable(t: TaskRecord, e: unknown): void {
    const node = t.nodeId ? this.host.nodes.get(t.nodeId) : undefined;
    if (node) node.taskCount--;
    if (node && t.type === NORMAL) { this.host.scheduler.finished(node, t.fn.id, 0, false); this.scheduleDispatch(); }
    this.finish(t, serializeError(new RayUsageError(`task ${t.name}: an argument cannot be sent to a worker (${(e as Error)?.message ?? e}).`)));
  }

  /** Holds the process while tasks (actor calls and creations included) are in flight here. */
  private tasksChanged(): void {
    if (this.host.tasks.size > 0) this.taskHold ??= this.host.holdProcess();
    else if (this.taskHold) { this.taskHold(); this.taskHold = undefined; }
  }

  /** Lets the process go (shutdown). */
  release(): void {
    this.taskHold?.();
    this.taskHold = undefined;
  }
}

/** Where a value a node sent is: a stored marker means its bytes are in the shared store. */
export function placeOf(v: unknown): typeof INLINE | typeof IN_STORE {
  return isStoredMarker(v) ? IN_STORE : INLINE;
}

/** The default demand, shared by the records that keep it (demands are never changed in place). */
const ONE_CPU: Resources = Object.freeze({ CPU: 1 });

export function demandKey(d: Resources): string {
  let k = '';
  for (const name of Object.keys(d).sort()) k += name + ':' + d[name] + ';';
  return k;
}
