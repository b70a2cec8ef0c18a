/**
 * The actor manager: actors that live on this host — creation (holding their resources, a node
 * of their own), the ordered call queue, kill, restarts after their node dies, and death. Actors
 * on other hosts are the bridge's.
 */
import type { ActorSpec } from '../api/core.js';
import { deserializeError, PendingCallsLimitExceededError, RayActorError, RayUsageError, serializeError, type SerializedError } from '../shared/errors.js';
import { driverTaskId, jobOf, type ActorId, type ObjectId, type TaskId } from '../shared/ids.js';
import { demandOf, type ActorOptions, type MethodOptions } from '../shared/options.js';
import type { CreateActorMsg } from '../shared/protocol.js';
import type { ActorRestore } from '../mesh/frames.js';
import type { ActorHoldings } from '../scheduler/resources.js';
import { now } from '../shared/clock.js';
import { ActorCheckpoints, checkCheckpointing } from './actor-checkpoints.js';
import { ActorTable, nameTakenError, type ActorRecord } from './actors.js';
import type { HostContext } from './host-context.js';
import type { NodeHandle } from './node-handle.js';
import type { ReferenceCounter } from './reference-counter.js';
import { ACTOR_CREATION, ACTOR_TASK, type TaskRecord } from './task-record.js';
import type { EncodedArgs, TaskManager } from './task-manager.js';

/** How the actor manager gets and stops the nodes its actors live on. */
export interface ActorNodes {
  spawn(kind: 'actor', actorId: ActorId): NodeHandle;
  kill(node: NodeHandle, reason: string, restartable?: boolean): Promise<void>;
}

export class ActorManager {
  /** Set by the runtime. */
  nodes!: ActorNodes;
  /** Actors waiting for the resources they hold for life. */
  private pendingActors: ActorRecord[] = [];
  private readonly checkpoints: ActorCheckpoints;

  constructor(
    private readonly host: HostContext,
    private readonly tasks: TaskManager,
    private readonly refs: ReferenceCounter,
    /** What live actors hold of this host's resources. */
    private readonly holdings: ActorHoldings,
  ) {
    this.checkpoints = new ActorCheckpoints(host, tasks, refs);
  }

  /**
   * Creates an actor on this host; `owner` is the node (or host) that owns its creation. `deaths`:
   * why its earlier instances died, when this is a restart of an actor whose host left.
   */
  create(id: ActorId, owner: string, parent: TaskId, spec: ActorSpec, args: unknown[] | EncodedArgs, options: ActorOptions, deaths: string[] = [], restore?: ActorRestore): void {
    const maxConcurrency = options.maxConcurrency ?? ActorTable.defaultConcurrency(spec);
    checkCheckpointing(spec, options, maxConcurrency);
    this.tasks.registerFunction(spec.fn);
    const namespace = options.namespace ?? this.host.namespace;
    const name = options.name ?? null;
    if (name !== null) {
      const taken = this.host.actors.byName(namespace, name);
      if (taken && taken.state !== 'DEAD') {
        throw nameTakenError(name, namespace);
      }
    }
    const raw = Array.isArray(args) ? args : undefined;
    const creation = this.tasks.newTask(id, ACTOR_CREATION, spec.fn, `${spec.className}.constructor`, raw, raw ? undefined : (args as EncodedArgs), parent, owner, 0);
    creation.actorId = id;
    const explicit = options.numCpus !== undefined || options.resources !== undefined;
    const a: ActorRecord = {
      id, spec, options, creation, state: 'DEPENDENCIES_UNREADY', node: null, name, namespace,
      numRestarts: deaths.length, maxRestarts: options.maxRestarts ?? 0, maxTaskRetries: options.maxTaskRetries ?? 0,
      maxConcurrency, maxPendingCalls: options.maxPendingCalls ?? -1,
      pendingCalls: 0, queue: [], deathCause: null, deathCauses: deaths.slice(),
      held: explicit ? demandOf(options.numCpus, options.resources, 0) : null, jobId: jobOf(id), detached: options.lifetime === 'detached',
      pump: () => this.pump(a),
      callNames: new Map(),
    };
    this.host.actors.add(a);
    if (options.checkpointEvery !== undefined) this.checkpoints.start(a, options.checkpointEvery);
    // Restarted from its owner's checkpoint: the restore and the replays go before any other call.
    if (restore) a.queue.push(...this.checkpoints.restoringFrom(a, restore));
    const admit = () => this.tasks.admit(creation, () => this.place(a));
    const cluster = this.host.cluster;
    if (name === null || !cluster) { admit(); return; }
    // A name is the cluster's: the head grants it (register-if-absent; a restart's later incarnation takes it over) before the actor is created.
    const named = { actorId: id, hostId: this.host.hostId, className: spec.className, methods: spec.methods, asyncMethods: spec.asyncMethods, incarnation: deaths.length };
    void cluster.registerName(namespace, name, named).then((holder) => {
      if (holder) this.dead(a, `its name '${name}' is taken in the cluster`, nameTakenError(name, namespace, ` (actor ${holder.actorId} on host ${holder.hostId})`));
      else if (a.state === 'DEAD') cluster.releaseName(namespace, name, id);
      else admit();
    });
  }

  private place(a: ActorRecord): void {
    if (a.state === 'DEAD') return;
    a.state = 'PENDING_CREATION';
    a.creation.state = 'PENDING_NODE_ASSIGNMENT';
    const { pool } = this.host.scheduler;
    if (a.held && !pool.tryAcquire(a.held)) {
      if (!pool.feasible(a.held)) console.warn(`webray: actor ${a.spec.className} needs ${JSON.stringify(a.held)}, which this host does not have; it stays pending.`);
      this.pendingActors.push(a);
      return;
    }
    if (a.held) {
      this.holdings.add(a.held);
      // The cluster's view of what is free (availableResources, placement) must see it taken.
      this.tasks.scheduleDispatch();
    }
    this.startNode(a, a.numRestarts > 0);
  }

  private retryPending(): void {
    const waiting = this.pendingActors;
    this.pendingActors = [];
    for (const a of waiting) this.place(a);
  }

  private startNode(a: ActorRecord, restarted: boolean): void {
    const node = this.nodes.spawn('actor', a.id);
    a.node = node;
    node.ready.then(() => {
      if (!node.alive || a.node !== node) return;
      this.tasks.ensureFunction(node, a.spec.fn);
      const { args, nested } = this.tasks.resolvedArgs(a.creation);
      const m: CreateActorMsg = {
        t: 'actor', id: a.creation.id, actor: a.id, fn: a.spec.fn.id, args, maxConcurrency: a.maxConcurrency,
        restarted, attempt: a.numRestarts, namespace: a.namespace,
      };
      if (nested) m.n = 1;
      if (a.name !== null) m.name = a.name;
      a.creation.state = 'SUBMITTED_TO_WORKER';
      a.creation.nodeId = node.id;
      a.creation.startedAt = now();
      node.post(m);
    });
  }

  /**
   * An actor this host created on another host that left, restarted here: `calls` that were in
   * flight there (already admitted, to be retried) run first, in their order.
   */
  restartHere(id: ActorId, spec: ActorSpec, args: unknown[], options: ActorOptions, deaths: string[], calls: TaskRecord[], restore: ActorRestore | undefined): void {
    this.create(id, this.host.nodeId, driverTaskId(jobOf(id)), spec, args.slice(), options, deaths, restore);
    const a = this.host.actors.get(id)!;
    for (const t of calls) {
      t.fn = spec.fn;
      a.queue.push(t);
      a.pendingCalls++;
    }
    a.pump();
  }

  /** The actor's constructor returned on `node`. */
  ready(node: NodeHandle, actorId: ActorId): void {
    const a = this.host.actors.get(actorId);
    if (!a || a.node !== node) return;
    a.state = 'ALIVE';
    this.tasks.created(a.creation);
    this.pump(a);
  }

  creationFailed(actorId: ActorId, error: SerializedError): void {
    const a = this.host.actors.get(actorId);
    if (!a) return;
    const cause = deserializeError(error);
    this.dead(a, `its constructor threw ${cause.name}: ${cause.message}`, cause);
  }

  /**
   * A call to an actor of this host. `refs`: references already held on the returns (1 for the
   * driver's ObjectRef, 0 for a node's, which borrows); `remoteOwner`: the host that made the call,
   * whose `attempt` of it this is (its answer carries it back).
   */
  call(id: TaskId, owner: string, parent: TaskId, actorId: ActorId, method: string, args: unknown[] | EncodedArgs, options: MethodOptions, refs = 0, remoteOwner?: string, attempt = 0): ObjectId[] {
    const a = this.host.actors.get(actorId);
    if (!a) throw new RayUsageError(`No actor ${actorId} on this host.`);
    if (a.maxPendingCalls >= 0 && a.pendingCalls >= a.maxPendingCalls) throw new PendingCallsLimitExceededError(actorId, a.maxPendingCalls);
    const raw = Array.isArray(args) ? args : undefined;
    let name = options.name ?? a.callNames.get(method);
    if (name === undefined) a.callNames.set(method, (name = `${a.spec.className}.${method}`));
    const t = this.tasks.newTask(id, ACTOR_TASK, a.spec.fn, name, raw, raw ? undefined : (args as EncodedArgs), parent, owner, options.numReturns ?? 1);
    t.actorId = actorId;
    t.method = method;
    t.retriesLeft = a.maxTaskRetries;
    t.remoteOwner = remoteOwner;
    t.attempt = attempt;
    a.pendingCalls++;
    if (a.state === 'DEAD') {
      this.tasks.admit(t, () => undefined, refs);
      this.tasks.finish(t, serializeError(new RayActorError(actorId, a.deathCause ?? 'it died')));
      return t.returns;
    }
    a.queue.push(t);
    this.tasks.admit(t, a.pump, refs);
    return t.returns;
  }

  /** Sends queued calls in submission order; a call waiting for its arguments holds back the ones after it. */
  private pump(a: ActorRecord): void {
    if (a.state !== 'ALIVE' || !a.node) return;
    while (a.queue.length) {
      const t = a.queue[0]!;
      if (t.state === 'FAILED' || t.state === 'FINISHED') { a.queue.shift(); continue; }
      if (t.pendingDeps > 0) return;
      a.queue.shift();
      this.tasks.send(t, a.node);
      if (a.options.checkpointEvery !== undefined) this.checkpoints.sent(a, t, a.node);
    }
  }

  /** `ray.kill` of an actor of this host: restarted when `noRestart` is false and restarts are left. */
  async kill(actorId: ActorId, noRestart: boolean): Promise<void> {
    const a = this.host.actors.get(actorId);
    if (!a || a.state === 'DEAD') return;
    if (noRestart || !this.canRestart(a)) {
      const node = a.node;
      this.dead(a, 'it was killed with ray.kill', undefined);
      if (node) await this.nodes.kill(node, 'killed');
      return;
    }
    if (a.node) await this.nodes.kill(a.node, 'killed with ray.kill({ noRestart: false })', true);
  }

  private canRestart(a: ActorRecord): boolean {
    return a.maxRestarts === -1 || a.numRestarts < a.maxRestarts;
  }

  /** The actor is dead for good: its resources go back, its pending calls fail. */
  private dead(a: ActorRecord, cause: string, error: Error | undefined): void {
    if (a.state === 'DEAD') return;
    const sent = a.node ? this.tasks.takeTasksOf(a.node) : [];
    a.state = 'DEAD';
    a.deathCause = cause;
    a.deathCauses.push(cause);
    a.node = null;
    this.host.actors.releaseName(a);
    if (a.name !== null) this.host.cluster?.releaseName(a.namespace, a.name, a.id);
    if (a.held) {
      // A pending actor holds nothing yet.
      if (!this.pendingActors.includes(a)) { this.host.scheduler.pool.release(a.held); this.holdings.remove(a.held); }
      a.held = null;
      this.retryPending();
      this.tasks.scheduleDispatch();
    }
    const err = serializeError(new RayActorError(a.id, cause, error));
    if (a.creation.state !== 'FINISHED') this.tasks.finish(a.creation, err);
    else if (a.creation.pinned) this.refs.unpin(a.creation.pinned);
    this.checkpoints.drop(a);
    const calls = [...sent, ...a.queue];
    a.queue = [];
    for (const t of calls) this.tasks.finish(t, err);
  }

  /** The node of an actor died (not by kill): restarted if it may be, else dead. */
  nodeDied(actorId: ActorId, node: NodeHandle, reason: string): void {
    const a = this.host.actors.get(actorId);
    if (!a || a.node !== node || a.state === 'DEAD') return;
    const cause = `its worker ${node.id} on host ${this.host.hostId} died (${reason})`;
    if (!this.canRestart(a)) { this.dead(a, cause, undefined); return; }
    a.numRestarts++;
    a.deathCauses.push(cause);
    a.state = 'RESTARTING';
    const inflight = this.tasks.takeTasksOf(node);
    this.checkpoints.lost(a, inflight);
    const lost = serializeError(new RayActorError(a.id, `${cause} while running this call`, undefined, true));
    const retried = this.tasks.retryCalls(inflight, lost);
    a.queue = [...this.checkpoints.restoring(a), ...retried, ...a.queue];
    this.startNode(a, true);
  }

  /** A host that left ended its job: the actors it placed here stop, unless detached (as in Ray). */
  ownersLeft(live: Set<string>): void {
    for (const a of this.host.actors.actors.values()) {
      if (a.ownerHost === undefined || live.has(a.ownerHost) || a.detached || a.state === 'DEAD') continue;
      const node = a.node;
      this.dead(a, `its job ended: host ${a.ownerHost}, whose driver created it, left the cluster (give it lifetime: 'detached' to outlive its job)`, undefined);
      if (node) void this.nodes.kill(node, 'its job ended');
    }
  }

  /** A live actor of this host by name, if there is one. */
  byName(namespace: string, name: string): ActorRecord | undefined {
    const a = this.host.actors.byName(namespace, name);
    return a && a.state !== 'DEAD' ? a : undefined;
  }
}
