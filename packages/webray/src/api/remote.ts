/**
 * Remote functions, actor classes and actor handles: the typed objects `ray.remote` returns.
 * They travel into tasks as markers (see shared/codec.ts) and come back to life there, bound to
 * the task that received them so the ids they mint derive from that task.
 */
import { makeMarker, toMarker, type Marker } from '../shared/codec.js';
import { RayUsageError } from '../shared/errors.js';
import { endedSessionError } from '../shared/usage.js';
import { checkActorOptions, checkMethodOptions, checkTaskOptions, type ActorOptions, type MethodOptions, type TaskOptions } from '../shared/options.js';
import type { FunctionDescriptor } from '../shared/protocol.js';
import { currentCore, type ActorSpec, type Caller, type CoreWorker } from './core.js';
import { ObjectRef } from './object-ref.js';

/** An argument may be given as its value or as a ref to it. */
export type RemoteArgs<A extends readonly unknown[]> = { [K in keyof A]: A[K] | ObjectRef<A[K]> };

/** What `.remote()` returns for `numReturns: N`. */
export type Returns<R, N> = N extends 1
  ? ObjectRef<Awaited<R>>
  : N extends 0
    ? void
    : Awaited<R> extends infer T extends readonly unknown[]
      ? RefsOf<T>
      : ObjectRef<unknown>[];

/** One ref per element of a returned tuple. */
export type RefsOf<T extends readonly unknown[]> = { -readonly [K in keyof T]: ObjectRef<T[K]> };

type NumReturnsOf<O, N> = O extends { numReturns: infer M extends number } ? M : N;

export function requireCore(): CoreWorker {
  const core = currentCore();
  if (!core) throw new RayUsageError('webray is not initialised: call `await ray.init()` before submitting tasks or actors.');
  return core;
}

export function refsFor(core: CoreWorker, ids: string[], numReturns: number): unknown {
  if (numReturns === 1) return new ObjectRef(ids[0]!, core.nodeId, true);
  if (numReturns === 0) return undefined;
  return ids.map((id) => new ObjectRef(id, core.nodeId, true));
}

export class RemoteFunction<A extends readonly unknown[], R, N extends number = 1> {
  /** @internal */ readonly descriptor: FunctionDescriptor;
  /** @internal */ readonly taskOptions: TaskOptions;
  /** @internal */ readonly caller: Caller | undefined;

  /** @internal Use `ray.remote(fn)`. */
  constructor(descriptor: FunctionDescriptor, options: TaskOptions, caller: Caller | undefined) {
    this.descriptor = descriptor;
    this.taskOptions = options;
    this.caller = caller;
  }

  get name(): string {
    return this.descriptor.name;
  }

  /** Submits one call; returns at once with a ref to the result. */
  remote(...args: RemoteArgs<A>): Returns<R, N> {
    const core = requireCore();
    const ids = core.submitTask(this.caller ?? core.currentCaller(), this.descriptor, args as unknown[], this.taskOptions);
    return refsFor(core, ids, this.taskOptions.numReturns ?? 1) as Returns<R, N>;
  }

  /** A copy with these options (numReturns, numCpus, resources, maxRetries, retryExceptions, schedulingStrategy, name). */
  options<const O extends TaskOptions>(options: O): RemoteFunction<A, R, NumReturnsOf<O, N>> {
    checkTaskOptions(`${this.name}.options`, options);
    return new RemoteFunction(this.descriptor, { ...this.taskOptions, ...options }, this.caller);
  }

  /** @internal */
  bind(caller: Caller | undefined): RemoteFunction<A, R, N> {
    return new RemoteFunction(this.descriptor, this.taskOptions, caller);
  }

  [toMarker](): Marker {
    return makeMarker('fn', { fn: this.descriptor, options: this.taskOptions });
  }
}

type MethodKeys<T> = { [K in keyof T]: T[K] extends (...args: any[]) => any ? K : never }[keyof T] & string;

/** One method of an actor handle: `handle.method.remote(...)`. */
export interface ActorMethod<A extends readonly unknown[], R, N extends number = 1> {
  remote(...args: RemoteArgs<A>): Returns<R, N>;
  options<const O extends MethodOptions>(options: O): ActorMethod<A, R, NumReturnsOf<O, N>>;
}

/** A handle to a live actor: every method of the class as `.remote(...)`. */
export type ActorHandle<T> = {
  readonly [K in MethodKeys<T>]: T[K] extends (...args: infer A) => infer R ? ActorMethod<A, R> : never;
} & ActorHandleBase;

/**
 * The session (core) that made a handle, so one kept across shutdown/init is refused by name. A
 * symbol, non-enumerable: it cannot shadow a method, and printing a handle does not walk the runtime.
 */
const madeBy: unique symbol = Symbol('webray.session');

export class ActorHandleBase {
  /** @internal */ readonly actorId: string;
  /** @internal */ readonly className: string;
  /** @internal */ readonly methodNames: string[];
  /** @internal */ readonly asyncMethodNames: string[];
  /** @internal See `madeBy`. */
  declare readonly [madeBy]: CoreWorker | undefined;

  /** @internal */
  constructor(actorId: string, className: string, methods: string[], asyncMethods: string[], caller: Caller | undefined) {
    this.actorId = actorId;
    this.className = className;
    this.methodNames = methods;
    this.asyncMethodNames = asyncMethods;
    Object.defineProperty(this, madeBy, { value: currentCore(), enumerable: false });
    for (const m of methods) {
      if (m in this) continue;
      Object.defineProperty(this, m, { value: makeMethod(this, m, {}, caller), enumerable: false });
    }
    // A method the class lacks is named at once, not as "Cannot read properties of undefined".
    return new Proxy(this, missingMethod);
  }

  [toMarker](): Marker {
    return makeMarker('actor', { id: this.actorId, cls: this.className, methods: this.methodNames, asyncMethods: this.asyncMethodNames });
  }

  toString(): string {
    return `ActorHandle(${this.className}, ${this.actorId})`;
  }
}

/** The core to call `handle` through, if it belongs to the running session (`what` made only if not). */
export function handleCore(handle: ActorHandleBase, what: string | (() => string)): CoreWorker {
  const core = requireCore();
  const made = handle[madeBy];
  if (made && made !== core) throw endedSessionError(typeof what === 'string' ? what : what(), String(handle), 'Create the actor again after ray.init() (named actors: ray.getActor(name)).');
  return core;
}

/**
 * Names that tools probe on any object (promise resolution, JSON, inspectors, test matchers,
 * module interop): they read as undefined, so a handle stays non-thenable and printable.
 */
const probed = new Set(['then', 'toJSON', 'inspect', 'asymmetricMatch', 'nodeType', 'tagName', 'length']);

const missingMethod: ProxyHandler<ActorHandleBase> = {
  get(target, key, receiver) {
    if (typeof key === 'symbol' || key in target || probed.has(key) || key.startsWith('$$') || key.startsWith('@@') || key.startsWith('__')) {
      return Reflect.get(target, key, receiver);
    }
    const methods = target.methodNames.length ? target.methodNames.join(', ') : 'none';
    throw new RayUsageError(
      `Actor class ${target.className} has no method '${key}' (its methods: ${methods}). ` +
        'Call one of those as handle.method.remote(...); a method must be defined in the class (not assigned in the constructor) to be callable.',
    );
  },
};

function makeMethod(handle: ActorHandleBase, method: string, options: MethodOptions, caller: Caller | undefined): ActorMethod<unknown[], unknown, number> {
  return {
    remote(...args: unknown[]) {
      const core = handleCore(handle, () => `${method}.remote`);
      const ids = core.submitActorTask(caller ?? core.currentCaller(), handle.actorId, method, args, options);
      return refsFor(core, ids, options.numReturns ?? 1) as never;
    },
    options(o: MethodOptions) {
      checkMethodOptions(`${method}.options`, o);
      return makeMethod(handle, method, { ...options, ...o }, caller) as never;
    },
  };
}

export function actorHandle<T>(actorId: string, className: string, methods: string[], asyncMethods: string[], caller: Caller | undefined): ActorHandle<T> {
  return new ActorHandleBase(actorId, className, methods, asyncMethods, caller) as ActorHandle<T>;
}

type Ctor = abstract new (...args: any) => any;

/** `ray.remote(SomeClass)`: `.remote(...constructorArgs)` creates an actor. */
export class ActorClass<C extends Ctor> {
  /** @internal */ readonly spec: ActorSpec;
  /** @internal */ readonly actorOptions: ActorOptions;
  /** @internal */ readonly caller: Caller | undefined;

  /** @internal Use `ray.remote(Class)`. */
  constructor(spec: ActorSpec, options: ActorOptions, caller: Caller | undefined) {
    this.spec = spec;
    this.actorOptions = options;
    this.caller = caller;
  }

  remote(...args: RemoteArgs<ConstructorParameters<C>>): ActorHandle<InstanceType<C>> {
    const core = requireCore();
    const id = core.createActor(this.caller ?? core.currentCaller(), this.spec, args as unknown[], this.actorOptions);
    return actorHandle(id, this.spec.className, this.spec.methods, this.spec.asyncMethods, this.caller);
  }

  /** A copy with these options (name, namespace, maxRestarts, maxTaskRetries, maxConcurrency, maxPendingCalls, numCpus, resources, lifetime). */
  options(options: ActorOptions): ActorClass<C> {
    checkActorOptions(`${this.spec.className}.options`, options);
    return new ActorClass(this.spec, { ...this.actorOptions, ...options }, this.caller);
  }

  [toMarker](): Marker {
    return makeMarker('cls', { spec: this.spec, options: this.actorOptions });
  }
}
