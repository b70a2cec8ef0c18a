/**
 * The backend the public API talks to — Ray's "core worker". The driver's is the host runtime
 * itself; a node's sends messages to its host. Both implement this one interface, so
 * `ray.remote`, `ray.get` and handles behave the same in a driver and inside a task.
 */
import type { FunctionDescriptor } from '../shared/protocol.js';
import type { ActorOptions, MethodOptions, TaskOptions } from '../shared/options.js';
import type { ActorId, ObjectId, TaskId } from '../shared/ids.js';

/** Who is submitting: the parent task whose counters derive child ids. */
export interface Caller {
  taskId: TaskId;
  /** Next child index; restarts with every attempt of the parent (ids differ by the attempt). */
  submitted: number;
  puts: number;
  actorId?: ActorId;
  attempt: number;
  /** Aborted when the task is cancelled; made on first use (AbortControllers are not free). */
  signal?: () => AbortSignal;
  /** A replica of a verified task (`verify`): it may not submit tasks, create actors or call them. */
  verified?: boolean;
}

export interface ActorSpec {
  fn: FunctionDescriptor;
  className: string;
  methods: string[];
  asyncMethods: string[];
}

export interface ActorInfo {
  actorId: ActorId;
  className: string;
  methods: string[];
  asyncMethods: string[];
}

export interface RuntimeContext {
  jobId: string;
  hostId: string;
  /** The node (worker) this code runs on; 'driver' for the driver thread. */
  nodeId: string;
  taskId: TaskId | null;
  actorId: ActorId | null;
  namespace: string;
  attempt: number;
  /** Aborted when this task is cancelled (cooperative cancellation of async tasks). */
  signal?: AbortSignal;
  /** True in an actor that was restarted after a crash. */
  wasCurrentActorRestarted: boolean;
}

export interface WaitOptions {
  numReturns?: number;
  /** Milliseconds; omitted waits without limit. */
  timeout?: number;
  fetchLocal?: boolean;
}

export interface StateFilter {
  /** Keep records whose fields equal these values, e.g. `{ state: 'FINISHED' }`. */
  filters?: Record<string, unknown>;
  limit?: number;
}

/**
 * The ids `submitTask`, `submitActorTask` and `put` return already count one reference each:
 * the ObjectRef the API wraps around them (made with `counted`).
 */
export interface CoreWorker {
  readonly jobId: string;
  readonly hostId: string;
  readonly nodeId: string;
  readonly namespace: string;
  /** The caller for API calls made outside a per-call `ray`: the driver, or the task a node is running right now. */
  currentCaller(): Caller;
  registerFunction(fn: FunctionDescriptor): void;
  submitTask(caller: Caller, fn: FunctionDescriptor, args: unknown[], options: TaskOptions): ObjectId[];
  createActor(caller: Caller, spec: ActorSpec, args: unknown[], options: ActorOptions): ActorId;
  submitActorTask(caller: Caller, actor: ActorId, method: string, args: unknown[], options: MethodOptions): ObjectId[];
  get(ids: ObjectId[], timeoutMs: number | undefined, caller: Caller | undefined): Promise<unknown[]>;
  /** Indexes of the ready ids, in input order. */
  wait(ids: ObjectId[], numReturns: number, timeoutMs: number | undefined, caller: Caller | undefined): Promise<number[]>;
  put(caller: Caller, value: unknown): ObjectId;
  cancel(id: ObjectId, force: boolean, recursive: boolean): Promise<void>;
  kill(actor: ActorId, noRestart: boolean): Promise<void>;
  getActor(name: string, namespace: string | undefined): Promise<ActorInfo>;
  /** The value of an object in this host's shared store (typed arrays as zero-copy views). */
  readStored(id: ObjectId): unknown;
  /** Drops a view's hold on its object now; false if `view` is not a view of the store. */
  releaseView(view: object): boolean;
  /** A ref to `id` was created in this thread / the last one was dropped. */
  addLocalRef(id: ObjectId): void;
  removeLocalRef(id: ObjectId): void;
  runtimeContext(caller: Caller | undefined): RuntimeContext;
  state(query: 'tasks' | 'actors' | 'objects' | 'jobs' | 'store' | 'nodes' | 'resources' | 'available' | 'timeline' | 'disagreements' | 'verification', filter?: StateFilter): Promise<unknown>;
}

const slot = Symbol.for('webray.core');

/** This thread's core worker. Kept on globalThis so two copies of the module still share it. */
export function currentCore(): CoreWorker | undefined {
  return (globalThis as Record<symbol, CoreWorker | undefined>)[slot];
}

export function setCurrentCore(core: CoreWorker | undefined): void {
  (globalThis as Record<symbol, CoreWorker | undefined>)[slot] = core;
}
