/**
 * The host runtime: the driver thread's core worker. It holds the host's tables (HostContext) and
 * its parts — task manager, actor manager, reference counter, gets, nodes, the bridge to other
 * hosts — and routes each API call to the part that owns it.
 */
import type { ActorInfo, ActorSpec, Caller, CoreWorker, RuntimeContext, StateFilter } from '../api/core.js';
import type { DisagreementState } from '../api/api.js';
import { ObjectLostError, RayUsageError, type SerializedError } from '../shared/errors.js';
import { actorIdFor, childTaskId, driverTaskId, randomHex, type ActorId, type ObjectId, type TaskId } from '../shared/ids.js';
import { demandOf, type ActorOptions, type MethodOptions, type Resources, type TaskOptions } from '../shared/options.js';
import type { FunctionDescriptor } from '../shared/protocol.js';
import type { Platform, WorkerResourceLimits } from '../platform/types.js';
import { LocalScheduler } from '../scheduler/local.js';
import { ActorHoldings } from '../scheduler/resources.js';
import type { Frame, HostInfo } from '../mesh/frames.js';
import { now } from '../shared/clock.js';
import { ActorManager } from './actor-manager.js';
import { ActorTable } from './actors.js';
import { ClusterHost, type ClusterConfig, type ClusterRuntime } from './cluster-host.js';
import type { HostContext } from './host-context.js';
import { HostBridge } from './host-bridge.js';
import { RemoteActors } from './remote-actors.js';
import type { NodeHandle } from './node-handle.js';
import { NodePool } from './node-pool.js';
import { ObjectGets } from './object-gets.js';
import { ObjectRecovery, type RecoveryStats } from './object-recovery.js';
import { ObjectTable } from './objects.js';
import { HostPause } from './pause.js';
import { Quorum, type Disagreement } from './verification.js';
import { drainForLeave } from './graceful-leave.js';
import { ReferenceCounter } from './reference-counter.js';
import { hostState, mergeState, select } from './state.js';
import { StoreOwner, type StoreConfig } from './store-owner.js';
import { TaskManager } from './task-manager.js';
import { TaskLog, type TaskRecord } from './task-record.js';

export interface HostOptions {
  /** Join a cluster of hosts (see ClusterConfig). */
  cluster?: ClusterConfig;
  numWorkers: number;
  workerResourceLimits?: WorkerResourceLimits;
  resources: Resources;
  namespace: string;
  /** How many finished tasks the state API and timeline remember. */
  taskLogSize: number;
  apiNames: readonly string[];
  store: StoreConfig;
  /** Bytes of task specs kept as lineage to rebuild lost objects (see ObjectRecovery). */
  maxLineageBytes: number;
  /** Its name for people (init's hostName, else the platform's default). */
  hostName?: string;
}

export class HostRuntime implements CoreWorker, ClusterRuntime, HostContext {
  readonly jobId: string;
  readonly hostId: string;
  readonly nodeId: string;
  readonly hostName: string;
  readonly engine: string;
  readonly namespace: string;
  readonly driverTaskId: TaskId;
  readonly objects = new ObjectTable();
  readonly tasks = new Map<TaskId, TaskRecord>();
  readonly log: TaskLog;
  readonly scheduler: LocalScheduler<TaskRecord>;
  readonly nodes = new Map<string, NodeHandle>();
  readonly actors = new ActorTable();
  readonly functions = new Map<string, FunctionDescriptor>();
  readonly startedAt = now();
  store: StoreOwner | undefined;
  cluster: ClusterHost | undefined;
  closed = false;
  get recoveryStats(): RecoveryStats {
    return this.recovery.stats;
  }
  private readonly driver: Caller;
  private readonly refs: ReferenceCounter;
  private readonly taskManager: TaskManager;
  private readonly recovery: ObjectRecovery;
  private readonly actorManager: ActorManager;
  private readonly bridge: HostBridge;
  private readonly remoteActors: RemoteActors;
  private readonly gets: ObjectGets;
  private readonly nodePool: NodePool;
  private readonly pausing: HostPause;
  /** Quorum verification of tasks run with `verify`; its disagreements name hosts caught lying. */
  readonly quorum: Quorum;
  /** Told of each host a verified task caught (ray.on('disagreement')). */
  private readonly disagreementListeners = new Set<(d: DisagreementState) => void>();
  private sinceDrain = 0;

  constructor(readonly platform: Platform, readonly options: HostOptions, jobId: string) {
    this.jobId = jobId;
    this.hostId = randomHex(4);
    this.nodeId = `${this.hostId}.driver`;
    this.hostName = options.hostName ?? platform.defaultHostName(this.hostId);
    this.engine = platform.engine;
    this.namespace = options.namespace;
    this.driverTaskId = driverTaskId(jobId);
    this.driver = { taskId: this.driverTaskId, submitted: 0, puts: 0, attempt: 0 };
    this.log = new TaskLog(options.taskLogSize);
    this.scheduler = new LocalScheduler({ ...options.resources, CPU: options.numWorkers });
    this.scheduler.onInfeasible = (t) => console.warn(
      `webray: task ${t.name} needs ${JSON.stringify(t.demand)}, which no node of this host has (${JSON.stringify(this.scheduler.pool.total)}). ` +
      `It stays pending until such resources join the cluster; lower its numCpus/resources or add them with init({ resources }).`,
    );
    const holdings = new ActorHoldings();
    this.refs = new ReferenceCounter(this);
    this.taskManager = new TaskManager(this, this.refs, holdings);
    this.recovery = new ObjectRecovery(this, this.taskManager, options.maxLineageBytes);
    this.actorManager = new ActorManager(this, this.taskManager, this.refs, holdings);
    this.remoteActors = new RemoteActors(this, this.taskManager, this.actorManager, this.refs);
    this.bridge = new HostBridge(this, this.taskManager, this.actorManager, this.refs, this.remoteActors, this.recovery);
    this.gets = new ObjectGets(this, this.refs, this);
    this.nodePool = new NodePool(this, platform, options.apiNames, options.workerResourceLimits, this.taskManager, this.actorManager, this.refs, this.gets, this);
    this.pausing = new HostPause(this, this.taskManager);
    this.quorum = new Quorum(this, this.taskManager, this.refs, (d) => {
      const row = this.disagreementRow(d);
      for (const l of this.disagreementListeners) {
        try { l(row); } catch (err) { console.error('webray: a disagreement listener threw:', err); }
      }
    });
    this.taskManager.verifier = this.quorum;
    this.taskManager.remote = this.bridge;
    this.taskManager.gate = this.pausing;
    this.taskManager.lineage = this.recovery;
    this.refs.recovery = this.recovery;
    this.objects.onDropped = this.recovery.dropped;
    this.taskManager.killNode = (node, reason) => this.nodePool.kill(node, reason);
    this.actorManager.nodes = this.nodePool;
    this.gets.polling = this.nodePool;
  }

  start(): Promise<void> {
    return this.held(this.startNow());
  }

  private async startNow(): Promise<void> {
    this.store = await StoreOwner.create(this.options.store, this.platform.spillTarget(this.hostId), this.objects);
    this.objects.onFree = (e) => this.refs.bytesFreed(e);
    const spawned = [];
    for (let i = 0; i < this.options.numWorkers; i++) spawned.push(this.nodePool.spawn('task', null));
    await Promise.all(spawned.map((n) => n.ready));
    if (this.options.cluster) {
      const rtcConfig = this.options.cluster.signaling ? undefined : await this.platform.prepareSignaling?.();
      const tables = this.options.cluster.tablesStore ?? this.platform.tablesStore(this.options.cluster.id, this.options.cluster.stateDir);
      await ClusterHost.start(this, this.hostInfo(), { ...this.options.cluster, rtcConfig, tablesStore: tables }, this.store?.store, this.platform.timers);
    }
  }

  attachCluster(cluster: ClusterHost): void {
    this.cluster = cluster;
  }

  /** This host as the cluster sees it: its resources and task nodes. */
  private hostInfo(): HostInfo {
    const nodes = [...this.nodes.values()].filter((n) => n.kind === 'task').map((n) => n.id);
    return { hostId: this.hostId, resources: { ...this.scheduler.pool.total }, nodes, hostName: this.hostName, engine: this.engine };
  }

  // ---- submission -------------------------------------------------------------------------

  currentCaller(): Caller {
    return this.driver;
  }

  registerFunction(fn: FunctionDescriptor): void {
    this.taskManager.registerFunction(fn);
  }

  submitTask(caller: Caller, fn: FunctionDescriptor, args: unknown[], options: TaskOptions): ObjectId[] {
    this.assertOpen();
    this.drainWhileSubmitting();
    return this.taskManager.submit(caller, fn, args, options);
  }

  createActor(caller: Caller, spec: ActorSpec, args: unknown[], options: ActorOptions): ActorId {
    this.assertOpen();
    const id = actorIdFor(caller.taskId, caller.attempt, caller.submitted++);
    const demand = demandOf(options.numCpus, options.resources, 0);
    const host = this.cluster?.place({ demand, strategy: options.schedulingStrategy ?? 'DEFAULT' }, this.scheduler.pool.feasible(demand));
    if (host) this.remoteActors.create(id, host, spec, args, options);
    else this.actorManager.create(id, this.nodeId, caller.taskId, spec, args, options);
    return id;
  }

  submitActorTask(caller: Caller, actor: ActorId, method: string, args: unknown[], options: MethodOptions): ObjectId[] {
    this.assertOpen();
    this.drainWhileSubmitting();
    const id = childTaskId(caller.taskId, caller.attempt, caller.submitted++);
    // An actor on another host (never also one of this host's).
    if (this.remoteActors.has(actor)) return this.remoteActors.call(id, caller.taskId, actor, method, args, options);
    return this.actorManager.call(id, this.nodeId, caller.taskId, actor, method, args, options, 1);
  }

  /**
   * A caller submitting many tasks in one turn would leave the nodes idle until the turn ends
   * (tasks are dispatched in a microtask) and keep every task's records alive until then, long
   * enough for the collector to promote them. Every DRAIN_EVERY submissions the host takes the
   * results that came in and sends what is ready, so work and results flow while it submits.
   */
  private drainWhileSubmitting(): void {
    if (++this.sinceDrain < DRAIN_EVERY) return;
    this.sinceDrain = 0;
    this.nodePool.pollNodes();
    this.nodePool.sendNow();
  }

  // ---- objects ----------------------------------------------------------------------------

  get(ids: ObjectId[], timeoutMs: number | undefined, caller: Caller | undefined): Promise<unknown[]> {
    return this.gets.get(ids, timeoutMs, caller);
  }

  wait(ids: ObjectId[], numReturns: number, timeoutMs: number | undefined): Promise<number[]> {
    return this.gets.wait(ids, numReturns, timeoutMs);
  }

  put(caller: Caller, value: unknown): ObjectId {
    this.assertOpen();
    return this.refs.put(caller, value);
  }

  readStored(id: ObjectId): unknown {
    if (!this.store) throw new ObjectLostError(id, 'this host has no object store');
    return this.store.store.read(id);
  }

  releaseView(view: object): boolean {
    return this.store?.store.releaseView(view) ?? false;
  }

  addLocalRef(id: ObjectId): void {
    this.refs.addLocalRef(id);
  }

  removeLocalRef(id: ObjectId): void {
    this.refs.removeLocalRef(id);
  }

  cancel(objectId: ObjectId, force: boolean, recursive: boolean): Promise<void> {
    return this.held(this.taskManager.cancel(objectId, force, recursive));
  }

  // ---- actors -----------------------------------------------------------------------------

  kill(actorId: ActorId, noRestart: boolean): Promise<void> {
    if (this.remoteActors.has(actorId)) return this.held(this.remoteActors.kill(actorId, noRestart));
    return this.held(this.actorManager.kill(actorId, noRestart));
  }

  killActor(actor: ActorId, noRestart: boolean): Promise<void> {
    return this.kill(actor, noRestart);
  }

  getActor(name: string, namespace: string | undefined): Promise<ActorInfo> {
    return this.held(this.getActorNow(name, namespace));
  }

  private async getActorNow(name: string, namespace: string | undefined): Promise<ActorInfo> {
    const ns = namespace ?? this.namespace;
    const a = this.actorManager.byName(ns, name);
    if (a) return { actorId: a.id, className: a.spec.className, methods: a.spec.methods, asyncMethods: a.spec.asyncMethods };
    const found = this.cluster && await this.remoteActors.lookup(ns, name);
    if (found) return found;
    throw new RayUsageError(`No live actor named '${name}' in namespace '${ns}'. Create it with .options({ name: '${name}' }), or pass { namespace } if it lives in another one.`);
  }

  // ---- other hosts (ClusterRuntime) -----------------------------------------------------------

  acceptRemoteTask(from: string, f: Extract<Frame, { t: 'task' }>, args: unknown[]): Promise<void> | undefined {
    return this.bridge.acceptRemoteTask(from, f, args);
  }

  remoteTaskDone(from: string, id: string, attempt: number, values: unknown[] | undefined, remote: { i: number; size: number }[], error: SerializedError | undefined, start: number, end: number): void {
    this.bridge.remoteTaskDone(from, id, attempt, values, remote, error, start, end);
  }

  acceptRemoteActor(from: string, f: Extract<Frame, { t: 'actor-create' }>, args: unknown[]): void {
    this.remoteActors.accept(from, f, args);
  }

  keptObjectFreed(id: ObjectId): void {
    this.refs.keptObjectFreed(id);
  }

  takeObjects(from: string, ids: string[]): void {
    this.bridge.takeObjects(from, ids);
  }

  remoteTaskHandedBack(from: string, id: string, attempt: number): void {
    this.bridge.remoteTaskHandedBack(from, id, attempt);
  }

  remoteTaskCancelled(from: string, id: string, attempt: number, force: boolean, recursive: boolean): Promise<void> {
    return this.bridge.remoteTaskCancelled(from, id, attempt, force, recursive);
  }

  // ---- lending this host to the cluster ---------------------------------------------------

  /** Takes no new work from the cluster until resume (see HostPause). */
  pause(): void {
    this.assertOpen();
    this.pausing.pause();
  }

  resume(): void {
    this.assertOpen();
    this.pausing.resume();
  }

  get paused(): boolean {
    return this.pausing.paused;
  }

  // ---- events -----------------------------------------------------------------------------

  /** Calls `listener` with each host a verified task catches from now on; returns its removal. */
  onDisagreement(listener: (d: DisagreementState) => void): () => void {
    this.disagreementListeners.add(listener);
    return () => { this.disagreementListeners.delete(listener); };
  }

  private disagreementRow(d: Disagreement): DisagreementState {
    return { ...d, hostName: this.cluster?.nameOf(d.hostId) ?? null };
  }

  hostsChanged(hosts: HostInfo[]): void {
    this.bridge.hostsChanged(hosts);
  }

  actorLog(from: string, f: Extract<Frame, { t: 'actor-log' }>): void {
    this.remoteActors.log(from, f);
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
      return select(jobs.map((j) => ({ ...j, hostName: this.cluster ? this.cluster.nameOf(j.hostId) : this.hostName })), filter);
    }
    if (query === 'verification') {
      const q = this.quorum;
      const hosts = new Set([...q.agreed.keys(), ...q.excluded]);
      return {
        hosts: [...hosts].map((hostId) => ({
          hostId, hostName: this.cluster?.nameOf(hostId) ?? null, agreed: q.agreed.get(hostId) ?? 0, excluded: q.excluded.has(hostId), excludedFromAll: this.cluster?.isExcluded(hostId) ?? false,
        })),
        acceptedOnTrust: q.acceptedOnTrust,
        spotChecks: q.spotChecks,
      };
    }
    if (query === 'disagreements') {
      const rows = this.quorum.disagreements.map((d) => this.disagreementRow(d)).reverse();
      return select(rows, filter);
    }
    if (!this.cluster || (query !== 'tasks' && query !== 'actors')) return hostState(this, query, filter);
    // Cluster-wide, as Ray's state API: every host adds what it knows.
    const here = hostState(this, query, filter);
    const there = await this.cluster.askState(query, filter);
    return mergeState(query, here as Record<string, unknown>[], there as Record<string, unknown>[], filter?.limit);
  }

  localState(query: 'tasks' | 'actors', filter: StateFilter | undefined): unknown[] {
    return hostState(this, query, filter) as unknown[];
  }

  // ---- keeping a Node process alive while work is pending ----------------------------------

  holdProcess(): () => void {
    return this.platform.holdProcess?.() ?? noRelease;
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

  /** `graceful`: first leave the cluster so that nothing needs redoing elsewhere, waiting at most `timeoutMs` (graceful-leave.ts). */
  shutdown(graceful?: { timeoutMs: number }): Promise<void> {
    return this.held(graceful ? this.leaveNow(graceful.timeoutMs) : this.shutdownNow());
  }

  private async leaveNow(timeoutMs: number): Promise<void> {
    if (!this.closed) {
      const left = await drainForLeave(this, this.pausing, this.platform.timers, timeoutMs);
      if (left.unfinishedTasks || left.unhandedObjects) {
        console.info(`webray: host ${this.hostId} left its cluster after ${timeoutMs} ms with ${left.unfinishedTasks} task(s) of other hosts still running (their owners retry them) and ${left.unhandedObjects} object(s) their owners had not taken (rebuilt if needed). Give shutdown({ graceful: true, timeout }) more time to leave nothing behind.`);
      }
    }
    await this.shutdownNow();
  }

  /**
   * The page is going away (pagehide): the job's end and the goodbye go to the cluster first,
   * waiting for no answer (nothing after this task may run), then the rest of shutdown.
   */
  shutdownAtOnce(): Promise<void> {
    if (!this.closed) {
      void this.cluster?.jobFinished();
      this.cluster?.close();
    }
    return this.shutdown();
  }

  private async shutdownNow(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.taskManager.release();
    await this.nodePool.stopAll();
    await this.cluster?.jobFinished();
    this.cluster?.close();
    await this.store?.shutdown();
  }
}

const noRelease = (): void => {};

/** Submissions between two reads of the nodes' results within one turn (see drainWhileSubmitting). */
const DRAIN_EVERY = 128;
