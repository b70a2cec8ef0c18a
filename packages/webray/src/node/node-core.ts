/**
 * A node's core worker: the same interface as the host's, implemented by messages to the host.
 * Ids are minted here (from the calling task), so `.remote()` returns its refs at once.
 */
import type { ActorInfo, ActorSpec, Caller, CoreWorker, RuntimeContext, StateFilter } from '../api/core.js';
import { isObjectRef } from '../api/object-ref.js';
import { reviveValue } from '../api/revive.js';
import { encode, isPrimitive, makeStoredMarker, type Marker } from '../shared/codec.js';
import { deserializeError, GetTimeoutError, ObjectLostError, RayUsageError, type SerializedError } from '../shared/errors.js';
import { actorIdFor, childTaskId, driverTaskId, putObjectId, returnObjectId, type ActorId, type ObjectId } from '../shared/ids.js';
import type { ActorOptions, MethodOptions, TaskOptions } from '../shared/options.js';
import type { ControlOp, FunctionDescriptor, NodeToHost, ObjectReply, SubmitMsg } from '../shared/protocol.js';
import type { NodeBootData } from '../platform/types.js';
import type { ObjectStore } from '../store/object-store.js';
import type { FunctionTable } from './functions.js';

export interface Outbox {
  post(m: NodeToHost): void;
  /** Posts with what is queued before it, now (see shared/outbox.ts). */
  postNow(m: NodeToHost): void;
  jsonRun(): unknown[];
  added(): void;
  /** Sends what is queued now. */
  flush(): void;
}

/** Told when a task starts or stops waiting on the host (so the node can run other work). */
export interface BlockListener {
  blocked(taskId: string): boolean;
  unblocked(taskId: string): void;
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
}

export class NodeCore implements CoreWorker {
  readonly jobId: string;
  readonly hostId: string;
  readonly nodeId: string;
  readonly namespace: string;
  /** The caller while a task's synchronous part runs; module-level API calls use it. */
  current: Caller | undefined;
  actorId: ActorId | undefined;
  actorRestarted = false;
  blockListener: BlockListener | undefined;
  private readonly root: Caller;
  private readonly refCounts = new Map<ObjectId, number>();
  private readonly knownFns = new Set<string>();
  private readonly pending = new Map<number, Pending>();
  private nextReq = 1;
  private borrowMsg: { t: 'borrow'; ids: ObjectId[] } | undefined;
  /** Objects this node put into the shared store, while it holds refs to them: read back without asking the host. */
  private readonly ownStored = new Map<ObjectId, Marker>();
  private releaseMsg: { t: 'release'; ids: ObjectId[] } | undefined;

  constructor(boot: NodeBootData, private readonly out: Outbox, private readonly table: FunctionTable, readonly store: ObjectStore | undefined) {
    this.jobId = boot.jobId;
    this.hostId = boot.hostId;
    this.nodeId = boot.nodeId;
    this.namespace = boot.namespace;
    // Work submitted outside any task (e.g. after an await in module code) derives from the node itself.
    this.root = { taskId: childTaskId(driverTaskId(boot.jobId) + boot.nodeId, 0, 0), submitted: 0, puts: 0, attempt: 0 };
  }

  /** No request waits for the host. */
  get idle(): boolean {
    return this.pending.size === 0;
  }

  currentCaller(): Caller {
    return this.current ?? this.root;
  }

  registerFunction(fn: FunctionDescriptor): void {
    this.table.register(fn);
    if (this.knownFns.has(fn.id)) return;
    this.knownFns.add(fn.id);
    this.send({ t: 'fn', d: fn });
  }

  /** Marks the function as already known to the host (it sent it to us). */
  knownToHost(id: string): void {
    this.knownFns.add(id);
  }

  private send(m: NodeToHost): void {
    this.borrowMsg = this.releaseMsg = undefined;
    // Arguments holding objects go at once, as they are now (the task may change them next).
    if (m.t === 'submit' && m.args.some((a) => !isPrimitive(a))) this.out.postNow(m);
    else this.out.post(m);
  }

  private encodeArgs(name: string, args: unknown[]): Pick<SubmitMsg, 'args' | 'refArgs' | 'n'> {
    const out = new Array(args.length);
    let refArgs: number[] | undefined;
    let n: 1 | undefined;
    for (let i = 0; i < args.length; i++) {
      const a = args[i];
      if (isPrimitive(a)) { out[i] = a; continue; }
      if (isObjectRef(a)) { (refArgs ??= []).push(i); out[i] = a.id; continue; }
      const e = encode(a, () => `${name}(args[${i}])`);
      out[i] = e.v;
      if (e.nested) n = 1;
    }
    const r: Pick<SubmitMsg, 'args' | 'refArgs' | 'n'> = { args: out };
    if (refArgs) r.refArgs = refArgs;
    if (n) r.n = n;
    return r;
  }

  submitTask(caller: Caller, fn: FunctionDescriptor, args: unknown[], options: TaskOptions): ObjectId[] {
    refuseInVerified(caller, `submit task ${options.name ?? fn.name}`);
    this.registerFunction(fn);
    const id = childTaskId(caller.taskId, caller.attempt, caller.submitted++);
    this.send({ t: 'submit', id, parent: caller.taskId, fn: fn.id, options, ...this.encodeArgs(options.name ?? fn.name, args) });
    return this.counted(returnIds(id, options.numReturns ?? 1));
  }

  createActor(caller: Caller, spec: ActorSpec, args: unknown[], options: ActorOptions): ActorId {
    refuseInVerified(caller, `create actor ${spec.className}`);
    this.registerFunction(spec.fn);
    const actor = actorIdFor(caller.taskId, caller.attempt, caller.submitted++);
    this.send({
      t: 'submit', id: actor, parent: caller.taskId, fn: spec.fn.id, options: {},
      create: { actor, options, methods: spec.methods, asyncMethods: spec.asyncMethods },
      ...this.encodeArgs(spec.className, args),
    });
    return actor;
  }

  submitActorTask(caller: Caller, actor: ActorId, method: string, args: unknown[], options: MethodOptions): ObjectId[] {
    refuseInVerified(caller, `call actor method ${method}`);
    const id = childTaskId(caller.taskId, caller.attempt, caller.submitted++);
    this.send({ t: 'submit', id, parent: caller.taskId, fn: '', actor, method, options, ...this.encodeArgs(method, args) });
    return this.counted(returnIds(id, options.numReturns ?? 1));
  }

  /** Sends a request and waits for its answer; a task waiting here counts as blocked. */
  private request<T>(caller: Caller | undefined, send: (req: number) => NodeToHost, timeoutMs?: number, onTimeout?: () => Error): Promise<T> {
    const req = this.nextReq++;
    const taskId = caller?.taskId;
    const blocked = taskId !== undefined && !!this.blockListener?.blocked(taskId);
    if (blocked) this.send({ t: 'blocked', task: taskId! });
    return new Promise<T>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const settle = () => {
        this.pending.delete(req);
        if (timer !== undefined) clearTimeout(timer);
        if (blocked) { this.blockListener?.unblocked(taskId!); this.send({ t: 'unblocked', task: taskId! }); }
      };
      this.pending.set(req, {
        resolve: (v) => { settle(); resolve(v as T); },
        reject: (e) => { settle(); reject(e); },
      });
      if (timeoutMs !== undefined) timer = setTimeout(() => this.pending.get(req)?.reject(onTimeout!()), timeoutMs);
      this.send(send(req));
    });
  }

  /** An answer from the host arrived. */
  settle(req: number, ok: boolean, value: unknown, error: SerializedError | undefined): void {
    const p = this.pending.get(req);
    if (!p) return;
    if (ok) p.resolve(value); else p.reject(deserializeError(error!));
  }

  async get(ids: ObjectId[], timeoutMs: number | undefined, caller: Caller | undefined): Promise<unknown[]> {
    const local = this.readOwnStored(ids, caller);
    if (local) return local;
    const replies = await this.request<ObjectReply[]>(caller, (req) => ({ t: 'get', req, ids, task: caller?.taskId }), timeoutMs, () => new GetTimeoutError(ids, timeoutMs!));
    return replies.map((r) => {
      if ('error' in r) throw deserializeError(r.error);
      return r.n ? reviveValue(this, r.v, caller) : r.v;
    });
  }

  /** The values, if all are objects this node put in the store and they are still there (not spilled). */
  private readOwnStored(ids: ObjectId[], caller: Caller | undefined): unknown[] | undefined {
    if (this.ownStored.size === 0) return undefined;
    for (const id of ids) if (!this.ownStored.has(id)) return undefined;
    try {
      return ids.map((id) => reviveValue(this, this.ownStored.get(id), caller));
    } catch (e) {
      if (e instanceof ObjectLostError) return undefined;
      throw e;
    }
  }

  private call<T>(caller: Caller | undefined, op: ControlOp, arg: unknown): Promise<T> {
    return this.request<T>(caller, (req) => ({ t: 'call', req, op, arg }));
  }

  wait(ids: ObjectId[], numReturns: number, timeoutMs: number | undefined, caller: Caller | undefined): Promise<number[]> {
    return this.call(caller, 'wait', { ids, numReturns, timeout: timeoutMs });
  }

  put(caller: Caller, value: unknown): ObjectId {
    const id = putObjectId(caller.taskId, caller.attempt, caller.puts++);
    const e = encode(value, () => 'ray.put(value)');
    const stored = this.storeValue(id, e.v, e.refs);
    if (typeof stored === 'number') void this.makeRoom(stored);
    else if (stored) {
      this.send({ t: 'put', id, v: stored, n: 1 });
      this.addLocalRef(id);
      this.ownStored.set(id, stored);
      return id;
    }
    // Sent at the end of this turn: copy now so later changes by the caller do not show through.
    const v = e.nested || typeof e.v !== 'object' || e.v === null ? e.v : structuredClone(e.v);
    this.send(e.nested ? { t: 'put', id, v, n: 1 } : { t: 'put', id, v });
    this.addLocalRef(id);
    return id;
  }

  /**
   * Writes a large value (encoded for crossing threads) into the shared store as object `id`.
   * Its marker; undefined if it goes inline (small, or no store); the bytes it needs if the store is full.
   */
  storeValue(id: ObjectId, value: unknown, refs: string[]): Marker | number | undefined {
    if (!this.store || isPrimitive(value) || !this.store.isLarge(value)) return undefined;
    const encoded = this.store.encode(value);
    const r = this.store.write(id, encoded);
    return r === 'full' ? encoded.byteLength : makeStoredMarker(id, r.size, refs);
  }

  /** Asks the host to make room in the store (evict, grow, spill). */
  makeRoom(bytes: number): Promise<boolean> {
    return this.call(undefined, 'space', { bytes });
  }

  readStored(id: ObjectId): unknown {
    if (!this.store) throw new ObjectLostError(id, 'this node has no object store');
    return this.store.read(id);
  }

  releaseView(view: object): boolean {
    return this.store?.releaseView(view) ?? false;
  }

  cancel(id: ObjectId, force: boolean, recursive: boolean): Promise<void> {
    return this.call(undefined, 'cancel', { id, force, recursive });
  }

  kill(actor: ActorId, noRestart: boolean): Promise<void> {
    return this.call(undefined, 'kill', { id: actor, noRestart });
  }

  getActor(name: string, namespace: string | undefined): Promise<ActorInfo> {
    return this.call(undefined, 'getActor', { name, namespace });
  }

  state(query: Parameters<CoreWorker['state']>[0], filter?: StateFilter): Promise<unknown> {
    return this.call(undefined, 'state', { query, filter });
  }

  private counted(ids: ObjectId[]): ObjectId[] {
    for (const id of ids) this.addLocalRef(id);
    return ids;
  }

  /** The first local ref to an object makes this node a borrower; the last one released ends it. */
  addLocalRef(id: ObjectId): void {
    const n = this.refCounts.get(id) ?? 0;
    this.refCounts.set(id, n + 1);
    if (n > 0) return;
    if (this.borrowMsg) { this.borrowMsg.ids.push(id); return; }
    const m = { t: 'borrow' as const, ids: [id] };
    this.send(m);
    this.borrowMsg = m;
  }

  removeLocalRef(id: ObjectId): void {
    const n = this.refCounts.get(id);
    if (n === undefined) return;
    if (n > 1) { this.refCounts.set(id, n - 1); return; }
    this.refCounts.delete(id);
    this.ownStored.delete(id);
    if (this.releaseMsg) { this.releaseMsg.ids.push(id); return; }
    const m = { t: 'release' as const, ids: [id] };
    this.send(m);
    this.releaseMsg = m;
  }

  /** Called when the outbox was flushed: later borrows/releases start new messages. */
  flushed(): void {
    this.borrowMsg = this.releaseMsg = undefined;
  }

  runtimeContext(caller: Caller | undefined): RuntimeContext {
    const c = caller ?? this.current;
    const ctx: RuntimeContext = {
      jobId: this.jobId, hostId: this.hostId, nodeId: this.nodeId, taskId: c && c !== this.root ? c.taskId : null,
      actorId: c?.actorId ?? this.actorId ?? null, namespace: this.namespace, attempt: c?.attempt ?? 0,
      wasCurrentActorRestarted: this.actorRestarted,
    };
    if (c?.signal) ctx.signal = c.signal();
    return ctx;
  }
}

function returnIds(id: string, n: number): ObjectId[] {
  const ids = new Array<ObjectId>(n);
  for (let i = 0; i < n; i++) ids[i] = returnObjectId(id, i);
  return ids;
}

/**
 * A verified task runs as replicas on several hosts and only its result is compared: work it
 * submitted would run once per replica, unchecked, and an actor's state would see every replica.
 */
function refuseInVerified(caller: Caller, what: string): void {
  if (!caller.verified) return;
  throw new RayUsageError(`a task run with verify may not ${what}: verification is for pure leaf tasks, whose result depends only on their arguments ` +
    '(each replica would submit the work again, unverified, and actors would see every replica). Submit that work from the driver, or drop verify.');
}
