/**
 * The host runtime: the driver thread's core worker. It owns what its callers submit (object
 * table, task records), feeds the local scheduler, talks to its nodes, and keeps the actor,
 * function and named-actor tables that the GCS will hold once hosts form a cluster.
 */
import type { ActorInfo, ActorSpec, Caller, CoreWorker, RuntimeContext, StateFilter } from '../api/core.js';
import { isObjectRef } from '../api/object-ref.js';
import { reviveValue } from '../api/revive.js';
import { encode, hasMarkers, isJsonSafe, isPrimitive, isStoredMarker, makeStoredMarker, refsInside } from '../shared/codec.js';
import {
  deserializeError, GetTimeoutError, NodeDiedError, ObjectLostError, PendingCallsLimitExceededError, RayActorError, RayUsageError,
  serializeError, TaskCancelledError, WorkerCrashedError, type SerializedError,
} from '../shared/errors.js';
import {
  actorIdFor, argObjectId, childTaskId, driverTaskId, jobOf, putObjectId, randomHex, returnObjectId, taskOfObject,
  type ActorId, type ObjectId, type TaskId,
} from '../shared/ids.js';
import { checkActorOptions, demandOf, type ActorOptions, type MethodOptions, type Resources, type TaskOptions } from '../shared/options.js';
import { DONE_FIELDS, type CreateActorMsg, type FunctionDescriptor, type HostToNode, type NodeToHost, type SubmitMsg, type TaskMsg } from '../shared/protocol.js';
import type { Platform } from '../platform/types.js';
import { LocalScheduler } from '../scheduler/local.js';
import { ActorHoldings } from '../scheduler/resources.js';
import { fromJsonField, messagesOf, type Batch, type JsonField } from '../shared/outbox.js';
import { ActorTable, nameTakenError, type ActorRecord } from './actors.js';
import { NodeHandle } from './node-handle.js';
import { FAILED, IN_STORE, INLINE, ObjectTable, PENDING, READY, REMOTE, SPILLED, type ObjectEntry, type Waiter } from './objects.js';
import { StoreOwner, type StoreConfig } from './store-owner.js';
import { ClusterHost, toWire, type ClusterConfig, type ClusterRuntime } from './cluster-host.js';
import type { ArgRef, Frame, HostInfo } from '../mesh/frames.js';
import type { ArgBytes } from '../scheduler/global.js';
import { spills } from '../scheduler/bottom-up.js';
import { hostState, mergeState, select } from './state.js';
import { ACTOR_CREATION, ACTOR_TASK, NORMAL, TaskLog, type TaskRecord } from './task-record.js';
import { now } from '../shared/clock.js';

export interface HostOptions {
  /** Join a cluster of hosts (see ClusterConfig). */
  cluster?: ClusterConfig;
  numWorkers: number;
  resources: Resources;
  namespace: string;
  /** How many finished tasks the state API and timeline remember. */
  taskLogSize: number;
  apiNames: readonly string[];
  store: StoreConfig;
}

interface GetRequest extends Waiter {
  remaining: number;
}

export class HostRuntime implements CoreWorker, ClusterRuntime {
  readonly jobId: string;
  readonly hostId: string;
  readonly nodeId: string;
  readonly namespace: string;
  readonly objects = new ObjectTable();
  readonly tasks = new Map<TaskId, TaskRecord>();
  readonly log: TaskLog;
  readonly scheduler: LocalScheduler<TaskRecord>;
  readonly nodes = new Map<string, NodeHandle>();
  readonly actors = new ActorTable();
  readonly functions = new Map<string, FunctionDescriptor>();
  readonly startedAt = now();
  private readonly driver: Caller;
  private nodeCounter = 0;
  private dispatchQueued = false;
  private closed = false;
  /** The shared object store; undefined where threads cannot share memory. */
  store: StoreOwner | undefined;
  /** This host's membership of a cluster, if it joined one. */
  cluster: ClusterHost | undefined;

  constructor(readonly platform: Platform, readonly options: HostOptions, jobId: string) {
    this.jobId = jobId;
    this.hostId = randomHex(4);
    this.nodeId = `${this.hostId}.driver`;
    this.namespace = options.namespace;
    this.driver = { taskId: driverTaskId(jobId), submitted: 0, puts: 0, attempt: 0 };
    this.log = new TaskLog(options.taskLogSize);
    this.scheduler = new LocalScheduler({ ...options.resources, CPU: options.numWorkers });
    this.scheduler.onInfeasible = (t) => console.warn(
      `webray: task ${t.name} needs ${JSON.stringify(t.demand)}, which no node of this host has (${JSON.stringify(this.scheduler.pool.total)}). ` +
      `It stays pending until such resources join the cluster; lower its numCpus/resources or add them with init({ resources }).`,
    );
  }

  start(): Promise<void> {
    return this.held(this.startNow());
  }

  private async startNow(): Promise<void> {
    this.store = await StoreOwner.create(this.options.store, this.platform.spillTarget(this.hostId), this.objects);
    this.objects.onFree = (e) => this.bytesFreed(e);
    const spawned = [];
    for (let i = 0; i < this.options.numWorkers; i++) spawned.push(this.spawnNode('task', null));
    await Promise.all(spawned.map((n) => n.ready));
    if (this.options.cluster) {
      const rtcConfig = this.options.cluster.signaling ? undefined : await this.platform.prepareSignaling?.();
      this.cluster = await ClusterHost.start(this, this.hostInfo(), { ...this.options.cluster, rtcConfig }, this.store?.store, this.platform.timers);
    }
  }

  /** This host as the cluster sees it: its resources and task nodes. */
  private hostInfo(): HostInfo {
    const nodes = [...this.nodes.values()].filter((n) => n.kind === 'task').map((n) => n.id);
    return { hostId: this.hostId, resources: { ...this.scheduler.pool.total }, nodes };
  }

  private spawnNode(kind: 'task' | 'actor', actorId: ActorId | null): NodeHandle {
    const nodeId = `${this.hostId}.${++this.nodeCounter}`;
    const proc = this.platform.spawn({
      nodeId, hostId: this.hostId, jobId: this.jobId, namespace: this.namespace, kind, apiNames: [...this.options.apiNames],
      store: this.store?.boot,
    });
    const node = new NodeHandle(nodeId, kind, proc, actorId);
    node.outbox.onUnsendable = (m, e) => this.unsendable(m, e);
    this.nodes.set(nodeId, node);
    proc.endpoint.listen((batch) => this.receive(node, batch as Batch));
    proc.onExit((reason) => this.nodeDied(node, reason));
    if (kind === 'task') {
      node.ready.then(() => {
        if (!node.alive) return;
        this.scheduler.addNode(node);
        this.scheduleDispatch();
      });
    }
    return node;
  }

  // ---- submission -------------------------------------------------------------------------

  currentCaller(): Caller {
    return this.driver;
  }

  registerFunction(fn: FunctionDescriptor): void {
    if (!this.functions.has(fn.id)) this.functions.set(fn.id, fn);
  }

  submitTask(caller: Caller, fn: FunctionDescriptor, args: unknown[], options: TaskOptions): ObjectId[] {
    this.assertOpen();
    this.drainWhileSubmitting();
    this.registerFunction(fn);
    const id = childTaskId(caller.taskId, caller.submitted++);
    const t = this.newTask(id, NORMAL, fn, options.name ?? fn.name, args, undefined, caller.taskId, this.nodeId, options.numReturns ?? 1);
    this.applyTaskOptions(t, options);
    this.admit(t, this.enqueue, 1);
    return t.returns;
  }

  private readonly demands = new WeakMap<TaskOptions, { demand: Resources; key: string }>();

  private applyTaskOptions(t: TaskRecord, options: TaskOptions): void {
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
  }

  /** Encodes arguments: top-level refs become ids to resolve; nested refs are pinned as they are. */
  private newTask(
    id: TaskId, type: TaskRecord['type'], fn: FunctionDescriptor, name: string, rawArgs: unknown[] | undefined,
    pre: { args: unknown[]; argRefs?: number[]; nested: boolean } | undefined, parent: TaskId, owner: string, numReturns: number,
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
        const stored = this.store && this.putArg(argObjectId(id, i), e.v, e.refs);
        if (stored) {
          (argRefs ??= []).push(i);
          args[i] = stored;
          (pinned ??= []).push(stored);
          continue;
        }
        args[i] = e.v;
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

  /** A large argument passed by value becomes an object in the store (as Ray does); its id, or undefined to pass it inline. */
  private putArg(id: ObjectId, value: unknown, refs: string[]): ObjectId | undefined {
    const marker = this.store!.putLarge(id, value, refs);
    if (!marker) return undefined;
    this.objects.resolve(this.objects.create(id, this.nodeId, undefined), marker, true, refs, IN_STORE);
    return id;
  }

  /**
   * Records the task, creates its return objects, pins its arguments and waits for them.
   * `refs`: 1 when the driver just minted the task's id and holds one ObjectRef per return (its
   * return ids are new), 0 for a node's submission (which borrows, and may repeat ids on retry).
   */
  private admit(t: TaskRecord, onReady: (t: TaskRecord) => void = this.enqueue, refs = 0): void {
    this.tasks.set(t.id, t);
    this.tasksChanged();
    // The driver's own root task has no record.
    if (t.parent !== this.driver.taskId) {
      const parent = this.tasks.get(t.parent);
      if (parent) (parent.children ??= []).push(t.id);
    }
    // A task another host sent has its return objects there, with its owner.
    if (t.remoteOwner === undefined) {
      for (const r of t.returns) {
        if (refs > 0) this.objects.add(r, t.owner, t).refs = refs;
        else this.objects.create(r, t.owner, t);
      }
    }
    let lost: ObjectId | undefined;
    if (t.pinned) for (const id of t.pinned) { if (this.objects.get(id)) this.objects.pin(id); else lost ??= id; }
    if (lost !== undefined) {
      this.finish(t, serializeError(new ObjectLostError(lost, `it was freed before task ${t.name} could use it`)));
      return;
    }
    if (t.argRefs) {
      for (const i of t.argRefs) {
        const e = this.objects.get(t.args[i] as string)!;
        if (e.state === FAILED) { this.finish(t, e.error!); return; }
        if (e.state === PENDING) {
          t.pendingDeps++;
          this.objects.addWaiter(e, { settled: (d) => this.depSettled(t, d, onReady) });
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
    if (this.bringsFirst(t, d)) { this.resident(d).then(() => this.depSettled(t, d, onReady), (err) => this.finish(t, serializeError(err))); return; }
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
    return this.cluster !== undefined && t.type === NORMAL && t.remoteOwner === undefined;
  }

  private readonly enqueue = (t: TaskRecord): void => {
    const c = this.cluster;
    if (c && this.placesAcrossHosts(t)) {
      const sendable = this.sendsAnywhere(t);
      const refusal = typeof t.strategy === 'object' ? c.pinnedElsewhereRefusal(t.name, t.strategy, sendable) : undefined;
      if (refusal) { this.finish(t, serializeError(refusal)); return; }
      if (!sendable) { this.enqueueHere(t); return; }
      const host = c.place(t, this.scheduler.pool.feasible(t.demand));
      if (host) { this.sendRemote(t, host); return; }
      // Bottom-up: the global scheduler places what this host should not run itself.
      if (t.strategy === 'DEFAULT' && c.sendsWork) {
        const args = this.argBytes(t);
        if (spills(this.hostId, args, this.scheduler.hasRoom(t.demand))) { this.spill(t, args); return; }
      }
    }
    this.enqueueHere(t);
  };

  /** Runs a task on this host, once arguments still on other hosts are here. */
  private enqueueHere(t: TaskRecord): void {
    t.state = 'PENDING_NODE_ASSIGNMENT';
    // Only a cluster has objects on other hosts: the hot path without one allocates nothing here.
    const away = this.cluster && t.argRefs?.map((i) => this.objects.get(t.args[i] as string)!).filter((e) => e.place === REMOTE);
    if (away && away.length) {
      Promise.all(away.map((e) => this.resident(e))).then(
        () => { if (t.state === 'PENDING_NODE_ASSIGNMENT') this.enqueueHere(t); },
        (err) => this.finish(t, serializeError(err)),
      );
      return;
    }
    if (this.holdings.count > 0) {
      const held = this.holdings.waitsForActors(t.name, t.key, t.demand, this.scheduler.pool.total);
      if (held) console.warn(held);
    }
    this.scheduler.enqueue(t);
    this.scheduleDispatch();
  }

  /** Tasks waiting for the global scheduler's answer (with where their argument bytes are), sent together at the end of this turn. */
  private spilling: { t: TaskRecord; args: ArgBytes[] }[] = [];

  private spill(t: TaskRecord, args: ArgBytes[]): void {
    t.state = 'PENDING_NODE_ASSIGNMENT';
    if (this.spilling.push({ t, args }) === 1) queueMicrotask(() => this.sendSpilled());
  }

  private sendSpilled(): void {
    const batch = this.spilling;
    this.spilling = [];
    void this.cluster!.placeGlobally(batch.map(({ t, args }) => ({ demand: t.demand, args }))).then((hosts) => {
      batch.forEach(({ t }, i) => {
        // Cancelled (or the runtime closed) while the head decided.
        if (t.state !== 'PENDING_NODE_ASSIGNMENT' || this.closed) return;
        const host = hosts[i];
        if (host) this.sendRemote(t, host);
        else this.enqueueHere(t);
      });
    });
  }

  /** How many of a task's argument bytes each host holds (objects in a store; inline values travel with the task). */
  private argBytes(t: TaskRecord): ArgBytes[] {
    const out: ArgBytes[] = [];
    if (!t.argRefs) return out;
    for (const i of t.argRefs) {
      const e = this.objects.get(t.args[i] as string);
      const at = e && this.bytesAt(e);
      if (!at) continue;
      const a = out.find((x) => x.host === at.host);
      if (a) a.bytes += at.size;
      else out.push({ host: at.host, bytes: at.size });
    }
    return out;
  }

  /** The host whose store has an object's bytes, or undefined for an inline (or spilled) value. */
  private bytesAt(e: ObjectEntry): { host: string; size: number } | undefined {
    if (e.place === REMOTE) return e.value as { host: string; size: number };
    if (e.place === IN_STORE) return { host: this.hostId, size: (e.value as { size: number }).size };
    return undefined;
  }

  private scheduleDispatch(): void {
    if (this.dispatchQueued) return;
    this.dispatchQueued = true;
    queueMicrotask(this.dispatch);
  }

  private readonly dispatch = (): void => {
    this.dispatchQueued = false;
    if (this.closed) return;
    this.scheduler.dispatch((t, n) => this.send(t, n as NodeHandle));
    this.cluster?.reportLoad({ free: this.scheduler.pool.available, queued: this.scheduler.queueLength });
  };

  /** Arguments with their top-level refs replaced by the objects' values. */
  private resolvedArgs(t: TaskRecord): { args: unknown[]; nested: boolean } {
    if (!t.argRefs) return { args: t.args, nested: t.nested };
    const args = t.args.slice();
    let nested = t.nested;
    for (const i of t.argRefs) {
      const e = this.objects.get(t.args[i] as string)!;
      args[i] = e.value;
      if (e.nested) nested = true;
    }
    return { args, nested };
  }

  private ensureFunction(node: NodeHandle, fn: FunctionDescriptor): void {
    if (node.knownFns.has(fn.id)) return;
    node.knownFns.add(fn.id);
    node.post({ t: 'fn', d: fn });
  }

  private send(t: TaskRecord, node: NodeHandle): void {
    this.ensureFunction(node, t.fn);
    const { args, nested } = this.resolvedArgs(t);
    t.state = 'SUBMITTED_TO_WORKER';
    t.nodeId = node.id;
    // A node with nothing else to run starts the task on arrival; one that is busy says when it
    // starts it ('started'; node/executor.ts reportStart). An earlier attempt's start does not count.
    t.startedAt = node.taskCount === node.blockedTasks.size ? now() : null;
    node.taskCount++;
    if (!nested && isJsonSafe(args)) {
      node.postJsonTask(t.id, t.fn.id, t.returns.length, t.attempt, args, t.method);
      return;
    }
    const m: TaskMsg = { t: 'task', id: t.id, fn: t.fn.id, args, nret: t.returns.length, attempt: t.attempt };
    if (nested) m.n = 1;
    if (t.actorId) { m.actor = t.actorId; m.method = t.method; }
    node.post(m);
  }

  // ---- messages from nodes ----------------------------------------------------------------

  private receive(node: NodeHandle, batch: Batch): void {
    for (const m of messagesOf<NodeToHost>(batch, 'dones')) {
      try {
        this.handle(node, m);
      } catch (e) {
        console.error(`webray: host failed to handle '${m.t}' from node ${node.id}:`, e);
      }
    }
  }

  private handle(node: NodeHandle, m: NodeToHost): void {
    switch (m.t) {
      case 'ready': node.setReady(); return;
      case 'done': this.taskEnded(node, m.id, m.values, !!m.n, m.start, m.end); return;
      case 'failed': this.taskEnded(node, m.id, undefined, false, m.start, m.end, m.error); return;
      case 'dones': {
        const run = JSON.parse(m.j as string) as unknown[];
        for (let i = 0; i < run.length; i += DONE_FIELDS) {
          this.taskEnded(node, run[i] as TaskId, fromJsonField(run[i + 1] as JsonField), false, run[i + 2] as number, run[i + 3] as number);
        }
        return;
      }
      case 'started': { const t = this.tasks.get(m.id); if (t && this.isOn(t, node)) t.startedAt = m.at; return; }
      case 'submit': this.nodeSubmit(node, m); return;
      case 'get': this.nodeGet(node, m.req, m.ids); return;
      case 'blocked': this.nodeBlocked(node, m.task, true); return;
      case 'unblocked': this.nodeBlocked(node, m.task, false); return;
      case 'put': {
        const e = this.objects.create(m.id, node.id, undefined);
        this.objects.resolve(e, m.v, !!m.n, m.n ? refsInside(m.v) : undefined, placeOf(m.v));
        return;
      }
      case 'borrow':
        for (const id of m.ids) { node.borrowed.set(id, (node.borrowed.get(id) ?? 0) + 1); this.objects.addRef(id); }
        return;
      case 'release':
        for (const id of m.ids) this.releaseBorrow(node, id);
        return;
      case 'fn': this.registerFunction(m.d); return;
      case 'actor-ready': this.actorReady(node, m.actor); return;
      case 'actor-failed': this.actorCreationFailed(m.actor, m.error); return;
      case 'call': void this.nodeCall(node, m.req, m.op, m.arg); return;
    }
  }

  private releaseBorrow(node: NodeHandle, id: ObjectId): void {
    const n = node.borrowed.get(id);
    if (n === undefined) return;
    if (n <= 1) node.borrowed.delete(id); else node.borrowed.set(id, n - 1);
    this.objects.removeRef(id);
  }

  private reply(node: NodeHandle, req: number, p: Promise<unknown>): void {
    p.then(
      (value) => node.post({ t: 'reply', req, ok: true, value }),
      (e) => node.post({ t: 'reply', req, ok: false, error: serializeError(e) }),
    );
  }

  private nodeCall(node: NodeHandle, req: number, op: string, arg: any): void {
    switch (op) {
      case 'wait': this.reply(node, req, this.waitIds(arg.ids, arg.numReturns, arg.timeout)); return;
      case 'cancel': this.reply(node, req, this.cancel(arg.id, arg.force, arg.recursive)); return;
      case 'kill': this.reply(node, req, this.kill(arg.id, arg.noRestart)); return;
      case 'getActor': this.reply(node, req, this.getActor(arg.name, arg.namespace)); return;
      case 'state': this.reply(node, req, this.state(arg.query, arg.filter)); return;
      case 'space': this.reply(node, req, this.store ? this.store.makeRoom(arg.bytes) : Promise.resolve(false)); return;
      default: this.reply(node, req, Promise.reject(new RayUsageError(`unknown control op ${op}`)));
    }
  }

  private nodeSubmit(node: NodeHandle, m: SubmitMsg): void {
    const fn = this.functions.get(m.fn);
    const numReturns = m.options.numReturns ?? 1;
    if (m.create) {
      this.createActorWithId(m.create.actor, node.id, m.parent, { fn: fn!, className: fn!.name, methods: m.create.methods, asyncMethods: m.create.asyncMethods },
        { args: m.args, argRefs: m.refArgs, nested: !!m.n }, m.create.options);
      return;
    }
    if (m.actor) {
      try {
        this.submitActorTaskWithId(m.id, node.id, m.parent, m.actor, m.method!, { args: m.args, argRefs: m.refArgs, nested: !!m.n }, m.options);
      } catch (e) {
        this.failNew(m.id, node.id, numReturns, serializeError(e));
      }
      return;
    }
    if (!fn) { this.failNew(m.id, node.id, numReturns, serializeError(new RayUsageError(`unknown function ${m.fn}`))); return; }
    const t = this.newTask(m.id, NORMAL, fn, m.options.name ?? fn.name, undefined, { args: m.args, argRefs: m.refArgs, nested: !!m.n }, m.parent, node.id, numReturns);
    this.applyTaskOptions(t, m.options);
    this.admit(t);
  }

  /** Fills the returns of a submission that could not be accepted. */
  private failNew(id: TaskId, owner: string, numReturns: number, error: SerializedError): void {
    for (let i = 0; i < numReturns; i++) this.objects.fail(this.objects.create(returnObjectId(id, i), owner, undefined), error);
  }

  private nodeGet(node: NodeHandle, req: number, ids: ObjectId[]): void {
    /** Objects that could not be brought here (a spill lost, a pull that failed). */
    const unreachable = new Map<ObjectId, SerializedError>();
    const send = () => {
      if (!node.alive) return;
      node.post({
        t: 'objects', req,
        values: ids.map((id) => {
          const e = this.objects.get(id);
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
          this.resident(e).then(() => w.settled(e), (err) => { unreachable.set(e.id, serializeError(err)); w.remaining = -1; send(); });
          return;
        }
        if (e.state === FAILED || --w.remaining === 0) { w.remaining = -1; send(); }
      },
    };
    for (const id of ids) {
      const e = this.objects.get(id);
      if (e?.state === PENDING) { w.remaining++; this.objects.addWaiter(e, w); }
      else if (e && e.place >= SPILLED) { w.remaining++; w.settled(e); }
    }
    if (w.remaining === 0) send();
  }

  private nodeBlocked(node: NodeHandle, taskId: TaskId, blocked: boolean): void {
    const t = this.tasks.get(taskId);
    if (!t || !this.isOn(t, node) || node.kind !== 'task') return;
    if (blocked) {
      if (node.blockedTasks.has(taskId)) return;
      node.blockedTasks.add(taskId);
      this.scheduler.blocked(node);
    } else {
      if (!node.blockedTasks.delete(taskId)) return;
      this.scheduler.unblocked(node, t);
    }
    this.scheduleDispatch();
  }

  /** A task attempt ended on `node`: with its return values, or with `error`. */
  private taskEnded(node: NodeHandle, id: TaskId, values: unknown[] | undefined, nested: boolean, start: number, end: number, error?: SerializedError): void {
    const t = this.tasks.get(id);
    if (!t || !this.isOn(t, node)) return;
    node.taskCount--;
    const wasBlocked = node.blockedTasks.size > 0 && node.blockedTasks.delete(id);
    t.startedAt = start;
    t.endedAt = end;
    if (t.type === NORMAL) {
      this.scheduler.finished(node, t.fn.id, end - start, wasBlocked);
      this.scheduleDispatch();
    }
    if (t.cancelled) { this.finish(t, serializeError(new TaskCancelledError(t.id))); return; }
    if (t.remoteOwner !== undefined) { this.returnToOwner(t, values, nested, error, start, end); return; }
    if (values) {
      for (let i = 0; i < t.returns.length; i++) {
        const e = this.objects.get(t.returns[i]!);
        if (e) this.objects.resolve(e, values[i], nested, nested ? refsInside(values[i]) : undefined, nested ? placeOf(values[i]) : INLINE);
      }
      this.finish(t, undefined);
      return;
    }
    if (t.type === NORMAL && this.shouldRetryException(t, error!)) { this.retry(t); return; }
    this.finish(t, error);
  }


  private shouldRetryException(t: TaskRecord, error: SerializedError): boolean {
    if (t.retriesLeft === 0 || !t.retryExceptions) return false;
    if (t.retryExceptions === true) return true;
    const causeName = error.cause?.name ?? error.name;
    return t.retryExceptions.includes(causeName);
  }

  private retry(t: TaskRecord): void {
    if (t.retriesLeft > 0) t.retriesLeft--;
    this.log.add({ ...t, state: 'FAILED' });
    t.attempt++;
    t.nodeId = null;
    t.startedAt = t.endedAt = null;
    if (t.type === NORMAL) this.enqueue(t);
  }

  /**
   * Ends a task for good: fills its returns (value already set, or `error`), unpins its arguments.
   * A task another host sent tells that host, unless `answered` already did.
   */
  private finish(t: TaskRecord, error: SerializedError | undefined, answered = false): void {
    if (t.state === 'FINISHED' || t.state === 'FAILED') return;
    if (t.remoteOwner !== undefined && !answered) {
      // Ended here without running to a result (its actor died, it was cancelled, an argument was lost): its owner must hear.
      this.cluster?.sendDone(t.remoteOwner, t.id, undefined, [], error ?? serializeError(new RayUsageError(`task ${t.name} ended on host ${this.hostId} without a result`)), t.startedAt ?? 0, t.endedAt ?? 0);
    }
    if (error) {
      t.error = error;
      for (const r of t.returns) { const e = this.objects.get(r); if (e) this.objects.fail(e, error); }
    }
    t.state = error ? 'FAILED' : 'FINISHED';
    t.endedAt ??= now();
    this.tasks.delete(t.id);
    this.tasksChanged();
    if (t.type === ACTOR_TASK) {
      const a = this.actors.get(t.actorId!);
      if (a) a.pendingCalls--;
    }
    if (t.pinned) for (const id of t.pinned) this.objects.unpin(id);
    this.log.add(t);
  }

  // ---- other hosts ------------------------------------------------------------------------

  /**
   * Can this task run on another host? Its arguments must be plain values or objects in a store
   * (passed by reference: the target pulls them); refs nested inside arguments, and spilled
   * objects, keep it here.
   */
  private sendsAnywhere(t: TaskRecord): boolean {
    if (t.nested) return false;
    if (t.argRefs) {
      for (const i of t.argRefs) {
        const e = this.objects.get(t.args[i] as string);
        if (!e || (e.place === INLINE ? e.nested : e.place === SPILLED || !!e.contains?.length)) return false;
      }
    }
    return true;
  }

  /** A task's arguments for another host: values in the frame, objects in a store by reference. */
  private wireArgs(t: TaskRecord): { args: unknown[]; refs: ArgRef[] } {
    const { args } = this.resolvedArgs(t);
    const refs: ArgRef[] = [];
    if (t.argRefs) {
      for (const i of t.argRefs) {
        const e = this.objects.get(t.args[i] as string)!;
        const at = this.bytesAt(e);
        if (!at) continue;
        refs.push({ i, id: e.id, host: at.host, size: at.size });
        args[i] = null;
      }
    }
    return { args, refs };
  }

  private sendRemote(t: TaskRecord, host: string): void {
    const { args, refs } = this.wireArgs(t);
    const f: Extract<Frame, { t: 'task' }> = {
      t: 'task', id: t.id, fn: t.fn.id, name: t.name, args: toWire(args), nret: t.returns.length,
      attempt: t.attempt, demand: t.demand,
    };
    if (refs.length) f.refs = refs;
    const s = t.strategy;
    if (typeof s === 'object') f.node = s.nodeId;
    else if (s === 'SPREAD') f.spread = true;
    t.state = 'SUBMITTED_TO_WORKER';
    t.nodeId = host;
    this.cluster!.sendTask(host, t.fn, f).catch(() => {
      // The link went between placement and sending: run it here instead.
      if (t.nodeId !== host || t.state !== 'SUBMITTED_TO_WORKER') return;
      t.nodeId = null;
      this.enqueueHere(t);
    });
  }

  /** A task another host sent: run it here as if submitted here, but its results go back to that host. */
  acceptRemoteTask(from: string, f: Extract<Frame, { t: 'task' }>, args: unknown[]): void {
    if (f.actor !== undefined) {
      try {
        this.submitActorTaskWithId(f.id, from, driverTaskId(jobOf(f.id)), f.actor, f.method ?? '', { args, nested: false }, { numReturns: f.nret }, 0, from);
      } catch (e) {
        this.cluster!.sendDone(from, f.id, undefined, [], serializeError(e), 0, 0);
      }
      return;
    }
    const fn = this.functions.get(f.fn);
    if (!fn || this.tasks.has(f.id) || this.closed) return;
    if (!f.refs) { this.admitRemoteTask(from, f, fn, args, undefined); return; }
    const refs = f.refs;
    if (refs.some((r, k) => r.i >= args.length || refs.findIndex((x) => x.i === r.i) !== k)) {
      this.cluster!.sendDone(from, f.id, undefined, [], serializeError(new RayUsageError(`task ${f.name} from host ${from} names arguments by reference that it does not have`)), 0, 0);
      return;
    }
    this.borrow(from, refs).then(
      () => this.admitRemoteTask(from, f, fn, args, refs),
      (e) => this.cluster!.sendDone(from, f.id, undefined, [], serializeError(e), 0, 0),
    );
  }

  /**
   * Objects a task from another host takes by reference: brought into this store (unless here
   * already) and entered in the table for the task's life. Those kept here for their owner stay
   * when the task ends; pulled copies go.
   */
  private async borrow(owner: string, refs: ArgRef[]): Promise<void> {
    await Promise.all(refs.map(async (r) => {
      if (r.host !== this.hostId && !this.objects.get(r.id)) {
        const pulls = this.cluster?.pulls;
        if (!pulls) throw new ObjectLostError(r.id, `it is on host ${r.host}, and this host has no object store to pull it into`);
        await pulls.pull(r.host, r.id);
      }
      const e = this.objects.create(r.id, owner, undefined);
      this.objects.resolve(e, makeStoredMarker(r.id, r.size, []), true, [], IN_STORE);
    }));
  }

  private admitRemoteTask(from: string, f: Extract<Frame, { t: 'task' }>, fn: FunctionDescriptor, args: unknown[], refs: ArgRef[] | undefined): void {
    if (this.tasks.has(f.id) || this.closed) return;
    let argRefs: number[] | undefined;
    if (refs) for (const r of refs) { args[r.i] = r.id; (argRefs ??= []).push(r.i); }
    const t = this.newTask(f.id, NORMAL, fn, f.name, undefined, { args, argRefs, nested: false }, driverTaskId(jobOf(f.id)), from, f.nret);
    t.remoteOwner = from;
    t.attempt = f.attempt;
    t.demand = f.demand;
    t.key = demandKey(f.demand);
    t.strategy = f.node ? { nodeId: f.node, soft: false } : f.spread ? 'SPREAD' : 'DEFAULT';
    t.retriesLeft = 0; // the owner retries
    this.admit(t);
  }

  private returnToOwner(t: TaskRecord, values: unknown[] | undefined, nested: boolean, error: SerializedError | undefined, start: number, end: number): void {
    let out = values;
    const remote: { i: number; size: number }[] = [];
    if (values && nested) {
      // Large values are stored markers (kept here for the owner to pull); the others cross inline
      // unless a ref, a handle or a function is inside one.
      if (values.some((v) => (isStoredMarker(v) ? refsInside(v).length > 0 : hasMarkers(v)))) {
        for (const v of values) if (isStoredMarker(v)) this.store?.store.delete((v as { id: string }).id);
        error = serializeError(new RayUsageError(`task ${t.name} ran on host ${this.hostId} and returned ObjectRefs or actor handles: results with refs do not cross hosts yet`));
        out = undefined;
      } else {
        // Results in this host's store stay here until the owner pulls and frees them.
        out = values.map((v, i) => {
          if (!isStoredMarker(v)) return v;
          const m = v as { id: string; size: number };
          this.cluster!.holdFor(m.id, t.remoteOwner!);
          remote.push({ i, size: m.size });
          return null;
        });
      }
    }
    this.cluster!.sendDone(t.remoteOwner!, t.id, error ? undefined : out, remote, error, start, end);
    this.finish(t, error, true);
  }

  /** Brings an object's bytes here: from the spill target, or from the host that has them. */
  private resident(e: ObjectEntry): Promise<void> {
    if (e.place === SPILLED) return this.store!.restore(e);
    if (e.place !== REMOTE) return Promise.resolve();
    const { host, size } = e.value as { host: string; size: number };
    if (!this.cluster?.pulls) return Promise.reject(new ObjectLostError(e.id, `it is on host ${host}, and this host cannot pull objects (no store or no cluster)`));
    return this.cluster.pulls.pull(host, e.id).then(() => {
      if (e.place !== REMOTE) return;
      e.place = IN_STORE;
      e.value = makeStoredMarker(e.id, size, []);
      this.cluster!.free(host, [e.id]);
    });
  }

  /** The owner freed an object whose bytes are not in its entry. */
  private bytesFreed(e: ObjectEntry): void {
    if (e.place === REMOTE) this.cluster?.free((e.value as { host: string }).host, [e.id]);
    // Borrowed by a task from another host, but kept here for its owner: the owner frees it.
    else if (!this.cluster?.keepsFor(e.id)) this.store?.freed(e);
  }

  /** A task this host owns ended on another host. */
  remoteTaskDone(from: string, id: string, values: unknown[] | undefined, remote: { i: number; size: number }[], error: SerializedError | undefined, start: number, end: number): void {
    const t = this.tasks.get(id);
    if (!t || t.nodeId !== from || t.state !== 'SUBMITTED_TO_WORKER') return;
    t.startedAt = start;
    t.endedAt = end;
    if (!error && values?.length !== t.returns.length) error = serializeError(new RayUsageError(`host ${from} sent ${values?.length ?? 'no'} values for ${t.returns.length} returns of task ${t.name}`));
    if (error) {
      if (this.shouldRetryException(t, error)) this.retry(t);
      else this.finish(t, error);
      return;
    }
    for (const r of remote) {
      const e = this.objects.get(t.returns[r.i]!);
      // Kept on the host that ran the task; pulled when someone here needs it.
      if (e) this.objects.resolve(e, { host: from, size: r.size }, true, [], REMOTE);
      else this.cluster!.free(from, [t.returns[r.i]!]);
    }
    for (let i = 0; i < t.returns.length; i++) {
      const e = this.objects.get(t.returns[i]!);
      if (!e || e.state !== PENDING) continue;
      const marker = this.store?.putLarge(e.id, values![i], []);
      if (marker) this.objects.resolve(e, marker, true, [], IN_STORE);
      else this.objects.resolve(e, values![i], false, undefined);
    }
    this.finish(t, undefined);
  }

  /** Members or links changed: tasks on a host that left are retried elsewhere, or fail; tasks no node here can run are placed again. */
  hostsChanged(hosts: HostInfo[]): void {
    for (const t of this.scheduler.takeInfeasible()) this.enqueue(t);
    const live = new Set(hosts.map((h) => h.hostId));
    // A host that left ended its job: the actors it placed here stop, unless detached (as in Ray).
    for (const a of this.actors.actors.values()) {
      if (a.ownerHost === undefined || live.has(a.ownerHost) || a.detached || a.state === 'DEAD') continue;
      const node = a.node;
      this.actorDead(a, `its job ended: host ${a.ownerHost}, whose driver created it, left the cluster (give it lifetime: 'detached' to outlive its job)`, undefined);
      if (node) void this.killNode(node, 'its job ended');
    }
    for (const t of [...this.tasks.values()]) {
      if (t.state !== 'SUBMITTED_TO_WORKER' || t.nodeId === null || this.nodes.has(t.nodeId) || live.has(t.nodeId)) continue;
      const host = t.nodeId;
      if (t.type === ACTOR_TASK) { this.finish(t, serializeError(new RayActorError(t.actorId!, `its host ${host} left the cluster`))); continue; }
      if (t.type !== NORMAL) continue;
      t.nodeId = null;
      if (t.retriesLeft !== 0) this.retry(t);
      else this.finish(t, serializeError(new NodeDiedError(host, 'its host left the cluster while running this task')));
    }
    this.scheduleDispatch();
  }

  // ---- driver API -------------------------------------------------------------------------

  get(ids: ObjectId[], timeoutMs: number | undefined, caller: Caller | undefined): Promise<unknown[]> {
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
        for (const e of pending) this.objects.removeWaiter(e, w);
        reject(err);
      };
      const w: GetRequest = {
        remaining: 0,
        settled: (e) => {
          if (done) return;
          if (e.state === FAILED) { fail(deserializeError(e.error!)); return; }
          if (e.place >= SPILLED) { this.resident(e).then(() => w.settled(e), (err) => fail(err)); return; }
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
        const e = this.objects.get(ids[i]!);
        if (!e) { fail(new ObjectLostError(ids[i]!, 'it was freed (no ObjectRef referred to it any more)')); return; }
        if (e.state === READY && e.place < SPILLED) out[i] = this.valueOf(e, caller);
        else if (e.state === FAILED) { fail(deserializeError(e.error!)); return; }
        else {
          w.remaining++;
          pending.push(e);
          pendingAt.push(i);
          // Pending: wait for it. Ready but not here (spilled, on another host): `settled` brings it first.
          if (e.state === READY) w.settled(e);
          else this.objects.addWaiter(e, w);
        }
      }
      if (w.remaining === 0) { done = true; resolve(out); return; }
      if (w.remaining <= SPIN_MAX_OBJECTS) this.spin(() => done);
      if (done) return;
      release = this.holdProcess();
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
    if (!this.platformPolls()) return;
    this.sendNow();
    const stop = performance.now() + SPIN_MS;
    while (!done() && performance.now() < stop) this.pollNodes();
  }

  private platformPolls(): boolean {
    return !!this.nodes.values().next().value?.endpoint.poll;
  }

  /** Dispatches what is queued and flushes every node's outbox, without waiting for the turn to end. */
  private sendNow(): void {
    if (this.dispatchQueued) this.dispatch();
    for (const n of this.nodes.values()) n.outbox.flush();
  }

  /** Handles what the nodes sent so far, read synchronously (where the platform can). */
  private pollNodes(): void {
    for (const n of this.nodes.values()) {
      if (!n.endpoint.poll) return;
      for (let m = n.endpoint.poll(); m !== undefined; m = n.endpoint.poll()) this.receive(n, m as Batch);
    }
  }

  private sinceDrain = 0;

  /**
   * A caller submitting many tasks in one turn would leave the nodes idle until the turn ends
   * (tasks are dispatched in a microtask) and keep every task's records alive until then, long
   * enough for the collector to promote them. Every DRAIN_EVERY submissions the host takes the
   * results that came in and sends what is ready, so work and results flow while it submits.
   */
  private drainWhileSubmitting(): void {
    if (++this.sinceDrain < DRAIN_EVERY) return;
    this.sinceDrain = 0;
    this.pollNodes();
    this.sendNow();
  }

  private valueOf(e: ObjectEntry, caller: Caller | undefined): unknown {
    return e.nested ? reviveValue(this, e.value, caller) : e.value;
  }

  wait(ids: ObjectId[], numReturns: number, timeoutMs: number | undefined): Promise<number[]> {
    return this.waitIds(ids, numReturns, timeoutMs);
  }

  private waitIds(ids: ObjectId[], numReturns: number, timeoutMs: number | undefined): Promise<number[]> {
    const readyIdx = () => {
      const r: number[] = [];
      for (let i = 0; i < ids.length && r.length < numReturns; i++) {
        const e = this.objects.get(ids[i]!);
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
      const release = this.holdProcess();
      const finish = () => {
        release();
        if (timer !== undefined) clearTimeout(timer);
        for (const e of entries) this.objects.removeWaiter(e, w);
        resolve(readyIdx());
      };
      const w: Waiter = { settled: () => { if (++count === numReturns) finish(); } };
      for (const id of ids) {
        const e = this.objects.get(id);
        if (e?.state === PENDING) { entries.push(e); this.objects.addWaiter(e, w); }
      }
      if (timeoutMs !== undefined) timer = setTimeout(finish, timeoutMs);
    });
  }

  put(caller: Caller, value: unknown): ObjectId {
    this.assertOpen();
    const id = putObjectId(caller.taskId, caller.puts++);
    const enc = encode(value, () => 'ray.put(value)');
    const e = this.objects.create(id, this.nodeId, undefined);
    e.refs++;
    const marker = this.store?.putLarge(id, enc.v, enc.refs);
    if (marker) {
      this.objects.resolve(e, marker, true, enc.refs, IN_STORE);
      return id;
    }
    // A put is a snapshot: later changes to the caller's value must not show through.
    const v = enc.nested || typeof enc.v !== 'object' || enc.v === null ? enc.v : structuredClone(enc.v);
    this.objects.resolve(e, v, enc.nested, enc.nested ? enc.refs : undefined);
    return id;
  }

  readStored(id: ObjectId): unknown {
    if (!this.store) throw new ObjectLostError(id, 'this host has no object store');
    return this.store.store.read(id);
  }

  releaseView(view: object): boolean {
    return this.store?.store.releaseView(view) ?? false;
  }

  addLocalRef(id: ObjectId): void {
    this.objects.addRef(id);
  }

  removeLocalRef(id: ObjectId): void {
    this.objects.removeRef(id);
  }

  cancel(objectId: ObjectId, force: boolean, recursive: boolean): Promise<void> {
    return this.held(this.cancelNow(objectId, force, recursive));
  }

  private async cancelNow(objectId: ObjectId, force: boolean, recursive: boolean): Promise<void> {
    const t = this.tasks.get(taskOfObject(objectId));
    if (!t) return;
    if (t.type !== NORMAL && force) throw new RayUsageError('ray.cancel: force is not supported for actor calls; use ray.kill(actor) to stop the actor.');
    if (recursive && t.children) for (const c of t.children) { const ct = this.tasks.get(c); if (ct) await this.cancel(ct.returns[0] ?? returnObjectId(c, 0), force, true); }
    if (t.state === 'PENDING_ARGS_AVAIL' || t.state === 'PENDING_NODE_ASSIGNMENT') {
      if (t.state === 'PENDING_NODE_ASSIGNMENT' && t.type === NORMAL) this.scheduler.remove(t);
      if (t.type === ACTOR_TASK) { const a = this.actors.get(t.actorId!); if (a) a.queue = a.queue.filter((x) => x !== t); }
      this.finish(t, serializeError(new TaskCancelledError(t.id)));
      return;
    }
    t.cancelled = true;
    const node = t.nodeId ? this.nodes.get(t.nodeId) : undefined;
    if (!node) return;
    if (force) { await this.killNode(node, 'force-cancelled'); return; }
    // JavaScript cannot interrupt a running task: its result fails now, but the task keeps its
    // lease (the node's CPU) until the node says it ended, so nothing else is run beside it.
    const cancelled = serializeError(new TaskCancelledError(t.id));
    for (const r of t.returns) { const e = this.objects.get(r); if (e) this.objects.fail(e, cancelled); }
    node.post({ t: 'cancel', id: t.id });
  }

  // ---- actors -----------------------------------------------------------------------------

  createActor(caller: Caller, spec: ActorSpec, args: unknown[], options: ActorOptions): ActorId {
    this.assertOpen();
    const id = actorIdFor(caller.taskId, caller.submitted++);
    const demand = demandOf(options.numCpus, options.resources, 0);
    const host = this.cluster?.place({ demand, strategy: options.schedulingStrategy ?? 'DEFAULT' }, this.scheduler.pool.feasible(demand));
    if (host) this.createRemoteActor(id, host, spec, args, options);
    else this.createActorWithId(id, this.nodeId, caller.taskId, spec, args, options);
    return id;
  }

  /** An actor placed on another host (a resource only it has, SPREAD, a node of it): it lives there; calls from here go to it. */
  private createRemoteActor(id: ActorId, host: string, spec: ActorSpec, args: unknown[], options: ActorOptions): void {
    args.forEach((a, i) => {
      if (!isPrimitive(a) && encode(a, () => `${spec.className}(args[${i}])`).nested) {
        throw new RayUsageError(`${spec.className}: the actor is placed on host ${host}; pass its constructor values, not ObjectRefs or handles (they do not cross hosts as arguments yet).`);
      }
    });
    this.registerFunction(spec.fn);
    const { schedulingStrategy: _placed, ...rest } = options;
    const sent = this.cluster!.sendTask(host, spec.fn, {
      t: 'actor-create', id, actor: id, fn: spec.fn.id, args: toWire(args), methods: spec.methods, asyncMethods: spec.asyncMethods,
      options: rest as Record<string, unknown>,
    });
    this.remoteActors.set(id, { host, className: spec.className, sent });
  }

  /** An actor another host placed here: created as if submitted here, owned by that host. */
  acceptRemoteActor(from: string, f: Extract<Frame, { t: 'actor-create' }>, args: unknown[]): void {
    const fn = this.functions.get(f.fn);
    if (!fn || this.actors.get(f.actor) || this.closed) return;
    const options = f.options as ActorOptions;
    checkActorOptions('an actor placed here by another host', options);
    this.createActorWithId(f.actor, from, driverTaskId(jobOf(f.id)), { fn, className: fn.name, methods: f.methods, asyncMethods: f.asyncMethods }, { args, nested: false }, options);
    const a = this.actors.get(f.actor);
    if (a) a.ownerHost = from;
  }

  killActor(actor: ActorId, noRestart: boolean): Promise<void> {
    return this.kill(actor, noRestart);
  }

  private createActorWithId(id: ActorId, owner: string, parent: TaskId, spec: ActorSpec, args: unknown[] | { args: unknown[]; argRefs?: number[]; nested: boolean }, options: ActorOptions): void {
    this.registerFunction(spec.fn);
    const namespace = options.namespace ?? this.namespace;
    const name = options.name ?? null;
    if (name !== null) {
      const taken = this.actors.byName(namespace, name);
      if (taken && taken.state !== 'DEAD') {
        throw nameTakenError(name, namespace);
      }
    }
    const raw = Array.isArray(args) ? args : undefined;
    const creation = this.newTask(id, ACTOR_CREATION, spec.fn, `${spec.className}.constructor`, raw, raw ? undefined : (args as never), parent, owner, 0);
    creation.actorId = id;
    const explicit = options.numCpus !== undefined || options.resources !== undefined;
    const a: ActorRecord = {
      id, spec, options, creation, state: 'DEPENDENCIES_UNREADY', node: null, name, namespace,
      numRestarts: 0, maxRestarts: options.maxRestarts ?? 0, maxTaskRetries: options.maxTaskRetries ?? 0,
      maxConcurrency: options.maxConcurrency ?? ActorTable.defaultConcurrency(spec), maxPendingCalls: options.maxPendingCalls ?? -1,
      pendingCalls: 0, queue: [], deathCause: null,
      held: explicit ? demandOf(options.numCpus, options.resources, 0) : null, jobId: jobOf(id), detached: options.lifetime === 'detached',
      pump: () => this.pumpActor(a),
      callNames: new Map(),
    };
    this.actors.add(a);
    const admit = () => this.admit(creation, () => this.placeActor(a));
    if (name === null || !this.cluster) { admit(); return; }
    // A name is the cluster's: the head grants it (register-if-absent) before the actor is created.
    void this.cluster.registerName(namespace, name, { actorId: id, hostId: this.hostId, className: spec.className, methods: spec.methods, asyncMethods: spec.asyncMethods }).then((holder) => {
      if (holder) this.actorDead(a, `its name '${name}' is taken in the cluster`, nameTakenError(name, namespace, ` (actor ${holder.actorId} on host ${holder.hostId})`));
      else if (a.state === 'DEAD') this.cluster?.releaseName(namespace, name, id);
      else admit();
    });
  }

  private pendingActors: ActorRecord[] = [];
  /** What live actors hold of this host's resources. */
  private readonly holdings = new ActorHoldings();

  private placeActor(a: ActorRecord): void {
    if (a.state === 'DEAD') return;
    a.state = 'PENDING_CREATION';
    a.creation.state = 'PENDING_NODE_ASSIGNMENT';
    if (a.held && !this.scheduler.pool.tryAcquire(a.held)) {
      if (!this.scheduler.pool.feasible(a.held)) console.warn(`webray: actor ${a.spec.className} needs ${JSON.stringify(a.held)}, which this host does not have; it stays pending.`);
      this.pendingActors.push(a);
      return;
    }
    if (a.held) {
      this.holdings.add(a.held);
      // The cluster's view of what is free (availableResources, placement) must see it taken.
      this.scheduleDispatch();
    }
    this.startActorNode(a, false);
  }

  private retryPendingActors(): void {
    const waiting = this.pendingActors;
    this.pendingActors = [];
    for (const a of waiting) this.placeActor(a);
  }

  private startActorNode(a: ActorRecord, restarted: boolean): void {
    const node = this.spawnNode('actor', a.id);
    a.node = node;
    node.ready.then(() => {
      if (!node.alive || a.node !== node) return;
      this.ensureFunction(node, a.spec.fn);
      const { args, nested } = this.resolvedArgs(a.creation);
      const m: CreateActorMsg = {
        t: 'actor', id: a.creation.id, actor: a.id, fn: a.spec.fn.id, args, maxConcurrency: a.maxConcurrency,
        restarted, namespace: a.namespace,
      };
      if (nested) m.n = 1;
      if (a.name !== null) m.name = a.name;
      a.creation.state = 'SUBMITTED_TO_WORKER';
      a.creation.nodeId = node.id;
      a.creation.startedAt = now();
      node.post(m);
    });
  }

  private actorReady(node: NodeHandle, actorId: ActorId): void {
    const a = this.actors.get(actorId);
    if (!a || a.node !== node) return;
    a.state = 'ALIVE';
    if (a.creation.state !== 'FINISHED') {
      // The creation task is done, but its arguments stay pinned: a restart needs them.
      a.creation.state = 'FINISHED';
      a.creation.endedAt = now();
      this.tasks.delete(a.creation.id);
      this.tasksChanged();
      this.log.add(a.creation);
    }
    this.pumpActor(a);
  }

  private actorCreationFailed(actorId: ActorId, error: SerializedError): void {
    const a = this.actors.get(actorId);
    if (!a) return;
    const cause = deserializeError(error);
    this.actorDead(a, `its constructor threw ${cause.name}: ${cause.message}`, cause);
  }

  submitActorTask(caller: Caller, actor: ActorId, method: string, args: unknown[], options: MethodOptions): ObjectId[] {
    this.assertOpen();
    this.drainWhileSubmitting();
    const id = childTaskId(caller.taskId, caller.submitted++);
    // An actor on another host (never also one of this host's).
    const host = this.remoteActors.get(actor);
    if (host) return this.callRemoteActor(id, caller.taskId, host, actor, method, args, options);
    return this.submitActorTaskWithId(id, this.nodeId, caller.taskId, actor, method, args, options, 1);
  }

  /**
   * Actors on other hosts this host has handles to (created there from here, or found by name),
   * where they live, and the last frame sent to them: calls go out in order, after the creation.
   */
  private readonly remoteActors = new Map<ActorId, { host: string; className: string; sent: Promise<void> }>();

  /** A call to an actor on another host: this host owns its returns; the actor's host runs it and sends them back. */
  private callRemoteActor(id: TaskId, parent: TaskId, remote: { host: string; className: string; sent: Promise<void> }, actorId: ActorId, method: string, args: unknown[], options: MethodOptions): ObjectId[] {
    const calls = { kind: 'source' as const, id: actorId, name: remote.className, source: '', bindings: {} };
    const t = this.newTask(id, ACTOR_TASK, calls, options.name ?? `${remote.className}.${method}`, args, undefined, parent, this.nodeId, options.numReturns ?? 1);
    t.actorId = actorId;
    t.method = method;
    if (t.argRefs || t.nested) {
      throw new RayUsageError(`${t.name}: the actor lives on host ${remote.host}; pass it values, not ObjectRefs (refs do not cross hosts as arguments yet).`);
    }
    this.admit(t, () => {
      t.state = 'SUBMITTED_TO_WORKER';
      t.nodeId = remote.host;
      const frame = { t: 'task' as const, id: t.id, fn: actorId, name: t.name, args: toWire(t.args), nret: t.returns.length, attempt: 0, demand: {}, actor: actorId, method };
      remote.sent = remote.sent.then(() => this.cluster!.sendActorCall(remote.host, frame)).catch((e) => {
        this.finish(t, serializeError(new RayActorError(actorId, `its host ${remote.host} cannot be reached (${(e as Error).message})`)));
      });
    }, 1);
    return t.returns;
  }

  /** `refs`: references already held on the returns (1 for the driver's ObjectRef, 0 for a node's, which borrows). */
  private submitActorTaskWithId(id: TaskId, owner: string, parent: TaskId, actorId: ActorId, method: string, args: unknown[] | { args: unknown[]; argRefs?: number[]; nested: boolean }, options: MethodOptions, refs = 0, remoteOwner?: string): ObjectId[] {
    const a = this.actors.get(actorId);
    if (!a) throw new RayUsageError(`No actor ${actorId} on this host.`);
    if (a.maxPendingCalls >= 0 && a.pendingCalls >= a.maxPendingCalls) throw new PendingCallsLimitExceededError(actorId, a.maxPendingCalls);
    const raw = Array.isArray(args) ? args : undefined;
    let name = options.name ?? a.callNames.get(method);
    if (name === undefined) a.callNames.set(method, (name = `${a.spec.className}.${method}`));
    const t = this.newTask(id, ACTOR_TASK, a.spec.fn, name, raw, raw ? undefined : (args as never), parent, owner, options.numReturns ?? 1);
    t.actorId = actorId;
    t.method = method;
    t.retriesLeft = a.maxTaskRetries;
    t.remoteOwner = remoteOwner;
    a.pendingCalls++;
    if (a.state === 'DEAD') {
      this.admit(t, () => undefined, refs);
      this.finish(t, serializeError(new RayActorError(actorId, a.deathCause ?? 'it died')));
      return t.returns;
    }
    a.queue.push(t);
    this.admit(t, a.pump, refs);
    return t.returns;
  }

  /** Sends queued calls in submission order; a call waiting for its arguments holds back the ones after it. */
  private pumpActor(a: ActorRecord): void {
    if (a.state !== 'ALIVE' || !a.node) return;
    while (a.queue.length) {
      const t = a.queue[0]!;
      if (t.state === 'FAILED' || t.state === 'FINISHED') { a.queue.shift(); continue; }
      if (t.pendingDeps > 0) return;
      a.queue.shift();
      this.send(t, a.node);
    }
  }

  kill(actorId: ActorId, noRestart: boolean): Promise<void> {
    return this.held(this.killNow(actorId, noRestart));
  }

  private async killNow(actorId: ActorId, noRestart: boolean): Promise<void> {
    const remote = this.remoteActors.get(actorId);
    if (remote) {
      // After the calls already sent, as in one host.
      remote.sent = remote.sent.then(() => this.cluster?.member.send(remote.host, { t: 'actor-kill', actor: actorId, noRestart })).catch(() => undefined);
      return remote.sent;
    }
    const a = this.actors.get(actorId);
    if (!a || a.state === 'DEAD') return;
    if (noRestart || !this.canRestart(a)) {
      const node = a.node;
      this.actorDead(a, 'it was killed with ray.kill', undefined);
      if (node) await this.killNode(node, 'killed');
      return;
    }
    if (a.node) await this.killNode(a.node, 'killed with ray.kill({ noRestart: false })', true);
  }

  private canRestart(a: ActorRecord): boolean {
    return a.maxRestarts === -1 || a.numRestarts < a.maxRestarts;
  }

  private actorDead(a: ActorRecord, cause: string, error: Error | undefined): void {
    if (a.state === 'DEAD') return;
    const sent = a.node ? this.takeTasksOf(a.node) : [];
    a.state = 'DEAD';
    a.deathCause = cause;
    a.node = null;
    this.actors.releaseName(a);
    if (a.name !== null) this.cluster?.releaseName(a.namespace, a.name, a.id);
    if (a.held) {
      // A pending actor holds nothing yet.
      if (!this.pendingActors.includes(a)) { this.scheduler.pool.release(a.held); this.holdings.remove(a.held); }
      a.held = null;
      this.retryPendingActors();
      this.scheduleDispatch();
    }
    const err = serializeError(new RayActorError(a.id, cause, error));
    if (a.creation.state !== 'FINISHED') this.finish(a.creation, err);
    else if (a.creation.pinned) for (const id of a.creation.pinned) this.objects.unpin(id);
    const calls = [...sent, ...a.queue];
    a.queue = [];
    for (const t of calls) this.finish(t, err);
  }

  private actorNodeDied(a: ActorRecord, node: NodeHandle, reason: string): void {
    if (a.node !== node || a.state === 'DEAD') return;
    if (!this.canRestart(a)) { this.actorDead(a, `its worker died (${reason})`, undefined); return; }
    a.numRestarts++;
    a.state = 'RESTARTING';
    const inflight = this.takeTasksOf(node);
    const retried: TaskRecord[] = [];
    for (const t of inflight) {
      if (t.retriesLeft !== 0) {
        if (t.retriesLeft > 0) t.retriesLeft--;
        t.attempt++;
        t.state = 'PENDING_NODE_ASSIGNMENT';
        retried.push(t);
      } else {
        this.finish(t, serializeError(new RayActorError(a.id, `its worker died (${reason}) while running this call; set maxTaskRetries to retry calls`)));
      }
    }
    a.queue = [...retried, ...a.queue];
    this.startActorNode(a, true);
  }

  getActor(name: string, namespace: string | undefined): Promise<ActorInfo> {
    return this.held(this.getActorNow(name, namespace));
  }

  private async getActorNow(name: string, namespace: string | undefined): Promise<ActorInfo> {
    const ns = namespace ?? this.namespace;
    const a = this.actors.byName(ns, name);
    if ((!a || a.state === 'DEAD') && this.cluster) {
      const found = await this.cluster.lookupName(ns, name);
      if (found && found.hostId !== this.hostId) {
        if (!this.remoteActors.has(found.actorId)) this.remoteActors.set(found.actorId, { host: found.hostId, className: found.className, sent: Promise.resolve() });
        return { actorId: found.actorId, className: found.className, methods: found.methods, asyncMethods: found.asyncMethods };
      }
    }
    if (!a || a.state === 'DEAD') {
      throw new RayUsageError(`No live actor named '${name}' in namespace '${ns}'. Create it with .options({ name: '${name}' }), or pass { namespace } if it lives in another one.`);
    }
    return { actorId: a.id, className: a.spec.className, methods: a.spec.methods, asyncMethods: a.spec.asyncMethods };
  }

  // ---- node lifecycle ---------------------------------------------------------------------

  /** Is this task's current attempt on `node`? (Late messages of an earlier attempt are ignored.) */
  private isOn(t: TaskRecord, node: NodeHandle): boolean {
    return t.nodeId === node.id && t.state === 'SUBMITTED_TO_WORKER';
  }

  /** The tasks `node` holds, in submission order, now no longer counted as on it. */
  private takeTasksOf(node: NodeHandle): TaskRecord[] {
    const out: TaskRecord[] = [];
    // An actor's creation task is on its node too, but a restart re-runs it separately.
    for (const t of this.tasks.values()) if (this.isOn(t, node) && t.type !== ACTOR_CREATION) out.push(t);
    node.taskCount = 0;
    return out;
  }

  private async killNode(node: NodeHandle, reason: string, restartable = false): Promise<void> {
    if (!node.alive) return;
    await node.proc.terminate();
    this.nodeDied(node, reason, !restartable);
  }

  private nodeDied(node: NodeHandle, reason: string, deliberate = false): void {
    if (!node.alive) return;
    node.alive = false;
    this.nodes.delete(node.id);
    for (const [id, n] of node.borrowed) for (let i = 0; i < n; i++) this.objects.removeRef(id);
    node.borrowed.clear();
    if (node.kind === 'actor') {
      const a = this.actors.get(node.actorId!);
      if (a && !deliberate) this.actorNodeDied(a, node, reason);
      return;
    }
    this.scheduler.removeNode(node);
    for (const t of this.takeTasksOf(node)) {
      if (t.cancelled) this.finish(t, serializeError(new TaskCancelledError(t.id)));
      else if (reason === 'force-cancelled') { t.state = 'PENDING_NODE_ASSIGNMENT'; t.nodeId = null; this.enqueue(t); }
      else if (t.retriesLeft !== 0) this.retry(t);
      else this.finish(t, serializeError(new WorkerCrashedError(t.id, reason)));
    }
    if (!this.closed) this.spawnNode('task', null);
    this.scheduleDispatch();
  }

  private unsendable(m: HostToNode, e: unknown): void {
    const id = (m as { id?: TaskId }).id;
    const t = id ? this.tasks.get(id) : undefined;
    if (!t) { console.error('webray: could not send a message to a node:', e); return; }
    const node = t.nodeId ? this.nodes.get(t.nodeId) : undefined;
    if (node) node.taskCount--;
    if (node && t.type === NORMAL) { this.scheduler.finished(node, t.fn.id, 0, false); this.scheduleDispatch(); }
    this.finish(t, serializeError(new RayUsageError(`task ${t.name}: an argument cannot be sent to a worker (${(e as Error)?.message ?? e}).`)));
  }

  // ---- context and state ------------------------------------------------------------------

  runtimeContext(): RuntimeContext {
    return {
      jobId: this.jobId, hostId: this.hostId, nodeId: this.nodeId, taskId: null, actorId: null,
      namespace: this.namespace, attempt: 0, wasCurrentActorRestarted: false,
    };
  }

  state(query: Parameters<CoreWorker['state']>[0], filter?: StateFilter): Promise<unknown> {
    return this.held(this.stateNow(query, filter));
  }

  private async stateNow(query: Parameters<CoreWorker['state']>[0], filter?: StateFilter): Promise<unknown> {
    if (query === 'available' && this.cluster) return this.cluster.availableResources(this.scheduler.pool.available);
    if (query === 'jobs') {
      const jobs = this.cluster ? await this.cluster.listJobs() : [{ jobId: this.jobId, hostId: this.hostId, state: 'RUNNING' as const, startedAt: this.startedAt, endedAt: null }];
      return select(jobs, filter);
    }
    const here = hostState(this, query, filter);
    if (!this.cluster || (query !== 'tasks' && query !== 'actors')) return here;
    // Cluster-wide, as Ray's state API: every host adds what it knows.
    const there = await this.cluster.askState(query, filter?.filters);
    return mergeState(query, here as Record<string, unknown>[], there as Record<string, unknown>[], filter?.limit);
  }

  localState(query: 'tasks' | 'actors', filters: Record<string, unknown> | undefined): unknown[] {
    return hostState(this, query, filters ? { filters } : undefined) as unknown[];
  }

  // ---- keeping a Node process alive while work is pending ----------------------------------

  private taskHold: (() => void) | undefined;

  private holdProcess(): () => void {
    return this.platform.holdProcess?.() ?? noRelease;
  }

  /** Holds the process while tasks (actor calls and creations included) are in flight here. */
  private tasksChanged(): void {
    if (this.tasks.size > 0) this.taskHold ??= this.holdProcess();
    else if (this.taskHold) { this.taskHold(); this.taskHold = undefined; }
  }

  /** Holds the process until `p` settles: its answer comes from a worker or a peer. */
  private async held<T>(p: Promise<T>): Promise<T> {
    const release = this.holdProcess();
    try {
      return await p;
    } finally {
      release();
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new RayUsageError('webray was shut down: call ray.init() again to submit work.');
  }

  shutdown(): Promise<void> {
    return this.held(this.shutdownNow());
  }

  private async shutdownNow(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.taskHold?.();
    this.taskHold = undefined;
    const nodes = [...this.nodes.values()];
    for (const n of nodes) n.alive = false;
    await Promise.all(nodes.map((n) => n.proc.terminate().catch(() => undefined)));
    this.nodes.clear();
    this.cluster?.jobFinished();
    this.cluster?.close();
    await this.store?.shutdown();
  }
}

/** Where a value a node sent is: a stored marker means its bytes are in the shared store. */
function placeOf(v: unknown): typeof INLINE | typeof IN_STORE {
  return isStoredMarker(v) ? IN_STORE : INLINE;
}

const noRelease = (): void => {};

/** The default demand, shared by the records that keep it (demands are never changed in place). */
const ONE_CPU: Resources = Object.freeze({ CPU: 1 });

/** Submissions between two reads of the nodes' results within one turn (see drainWhileSubmitting). */
const DRAIN_EVERY = 128;

/** A get for at most this many pending objects spins, for at most SPIN_MS. */
const SPIN_MAX_OBJECTS = 4;
const SPIN_MS = 0.15;

function demandKey(d: Resources): string {
  let k = '';
  for (const name of Object.keys(d).sort()) k += name + ':' + d[name] + ';';
  return k;
}
