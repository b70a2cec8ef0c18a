/**
 * Quorum verification of task results (`verify: { replicas, maxReplicas }`), for hosts that may
 * lie. The owner runs a verified task as `replicas` replicas — tasks of their own (ids from
 * `replicaTaskId`), children of the verified task — each on a host no other replica of it was
 * ever placed on. It hashes each replica's result from the bytes it received (SHA-256 of the
 * value's encoding; of the bytes pulled into its store for a large one), never from what a host
 * says, and accepts the value a majority agree on: the task's returns get it, the replicas'
 * objects are freed. Without a majority it runs one more replica on a new host, up to
 * `maxReplicas`, then fails the task with a VerificationError naming each host and hash. A host
 * whose result disagreed with an accepted one gets no more replicas from this owner. In adaptive
 * mode (`verify.adaptive`) a host earns trust by checked agreements in a row; a trusted host then
 * runs a task alone unless a seeded draw spot-checks it, and a trusted run whose host is lost is
 * verified instead. `sameEngine` keeps a task's replicas on hosts of one engine family; `tolerance`
 * lets numbers agree within it; `exclude: 'all'` keeps a caught host from all this host's work.
 */
import { encodeValue, decodeValue } from '../store/value-codec.js';
import { deserializeError, RayUsageError, serializeError, TaskCancelledError, VerificationError, type ReplicaResult, type SerializedError } from '../shared/errors.js';
import { replicaTaskId, returnObjectId, type TaskId } from '../shared/ids.js';
import { covers } from '../scheduler/resources.js';
import type { VerifyOptions } from '../shared/options.js';
import { now } from '../shared/clock.js';
import { prng } from '../shared/prng.js';
import { withinTolerance } from '../shared/tolerance.js';
import type { HostContext } from './host-context.js';
import { FAILED, IN_STORE, REMOTE, type ObjectEntry } from './objects.js';
import type { ReferenceCounter } from './reference-counter.js';
import type { TaskManager, Verifier } from './task-manager.js';
import { NORMAL, type TaskRecord } from './task-record.js';

/** One replica's outcome as the owner received it. */
interface Outcome {
  host: string;
  /** Hex SHA-256 of the returns' bytes (or of the error's name and message). */
  hash: string;
  /** Each return's encoded bytes (kept until the task is decided: the accepted ones become its value). */
  bytes?: Uint8Array[];
  /** The returns decoded, once a tolerance compares them. */
  values?: unknown[];
  error?: SerializedError;
}

/** A verified task while its replicas run. */
interface Group {
  readonly task: TaskRecord;
  replicas: number;
  max: number;
  /** Run once on this trusted host, its result accepted unchecked (adaptive mode); cleared if it must run again. */
  onTrust?: string;
  /** The host the first replica goes to: the trusted host a spot check checks. */
  prefer?: string;
  /** verify.sameEngine: the engine family every replica's host has. */
  engine?: string;
  /** Replicas made so far (the next one's index). */
  made: number;
  /** The replicas whose outcome is not recorded yet, by id: running, or their result being hashed. */
  readonly running: Map<TaskId, TaskRecord>;
  /** Those whose result is being hashed (a re-run of one by lineage, to rebuild a lost result, ends without a second hash). */
  readonly hashing: Set<TaskId>;
  /** Every host a replica of this task was placed on, retries included: none gets a second one. */
  readonly tried: Set<string>;
  readonly outcomes: Outcome[];
}

/** A host whose result disagreed with the one accepted for a task (for a later report and exclusion). */
export interface Disagreement {
  taskId: TaskId;
  name: string;
  hostId: string;
  hash: string;
  acceptedHash: string;
  at: number;
}

/** How many disagreements are kept (the oldest go first). */
const KEPT_DISAGREEMENTS = 1000;

export class Quorum implements Verifier {
  private readonly groups = new Map<TaskId, Group>();
  /** Replicas placed on each host and not ended yet: a new replica goes to the least busy host. */
  private readonly busy = new Map<string, number>();
  /** Pulls of replicas' results, one at a time (see pull). */
  private pulls: Promise<unknown> = Promise.resolve();
  /** Hosts caught returning a result other than the accepted one, newest last. */
  readonly disagreements: Disagreement[] = [];
  /** Those hosts: no replica of this host's verified tasks goes to them again (this job's). */
  readonly excluded = new Set<string>();
  /** Adaptive mode: each host's results in a row that agreed with an accepted majority. */
  readonly agreed = new Map<string, number>();
  /** Adaptive mode: tasks run once on a trusted host, and those of them verified (spot checks). */
  acceptedOnTrust = 0;
  spotChecks = 0;
  /** The spot-check draws, by seed (one random seed per session unless the option gives one). */
  private readonly draws = new Map<number | undefined, () => number>();

  constructor(
    private readonly host: HostContext,
    private readonly tasks: TaskManager,
    private readonly refs: ReferenceCounter,
    /** Told of each host caught (the `disagreement` event). */
    private readonly caught: (d: Disagreement) => void,
  ) {}

  ready(t: TaskRecord): boolean {
    if (t.replicaOf !== undefined) return this.place(t);
    this.start(t);
    return true;
  }

  /** Runs a verified task (again, when lineage rebuilds its result) as its first replicas. */
  private start(t: TaskRecord): void {
    const v = t.verify!;
    const engine = v.sameEngine ? this.likeliestEngine(t) : undefined;
    const hosts = this.candidates(t, engine);
    if (hosts.length < v.replicas) {
      const noSigner = this.host.cluster !== undefined && this.host.cluster.others().length > 0 && !this.host.cluster.sendsWork;
      this.tasks.finish(t, serializeError(new VerificationError(t.name, t.id,
        `verify: { replicas: ${v.replicas} } runs it on ${v.replicas} distinct hosts${engine === undefined ? '' : ' of one engine (sameEngine)'}, ` +
        `but only ${hosts.length} can run it now${engine === undefined ? '' : `, on ${engine}`}` +
        `${hosts.length ? ` (${hosts.join(', ')})` : ''}. ` +
        (noSigner ? `This host has no submitterKey, so it cannot send code to other hosts: give init({ cluster: { submitterKey } }).`
          : `Add hosts that offer ${JSON.stringify(t.demand)} (or unpause them), lower replicas, or run it without verify.`))));
      return;
    }
    const g: Group = { task: t, replicas: v.replicas, max: maxReplicas(v), engine, made: 0, running: new Map(), hashing: new Set(), tried: new Set(), outcomes: [] };
    const a = v.adaptive;
    const trusted = a && hosts.find((h) => (this.agreed.get(h) ?? 0) >= a.trustAfter);
    if (a && trusted !== undefined) {
      if (this.draw(a.seed) >= a.spotCheck) {
        Object.assign(g, { replicas: 1, max: 1, onTrust: trusted });
        this.acceptedOnTrust++;
      } else {
        g.prefer = trusted;
        this.spotChecks++;
      }
    }
    this.groups.set(t.id, g);
    t.state = 'SUBMITTED_TO_WORKER';
    t.nodeId = null;
    t.startedAt = now();
    for (let k = 0; k < g.replicas; k++) this.launch(g);
  }

  /** Makes one more replica: a task of its own with the verified task's arguments, options and number of returns. */
  private launch(g: Group): void {
    const t = g.task;
    const r = this.tasks.newTask(replicaTaskId(t.id, t.attempt, g.made++), NORMAL, t.fn, t.name, undefined,
      { args: t.args, argRefs: t.argRefs, nested: t.nested }, t.id, t.owner, t.returns.length);
    r.demand = t.demand;
    r.key = t.key;
    r.retriesLeft = t.retriesLeft;
    r.retryExceptions = t.retryExceptions;
    r.replicaOf = t.id;
    r.verified = true;
    g.running.set(r.id, r);
    this.tasks.admit(r);
  }

  /**
   * Hosts that can run the task now, in the order replicas go there: other hosts first (least busy
   * with replicas, then by id), this host last — it runs one only when too few others can.
   */
  private candidates(t: TaskRecord, engine: string | undefined): string[] {
    const c = this.host.cluster;
    const out: string[] = [];
    if (c?.sendsWork) {
      for (const h of c.others()) {
        if (!c.isPaused(h.hostId) && !this.excluded.has(h.hostId) && covers(h.resources, t.demand) && (engine === undefined || (h.engine ?? 'unknown') === engine)) out.push(h.hostId);
      }
      out.sort((a, b) => (this.busy.get(a) ?? 0) - (this.busy.get(b) ?? 0) || (a < b ? -1 : a > b ? 1 : 0));
    }
    if (!c?.paused && this.host.scheduler.pool.feasible(t.demand) && (engine === undefined || this.host.engine === engine)) out.push(this.host.hostId);
    return out;
  }

  /** verify.sameEngine: the engine family with the most hosts that can run the task (the first such in replica order on a tie). */
  private likeliestEngine(t: TaskRecord): string | undefined {
    const count = new Map<string, number>();
    const engines = new Map((this.host.cluster?.others() ?? []).map((h) => [h.hostId, h.engine ?? 'unknown']));
    engines.set(this.host.hostId, this.host.engine);
    for (const h of this.candidates(t, undefined)) {
      const e = engines.get(h)!;
      count.set(e, (count.get(e) ?? 0) + 1);
    }
    let best: string | undefined;
    for (const [e, n] of count) if (best === undefined || n > count.get(best)!) best = e;
    return best;
  }

  /** The next spot-check draw in [0, 1). */
  private draw(seed: number | undefined): number {
    let next = this.draws.get(seed);
    if (!next) this.draws.set(seed, next = prng(seed ?? crypto.getRandomValues(new Uint32Array(1))[0]!));
    return next();
  }

  /** Chooses a replica's host (again on a retry): one no replica of its task was placed on. False: it goes on to that host. */
  private place(r: TaskRecord): boolean {
    this.leaves(r);
    const g = this.groups.get(r.replicaOf!);
    if (!g) {
      this.tasks.finish(r, serializeError(new RayUsageError(`replica ${r.id} of task ${r.name} is no longer needed: its task was decided`)));
      return true;
    }
    if (g.onTrust !== undefined && g.tried.size > 0) {
      // The trusted host lost it: no other host is trusted for this run, so it is verified instead.
      const v = g.task.verify!;
      Object.assign(g, { onTrust: undefined, replicas: v.replicas, max: maxReplicas(v) });
      while (g.made < g.replicas) this.launch(g);
    }
    const candidates = this.candidates(g.task, g.engine);
    const first = g.onTrust ?? g.prefer;
    const host = first !== undefined && !g.tried.has(first) && candidates.includes(first) ? first : candidates.find((h) => !g.tried.has(h));
    if (host === undefined) {
      this.tasks.finish(r, serializeError(new VerificationError(g.task.name, g.task.id,
        `a replica's host was lost and no other host that never ran a replica of it can run it now (hosts tried: ${[...g.tried].join(', ')}). Add hosts, or retry the task.`,
        results(g.outcomes))));
      return true;
    }
    g.tried.add(host);
    r.onHost = host;
    this.busy.set(host, (this.busy.get(host) ?? 0) + 1);
    return false;
  }

  /** A replica leaves the host it was placed on (it ended, or is placed again). */
  private leaves(r: TaskRecord): void {
    if (r.onHost === undefined) return;
    const n = (this.busy.get(r.onHost) ?? 1) - 1;
    if (n > 0) this.busy.set(r.onHost, n);
    else this.busy.delete(r.onHost);
  }

  replicaEnded(r: TaskRecord, error: SerializedError | undefined): void {
    this.leaves(r);
    const g = this.groups.get(r.replicaOf!);
    if (!g || !g.running.has(r.id)) { this.free(r); return; }
    if (g.hashing.has(r.id)) return;
    g.hashing.add(r.id);
    const host = r.onHost ?? this.host.hostId;
    // An error is an outcome too: a thrown one may agree with other replicas'; one that is no answer
    // (its host died and no other was left for it) leaves the others to reach the majority.
    if (error) { void errorHash(error).then((hash) => this.record(g, r, { host, hash, error })); return; }
    // A result this host cannot bring here or read (its store full, the object lost for good) is no
    // replica's answer: the task fails with that error, as a get of it would.
    this.received(r)
      .then((bytes) => sha256(framed(bytes)).then((hash) => this.record(g, r, { host, hash, bytes })))
      .catch((err: unknown) => { this.free(r); this.decide(g, serializeError(err)); });
  }

  /**
   * Pulls a replica's result kept on its host into this host's store. A pull does not spill to make
   * room, so room is made first (older objects spilled), one pull at a time: each sees the room the
   * previous took.
   */
  private pull(e: ObjectEntry): Promise<void> {
    const run = this.pulls.then(async () => {
      if (e.place === REMOTE) await this.host.store?.makeRoom((e.value as { size: number }).size);
      await this.refs.resident(e);
    });
    this.pulls = run.catch(() => undefined);
    return run;
  }

  /** The encoded bytes of each of a replica's returns, as this host has them (a result kept on the replica's host is pulled here first). */
  private async received(r: TaskRecord): Promise<Uint8Array[]> {
    const out: Uint8Array[] = [];
    for (const id of r.returns) {
      const e = this.host.objects.get(id);
      if (!e) throw new RayUsageError(`the result ${id} of replica ${r.id} was freed before it could be compared`);
      out.push(await this.bytesOf(e));
    }
    return out;
  }

  private async bytesOf(e: ObjectEntry): Promise<Uint8Array> {
    // Spilled again before its bytes were read (the store short of room): brought back again.
    for (let tries = 0; ; tries++) {
      await (e.place === REMOTE ? this.pull(e) : this.refs.resident(e));
      if (e.state === FAILED) throw deserializeError(e.error!);
      if (e.contains?.length) throw new RayUsageError(`a task run with verify returned ObjectRefs, which cannot be compared between replicas: return values only`);
      if (e.place !== IN_STORE) break;
      const bytes = this.host.store?.store.copyBytes(e.id);
      if (bytes) return bytes;
      if (tries === 3) throw new RayUsageError(`the result ${e.id} could not be read from this host's store to be compared`);
    }
    const enc = encodeValue(e.value);
    const bytes = new Uint8Array(enc.byteLength);
    enc.writeTo(bytes, 0);
    return bytes;
  }

  /** A replica's outcome: accepted with a majority; else wait for the others, run one more, or fail. */
  private record(g: Group, r: TaskRecord, o: Outcome): void {
    this.free(r);
    if (this.groups.get(g.task.id) !== g || !g.running.delete(r.id)) return;
    g.outcomes.push(o);
    const quorum = Math.floor(g.replicas / 2) + 1;
    const agreeing = g.outcomes.filter((x) => agree(g, x, o)).length;
    if (agreeing >= quorum) { this.accept(g, o); return; }
    let best = 0;
    for (const x of g.outcomes) best = Math.max(best, g.outcomes.filter((y) => agree(g, x, y)).length);
    if (best + g.running.size >= quorum) return;
    const another = g.made < g.max && this.candidates(g.task, g.engine).some((h) => !g.tried.has(h));
    if (another) { this.launch(g); return; }
    const why = g.made < g.max ? `no other host that never ran a replica of it can run one more now` : `all ${g.max} replicas allowed (verify.maxReplicas) ran`;
    this.decide(g, serializeError(new VerificationError(g.task.name, g.task.id,
      `no ${quorum} of its replicas agree — ${describe(g.outcomes)} — and ${why}. A host may be lying or broken, or the task is not bit-deterministic ` +
      `(random numbers without a seed passed in, the time, Math functions whose precision differs between engines): see "Untrusted hosts" in the README.`,
      results(g.outcomes))));
  }

  /** The majority's result becomes the task's; hosts that returned another are noted. */
  private accept(g: Group, o: Outcome): void {
    const t = g.task;
    for (const x of g.outcomes) {
      // A replica that did not answer (its worker or host died, an argument was lost) is no liar.
      if (x.error && x.error.name !== 'RayTaskError') continue;
      if (agree(g, x, o)) {
        // Trust is earned by results that were checked, not by one accepted on trust.
        if (g.onTrust === undefined) this.agreed.set(x.host, (this.agreed.get(x.host) ?? 0) + 1);
        continue;
      }
      const all = t.verify!.exclude === 'all' && x.host !== this.host.hostId;
      this.agreed.delete(x.host);
      this.excluded.add(x.host);
      if (all) this.host.cluster?.exclude(x.host);
      const d: Disagreement = { taskId: t.id, name: t.name, hostId: x.host, hash: x.hash, acceptedHash: o.hash, at: Date.now() };
      this.disagreements.push(d);
      if (this.disagreements.length > KEPT_DISAGREEMENTS) this.disagreements.shift();
      console.warn(`webray: host ${x.host} returned a result for task ${t.name} (${t.id}) that the other replicas' majority did not: ${short(x.hash)} where ${short(o.hash)} was accepted. ` +
        (all ? 'No task or actor of this host goes there again.' : 'No verified task of this host goes there again.'));
      this.caught(d);
    }
    if (o.error) { this.decide(g, o.error); return; }
    this.close(g);
    this.resolve(t, o.bytes!).then(() => this.tasks.finish(t, undefined), (err: unknown) => this.tasks.finish(t, serializeError(err)));
  }

  /** The accepted bytes become the task's returns: large ones in this host's store (room made for them), the others inline. */
  private async resolve(t: TaskRecord, accepted: Uint8Array[]): Promise<void> {
    const { objects, store } = this.host;
    for (let i = 0; i < t.returns.length; i++) {
      const bytes = accepted[i]!;
      const value = decodeValue(bytes.buffer, bytes.byteOffset, bytes.byteLength, true);
      let marker = store?.putLarge(t.returns[i]!, value, []);
      if (!marker && store?.store.isLarge(value) && await store.makeRoom(bytes.byteLength)) marker = store.putLarge(t.returns[i]!, value, []);
      const e = objects.get(t.returns[i]!);
      if (!e) { if (marker) store!.store.delete(t.returns[i]!); continue; }
      if (marker) objects.resolve(e, marker, true, [], IN_STORE);
      else objects.resolve(e, value, false, undefined);
    }
  }

  /** Ends the verified task with `error`. */
  private decide(g: Group, error: SerializedError): void {
    if (this.groups.get(g.task.id) !== g) return;
    this.close(g);
    this.tasks.finish(g.task, error);
  }

  /** The task is decided: replicas still running are no longer waited for (their results are dropped). */
  private close(g: Group): void {
    this.groups.delete(g.task.id);
    for (const r of g.running.values()) this.free(r);
  }

  cancel(t: TaskRecord, force: boolean): boolean {
    const g = this.groups.get(t.id);
    if (!g) return false;
    const running = [...g.running.values()];
    this.decide(g, serializeError(new TaskCancelledError(t.id)));
    for (const r of running) void this.tasks.cancel(r.returns[0] ?? returnObjectId(r.id, 0), force, false);
    return true;
  }

  /** A replica's return objects are freed (a late result for them is dropped, or freed on its host). */
  private free(r: TaskRecord): void {
    for (const id of r.returns) this.host.objects.freeIfUnused(id);
  }
}

/** Do two replicas' outcomes agree? Equal hashes; or, with verify.tolerance, values each within it (errors still by hash). */
function agree(g: Group, x: Outcome, y: Outcome): boolean {
  if (x.hash === y.hash) return true;
  const tol = g.task.verify!.tolerance;
  if (!tol || !x.bytes || !y.bytes) return false;
  const a = decoded(x);
  const b = decoded(y);
  return a.every((v, i) => withinTolerance(v, b[i], tol));
}

function decoded(o: Outcome): unknown[] {
  return (o.values ??= o.bytes!.map((b) => decodeValue(b.buffer, b.byteOffset, b.byteLength, true)));
}

/** The returns' bytes as one message: each one's length, then its bytes (so [ab, c] and [a, bc] differ). */
function framed(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let n = 0;
  for (const p of parts) n += 8 + p.byteLength;
  const out = new Uint8Array(n);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const p of parts) {
    view.setFloat64(at, p.byteLength);
    out.set(p, at + 8);
    at += 8 + p.byteLength;
  }
  return out;
}

/** An error's hash: its name and message, and its cause's (a thrown error's message is the same on every replica of a deterministic task). */
function errorHash(e: SerializedError): Promise<string> {
  const c = e.cause;
  return sha256(new TextEncoder().encode(c ? `error\0${c.name}\0${c.message}` : `error\0${e.name}\0${e.message}`));
}

async function sha256(bytes: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  let s = '';
  for (const b of d) s += b.toString(16).padStart(2, '0');
  return s;
}

const short = (hash: string): string => hash.slice(0, 12);

/** Replicas in all, counting those run after a disagreement. */
const maxReplicas = (v: VerifyOptions): number => v.maxReplicas ?? v.replicas + 1;

function results(outcomes: Outcome[]): ReplicaResult[] {
  return outcomes.map((o) => (o.error ? { host: o.host, hash: o.hash, error: `${o.error.cause?.name ?? o.error.name}: ${o.error.cause?.message ?? o.error.message}` } : { host: o.host, hash: o.hash }));
}

function describe(outcomes: Outcome[]): string {
  return outcomes.map((o) => `host ${o.host} → ${o.error ? `${o.error.cause?.name ?? o.error.name} (${short(o.hash)})` : `sha256 ${short(o.hash)}`}`).join(', ');
}
