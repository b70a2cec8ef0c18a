/**
 * Actors on other hosts, as this host sees them: those it created there (it owns them: it keeps
 * their class, arguments and, with checkpointEvery, the checkpoint and calls their host sends it,
 * and restarts them elsewhere, or here, when their host leaves), those it found by name (a handle
 * that follows its actor to the host the head names next), and actors other hosts placed here.
 */
import type { ActorInfo, ActorSpec } from '../api/core.js';
import { isObjectRef } from '../api/object-ref.js';
import { encode, isPrimitive } from '../shared/codec.js';
import { ActorUnavailableError, RayActorError, RayUsageError, serializeError, TaskCancelledError } from '../shared/errors.js';
import { driverTaskId, jobOf, type ActorId, type ObjectId, type TaskId } from '../shared/ids.js';
import { checkActorOptions, demandOf, type ActorOptions, type MethodOptions } from '../shared/options.js';
import type { ActorRestore, Frame, WireValue } from '../mesh/frames.js';
import { checkCheckpointing } from './actor-checkpoints.js';
import type { ActorManager } from './actor-manager.js';
import { ActorTable } from './actors.js';
import { toWire } from './cluster-host.js';
import type { HostContext } from './host-context.js';
import { INLINE, SPILLED } from './objects.js';
import type { ReferenceCounter } from './reference-counter.js';
import type { TaskManager } from './task-manager.js';
import { ACTOR_TASK, type TaskRecord } from './task-record.js';

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

const nestedRefusal = (name: string, host: string) =>
  new RayUsageError(`${name}: the actor lives on host ${host}; pass it values or ObjectRefs, not values with ObjectRefs or actor handles inside (those do not cross hosts yet).`);

export class RemoteActors {
  /** Actors on other hosts this host has handles to (created there from here, or found by name). */
  private readonly remoteActors = new Map<ActorId, RemoteActor>();
  /** Calls in flight when the link to their actor's host dropped (the host still in), with that host. */
  private readonly unsure = new Map<TaskRecord, string>();
  /** Actors this host created on a host that then left, by that host: the instances still there if it comes back. */
  private readonly leftBehind = new Map<string, ActorId[]>();

  constructor(
    private readonly host: HostContext,
    private readonly tasks: TaskManager,
    private readonly actors: ActorManager,
    private readonly refs: ReferenceCounter,
  ) {}

  /** An actor placed on another host (a resource only it has, SPREAD, a node of it): it lives there; calls from here go to it. */
  create(id: ActorId, host: string, spec: ActorSpec, args: unknown[], options: ActorOptions): void {
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
  log(from: string, f: Extract<Frame, { t: 'actor-log' }>): void {
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
  accept(from: string, f: Extract<Frame, { t: 'actor-create' }>, args: unknown[]): void {
    const fn = this.host.functions.get(f.fn);
    if (!fn || this.host.actors.get(f.actor) || this.host.closed) return;
    const options = f.options as ActorOptions;
    checkActorOptions('an actor placed here by another host', options);
    this.actors.create(f.actor, from, driverTaskId(jobOf(f.id)), { fn, className: fn.name, methods: f.methods, asyncMethods: f.asyncMethods }, { args, nested: false }, options, f.deaths, f.restore);
    const a = this.host.actors.get(f.actor);
    if (a) a.ownerHost = from;
  }

  /** Is this actor on another host? */
  has(actor: ActorId): boolean {
    return this.remoteActors.has(actor);
  }

  /** A call to an actor on another host: this host owns its returns; the actor's host runs it and sends them back. */
  call(id: TaskId, parent: TaskId, actorId: ActorId, method: string, args: unknown[], options: MethodOptions): ObjectId[] {
    const remote = this.remoteActors.get(actorId)!;
    const name = options.name ?? `${remote.className}.${method}`;
    // Refused before anything is stored for it. (Top-level ObjectRefs and large values go by reference: the actor's host pulls them.)
    args.forEach((a, i) => { if (!isPrimitive(a) && !isObjectRef(a) && encode(a, () => `${name}(args[${i}])`).nested) throw nestedRefusal(name, remote.host); });
    const calls = { kind: 'source' as const, id: actorId, name: remote.className, source: '', bindings: {} };
    const t = this.tasks.newTask(id, ACTOR_TASK, calls, name, args, undefined, parent, this.host.nodeId, options.numReturns ?? 1);
    t.actorId = actorId;
    t.method = method;
    t.retriesLeft = remote.owned?.options.maxTaskRetries ?? 0;
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
    remote.sent = remote.sent.then(async () => {
      if (!current()) return;
      // Cancelled while earlier calls were being sent: it is never sent.
      if (t.cancelled) { this.tasks.finish(t, serializeError(new TaskCancelledError(t.id))); return; }
      if (remote.dead !== undefined) { this.tasks.finish(t, serializeError(new RayActorError(t.actorId!, remote.dead))); return; }
      // An argument spilled to disk is brought back into the store first: the actor's host pulls from there.
      const { objects } = this.host;
      for (const i of t.argRefs ?? []) {
        const e = objects.get(t.args[i] as string)!;
        if (e.place === INLINE ? e.nested : !!e.contains?.length) { this.tasks.finish(t, serializeError(nestedRefusal(t.name, host))); return; }
        if (e.place === SPILLED) await this.refs.resident(e);
      }
      if (!current()) return;
      // Followed to the host its owner restarted it on while this call waited for the ones before it.
      t.nodeId = host = remote.host;
      const { args, refs } = this.tasks.wireArgs(t);
      const frame: Extract<Frame, { t: 'task' }> = { t: 'task', id: t.id, fn: t.actorId!, name: t.name, args: toWire(args), nret: t.returns.length, attempt, demand: {}, actor: t.actorId!, method: t.method!, parent: t.parent };
      if (refs.length) frame.refs = refs;
      this.host.cluster!.sendActorCall(host, frame);
    }).catch((e) => {
      if (!current()) return;
      // An actor this host may restart: if its host left, the call stays in flight for the restart (then retried, or failed).
      if (!remote.owned) this.tasks.finish(t, serializeError(new RayActorError(t.actorId!, `its host ${host} cannot be reached (${(e as Error).message})`)));
      else if (this.host.cluster!.member.hosts().some((h) => h.hostId === host)) this.answerMayBeLost(t, host);
    });
  }

  /**
   * The host of an actor this host created left: the actor is restarted on another host with room,
   * or here (its constructor runs again with the original arguments), while maxRestarts allows.
   * Calls in flight there are retried first (up to maxTaskRetries), in submission order, or fail.
   */
  private restart(id: ActorId, remote: RemoteActor, owned: OwnedActor): void {
    const cause = `its host ${remote.host} left the cluster`;
    const max = owned.options.maxRestarts ?? 0;
    const inflight = [...this.host.tasks.values()].filter((t) => t.actorId === id && t.type === ACTOR_TASK && t.nodeId === remote.host && t.state === 'SUBMITTED_TO_WORKER');
    if (max !== -1 && owned.deaths.length >= max) {
      remote.dead = cause;
      remote.owned = undefined;
      return; // hostsChanged fails its calls in flight
    }
    owned.deaths.push(cause);
    const lost = serializeError(new RayActorError(id, `${cause} while this call ran there`, undefined, true));
    const retried = this.tasks.retryCalls(inflight, lost);
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
  kill(actorId: ActorId, noRestart: boolean): Promise<void> {
    const remote = this.remoteActors.get(actorId)!;
    if (noRestart) remote.owned = undefined;
    remote.sent = remote.sent.then(() => this.host.cluster?.member.send(remote.host, { t: 'actor-kill', actor: actorId, noRestart })).catch(() => undefined);
    return remote.sent;
  }

  /** A named actor on another host, from the head's table; undefined if none (or it is this host's). */
  async lookup(namespace: string, name: string): Promise<ActorInfo | undefined> {
    const found = await this.host.cluster!.lookupName(namespace, name);
    if (!found || found.hostId === this.host.hostId) return undefined;
    if (!this.remoteActors.has(found.actorId)) this.remoteActors.set(found.actorId, { host: found.hostId, className: found.className, sent: Promise.resolve(), named: { namespace, name } });
    return { actorId: found.actorId, className: found.className, methods: found.methods, asyncMethods: found.asyncMethods };
  }


  /**
   * A call in flight when the link to its actor's host dropped: its answer may be lost. If the host
   * leaves, the actor restarts (and the call is retried, or fails); if the link comes back with the
   * host still in, the call fails with ActorUnavailableError (it may have run: not sent again).
   */
  answerMayBeLost(t: TaskRecord, host: string): void {
    this.unsure.set(t, host);
  }

  /** Hosts left (`live`: those still in): the actors this host created there restart; handles found by name follow theirs. */
  hostsLeft(live: Set<string>): void {
    const { member } = this.host.cluster!;
    for (const [t, host] of this.unsure) {
      if (t.state !== 'SUBMITTED_TO_WORKER' || t.nodeId !== host || !live.has(host)) { this.unsure.delete(t); continue; }
      if (!member.linked(host)) continue;
      this.unsure.delete(t);
      this.tasks.finish(t, serializeError(new ActorUnavailableError(t.actorId!, `the link to its host ${host} dropped while this call was in flight`)));
    }
    for (const [id, remote] of [...this.remoteActors]) {
      if (remote.dead !== undefined || live.has(remote.host)) continue;
      if (remote.owned) {
        this.leftBehind.set(remote.host, [...(this.leftBehind.get(remote.host) ?? []), id]);
        this.restart(id, remote, remote.owned);
      } else if (remote.named) this.follow(id, remote, remote.named);
    }
    // A host taken for gone that comes back (it was frozen or cut off) still runs the instances this
    // host restarted elsewhere or gave up: they are stopped, so that no actor is live twice.
    for (const [host, ids] of this.leftBehind) {
      if (!live.has(host) || !member.linked(host)) continue;
      this.leftBehind.delete(host);
      for (const actor of ids) try { member.send(host, { t: 'actor-kill', actor, noRestart: true }); } catch { /* gone again */ }
    }
  }

  /** Why an actor on another host is dead for good, if this host knows. */
  deathOf(actorId: ActorId): string | undefined {
    return this.remoteActors.get(actorId)?.dead;
  }
}

/** How long a handle found by name waits for its actor to reappear on another host after its host left. */
const FOLLOW_TRIES = 40;
const FOLLOW_EVERY_MS = 250;
