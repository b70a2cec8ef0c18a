/**
 * The bridge to other hosts: this host's tasks placed elsewhere (sent, or spilled to the head's
 * global scheduler), tasks other hosts sent here and their results going back, and what a host
 * leaving means here (actors on other hosts are RemoteActors').
 */
import { hasMarkers, isStoredMarker, refsInside } from '../shared/codec.js';
import { NodeDiedError, OwnerDiedError, RayActorError, RayUsageError, serializeError, TaskCancelledError, type SerializedError } from '../shared/errors.js';
import { driverTaskId, jobOf, returnObjectId, type TaskId } from '../shared/ids.js';
import type { FunctionDescriptor } from '../shared/protocol.js';
import type { ArgRef, Frame, HostInfo } from '../mesh/frames.js';
import type { ArgBytes } from '../scheduler/global.js';
import { spills } from '../scheduler/bottom-up.js';
import type { ActorManager } from './actor-manager.js';
import { toWire } from './cluster-host.js';
import type { HostContext } from './host-context.js';
import { INLINE, IN_STORE, PENDING, REMOTE, SPILLED } from './objects.js';
import type { ObjectRecovery } from './object-recovery.js';
import type { ReferenceCounter } from './reference-counter.js';
import type { RemoteActors } from './remote-actors.js';
import { demandKey, type EncodedArgs, type RemoteWork, type TaskManager } from './task-manager.js';
import { ACTOR_TASK, NORMAL, type TaskRecord } from './task-record.js';

/** Cancels kept per owner for tasks not admitted yet (the oldest go first). */
const MAX_EARLY_CANCELS = 1024;

export class HostBridge implements RemoteWork {
  /** Tasks waiting for the global scheduler's answer (with where their argument bytes are), sent together at the end of this turn. */
  private spilling: { t: TaskRecord; args: ArgBytes[] }[] = [];
  /** The arguments by reference each task sent away took, with the host each was to be pulled from. */
  private readonly sentRefs = new WeakMap<TaskRecord, ArgRef[]>();
  /**
   * Cancels of tasks not admitted here yet, by owner (`id:attempt`): the cancel can overtake its
   * task, whose frame waits for its function's signature or its arguments' pull. Bounded per owner.
   */
  private readonly earlyCancels = new Map<string, Set<string>>();

  constructor(
    private readonly host: HostContext,
    private readonly tasks: TaskManager,
    private readonly actors: ActorManager,
    private readonly refs: ReferenceCounter,
    private readonly remoteActors: RemoteActors,
    private readonly recovery: ObjectRecovery,
  ) {}

  // ---- this host's tasks, placed elsewhere -------------------------------------------------

  placeElsewhere(t: TaskRecord): boolean {
    const c = this.host.cluster!;
    const { pool } = this.host.scheduler;
    const sendable = this.sendsAnywhere(t);
    const refusal = typeof t.strategy === 'object' ? c.pinnedElsewhereRefusal(t.name, t.strategy, sendable) : undefined;
    if (refusal) { this.tasks.finish(t, serializeError(refusal)); return true; }
    // A verified task's replica goes to the host verification chose for it (host/verification.ts).
    if (t.onHost !== undefined) {
      if (t.onHost === this.host.hostId) return false;
      if (!sendable) {
        this.tasks.finish(t, serializeError(new RayUsageError(`task ${t.name} is run with verify, on several hosts, but its arguments hold ObjectRefs nested inside values, ` +
          'actor handles, remote functions or spilled objects, which do not cross hosts yet. Pass plain values or top-level ObjectRefs.')));
        return true;
      }
      this.sendRemote(t, t.onHost);
      return true;
    }
    if (!sendable) return false;
    const host = c.place(t, pool.feasible(t.demand));
    if (host) { this.sendRemote(t, host); return true; }
    // Bottom-up: the global scheduler places what this host should not run itself.
    if (t.strategy === 'DEFAULT' && c.sendsWork) {
      const args = this.argBytes(t);
      // A paused host keeps nothing it can send away.
      if (spills(this.host.hostId, args, this.host.scheduler.hasRoom(t.demand) && !c.paused)) { this.spill(t, args); return true; }
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

  private sendRemote(t: TaskRecord, host: string): void {
    // An argument lost meanwhile is being made again: wait for it, then place the task again.
    if (this.tasks.argsInMaking(t)) { this.tasks.awaitArgs(t); return; }
    const { args, refs } = this.tasks.wireArgs(t);
    const f: Extract<Frame, { t: 'task' }> = {
      t: 'task', id: t.id, fn: t.fn.id, name: t.name, args: toWire(args), nret: t.returns.length,
      attempt: t.attempt, demand: t.demand, parent: t.parent,
    };
    if (refs.length) { f.refs = refs; this.sentRefs.set(t, refs); }
    const s = t.strategy;
    if (typeof s === 'object') { f.node = s.nodeId; if (s.soft) f.soft = true; }
    else if (s === 'SPREAD') f.spread = true;
    if (t.verified) f.verified = true;
    t.state = 'SUBMITTED_TO_WORKER';
    t.nodeId = host;
    this.host.cluster!.sendTask(host, t.fn, f).catch(() => {
      // The link went between placement and sending: run it here instead (a replica: on another host).
      if (t.nodeId !== host || t.state !== 'SUBMITTED_TO_WORKER') return;
      t.nodeId = null;
      if (t.replicaOf !== undefined) this.tasks.enqueue(t);
      else this.tasks.enqueueHere(t);
    });
  }

  cancelElsewhere(t: TaskRecord, force: boolean, recursive: boolean): void {
    try { this.host.cluster!.member.send(t.nodeId!, { t: 'cancel', id: t.id, attempt: t.attempt, force, recursive }); } catch { /* its host left: hostsChanged ends it */ }
  }

  /** The owner of a task it sent here cancelled it. */
  remoteTaskCancelled(from: string, id: string, attempt: number, force: boolean, recursive: boolean): Promise<void> {
    const t = this.host.tasks.get(id);
    if (!t) {
      let early = this.earlyCancels.get(from);
      if (!early) this.earlyCancels.set(from, early = new Set());
      early.add(`${id}:${attempt}`);
      if (early.size > MAX_EARLY_CANCELS) early.delete(early.values().next().value!);
      return Promise.resolve();
    }
    if (t.remoteOwner !== from || t.attempt !== attempt) return Promise.resolve();
    return this.tasks.cancel(t.returns[0] ?? returnObjectId(t.id, 0), force, recursive);
  }

  /** Was this task cancelled by its owner before it was admitted here? Then its owner hears so, and it never runs. */
  private cancelledEarly(from: string, f: Extract<Frame, { t: 'task' }>): boolean {
    if (!this.earlyCancels.get(from)?.delete(`${f.id}:${f.attempt}`)) return false;
    this.host.cluster!.sendDone(from, f.id, f.attempt, undefined, [], serializeError(new TaskCancelledError(f.id)), 0, 0);
    return true;
  }

  /** A task this host owns ended on another host. */
  remoteTaskDone(from: string, id: string, attempt: number, values: unknown[] | undefined, remote: { i: number; size: number }[], error: SerializedError | undefined, start: number, end: number): void {
    const t = this.host.tasks.get(id);
    // A superseded attempt's end (a host declared dead that came back, a retry placed on the same host) is ignored.
    // (Its objects kept there are not freed: they have the same ids as the current attempt's.)
    if (!t || t.nodeId !== from || t.state !== 'SUBMITTED_TO_WORKER' || t.attempt !== attempt) return;
    t.startedAt = start;
    t.endedAt = end;
    if (t.cancelled) {
      if (remote.length) this.host.cluster!.free(from, remote.map((r) => t.returns[r.i]!));
      this.tasks.finish(t, serializeError(new TaskCancelledError(t.id)));
      return;
    }
    if (!error && values?.length !== t.returns.length) error = serializeError(new RayUsageError(`host ${from} sent ${values?.length ?? 'no'} values for ${t.returns.length} returns of task ${t.name}`));
    if (error) {
      // It could not pull an argument there: the argument is made again, and the task sent again without spending a retry.
      const lost = error.name === 'ObjectLostError' ? this.sentRefs.get(t)?.find((r) => r.id === error!.fields?.objectId) : undefined;
      if (lost && this.recovery.argumentLost(t, lost.id, lost.host, from, error)) return;
      // Its worker there died (a system failure, not the task's exception): the owner retries it, as for a worker here.
      if (error.name === 'WorkerCrashedError' ? t.retriesLeft !== 0 : this.tasks.shouldRetryException(t, error)) this.tasks.retry(t);
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

  /** A host this one sent a task to handed it back unrun (it paused): the task is placed again, no retry spent. */
  remoteTaskHandedBack(from: string, id: string, attempt: number): void {
    const t = this.host.tasks.get(id);
    if (!t || t.type !== NORMAL || t.nodeId !== from || t.state !== 'SUBMITTED_TO_WORKER' || t.attempt !== attempt) return;
    // Cancelled while it came back: it is not placed again.
    if (t.cancelled) { this.tasks.finish(t, serializeError(new TaskCancelledError(t.id))); return; }
    t.nodeId = null;
    this.sentRefs.delete(t);
    this.tasks.enqueue(t);
  }

  /**
   * A host leaving gracefully keeps objects this host owns: each is pulled here now (then freed
   * there), so none needs rebuilding once it is gone. Ids it does not keep for us are freed at once.
   */
  takeObjects(from: string, ids: string[]): void {
    const unknown: string[] = [];
    for (const id of ids) {
      const e = this.host.objects.get(id);
      if (!e || e.place !== REMOTE || (e.value as { host: string }).host !== from) { unknown.push(id); continue; }
      // A pull that fails leaves the object to recovery, as when the host is gone.
      this.refs.resident(e).catch(() => undefined);
    }
    if (unknown.length) this.host.cluster!.free(from, unknown);
  }

  // ---- tasks other hosts sent here ---------------------------------------------------------

  /**
   * A task (or an actor call) another host sent: run here as if submitted here, but its results go
   * back to that host. Its arguments by reference are brought here first; for an actor call, later
   * frames from that host wait meanwhile (the returned promise), so the actor's calls keep their order.
   */
  acceptRemoteTask(from: string, f: Extract<Frame, { t: 'task' }>, args: unknown[]): Promise<void> | undefined {
    const cluster = this.host.cluster!;
    const refused = (e: unknown) => cluster.sendDone(from, f.id, f.attempt, undefined, [], serializeError(e), 0, 0);
    const fn = f.actor === undefined ? this.host.functions.get(f.fn) : undefined;
    if (f.actor === undefined && (!fn || this.host.tasks.has(f.id) || this.host.closed)) return;
    const run = (argRefs: number[] | undefined) => {
      if (this.cancelledEarly(from, f)) return;
      const pre: EncodedArgs = { args, argRefs, nested: false };
      if (f.actor === undefined) { this.admitRemoteTask(from, f, fn!, pre); return; }
      try {
        this.actors.call(f.id, from, parentOf(f), f.actor, f.method ?? '', pre, { numReturns: f.nret }, 0, from, f.attempt);
      } catch (e) {
        refused(e);
      }
    };
    const refs = f.refs;
    if (!refs) { run(undefined); return; }
    if (this.cancelledEarly(from, f)) return;
    if (refs.some((r, k) => r.i >= args.length || refs.findIndex((x) => x.i === r.i) !== k)) {
      refused(new RayUsageError(`task ${f.name} from host ${from} names arguments by reference that it does not have`));
      return;
    }
    const brought = this.refs.borrowFromOwner(from, refs).then(() => {
      for (const r of refs) args[r.i] = r.id;
      run(refs.map((r) => r.i));
    }, refused);
    return f.actor === undefined ? undefined : brought;
  }

  private admitRemoteTask(from: string, f: Extract<Frame, { t: 'task' }>, fn: FunctionDescriptor, pre: EncodedArgs): void {
    if (this.host.tasks.has(f.id) || this.host.closed) return;
    const t = this.tasks.newTask(f.id, NORMAL, fn, f.name, undefined, pre, parentOf(f), from, f.nret);
    t.remoteOwner = from;
    t.attempt = f.attempt;
    t.demand = f.demand;
    t.key = demandKey(f.demand);
    t.strategy = f.node ? { nodeId: f.node, soft: f.soft === true } : f.spread ? 'SPREAD' : 'DEFAULT';
    t.retriesLeft = 0; // the owner retries
    if (f.verified) t.verified = true;
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
    cluster.sendDone(t.remoteOwner!, t.id, t.attempt, error ? undefined : out, remote, error, start, end);
    this.tasks.finish(t, error, true);
  }

  // ---- membership ---------------------------------------------------------------------------

  /**
   * Members or links changed: tasks on a host that left are retried elsewhere, or fail; objects
   * whose only copy was there are made again; work of a host that left is cancelled here (fate
   * sharing); tasks no node here can run are placed again.
   */
  hostsChanged(hosts: HostInfo[]): void {
    for (const t of this.host.scheduler.takeInfeasible()) this.tasks.enqueue(t);
    const live = new Set(hosts.map((h) => h.hostId));
    this.actors.ownersLeft(live);
    this.remoteActors.hostsLeft(live);
    this.recovery.hostsLeft(live);
    for (const owner of this.earlyCancels.keys()) if (!live.has(owner)) this.earlyCancels.delete(owner);
    const { member } = this.host.cluster!;
    for (const t of [...this.host.tasks.values()]) {
      if (t.remoteOwner !== undefined && !live.has(t.remoteOwner)) { this.ownerDied(t); continue; }
      if (t.state !== 'SUBMITTED_TO_WORKER' || t.nodeId === null || this.host.nodes.has(t.nodeId)) continue;
      const host = t.nodeId;
      const left = !live.has(host);
      if (!left && member.linked(host)) continue;
      // The link to its host dropped (the host still in): the answer, had it been sent meanwhile, is
      // lost. A task runs again (a late end of this attempt is ignored); an actor call is not run twice.
      if (t.type === ACTOR_TASK) {
        if (left) this.tasks.finish(t, serializeError(new RayActorError(t.actorId!, this.remoteActors.deathOf(t.actorId!) ?? `its host ${host} left the cluster`)));
        else this.remoteActors.answerMayBeLost(t, host);
        continue;
      }
      if (t.type !== NORMAL) continue;
      if (t.cancelled) { this.tasks.finish(t, serializeError(new TaskCancelledError(t.id))); continue; }
      // The attempt lost there is logged with its host (nextAttempt clears it).
      if (t.retriesLeft !== 0) { this.tasks.retry(t); continue; }
      t.nodeId = null;
      this.tasks.finish(t, serializeError(new NodeDiedError(host, left ? 'its host left the cluster while running this task' : 'the link to its host dropped while it ran this task, so its result cannot come back')));
    }
    this.tasks.scheduleDispatch();
  }

  /**
   * A task another host sent here, whose host (its owner) left: nobody can take its results, so
   * it stops, as in Ray; a running one takes its node down with it (JavaScript cannot interrupt it).
   * Actor calls are left to the actor (ActorManager.ownersLeft ends the actor unless detached).
   */
  private ownerDied(t: TaskRecord): void {
    if (t.type !== NORMAL) return;
    const owner = t.remoteOwner!;
    const node = t.state === 'SUBMITTED_TO_WORKER' && t.nodeId ? this.host.nodes.get(t.nodeId) : undefined;
    if (t.state === 'PENDING_NODE_ASSIGNMENT') this.host.scheduler.remove(t);
    this.tasks.finish(t, serializeError(new OwnerDiedError(t.returns[0] ?? t.id, `host ${owner}, which submitted task ${t.name}, left the cluster; its tasks on host ${this.host.hostId} are stopped`)), true);
    if (node) void this.tasks.killNode(node, `its task ${t.name} was stopped: its owner, host ${owner}, left the cluster`);
  }
}

/** The task a task another host sent was submitted by, as its owner says (the job's root if it names none of that job): shown by the state API. */
function parentOf(f: Extract<Frame, { t: 'task' }>): TaskId {
  const job = jobOf(f.id);
  return f.parent !== undefined && jobOf(f.parent) === job ? f.parent : driverTaskId(job);
}
