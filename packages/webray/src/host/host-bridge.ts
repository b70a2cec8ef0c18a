/**
 * The bridge to other hosts: this host's tasks placed elsewhere (sent, or spilled to the head's
 * global scheduler), tasks other hosts sent here and their results going back, actors on other
 * hosts (created, called, killed, looked up by name), and what a host leaving means here.
 */
import type { ActorInfo, ActorSpec } from '../api/core.js';
import { encode, hasMarkers, isPrimitive, isStoredMarker, refsInside } from '../shared/codec.js';
import { NodeDiedError, RayActorError, RayUsageError, serializeError, type SerializedError } from '../shared/errors.js';
import { driverTaskId, jobOf, type ActorId, type ObjectId, type TaskId } from '../shared/ids.js';
import { checkActorOptions, demandOf, type ActorOptions, type MethodOptions } from '../shared/options.js';
import type { FunctionDescriptor } from '../shared/protocol.js';
import type { ActorRestore, ArgRef, Frame, HostInfo, WireValue } from '../mesh/frames.js';
import type { ArgBytes } from '../scheduler/global.js';
import { spills } from '../scheduler/bottom-up.js';
import { checkCheckpointing } from './actor-checkpoints.js';
import type { ActorManager } from './actor-manager.js';
import { ActorTable } from './actors.js';
import { toWire } from './cluster-host.js';
import type { HostContext } from './host-context.js';
import { INLINE, IN_STORE, PENDING, REMOTE, SPILLED } from './objects.js';
import type { ReferenceCounter } from './reference-counter.js';
import { demandKey, type RemoteWork, type TaskManager } from './task-manager.js';
import { ACTOR_TASK, NORMAL, type TaskRecord } from './task-record.js';

/** An actor on another host this host has a handle to, and the last frame sent to it (calls go in order, after the creation). */
interface RemoteActor {
  host: string;
  className: string;
  sent: Promise<void>;
  /** Set when this host created it (it owns it): what a restart elsewhere needs. */
  owned?: OwnedActor;
  /** Why it is dead for good, once this host knows. */
  dead?: string;
  /** Its name, when this host found it by name: a handle that follows it when its owner restarts it elsewhere. */
  named?: { namespace: string; name: string };
  /** Set while such a handle waits for the head to name the actor's new host. */
  following?: boolean;
}

/** An actor this host created on another host: its creation spec and arguments are kept here, off the actor's host, for restarts. */
interface OwnedActor {
  spec: ActorSpec;
  args: unknown[];
  options: ActorOptions;
  /** Why each of its instances died (one per restart so far). */
  deaths: string[];
  /** With checkpointEvery: its last checkpoint and the calls after it, sent by its host (`seq`: their order there). */
  log?: { state?: WireValue; calls: { seq: number; method: string; args: WireValue }[]; incomplete: boolean };
}

export class HostBridge implements RemoteWork {
  /** Actors on other hosts this host has handles to (created there from here, or found by name). */
  private readonly remoteActors = new Map<ActorId, RemoteActor>();
  /** Tasks waiting for the global scheduler's answer (with where their argument bytes are), sent together at the end of this turn. */
  private spilling: { t: TaskRecord; args: ArgBytes[] }[] = [];

  constructor(
    private readonly host: HostContext,
    private readonly tasks: TaskManager,
    private readonly actors: ActorManager,
    private readonly refs: ReferenceCounter,
  ) {}

  // ---- this host's tasks, placed elsewhere -------------------------------------------------

  placeElsewhere(t: TaskRecord): boolean {
    const c = this.host.cluster!;
    const { pool } = this.host.scheduler;
    const sendable = this.sendsAnywhere(t);
    const refusal = typeof t.strategy === 'object' ? c.pinnedElsewhereRefusal(t.name, t.strategy, sendable) : undefined;
    if (refusal) { this.tasks.finish(t, serializeError(refusal)); return true; }
    if (!sendable) return false;
    const host = c.place(t, pool.feasible(t.demand));
    if (host) { this.sendRemote(t, host); return true; }
    // Bottom-up: the global scheduler places what this host should not run itself.
    if (t.strategy === 'DEFAULT' && c.sendsWork) {
      const args = this.argBytes(t);
      if (spills(this.host.hostId, args, this.host.scheduler.hasRoom(t.demand))) { this.spill(t, args); return true; }
    }
    return false;
  }

  private spill(t: TaskRecord, args: ArgBytes[]): void {
    t.state = 'PENDING_NODE_ASSIGNMENT';
    if (this.spilling.push({ t, args }) === 1) queueMicrotask(() => this.sendSpilled());
  }

  private sendSpilled(): void {
    const batch = this.spilling;
    this.spilling = [];
    void this.host.cluster!.placeGlobally(batch.map(({ t, args }) => ({ demand: t.demand, args }))).then((hosts) => {
      batch.forEach(({ t }, i) => {
        // Cancelled (or the runtime closed) while the head decided.
        if (t.state !== 'PENDING_NODE_ASSIGNMENT' || this.host.closed) return;
        const host = hosts[i];
        if (host) this.sendRemote(t, host);
        else this.tasks.enqueueHere(t);
      });
    });
  }

  /** How many of a task's argument bytes each host holds (objects in a store; inline values travel with the task). */
  private argBytes(t: TaskRecord): ArgBytes[] {
    const out: ArgBytes[] = [];
    if (!t.argRefs) return out;
    for (const i of t.argRefs) {
      const e = this.host.objects.get(t.args[i] as string);
      const at = e && this.refs.bytesAt(e);
      if (!at) continue;
      const a = out.find((x) => x.host === at.host);
      if (a) a.bytes += at.size;
      else out.push({ host: at.host, bytes: at.size });
    }
    return out;
  }

  /**
   * Can this task run on another host? Its arguments must be plain values or objects in a store
   * (passed by reference: the target pulls them); refs nested inside arguments, and spilled
   * objects, keep it here.
   */
  private sendsAnywhere(t: TaskRecord): boolean {
    if (t.nested) return false;
    if (t.argRefs) {
      for (const i of t.argRefs) {
        const e = this.host.objects.get(t.args[i] as string);
        if (!e || (e.place === INLINE ? e.nested : e.place === SPILLED || !!e.contains?.length)) return false;
      }
    }
    return true;
  }

  /** A task's arguments for another host: values in the frame, objects in a store by reference. */
  private wireArgs(t: TaskRecord): { args: unknown[]; refs: ArgRef[] } {
    const { args } = this.tasks.resolvedArgs(t);
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
    this.host.cluster!.sendTask(host, t.fn, f).catch(() => {
      // The link went between placement and sending: run it here instead.
      if (t.nodeId !== host || t.state !== 'SUBMITTED_TO_WORKER') return;
      t.nodeId = null;
      this.tasks.enqueueHere(t);
    });
  }

  /** A task this host owns ended on another host. */
  remoteTaskDone(from: string, id: string, values: unknown[] | undefined, remote: { i: number; size: number }[], error: SerializedError | undefined, start: number, end: number): void {
    const t = this.host.tasks.get(id);
    if (!t || t.nodeId !== from || t.state !== 'SUBMITTED_TO_WORKER') return;
    t.startedAt = start;
    t.endedAt = end;
    if (!error && values?.length !== t.returns.length) error = serializeError(new RayUsageError(`host ${from} sent ${values?.length ?? 'no'} values for ${t.returns.length} returns of task ${t.name}`));
    if (error) {
      if (this.tasks.shouldRetryException(t, error)) this.tasks.retry(t);
      else this.tasks.finish(t, error);
      return;
    }
    const { objects, cluster, store } = this.host;
    for (const r of remote) {
      const e = objects.get(t.returns[r.i]!);
      // Kept on the host that ran the task; pulled when someone here needs it.
      if (e) objects.resolve(e, { host: from, size: r.size }, true, [], REMOTE);
      else cluster!.free(from, [t.returns[r.i]!]);
    }
    for (let i = 0; i < t.returns.length; i++) {
      const e = objects.get(t.returns[i]!);
      if (!e || e.state !== PENDING) continue;
      const marker = store?.putLarge(e.id, values![i], []);
      if (marker) objects.resolve(e, marker, true, [], IN_STORE);
      else objects.resolve(e, values![i], false, undefined);
    }
    this.tasks.finish(t, undefined);
  }

  // ---- tasks other hosts sent here ---------------------------------------------------------

  /** A task another host sent: run it here as if submitted here, but its results go back to that host. */
  acceptRemoteTask(from: string, f: Extract<Frame, { t: 'task' }>, args: unknown[]): void {
    const cluster = this.host.cluster!;
    if (f.actor !== undefined) {
      try {
        this.actors.call(f.id, from, driverTaskId(jobOf(f.id)), f.actor, f.method ?? '', { args, nested: false }, { numReturns: f.nret }, 0, from);
      } catch (e) {
        cluster.sendDone(from, f.id, undefined, [], serializeError(e), 0, 0);
      }
      return;
    }
    const fn = this.host.functions.get(f.fn);
    if (!fn || this.host.tasks.has(f.id) || this.host.closed) return;
    if (!f.refs) { this.admitRemoteTask(from, f, fn, args, undefined); return; }
    const refs = f.refs;
    if (refs.some((r, k) => r.i >= args.length || refs.findIndex((x) => x.i === r.i) !== k)) {
      cluster.sendDone(from, f.id, undefined, [], serializeError(new RayUsageError(`task ${f.name} from host ${from} names arguments by reference that it does not have`)), 0, 0);
      return;
    }
    this.refs.borrowFromOwner(from, refs).then(
      () => this.admitRemoteTask(from, f, fn, args, refs),
      (e) => cluster.sendDone(from, f.id, undefined, [], serializeError(e), 0, 0),
    );
  }

  private admitRemoteTask(from: string, f: Extract<Frame, { t: 'task' }>, fn: FunctionDescriptor, args: unknown[], refs: ArgRef[] | undefined): void {
    if (this.host.tasks.has(f.id) || this.host.closed) return;
    let argRefs: number[] | undefined;
    if (refs) for (const r of refs) { args[r.i] = r.id; (argRefs ??= []).push(r.i); }
    const t = this.tasks.newTask(f.id, NORMAL, fn, f.name, undefined, { args, argRefs, nested: false }, driverTaskId(jobOf(f.id)), from, f.nret);
    t.remoteOwner = from;
    t.attempt = f.attempt;
    t.demand = f.demand;
    t.key = demandKey(f.demand);
    t.strategy = f.node ? { nodeId: f.node, soft: false } : f.spread ? 'SPREAD' : 'DEFAULT';
    t.retriesLeft = 0; // the owner retries
    this.tasks.admit(t);
  }

  returnToOwner(t: TaskRecord, values: unknown[] | undefined, nested: boolean, error: SerializedError | undefined, start: number, end: number): void {
    const cluster = this.host.cluster!;
    let out = values;
    const remote: { i: number; size: number }[] = [];
    if (values && nested) {
      // Large values are stored markers (kept here for the owner to pull); the others cross inline
      // unless a ref, a handle or a function is inside one.
      if (values.some((v) => (isStoredMarker(v) ? refsInside(v).length > 0 : hasMarkers(v)))) {
        for (const v of values) if (isStoredMarker(v)) this.host.store?.store.delete((v as { id: string }).id);
        error = serializeError(new RayUsageError(`task ${t.name} ran on host ${this.host.hostId} and returned ObjectRefs or actor handles: results with refs do not cross hosts yet`));
        out = undefined;
      } else {
        // Results in this host's store stay here until the owner pulls and frees them.
        out = values.map((v, i) => {
          if (!isStoredMarker(v)) return v;
          const m = v as { id: string; size: number };
          cluster.holdFor(m.id, t.remoteOwner!);
          remote.push({ i, size: m.size });
          return null;
        });
      }
    }
    cluster.sendDone(t.remoteOwner!, t.id, error ? undefined : out, remote, error, start, end);
    this.tasks.finish(t, error, true);
  }

  // ---- actors on other hosts ----------------------------------------------------------------

  /** An actor placed on another host (a resource only it has, SPREAD, a node of it): it lives there; calls from here go to it. */
  createRemoteActor(id: ActorId, host: string, spec: ActorSpec, args: unknown[], options: ActorOptions): void {
    checkCheckpointing(spec, options, options.maxConcurrency ?? ActorTable.defaultConcurrency(spec));
    args.forEach((a, i) => {
      if (!isPrimitive(a) && encode(a, () => `${spec.className}(args[${i}])`).nested) {
        throw new RayUsageError(`${spec.className}: the actor is placed on host ${host}; pass its constructor values, not ObjectRefs or handles (they do not cross hosts as arguments yet).`);
      }
    });
    this.tasks.registerFunction(spec.fn);
    const owned: OwnedActor = { spec, args: args.slice(), options, deaths: [] };
    if (options.checkpointEvery !== undefined) owned.log = { calls: [], incomplete: false };
    this.remoteActors.set(id, { host, className: spec.className, sent: this.sendCreation(id, host, owned), owned });
  }

  private sendCreation(id: ActorId, host: string, owned: OwnedActor): Promise<void> {
    const { spec } = owned;
    const { schedulingStrategy: _placed, ...rest } = owned.options;
    const f: Extract<Frame, { t: 'actor-create' }> = {
      t: 'actor-create', id, actor: id, fn: spec.fn.id, args: toWire(owned.args), methods: spec.methods, asyncMethods: spec.asyncMethods,
      options: rest as Record<string, unknown>,
    };
    if (owned.deaths.length) f.deaths = owned.deaths;
    const restore = owned.deaths.length ? this.restoreOf(owned) : undefined;
    if (restore) f.restore = restore;
    return this.host.cluster!.sendTask(host, spec.fn, f);
  }

  /** What a restart needs of the owner's log; the new instance's host logs again from there (its replays first). */
  private restoreOf(owned: OwnedActor): ActorRestore | undefined {
    const log = owned.log;
    if (!log || log.incomplete) return undefined;
    const restore: ActorRestore = { calls: log.calls.map(({ method, args }) => ({ method, args })) };
    if (log.state !== undefined) restore.state = log.state;
    log.calls = [];
    return restore;
  }

  /** A call the host of an actor this host created sent it, or a checkpoint it took (kept here, off that host). */
  actorLog(from: string, f: Extract<Frame, { t: 'actor-log' }>): void {
    const log = this.remoteActors.get(f.actor)?.owned?.log;
    if (!log || this.remoteActors.get(f.actor)!.host !== from) { this.host.cluster?.member.drops.add(`'actor-log' from ${from} for an actor it does not hold for this host`); return; }
    if (f.state !== undefined) {
      log.state = f.state;
      log.calls = log.calls.filter((c) => c.seq > f.seq);
    } else if (f.method !== undefined && f.args !== undefined) {
      log.calls.push({ seq: f.seq, method: f.method, args: f.args });
    } else {
      log.incomplete = true;
    }
  }

  /** An actor another host placed here: created as if submitted here, owned by that host. */
  acceptRemoteActor(from: string, f: Extract<Frame, { t: 'actor-create' }>, args: unknown[]): void {
    const fn = this.host.functions.get(f.fn);
    if (!fn || this.host.actors.get(f.actor) || this.host.closed) return;
    const options = f.options as ActorOptions;
    checkActorOptions('an actor placed here by another host', options);
    this.actors.create(f.actor, from, driverTaskId(jobOf(f.id)), { fn, className: fn.name, methods: f.methods, asyncMethods: f.asyncMethods }, { args, nested: false }, options, f.deaths, f.restore);
    const a = this.host.actors.get(f.actor);
    if (a) a.ownerHost = from;
  }

  /** Is this actor on another host? */
  hasRemoteActor(actor: ActorId): boolean {
    return this.remoteActors.has(actor);
  }

  /** A call to an actor on another host: this host owns its returns; the actor's host runs it and sends them back. */
  callRemoteActor(id: TaskId, parent: TaskId, actorId: ActorId, method: string, args: unknown[], options: MethodOptions): ObjectId[] {
    const remote = this.remoteActors.get(actorId)!;
    const calls = { kind: 'source' as const, id: actorId, name: remote.className, source: '', bindings: {} };
    const t = this.tasks.newTask(id, ACTOR_TASK, calls, options.name ?? `${remote.className}.${method}`, args, undefined, parent, this.host.nodeId, options.numReturns ?? 1);
    t.actorId = actorId;
    t.method = method;
    t.retriesLeft = remote.owned?.options.maxTaskRetries ?? 0;
    if (t.argRefs || t.nested) {
      throw new RayUsageError(`${t.name}: the actor lives on host ${remote.host}; pass it values, not ObjectRefs (refs do not cross hosts as arguments yet).`);
    }
    if (remote.dead !== undefined) {
      this.tasks.admit(t, () => undefined, 1);
      this.tasks.finish(t, serializeError(new RayActorError(actorId, remote.dead)));
      return t.returns;
    }
    this.tasks.admit(t, () => this.sendCall(t, remote), 1);
    return t.returns;
  }

  /** Sends a call after the frames already sent to the actor; a send a restart superseded (another host, a later attempt) is dropped. */
  private sendCall(t: TaskRecord, remote: RemoteActor): void {
    let { host } = remote;
    const { attempt } = t;
    t.state = 'SUBMITTED_TO_WORKER';
    t.nodeId = host;
    const current = () => t.nodeId === host && t.attempt === attempt && t.state === 'SUBMITTED_TO_WORKER';
    const frame = { t: 'task' as const, id: t.id, fn: t.actorId!, name: t.name, args: toWire(t.args), nret: t.returns.length, attempt, demand: {}, actor: t.actorId!, method: t.method! };
    remote.sent = remote.sent.then(() => {
      if (!current()) return;
      if (remote.dead !== undefined) { this.tasks.finish(t, serializeError(new RayActorError(t.actorId!, remote.dead))); return; }
      // Followed to the host its owner restarted it on while this call waited for the ones before it.
      t.nodeId = host = remote.host;
      this.host.cluster!.sendActorCall(host, frame);
    }).catch((e) => {
      // An actor this host may restart: the call stays in flight until the host is seen to leave (then retried, or failed).
      if (current() && !remote.owned) this.tasks.finish(t, serializeError(new RayActorError(t.actorId!, `its host ${host} cannot be reached (${(e as Error).message})`)));
    });
  }

  /**
   * The host of an actor this host created left: the actor is restarted on another host with room,
   * or here (its constructor runs again with the original arguments), while maxRestarts allows.
   * Calls in flight there are retried first (up to maxTaskRetries), in submission order, or fail.
   */
  private restartRemoteActor(id: ActorId, remote: RemoteActor, owned: OwnedActor): void {
    const cause = `its host ${remote.host} left the cluster`;
    const max = owned.options.maxRestarts ?? 0;
    const inflight = [...this.host.tasks.values()].filter((t) => t.actorId === id && t.type === ACTOR_TASK && t.nodeId === remote.host && t.state === 'SUBMITTED_TO_WORKER');
    if (max !== -1 && owned.deaths.length >= max) {
      remote.dead = cause;
      remote.owned = undefined;
      return; // hostsChanged fails its calls in flight
    }
    owned.deaths.push(cause);
    const retried: TaskRecord[] = [];
    for (const t of inflight) {
      if (t.retriesLeft === 0) { this.tasks.finish(t, serializeError(new RayActorError(id, `${cause} while this call ran there`, undefined, true))); continue; }
      if (t.retriesLeft > 0) t.retriesLeft--;
      t.attempt++;
      t.nodeId = null;
      t.state = 'PENDING_NODE_ASSIGNMENT';
      retried.push(t);
    }
    const demand = demandOf(owned.options.numCpus, owned.options.resources, 0);
    const s = owned.options.schedulingStrategy;
    // The node it was pinned to left with its host: placed as any other actor.
    const strategy = typeof s === 'object' ? 'DEFAULT' : s ?? 'DEFAULT';
    const feasibleHere = this.host.scheduler.pool.feasible(demand);
    const host = this.host.cluster!.place({ demand, strategy }, feasibleHere);
    if (host) {
      remote.host = host;
      remote.sent = this.sendCreation(id, host, owned).catch(() => undefined);
      for (const t of retried) this.sendCall(t, remote);
      return;
    }
    if (feasibleHere) {
      this.remoteActors.delete(id);
      this.actors.restartHere(id, owned.spec, owned.args, owned.options, owned.deaths, retried, this.restoreOf(owned));
      return;
    }
    owned.deaths.pop();
    remote.dead = `${cause} and no host has the resources to restart it (${JSON.stringify(demand)})`;
    remote.owned = undefined;
    for (const t of retried) this.tasks.finish(t, serializeError(new RayActorError(id, remote.dead)));
  }

  /**
   * A named actor found through the head, whose host left: later calls wait until the head names
   * the host its owner restarted it on (polled, bounded), then go there; or fail if it names none.
   */
  private follow(id: ActorId, remote: RemoteActor, named: { namespace: string; name: string }): void {
    if (remote.following) return;
    remote.following = true;
    const left = remote.host;
    remote.sent = remote.sent.then(async () => {
      for (let i = 0; i < FOLLOW_TRIES && !this.host.closed; i++) {
        const found = await this.host.cluster?.lookupName(named.namespace, named.name);
        if (found?.actorId === id && found.hostId === this.host.hostId) {
          // Restarted here: new calls reach it through the actor manager; those waiting here cannot.
          this.remoteActors.delete(id);
          remote.dead = `it was restarted on this host (${found.hostId}) while this call waited; call it again`;
          return;
        }
        if (found?.actorId === id && found.hostId !== left) { remote.host = found.hostId; remote.following = false; return; }
        await new Promise((r) => setTimeout(r, FOLLOW_EVERY_MS));
      }
      remote.dead = `its host ${left} left the cluster and it was not restarted on another host within ${FOLLOW_TRIES * FOLLOW_EVERY_MS / 1000} s (if it restarts later, getActor('${named.name}') again)`;
    });
  }

  /** Kills an actor on another host, after the calls already sent to it (as in one host). */
  killRemoteActor(actorId: ActorId, noRestart: boolean): Promise<void> {
    const remote = this.remoteActors.get(actorId)!;
    if (noRestart) remote.owned = undefined;
    remote.sent = remote.sent.then(() => this.host.cluster?.member.send(remote.host, { t: 'actor-kill', actor: actorId, noRestart })).catch(() => undefined);
    return remote.sent;
  }

  /** A named actor on another host, from the head's table; undefined if none (or it is this host's). */
  async lookupActor(namespace: string, name: string): Promise<ActorInfo | undefined> {
    const found = await this.host.cluster!.lookupName(namespace, name);
    if (!found || found.hostId === this.host.hostId) return undefined;
    if (!this.remoteActors.has(found.actorId)) this.remoteActors.set(found.actorId, { host: found.hostId, className: found.className, sent: Promise.resolve(), named: { namespace, name } });
    return { actorId: found.actorId, className: found.className, methods: found.methods, asyncMethods: found.asyncMethods };
  }

  // ---- membership ---------------------------------------------------------------------------

  /** Members or links changed: tasks on a host that left are retried elsewhere, or fail; tasks no node here can run are placed again. */
  hostsChanged(hosts: HostInfo[]): void {
    for (const t of this.host.scheduler.takeInfeasible()) this.tasks.enqueue(t);
    const live = new Set(hosts.map((h) => h.hostId));
    this.actors.ownersLeft(live);
    for (const [id, remote] of [...this.remoteActors]) {
      if (remote.dead !== undefined || live.has(remote.host)) continue;
      if (remote.owned) this.restartRemoteActor(id, remote, remote.owned);
      else if (remote.named) this.follow(id, remote, remote.named);
    }
    for (const t of [...this.host.tasks.values()]) {
      if (t.state !== 'SUBMITTED_TO_WORKER' || t.nodeId === null || this.host.nodes.has(t.nodeId) || live.has(t.nodeId)) continue;
      const host = t.nodeId;
      if (t.type === ACTOR_TASK) { this.tasks.finish(t, serializeError(new RayActorError(t.actorId!, this.remoteActors.get(t.actorId!)?.dead ?? `its host ${host} left the cluster`))); continue; }
      if (t.type !== NORMAL) continue;
      t.nodeId = null;
      if (t.retriesLeft !== 0) this.tasks.retry(t);
      else this.tasks.finish(t, serializeError(new NodeDiedError(host, 'its host left the cluster while running this task')));
    }
    this.tasks.scheduleDispatch();
  }
}

/** How long a handle found by name waits for its actor to reappear on another host after its host left. */
const FOLLOW_TRIES = 40;
const FOLLOW_EVERY_MS = 250;
