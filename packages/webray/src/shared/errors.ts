/**
 * Every error a webray user can meet. Each names what happened and what to do about it.
 * Errors cross threads as plain records (`SerializedError`) and are rebuilt here, so a
 * `RayTaskError` from a worker is still `instanceof RayTaskError` in the driver.
 */

export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  /** Extra fields of webray errors (taskId, functionName, ...). */
  fields?: Record<string, unknown>;
  /** A user error's own enumerable properties (e.g. `code`) that structured cloning can carry. */
  props?: Record<string, unknown>;
  cause?: SerializedError;
}

export class RayError extends Error {
  override name = 'RayError';
}

/** A task threw. `cause` is the error the user's code threw, with its remote stack. */
export class RayTaskError extends RayError {
  override name = 'RayTaskError';
  readonly functionName: string;
  readonly taskId: string;
  /** The stack trace from the worker where the task ran. */
  readonly remoteStack: string | undefined;
  constructor(functionName: string, taskId: string, cause: Error) {
    super(
      `Task ${functionName} (${taskId}) threw ${cause.name}: ${cause.message}\n` +
        `The error happened on a worker; its stack is in .remoteStack and the original error in .cause. ` +
        `Fix the task's code, or set { retryExceptions: true, maxRetries } to retry it.`,
      { cause },
    );
    this.functionName = functionName;
    this.taskId = taskId;
    this.remoteStack = cause.stack;
  }
}

/**
 * The actor died (crashed, killed, its host left, or its constructor threw) and will not run this
 * call. `restarting`: it is being restarted (maxRestarts), so calls made after this one reach the
 * new instance; only this call was lost with the instance that died.
 */
export class RayActorError extends RayError {
  override name = 'RayActorError';
  readonly actorId: string;
  readonly restarting: boolean;
  constructor(actorId: string, reason: string, cause?: Error, restarting = false) {
    super(
      restarting
        ? `Actor ${actorId} died: ${reason}. It is restarting, and calls made after this one reach the new instance, in order; ` +
            `this call was lost with the instance that died. Give the actor { maxTaskRetries } to retry such calls on the restarted instance.`
        : `Actor ${actorId} is dead: ${reason}. Calls to it fail from now on. ` +
            `Give the actor { maxRestarts } (and { maxTaskRetries } for in-flight calls) to restart it after a crash, or create a new one.`,
      cause ? { cause } : undefined,
    );
    this.actorId = actorId;
    this.restarting = restarting;
  }
}

/**
 * The actor is alive, but this call's answer could not come back: the link to the actor's host
 * dropped while the call was in flight (the host is still in the cluster). The call may or may
 * not have run. As Ray's ActorUnavailableError.
 */
export class ActorUnavailableError extends RayActorError {
  override name = 'ActorUnavailableError';
  constructor(actorId: string, reason: string) {
    super(actorId, reason);
    this.message = `Actor ${actorId} is unavailable for now: ${reason}. This call may or may not have run; ` +
      `the actor lives on, and calls made after it reach it. Call again if the method is safe to repeat.`;
  }
}

/** The worker running the task died (crash, out of memory, terminated) and retries are used up. */
export class WorkerCrashedError extends RayError {
  override name = 'WorkerCrashedError';
  readonly taskId: string;
  constructor(taskId: string, detail: string) {
    super(
      `The worker running task ${taskId} died (${detail}) and the task has no retries left. ` +
        `Raise { maxRetries } on the task (default 3) if the crash is transient, or find why the worker died (memory, process.exit, close()).`,
    );
    this.taskId = taskId;
  }
}

/** `get` waited longer than its timeout. The object may still arrive: call `get` again. */
export class GetTimeoutError extends RayError {
  override name = 'GetTimeoutError';
  readonly objectIds: string[];
  constructor(objectIds: string[], timeoutMs: number) {
    super(
      `get timed out after ${timeoutMs} ms waiting for ${objectIds.length} object(s) (${objectIds.slice(0, 3).join(', ')}${objectIds.length > 3 ? ', …' : ''}). ` +
        `The tasks are still running or pending: call get again, raise { timeout }, or use ray.wait to take what is ready.`,
    );
    this.objectIds = objectIds;
  }
}

/** The task was cancelled with `ray.cancel` before it produced a value. */
export class TaskCancelledError extends RayError {
  override name = 'TaskCancelledError';
  readonly taskId: string;
  constructor(taskId: string) {
    super(`Task ${taskId} was cancelled with ray.cancel; it has no value. Submit it again if you still need it.`);
    this.taskId = taskId;
  }
}

/** An argument or return value cannot be sent between threads. */
export class NonSerializableError extends RayError {
  override name = 'NonSerializableError';
  readonly path: string;
  constructor(path: string, what: string) {
    super(
      `${path} is ${what}, which cannot be sent to another worker. ` +
        `Pass plain data (numbers, strings, arrays, objects, Map, Set, Date, BigInt, typed arrays), an ObjectRef, ` +
        `an actor handle or a remote function instead; for a callback, make it a remote function.`,
    );
    this.path = path;
  }
}

/** The owner of an object (the worker that created it) died, so nobody can produce it. */
export class OwnerDiedError extends RayError {
  override name = 'OwnerDiedError';
  readonly objectId: string;
  /** `detail`: who the owner was and what became of the work (fate sharing). */
  constructor(objectId: string, detail = '') {
    super(`The owner of object ${objectId} died${detail ? ` (${detail})` : ''}, so the object cannot be fetched or rebuilt. Create objects you need to outlive a task in the driver.`);
    this.objectId = objectId;
  }
}

/** A host (tab or Node process) of the cluster died. */
export class NodeDiedError extends RayError {
  override name = 'NodeDiedError';
  readonly nodeId: string;
  constructor(nodeId: string, detail: string) {
    super(`Node ${nodeId} died (${detail}). Work placed there is retried where retries allow.`);
    this.nodeId = nodeId;
  }
}

/** The object was freed or lost and cannot be rebuilt. */
export class ObjectLostError extends RayError {
  override name = 'ObjectLostError';
  readonly objectId: string;
  /** What happened to it (this thread's instance only: it does not cross threads). */
  readonly detail: string;
  /** `advice`: what to do; by default, keeping a ref (released refs are freed). */
  constructor(objectId: string, detail: string, advice = 'Keep an ObjectRef to an object for as long as you need it (released refs are freed).') {
    super(`Object ${objectId} is lost: ${detail}. ${advice}`);
    this.objectId = objectId;
    this.detail = detail;
  }
}

/** The object store has no room for the object, even after evicting and spilling. */
export class ObjectStoreFullError extends RayError {
  override name = 'ObjectStoreFullError';
  constructor(detail: string) {
    super(
      `The object store is full: ${detail}. Release what you no longer need (ref.release(), ray.release(view) ` +
        `or \`using\` — a view returned by get holds its object until it is collected), or raise init({ objectStoreMaxMemory }).`,
    );
  }
}

/** Debug mode (init({ objectStoreChecks: true })) found a write into a sealed, immutable object. */
export class ObjectMutatedError extends RayError {
  override name = 'ObjectMutatedError';
  readonly objectId: string;
  constructor(objectId: string) {
    super(
      `Object ${objectId} was modified after it was sealed. Objects in the store are immutable and shared zero-copy by every ` +
        `reader; a write through a view returned by ray.get changes what other tasks see. Copy the array (.slice()) before changing it.`,
    );
    this.objectId = objectId;
  }
}

/** An actor has more pending calls than its `maxPendingCalls`. */
export class PendingCallsLimitExceededError extends RayError {
  override name = 'PendingCallsLimitExceededError';
  constructor(actorId: string, limit: number) {
    super(`Actor ${actorId} already has ${limit} pending calls (maxPendingCalls). Wait for some results (ray.wait) before submitting more, or raise maxPendingCalls.`);
  }
}

/** A host could not prove it belongs to the cluster (or the other side could not), so no work or code was exchanged. */
export class ClusterAuthError extends RayError {
  override name = 'ClusterAuthError';
  constructor(detail: string) {
    super(`Cluster authentication failed: ${detail}. Every host must be given the same cluster id and join token (init({ cluster: { id, token } })).`);
  }
}

/** A task module's URL serves other code than when its entry was signed: the host refuses to run it. */
export class ModuleChangedError extends RayError {
  override name = 'ModuleChangedError';
  constructor(readonly url: string, detail: string) {
    super(
      `The task module ${url} ${detail}, so host code signed for the old content will not run it. ` +
        'Serve each version of a task module at its own URL (a production build names chunks by content hash), ' +
        'and restart the driver after changing it, so its tasks are signed again.',
    );
  }
}

/** One replica's result as the owner saw it: the host that ran it and the SHA-256 of the bytes received (or the error it ended with). */
export interface ReplicaResult {
  host: string;
  /** Hex SHA-256 of the result's encoded bytes as the owner received them; for an error, of its name and message. */
  hash: string;
  /** The error the replica ended with, if it did not return a value. */
  error?: string;
}

/**
 * A task run with `verify: { replicas }` has no accepted result: its replicas disagreed and no
 * more could run (`results` names each host and what it returned), or too few hosts could run them.
 */
export class VerificationError extends RayError {
  override name = 'VerificationError';
  constructor(readonly functionName: string, readonly taskId: string, detail: string, readonly results: ReplicaResult[] = []) {
    super(`Task ${functionName} (${taskId}) has no verified result: ${detail}`);
  }
}

/** The API was used wrongly (bad option, not initialised, ...). Thrown synchronously, never from a worker. */
export class RayUsageError extends RayError {
  override name = 'RayUsageError';
}

const builtinErrors: Record<string, ErrorConstructor> = {
  Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError,
};

type ErrorFactory = (message: string, fields: Record<string, any>, cause: Error | undefined) => Error;

const rayErrors: Record<string, ErrorFactory> = {
  RayTaskError: (_m, f, c) => new RayTaskError(f.functionName, f.taskId, c ?? new Error('unknown cause')),
  RayActorError: (m, f, c) => withMessage(new RayActorError(f.actorId, '', c, f.restarting === true), m),
  ActorUnavailableError: (m, f) => withMessage(new ActorUnavailableError(f.actorId, ''), m),
  WorkerCrashedError: (m, f) => withMessage(new WorkerCrashedError(f.taskId, ''), m),
  GetTimeoutError: (m, f) => withMessage(new GetTimeoutError(f.objectIds ?? [], 0), m),
  TaskCancelledError: (m, f) => withMessage(new TaskCancelledError(f.taskId), m),
  NonSerializableError: (m, f) => withMessage(new NonSerializableError(f.path, ''), m),
  OwnerDiedError: (m, f) => withMessage(new OwnerDiedError(f.objectId), m),
  NodeDiedError: (m, f) => withMessage(new NodeDiedError(f.nodeId, ''), m),
  ObjectLostError: (m, f) => withMessage(new ObjectLostError(f.objectId, ''), m),
  ObjectStoreFullError: (m) => withMessage(new ObjectStoreFullError(''), m),
  ObjectMutatedError: (m, f) => withMessage(new ObjectMutatedError(f.objectId), m),
  PendingCallsLimitExceededError: (m) => withMessage(new PendingCallsLimitExceededError('', 0), m),
  RayUsageError: (m) => new RayUsageError(m),
  ClusterAuthError: (m) => withMessage(new ClusterAuthError(''), m),
  ModuleChangedError: (m, f) => withMessage(new ModuleChangedError(f.url, ''), m),
  VerificationError: (m, f) => withMessage(new VerificationError(f.functionName, f.taskId, '', Array.isArray(f.results) ? f.results : []), m),
};

function withMessage<E extends Error>(e: E, message: string): E {
  e.message = message;
  return e;
}

const fieldNames = ['functionName', 'taskId', 'actorId', 'objectIds', 'path', 'objectId', 'nodeId', 'url', 'restarting', 'results'] as const;

/** Turns any thrown value into a record that survives structured clone. */
export function serializeError(err: unknown): SerializedError {
  if (!(err instanceof Error)) {
    let text: string;
    try { text = typeof err === 'string' ? err : JSON.stringify(err) ?? String(err); } catch { text = String(err); }
    return { name: 'Error', message: `non-Error value thrown: ${text}` };
  }
  const out: SerializedError = { name: err.name, message: err.message, stack: err.stack };
  const fields: Record<string, unknown> = {};
  for (const k of fieldNames) if (k in err) fields[k] = (err as any)[k];
  if (Object.keys(fields).length) out.fields = fields;
  if (!rayErrors[err.name]) {
    const props = ownProps(err);
    if (props) out.props = props;
  }
  if (err.cause !== undefined) out.cause = serializeError(err.cause);
  return out;
}

/** Own enumerable properties of an error that survive structured cloning (the others are left out, one by one). */
function ownProps(err: Error): Record<string, unknown> | undefined {
  let props: Record<string, unknown> | undefined;
  for (const k of Object.keys(err)) {
    if (k === 'name' || k === 'message' || k === 'stack' || k === 'cause') continue;
    try { (props ??= {})[k] = structuredClone((err as unknown as Record<string, unknown>)[k]); } catch { /* a function, a DOM node…: not sendable */ }
  }
  return props;
}

/** Rebuilds an error from its record: webray errors and built-in error types keep their class. */
export function deserializeError(s: SerializedError): Error {
  const cause = s.cause ? deserializeError(s.cause) : undefined;
  const ray = rayErrors[s.name];
  if (ray) {
    const e = ray(s.message, s.fields ?? {}, cause);
    if (s.stack && s.name !== 'RayTaskError') e.stack = s.stack;
    return e;
  }
  const Ctor = builtinErrors[s.name] ?? Error;
  const e = new Ctor(s.message, cause ? { cause } : undefined);
  if (!builtinErrors[s.name]) e.name = s.name;
  e.stack = s.stack;
  // Defined, not assigned: a key like '__proto__' from another host stays a plain property.
  if (s.props && typeof s.props === 'object') {
    for (const [k, v] of Object.entries(s.props)) Object.defineProperty(e, k, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return e;
}
