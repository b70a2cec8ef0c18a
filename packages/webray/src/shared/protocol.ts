/**
 * The wire between a host (driver thread) and its nodes (workers): every message is one member
 * of these unions. Messages are batched: one postMessage carries an array of them, so a burst
 * of tiny tasks costs one structured clone, not one per task.
 */
import type { SerializedError } from './errors.js';
import type { ActorId, JobId, NodeId, ObjectId, TaskId } from './ids.js';
import type { ActorOptions, TaskOptions } from './options.js';

/** What a worker needs to join its host's object store (both cross postMessage). */
export interface StoreHandle {
  // Internal: kept out of the published declarations, which must not need WebAssembly typings.
  /** @internal */
  module: WebAssembly.Module;
  /** @internal */
  memory: WebAssembly.Memory;
  /** Address of the store's header in the memory. */
  base: number;
  maxPages: number;
}

/** A worker's store handle plus the host's store settings. */
export interface StoreBoot extends StoreHandle {
  /** Values with at least this many payload bytes go to the store. */
  inlineLimit: number;
  /** Debug mode: checksums verified at read and release. */
  checks: boolean;
}

/** How a function or class reaches a node: by its source text, or by a module URL every node imports. */
export type FunctionDescriptor =
  | { kind: 'source'; id: string; name: string; source: string; bindings: Record<string, Binding> }
  /**
   * `sha256`: the module's content digest, set (and signed) when a host first ships the entry to
   * another; the executing host checks the module still has it before running it.
   */
  | { kind: 'module'; id: string; name: string; url: string; exportName: string; sha256?: string };

export type Binding = 'ray' | 'name-helper' | 'coverage' | { api: string } | UsesBinding;

/**
 * A name the user bound with `ray.remote(fn, { uses, self })`: a remote function or an actor
 * class, shipped inside the descriptor (so a signature over it covers them), or the function itself.
 */
export type UsesBinding =
  | 'self'
  | { fn: FunctionDescriptor; options: TaskOptions }
  | { actor: FunctionDescriptor; className: string; methods: string[]; asyncMethods: string[]; options: ActorOptions };

/** A value as it crosses threads. `n` is set when markers for refs/handles are nested inside. */
export interface Payload {
  v: unknown;
  n?: 1;
}

/** A task as a node receives it: top-level ref arguments are already resolved to values. */
export interface TaskMsg {
  t: 'task';
  id: TaskId;
  fn: string;
  /** Arguments; markers inside are revived only when `n` is set. */
  args: unknown[];
  n?: 1;
  nret: number;
  attempt: number;
  /** The actor this call is for; absent for normal tasks. */
  actor?: ActorId;
  method?: string;
  /** A replica of a verified task: it may not submit tasks, create actors or call them. */
  v?: 1;
}

export interface CreateActorMsg {
  t: 'actor';
  id: TaskId;
  actor: ActorId;
  fn: string;
  args: unknown[];
  n?: 1;
  maxConcurrency: number;
  /** Set when the actor is being restarted after a crash. */
  restarted: boolean;
  /** The constructor's attempt (restarts so far): a restart's children and puts get new ids. */
  attempt: number;
  name?: string;
  namespace: string;
}

/**
 * A run of tasks whose arguments are plain JSON data, sent as one JSON string: for tiny tasks
 * JSON is several times cheaper to send than structured clone of one object per task. The run
 * is one flat array, TASK_FIELDS values per task (no array per task to make and collect):
 * id, fn, nret, attempt, args (a JsonField), method (null for a normal task; an actor node hosts
 * one actor, so no actor id is needed).
 */
export const TASK_FIELDS = 6;

/** A run of successful results with plain JSON values, flat, DONE_FIELDS per task: id, values (a JsonField), start, end. */
export const DONE_FIELDS = 4;

export type HostToNode =
  | { t: 'fn'; d: FunctionDescriptor }
  | TaskMsg
  | { t: 'tasks'; j: string }
  | CreateActorMsg
  | { t: 'objects'; req: number; values: ObjectReply[] }
  | { t: 'cancel'; id: TaskId }
  | { t: 'reply'; req: number; ok: boolean; value?: unknown; error?: SerializedError };

/** An object delivered to a node: its value, or the error that fills it. */
export type ObjectReply = { id: ObjectId; v: unknown; n?: 1 } | { id: ObjectId; error: SerializedError };

/** Result of one task attempt. `values` has one entry per return. */
export type TaskDone =
  | { t: 'done'; id: TaskId; values: unknown[]; n?: 1; start: number; end: number }
  | { t: 'failed'; id: TaskId; error: SerializedError; start: number; end: number; cancelled?: true };

/** A task submitted from inside a node (nested task): the host owns its bookkeeping. */
export interface SubmitMsg {
  t: 'submit';
  /** The node-side request id for errors raised at submission. */
  id: TaskId;
  parent: TaskId;
  fn: string;
  args: unknown[];
  /** Positions of top-level ObjectRef arguments in `args` (their values are object ids). */
  refArgs?: number[];
  n?: 1;
  options: import('./options.js').TaskOptions;
  actor?: ActorId;
  method?: string;
  create?: { actor: ActorId; options: import('./options.js').ActorOptions; methods: string[]; asyncMethods: string[] };
}

export type NodeToHost =
  | { t: 'ready' }
  | { t: 'dones'; j: string }
  /** A task (or actor call) starts at `at`: sent only at a flush (see Executor.reportStart). */
  | { t: 'started'; id: TaskId; at: number }
  | { t: 'fn'; d: FunctionDescriptor }
  | TaskDone
  | { t: 'actor-ready'; actor: ActorId; id: TaskId }
  | { t: 'actor-failed'; actor: ActorId; id: TaskId; error: SerializedError }
  | SubmitMsg
  | { t: 'get'; req: number; ids: ObjectId[]; task?: TaskId }
  | { t: 'blocked'; task: TaskId }
  | { t: 'unblocked'; task: TaskId }
  | { t: 'put'; id: ObjectId; v: unknown; n?: 1 }
  | { t: 'release'; ids: ObjectId[] }
  | { t: 'borrow'; ids: ObjectId[] }
  | { t: 'call'; req: number; op: ControlOp; arg: unknown };

/** Requests from a node that need an answer from the host (`reply` with the same `req`). */
export type ControlOp = 'wait' | 'cancel' | 'kill' | 'getActor' | 'state' | 'space';

/** The first message a node gets: who it is. */
export interface NodeBoot {
  nodeId: NodeId;
  hostId: string;
  jobId: JobId;
  namespace: string;
  kind: 'task' | 'actor';
  /** Names the runtime exposes as `ray.<name>`: used to bind renamed imports in shipped code. */
}
