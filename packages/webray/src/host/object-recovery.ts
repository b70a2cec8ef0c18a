/**
 * Object recovery (Ray's lineage reconstruction, the owner's half). For every object this host
 * owns that is still referenced, the owner keeps the task that made it (its lineage), within a
 * byte cap; when the only copy of such an object is lost — the host holding its bytes left, a
 * pull from it failed, its spilled copy is missing — the owner runs that task again, through
 * lost arguments first. Object ids are deterministic, so whoever waits for the object simply
 * gets it. What cannot be made again fails with an ObjectLostError that says why.
 */
import { deserializeError, ObjectLostError, serializeError, type SerializedError } from '../shared/errors.js';
import { isPutObject, isReturnObject, taskOfObject, type ObjectId } from '../shared/ids.js';
import { now } from '../shared/clock.js';
import type { HostContext } from './host-context.js';
import { FAILED, READY, REMOTE, SPILLED, type ObjectEntry } from './objects.js';
import type { TaskManager } from './task-manager.js';
import { ACTOR_TASK, NORMAL, type TaskRecord } from './task-record.js';

/** What the state API shows of recovery (`state('store')`). */
export interface RecoveryStats {
  /** Task re-executions that rebuilt lost objects. */
  reconstructions: number;
  /** Estimated bytes of the task specs kept as lineage now. */
  lineageBytes: number;
  /** Lineages dropped because the cap was reached: their objects cannot be rebuilt. */
  lineageEvictions: number;
}

interface Lineage {
  /** The task's latest attempt: a re-run starts from it (attempt and retries left move on). */
  task: TaskRecord;
  readonly bytes: number;
  /** Return objects of the task still in the table, plus kept lineages of tasks that take one of them as an argument. */
  holders: number;
  /** Lineages of its arguments made by tasks: kept while this one is (allocated only when there are some). */
  argLineages: Lineage[] | undefined;
  /** Arguments no task can make again (puts, large values passed by value): pinned while this is kept. */
  argPins: ObjectId[] | undefined;
  dropped: boolean;
}

const PUT_ADVICE = 'A put\'s value exists only where it was put: put it again, or make it in a task, which can run again.';
const RETRIES_ADVICE = 'Give the task a higher maxRetries (-1: no limit) so a lost result can be made again.';
const LINEAGE_ADVICE = 'Raise init({ maxLineageBytes }), or release refs you no longer need so less lineage is kept.';
const ACTOR_ADVICE = 'Get an actor\'s results soon after the call, or return small values (they travel inline).';

export class ObjectRecovery {
  readonly stats: RecoveryStats = { reconstructions: 0, lineageBytes: 0, lineageEvictions: 0 };
  /** By task id, oldest first (eviction order). */
  private readonly lineages = new Map<string, Lineage>();
  /** Objects whose lineage was evicted under the cap (until they are freed). */
  private readonly evicted = new Set<ObjectId>();

  constructor(private readonly host: HostContext, private readonly tasks: TaskManager, private readonly maxBytes: number) {}

  // ---- lineage kept ---------------------------------------------------------------------------

  /** A task of this host's ended with its results: its spec is kept while any of them (or a kept dependent) is. */
  finished(t: TaskRecord): void {
    if (t.remoteOwner !== undefined || (t.type !== NORMAL && t.type !== ACTOR_TASK) || this.lineages.has(t.id)) return;
    const { objects } = this.host;
    let holders = 0;
    for (const r of t.returns) if (objects.get(r)) holders++;
    if (holders === 0) return;
    const l: Lineage = { task: t, bytes: specBytes(t), holders, argLineages: undefined, argPins: undefined, dropped: false };
    // An actor call is never re-run (it would run twice on the actor's state): its record only names the actor.
    if (t.type === NORMAL && t.pinned) {
      for (const id of t.pinned) {
        const al = isReturnObject(id) ? this.lineages.get(taskOfObject(id)) : undefined;
        if (al) { al.holders++; (l.argLineages ??= []).push(al); } else if (objects.get(id)) { objects.pin(id); (l.argPins ??= []).push(id); }
      }
    }
    this.lineages.set(t.id, l);
    this.stats.lineageBytes += l.bytes;
    if (this.stats.lineageBytes > this.maxBytes) this.evict();
  }

  /** An object was freed: its task's lineage loses a holder. */
  readonly dropped = (id: ObjectId): void => {
    if (this.evicted.size > 0 && this.evicted.delete(id)) return;
    if (!isReturnObject(id)) return;
    const l = this.lineages.get(taskOfObject(id));
    if (l) this.release(l);
  };

  private release(first: Lineage): void {
    // Iterative: a long chain of tasks drops in one go without deep recursion.
    const todo = [first];
    for (let l = todo.pop(); l; l = todo.pop()) {
      if (--l.holders > 0 || l.dropped) continue;
      this.drop(l);
      if (l.argLineages) todo.push(...l.argLineages);
    }
  }

  /** Forgets a lineage (its argument lineages are the caller's to release). */
  private drop(l: Lineage): void {
    l.dropped = true;
    if (this.lineages.get(l.task.id) === l) this.lineages.delete(l.task.id);
    this.stats.lineageBytes -= l.bytes;
    if (l.argPins) for (const id of l.argPins) this.host.objects.unpin(id);
  }

  /** Past the cap: the oldest lineages not running now go; their objects can no longer be rebuilt. */
  private evict(): void {
    for (const l of this.lineages.values()) {
      if (this.stats.lineageBytes <= this.maxBytes) return;
      if (this.host.tasks.has(l.task.id)) continue;
      for (const r of l.task.returns) if (this.host.objects.get(r)) this.evicted.add(r);
      this.stats.lineageEvictions++;
      this.drop(l);
      if (l.argLineages) for (const al of l.argLineages) this.release(al);
    }
  }

  // ---- rebuilding --------------------------------------------------------------------------

  /**
   * The copy of `e` on host `from` (or, with `from` undefined, its spilled copy) is gone: its
   * task runs again, or the object fails saying why not. Resolves once it is READY again.
   */
  recover(e: ObjectEntry, from: string | undefined, why: string): Promise<void> {
    if (this.isLost(e, from)) this.rebuild([e], why);
    return this.settled(e);
  }

  /** Hosts left the cluster: every object whose only copy was on one of them is made again. */
  hostsLeft(live: Set<string>): void {
    const lost: ObjectEntry[] = [];
    for (const e of this.host.objects.entries.values()) {
      if (e.state === READY && e.place === REMOTE && !live.has((e.value as { host: string }).host)) lost.push(e);
    }
    if (lost.length) this.rebuild(lost, 'its only copy was on a host that left the cluster');
  }

  /**
   * A task of this host's could not run on host `from` because it could not pull argument `id`
   * from host `holder` there: the argument is made again (unless that was done already) and the
   * task runs again, without spending a retry of its own. False if `id` is no argument it can wait for.
   */
  argumentLost(t: TaskRecord, id: ObjectId, holder: string, from: string, error: SerializedError): boolean {
    const e = t.pinned?.includes(id) ? this.host.objects.get(id) : undefined;
    if (!e || e.state === FAILED) return false;
    this.tasks.nextAttempt(t, error);
    t.state = 'PENDING_ARGS_AVAIL';
    this.recover(e, holder, `host ${from} could not pull it from host ${holder} to run task ${t.name}`).then(
      () => { if (t.state === 'PENDING_ARGS_AVAIL') this.tasks.enqueue(t); },
      (err) => this.tasks.finish(t, serializeError(err)),
    );
    return true;
  }

  /** Is the copy the entry points at the one that was lost (not already made again elsewhere)? */
  private isLost(e: ObjectEntry, from: string | undefined): boolean {
    if (e.state !== READY) return false;
    return from === undefined ? e.place === SPILLED : e.place === REMOTE && (e.value as { host: string }).host === from;
  }

  /** Takes the lost objects back to PENDING, then runs their tasks again (or fails them). */
  private rebuild(lost: ObjectEntry[], why: string): void {
    const { objects } = this.host;
    // All first: a task re-run for one of them then waits for the others it takes as arguments.
    for (const e of lost) objects.unready(e);
    for (const e of lost) {
      const refusal = this.rerun(e.id, why);
      if (refusal) objects.fail(e, serializeError(refusal));
    }
  }

  /** Runs the task that made object `id` again; the reason it cannot, if it cannot. */
  private rerun(id: ObjectId, why: string): ObjectLostError | undefined {
    const taskId = taskOfObject(id);
    // Running again already (another of its results was lost too): it settles this one as well.
    if (this.host.tasks.has(taskId)) return undefined;
    const l = this.lineages.get(taskId);
    if (!l) return this.noLineage(id, why);
    const t = l.task;
    if (t.type === ACTOR_TASK) {
      return new ObjectLostError(id, `${why}, and it is the result of ${t.name} on actor ${t.actorId}: actor calls are not run again to rebuild a result (the call would run twice on the actor's state)`, ACTOR_ADVICE);
    }
    if (t.retriesLeft === 0) return new ObjectLostError(id, `${why}, and task ${t.name} that made it has no retries left (maxRetries), so it is not run again`, RETRIES_ADVICE);
    const { objects } = this.host;
    // Arguments freed since are made again from their own lineage first.
    for (const argId of t.pinned ?? []) {
      if (objects.get(argId)) continue;
      const al = isReturnObject(argId) ? this.lineages.get(taskOfObject(argId)) : undefined;
      if (!al) return new ObjectLostError(id, `${why}, and argument ${argId} of task ${t.name} that made it was freed and cannot be made again`);
      const a = objects.create(argId, al.task.owner, undefined);
      al.holders++;
      const refusal = this.rerun(argId, why);
      if (refusal) objects.fail(a, serializeError(refusal));
    }
    const r: TaskRecord = {
      ...t, attempt: t.attempt + 1, retriesLeft: t.retriesLeft > 0 ? t.retriesLeft - 1 : t.retriesLeft,
      state: 'PENDING_ARGS_AVAIL', pendingDeps: 0, nodeId: null, children: undefined, cancelled: false,
      submittedAt: now(), startedAt: null, endedAt: null, error: undefined,
    };
    l.task = r;
    // Its other results freed meanwhile are made too: held until they settle, then freed unless taken.
    for (const rid of t.returns) {
      if (objects.get(rid)) continue;
      const x = objects.create(rid, t.owner, r);
      l.holders++;
      objects.pin(rid);
      objects.addWaiter(x, { settled: () => objects.unpin(rid) });
    }
    this.stats.reconstructions++;
    this.tasks.admit(r);
    return undefined;
  }

  private noLineage(id: ObjectId, why: string): ObjectLostError {
    if (isPutObject(id)) return new ObjectLostError(id, `${why}, and it was made by ray.put, which cannot be made again`, PUT_ADVICE);
    if (this.evicted.has(id)) return new ObjectLostError(id, `${why}, and the task that made it was forgotten: more than maxLineageBytes (${this.maxBytes} bytes) of task specs were kept`, LINEAGE_ADVICE);
    return new ObjectLostError(id, `${why}, and no task of this host can make it again`);
  }

  private settled(e: ObjectEntry): Promise<void> {
    if (e.state === READY) return Promise.resolve();
    if (e.state === FAILED) return Promise.reject(deserializeError(e.error!));
    return new Promise((resolve, reject) => this.host.objects.addWaiter(e, {
      settled: (x) => (x.state === READY ? resolve() : reject(deserializeError(x.error!))),
    }));
  }
}

/** A task spec's size, roughly: what keeping it costs (arguments in a store count as their ids). */
function specBytes(t: TaskRecord): number {
  let n = 200 + t.name.length * 2 + t.returns.length * 40;
  for (const a of t.args) n += valueBytes(a);
  return n;
}

function valueBytes(v: unknown): number {
  if (typeof v === 'string') return 16 + v.length * 2;
  if (typeof v !== 'object' || v === null) return 16;
  if (ArrayBuffer.isView(v)) return 64 + v.byteLength;
  if (Array.isArray(v)) return 32 + v.length * 16;
  return 64 + Object.keys(v).length * 32;
}
