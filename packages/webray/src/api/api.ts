/**
 * The `ray` API object. The module's exports use one bound to the thread's current caller;
 * code shipped to a node gets its own per call, bound to the task it runs, so ids minted after
 * an `await` still derive from the right parent task.
 */
import * as errors from '../shared/errors.js';
import { RayUsageError } from '../shared/errors.js';
import { functionIdFor } from '../shared/ids.js';
import type { Binding, FunctionDescriptor } from '../shared/protocol.js';
import { analyzeSource } from '../shared/source.js';
import { writeTextFile } from '../platform/text-file.js';
import { checkKeys, describeValue } from '../shared/usage.js';
import type { Caller, CoreWorker, RuntimeContext, StateFilter, WaitOptions } from './core.js';
import { isObjectRef, ObjectRef } from './object-ref.js';
import { ActorClass, ActorHandleBase, handleCore, RemoteFunction, requireCore, type ActorHandle } from './remote.js';

/** The names code shipped to a node may call on `ray` (also used to recognise renamed imports). */
export const apiNames = [
  'init', 'shutdown', 'isInitialized', 'remote', 'get', 'wait', 'put', 'release', 'cancel', 'kill', 'getActor', 'getRuntimeContext',
  'nodes', 'clusterResources', 'availableResources', 'state', 'timeline', 'ObjectRef',
  'RayError', 'RayTaskError', 'RayActorError', 'ActorUnavailableError', 'WorkerCrashedError', 'GetTimeoutError', 'TaskCancelledError',
  'NonSerializableError', 'OwnerDiedError', 'NodeDiedError', 'ObjectLostError', 'ObjectStoreFullError', 'ObjectMutatedError',
  'PendingCallsLimitExceededError', 'RayUsageError', 'VerificationError',
] as const;

/** Options of `ray.remote(fn, { module, exportName })` for code that imports libraries. */
export interface ModuleOptions {
  /** URL of an ES module every node imports (e.g. `new URL('./tasks.js', import.meta.url)`, or Vite's `?worker&url`). */
  module: string | URL;
  /** The export to run; defaults to the function's or class's name. */
  exportName?: string;
}

/** Options of `ray.remote(fn, { uses, self })` for a function shipped by its source text. */
export interface SourceOptions {
  /**
   * The remote functions and actor classes the function calls, by the names it uses for them:
   * `ray.remote((x) => ray.get(sq.remote(x)), { uses: { sq } })`. JavaScript cannot read a
   * closure's values, so they are named here (the webray/vite plugin adds this option for you,
   * as `uses: () => [sq]`: an arrow returning the variables, whose source text gives their names
   * as a minifier left them).
   */
  uses?: Record<string, RemoteFunction<any, any, any> | ActorClass<any>> | (() => readonly (RemoteFunction<any, any, any> | ActorClass<any>)[]);
  /** The name the function calls itself by (recursion): `const fib = ray.remote(fn, { self: 'fib' })`, or `self: () => fib` (never called). */
  self?: string | (() => unknown);
}

/** SourceOptions with the arrow forms read as names. */
type NamedUses = { uses?: Record<string, RemoteFunction<any, any, any> | ActorClass<any>>; self?: string };

type AnyFunction = (...args: any[]) => any;
type AnyClass = abstract new (...args: any[]) => any;

function ownMethods(proto: object): { methods: string[]; asyncMethods: string[] } {
  const methods: string[] = [];
  const asyncMethods: string[] = [];
  for (let p: object | null = proto; p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    for (const k of Object.getOwnPropertyNames(p)) {
      const d = Object.getOwnPropertyDescriptor(p, k)!;
      if (k === 'constructor' || typeof d.value !== 'function' || methods.includes(k)) continue;
      methods.push(k);
      if (d.value.constructor?.name === 'AsyncFunction' || d.value.constructor?.name === 'AsyncGeneratorFunction') asyncMethods.push(k);
    }
  }
  return { methods, asyncMethods };
}

function isClass(fn: AnyFunction | AnyClass): boolean {
  return /^class[\s{]/.test(Function.prototype.toString.call(fn));
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** Splits `ray.remote`'s second argument into the module form or the source form, refusing what is neither. */
function remoteOptions(options: unknown): { mod?: ModuleOptions; src?: NamedUses } {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null) {
    throw new RayUsageError(`ray.remote(fn, options): options must be an object ({ uses, self } or { module, exportName }), got ${options === null ? 'null' : typeof options}.`);
  }
  const keys = Object.keys(options);
  const moduleKeys = ['module', 'exportName'];
  const sourceKeys = ['uses', 'self'];
  const unknown = keys.filter((k) => !moduleKeys.includes(k) && !sourceKeys.includes(k));
  if (unknown.length > 0) {
    throw new RayUsageError(`ray.remote(fn, options): unknown option ${unknown.map((k) => `'${k}'`).join(', ')}; the options are { uses, self } for a function shipped by its source, or { module, exportName }.`);
  }
  if ('module' in options) {
    const mixed = keys.filter((k) => sourceKeys.includes(k));
    if (mixed.length > 0) throw new RayUsageError(`ray.remote(fn, { module }): ${mixed.map((k) => `'${k}'`).join(', ')} apply only to functions shipped by their source; a module imports what it uses.`);
    return { mod: options as ModuleOptions };
  }
  if ('exportName' in options) throw new RayUsageError("ray.remote(fn, { exportName }): exportName needs { module } too (the URL of the module that exports it).");
  const src = namedForms(options as SourceOptions);
  if (src.uses !== undefined) {
    if (typeof src.uses !== 'object' || src.uses === null || Array.isArray(src.uses)) {
      throw new RayUsageError(`ray.remote(fn, { uses }): uses maps names to remote functions or actor classes, e.g. { uses: { sq } }; got ${src.uses === null ? 'null' : Array.isArray(src.uses) ? 'an array' : typeof src.uses}.`);
    }
    for (const [name, v] of Object.entries(src.uses as Record<string, unknown>)) {
      if (!IDENTIFIER.test(name)) throw new RayUsageError(`ray.remote(fn, { uses }): '${name}' is not a variable name.`);
      if (!(v instanceof RemoteFunction) && !(v instanceof ActorClass)) {
        throw new RayUsageError(
          `ray.remote(fn, { uses }): uses.${name} must be a remote function or actor class (what ray.remote returns), got ${v === null ? 'null' : typeof v === 'function' ? `the plain function ${v.name || '(anonymous)'}` : typeof v}. ` +
            'Wrap it with ray.remote first; pass other values as arguments.',
        );
      }
      if ((v instanceof RemoteFunction ? v.descriptor : v.spec.fn).kind === 'module') {
        // A host checks a module's signed content hash only for an entry shipped on its own.
        throw new RayUsageError(
          `ray.remote(fn, { uses }): uses.${name} is a task module ({ module }), which cannot be named in uses yet: ` +
            'a host would import it without checking its signed content. Call it from the driver instead.',
        );
      }
    }
  }
  if (src.self !== undefined && (typeof src.self !== 'string' || !IDENTIFIER.test(src.self))) {
    throw new RayUsageError(`ray.remote(fn, { self }): self is the variable name the function calls itself by, e.g. { self: 'fib' }; got ${typeof src.self === 'string' ? `'${src.self}'` : typeof src.self}.`);
  }
  if (src.self !== undefined && src.uses && (src.self as string) in src.uses) throw new RayUsageError(`ray.remote(fn, { uses, self }): '${String(src.self)}' is named in both; name it once.`);
  return { src: src as NamedUses };
}

/** The arrow forms `uses: () => [a, b]` and `self: () => f` as names: their source text says which variables they read. */
function namedForms(o: SourceOptions): { uses?: Record<string, unknown>; self?: unknown } {
  let uses: Record<string, unknown> | undefined = o.uses as Record<string, unknown> | undefined;
  if (typeof o.uses === 'function') {
    const m = /^\(\)\s*=>\s*\[\s*((?:[A-Za-z_$][\w$]*\s*,\s*)*[A-Za-z_$][\w$]*)\s*,?\s*\]$/.exec(Function.prototype.toString.call(o.uses));
    if (!m) throw new RayUsageError('ray.remote(fn, { uses }): uses is an object ({ uses: { sq } }) or an arrow returning an array of variables (() => [sq, cube]).');
    const names = m[1]!.split(',').map((n) => n.trim());
    const values = o.uses();
    uses = Object.fromEntries(names.map((n, i) => [n, values[i]]));
  }
  let self = o.self;
  if (typeof o.self === 'function') {
    const m = /^\(\)\s*=>\s*([A-Za-z_$][\w$]*)$/.exec(Function.prototype.toString.call(o.self));
    if (!m) throw new RayUsageError("ray.remote(fn, { self }): self is the function's variable name ('fib') or an arrow returning it (() => fib).");
    self = m[1];
  }
  return { uses, self };
}

function usesBinding(v: RemoteFunction<any, any, any> | ActorClass<any>): Binding {
  if (v instanceof RemoteFunction) return { fn: v.descriptor, options: v.taskOptions };
  const { fn, className, methods, asyncMethods } = v.spec;
  return { actor: fn, className, methods, asyncMethods, options: v.actorOptions };
}

/** Generators would need streaming results, which webray does not have yet. */
function isGeneratorFunction(fn: AnyFunction | AnyClass): boolean {
  const kind = Object.getPrototypeOf(fn)?.constructor?.name;
  return kind === 'GeneratorFunction' || kind === 'AsyncGeneratorFunction';
}

/** Builds what a node needs to run `fn`, refusing closures at definition time. */
export function describeFunction(fn: AnyFunction | AnyClass, mod: ModuleOptions | undefined, src: NamedUses = {}): { d: FunctionDescriptor; methods: string[]; asyncMethods: string[] } {
  if (typeof fn !== 'function') throw new RayUsageError(`ray.remote expects a function or a class, got ${fn === null ? 'null' : typeof fn}.`);
  if (isGeneratorFunction(fn)) {
    throw new RayUsageError(
      `ray.remote(${fn.name || '<anonymous>'}): generator functions cannot be tasks yet (webray has no streaming results). ` +
        'Collect the values and return an array instead (e.g. Array.from(gen()) or a for await loop).',
    );
  }
  const cls = isClass(fn);
  if (mod) {
    const url = String(mod.module);
    const exportName = mod.exportName ?? fn.name;
    if (!exportName) throw new RayUsageError('ray.remote(fn, { module }): the function has no name; pass { exportName } too.');
    if (/^data:/i.test(url) && !/^data:(?:text|application)\/javascript[;,]/i.test(url)) {
      throw new RayUsageError(
        `ray.remote(${exportName}, { module }): the module URL is a data: URL of type '${url.slice(5, url.search(/[;,]/))}', not JavaScript: ` +
          'a production build without the webray/vite plugin inlines the module as an uncompiled asset. ' +
          "Add webray() from 'webray/vite' to your Vite config's plugins (it builds task modules as chunks of their own).",
      );
    }
    const m = cls ? ownMethods(fn.prototype) : { methods: [], asyncMethods: [] };
    return { d: { kind: 'module', id: functionIdFor(url + '#' + exportName), name: fn.name || exportName, url, exportName }, ...m };
  }
  if (cls && src.self !== undefined) {
    throw new RayUsageError(`ray.remote(${fn.name || '<anonymous>'}, { self }): self is for a task that calls itself; a class cannot name itself. Pass its actor class to the methods that need it as an argument.`);
  }
  const uses = src.uses ?? {};
  const provided = [...Object.keys(uses), ...(src.self === undefined ? [] : [src.self])];
  const a = analyzeSource(Function.prototype.toString.call(fn), { apiNames, name: fn.name, provided });
  const name = fn.name || a.name || 'anonymous';
  const unused = provided.filter((n) => !a.provided.includes(n));
  if (unused.length > 0) {
    throw new RayUsageError(
      `ray.remote(${name}, { uses, self }): the ${cls ? 'class' : 'function'} uses no variable ${unused.map((n) => `'${n}'`).join(', ')} from outside it. ` +
        'Name only the remote functions and actor classes it calls, by the names it calls them.',
    );
  }
  const bindings: Record<string, Binding> = { ...a.bindings };
  for (const n of a.provided) bindings[n] = n === src.self ? 'self' : usesBinding(uses[n]!);
  // Content-addressed: the same source bound to other remote functions is another function.
  const id = functionIdFor(a.provided.length > 0 ? `${a.source}\n${JSON.stringify(bindings)}` : a.source);
  const m = cls ? ownMethods(fn.prototype) : { methods: [], asyncMethods: [] };
  return {
    d: { kind: 'source', id, name, source: a.source, bindings },
    methods: cls ? m.methods : [],
    asyncMethods: cls ? m.asyncMethods : [],
  };
}

/** `ray.get` accepts one ref or an array of refs; `ray.wait` only an array (as Ray). */
function idsOf(what: string, refs: unknown, single: boolean): string[] {
  if (isObjectRef(refs)) {
    if (!single) throw new RayUsageError(`${what} expects an array of ObjectRefs, got one ObjectRef (${refs}). Wrap it: ${what}([ref]).`);
    refs.checkSession(what);
    return [refs.id];
  }
  if (Array.isArray(refs)) {
    return refs.map((r, i) => {
      if (!isObjectRef(r)) throw new RayUsageError(`${what}: element ${i} is not an ObjectRef, got ${describeValue(r)}. Pass refs returned by .remote() or ray.put().`);
      r.checkSession(what);
      return r.id;
    });
  }
  throw new RayUsageError(`${what} expects ${single ? 'an ObjectRef or ' : ''}an array of ObjectRefs, got ${describeValue(refs)}. Pass refs returned by .remote() or ray.put().`);
}

const getKeys = ['timeout'];
const waitKeys = ['numReturns', 'timeout', 'fetchLocal'] as const satisfies readonly (keyof WaitOptions)[];
const cancelKeys = ['force', 'recursive'];
const killKeys = ['noRestart'];
const getActorKeys = ['namespace'];

/** Classes reachable as `ray.X` inside shipped code, e.g. `e instanceof ray.RayTaskError`. */
const classes = {
  ObjectRef,
  RayError: errors.RayError, RayTaskError: errors.RayTaskError, RayActorError: errors.RayActorError, ActorUnavailableError: errors.ActorUnavailableError,
  WorkerCrashedError: errors.WorkerCrashedError, GetTimeoutError: errors.GetTimeoutError,
  TaskCancelledError: errors.TaskCancelledError, NonSerializableError: errors.NonSerializableError,
  OwnerDiedError: errors.OwnerDiedError, NodeDiedError: errors.NodeDiedError, ObjectLostError: errors.ObjectLostError,
  ObjectStoreFullError: errors.ObjectStoreFullError, ObjectMutatedError: errors.ObjectMutatedError, PendingCallsLimitExceededError: errors.PendingCallsLimitExceededError,
  RayUsageError: errors.RayUsageError, VerificationError: errors.VerificationError,
};

/** The values of a tuple of refs: a mutable tuple, so it fits `number[]` as well as `[number, string]`. */
type Values<T> = { -readonly [K in keyof T]: T[K] extends ObjectRef<infer V> ? V : never };

export class RayApi {
  /** @internal */ readonly caller: Caller | undefined;

  /** @internal */
  constructor(caller: Caller | undefined) {
    this.caller = caller;
  }

  /** Tasks, actors and objects of this cluster, as Ray's state API lists them. */
  get state(): StateApi {
    return stateApi;
  }

  private core(): CoreWorker {
    return requireCore();
  }

  /** Makes a function a remote function, or a class an actor class. */
  remote<C extends AnyClass>(cls: C, options?: ModuleOptions | SourceOptions): ActorClass<C>;
  remote<F extends AnyFunction>(fn: F, options?: ModuleOptions | SourceOptions): RemoteFunction<Parameters<F>, ReturnType<F>>;
  remote(fn: AnyFunction | AnyClass, options?: ModuleOptions | SourceOptions): unknown {
    const { mod, src } = remoteOptions(options);
    const { d, methods, asyncMethods } = describeFunction(fn, mod, src);
    if (methods.length || isClass(fn)) return new ActorClass({ fn: d, className: d.name, methods, asyncMethods }, {}, this.caller);
    return new RemoteFunction(d, {}, this.caller);
  }

  /** Waits for one object (or each of an array) and returns its value. Rejects with the task's error. */
  get<T>(ref: ObjectRef<T>, options?: { timeout?: number }): Promise<T>;
  get<const R extends readonly ObjectRef<unknown>[]>(refs: R, options?: { timeout?: number }): Promise<Values<R>>;
  get<T>(refs: ObjectRef<T>[], options?: { timeout?: number }): Promise<T[]>;
  async get(refs: ObjectRef | readonly ObjectRef[], options?: { timeout?: number }): Promise<unknown> {
    checkKeys('ray.get', options, getKeys);
    const ids = idsOf('ray.get', refs, true);
    const core = this.core();
    const values = await core.get(ids, timeoutOf('ray.get', options?.timeout), this.caller ?? core.currentCaller());
    return isObjectRef(refs) ? values[0] : values;
  }

  /**
   * Returns `[ready, notReady]`, each in input order, once `numReturns` are ready or `timeout` ms
   * passed. Refs of different types may be mixed: each list is typed as their union.
   */
  async wait<R extends ObjectRef<unknown>>(refs: readonly R[], options: WaitOptions = {}): Promise<[R[], R[]]> {
    checkKeys('ray.wait', options, waitKeys);
    const ids = idsOf('ray.wait', refs, false);
    const core = this.core();
    // As Ray: nothing to wait for is two empty lists, whatever numReturns says.
    if (ids.length === 0) return [[], []];
    if (new Set(ids).size !== ids.length) throw new RayUsageError('ray.wait: the refs must be distinct.');
    const numReturns = options.numReturns ?? 1;
    if (typeof numReturns !== 'number' || !Number.isInteger(numReturns) || numReturns < 0 || numReturns > ids.length) {
      throw new RayUsageError(`ray.wait: numReturns must be an integer from 0 to the number of refs (${ids.length}), got ${describeValue(numReturns)}.`);
    }
    const readyIdx = await core.wait(ids, numReturns, timeoutOf('ray.wait', options.timeout), this.caller ?? core.currentCaller());
    const isReady = new Uint8Array(refs.length);
    for (const i of readyIdx) isReady[i] = 1;
    const ready: R[] = [];
    const notReady: R[] = [];
    refs.forEach((r, i) => (isReady[i] ? ready : notReady).push(r));
    return [ready, notReady];
  }

  /** Stores a value (copied now: later changes to it are not seen) and returns its ref. */
  put<T>(value: T): ObjectRef<T> {
    if (isObjectRef(value)) throw new RayUsageError('ray.put: the value is already an ObjectRef; pass it along as it is.');
    const core = this.core();
    return new ObjectRef<T>(core.put(this.caller ?? core.currentCaller(), value), core.nodeId, true);
  }

  /**
   * Lets go now of what the garbage collector would free later: an ObjectRef (this reference), or
   * a typed array that `get` returned as a view of the shared object store (its hold on the
   * object — the collector cannot see that a small view keeps 64 MiB alive). Using a released
   * view afterwards reads memory that may hold another object. Returns how many were released.
   */
  release(...items: (ObjectRef | ArrayBufferView | readonly (ObjectRef | ArrayBufferView)[])[]): number {
    let n = 0;
    const core = this.core();
    for (const item of items.flat()) {
      if (isObjectRef(item)) { item.release(); n++; }
      else if (ArrayBuffer.isView(item)) { if (core.releaseView(item)) n++; }
      else throw new RayUsageError(`ray.release expects ObjectRefs or views returned by ray.get, got ${item === null ? 'null' : typeof item}.`);
    }
    return n;
  }

  /** Cancels the task that makes `ref`: a queued task never runs; a running one is aborted (`force` stops its worker). */
  cancel(ref: ObjectRef, options: { force?: boolean; recursive?: boolean } = {}): Promise<void> {
    if (!isObjectRef(ref)) throw new RayUsageError(`ray.cancel expects the ObjectRef returned by .remote(), got ${describeValue(ref)}.`);
    checkKeys('ray.cancel', options, cancelKeys);
    ref.checkSession('ray.cancel');
    return this.core().cancel(ref.id, options.force ?? false, options.recursive ?? true);
  }

  /** Stops an actor now. Pending calls fail with RayActorError. With `noRestart: false` it may restart (maxRestarts). */
  kill(actor: ActorHandleBase, options: { noRestart?: boolean } = {}): Promise<void> {
    if (!(actor instanceof ActorHandleBase)) throw new RayUsageError(`ray.kill expects an actor handle (what ActorClass.remote() or ray.getActor() returns), got ${describeValue(actor)}.`);
    checkKeys('ray.kill', options, killKeys);
    return handleCore(actor, 'ray.kill').kill(actor.actorId, options.noRestart ?? true);
  }

  /** The handle of a named actor (created with `.options({ name })`). */
  async getActor<T = any>(name: string, options: { namespace?: string } = {}): Promise<ActorHandle<T>> {
    if (typeof name !== 'string' || name === '') {
      throw new RayUsageError(`ray.getActor expects the actor's name (given with .options({ name }) when it was created), got ${describeValue(name)}.`);
    }
    checkKeys('ray.getActor', options, getActorKeys);
    if (options.namespace !== undefined && (typeof options.namespace !== 'string' || options.namespace === '')) {
      throw new RayUsageError(`ray.getActor: namespace must be a non-empty string, got ${describeValue(options.namespace)}.`);
    }
    const info = await this.core().getActor(name, options.namespace);
    return new ActorHandleBase(info.actorId, info.className, info.methods, info.asyncMethods, this.caller) as ActorHandle<T>;
  }

  /** Where this code runs: job, host, node, task and actor ids. */
  getRuntimeContext(): RuntimeContext {
    const core = this.core();
    const current = core.currentCaller();
    // An actor's methods share the `ray` its instance was made with: the call running now (up to
    // its first await) is the one asked about — its task id, attempt and cancellation signal.
    const sameActor = this.caller?.actorId !== undefined && current.actorId === this.caller.actorId;
    return core.runtimeContext(sameActor ? current : this.caller ?? current);
  }

  nodes(): Promise<NodeState[]> {
    return this.core().state('nodes') as Promise<NodeState[]>;
  }

  clusterResources(): Promise<Record<string, number>> {
    return this.core().state('resources') as Promise<Record<string, number>>;
  }

  availableResources(): Promise<Record<string, number>> {
    return this.core().state('available') as Promise<Record<string, number>>;
  }

  /**
   * Chrome-trace events of recent tasks (open in chrome://tracing or Perfetto). With a filename
   * (Node), also writes them there as JSON, as Ray's `ray.timeline(filename)`; a browser refuses one.
   */
  async timeline(filename?: string): Promise<TraceEvent[]> {
    if (filename !== undefined && (typeof filename !== 'string' || filename === '')) {
      throw new RayUsageError(`ray.timeline(filename): filename must be a non-empty path string, got ${typeof filename === 'string' ? "''" : typeof filename}. Omit it to only get the events.`);
    }
    const events = (await this.core().state('timeline')) as TraceEvent[];
    if (filename !== undefined) await writeTextFile(filename, JSON.stringify(events), 'ray.timeline(filename)');
    return events;
  }
}

export interface RayApi extends Readonly<typeof classes> {}
Object.assign(RayApi.prototype, classes);

export interface StateApi {
  listTasks(filter?: StateFilter): Promise<TaskState[]>;
  listActors(filter?: StateFilter): Promise<ActorState[]>;
  listObjects(filter?: StateFilter): Promise<ObjectState[]>;
  /** The host's shared object store: what it holds, how big it is, what was spilled. */
  objectStore(): Promise<ObjectStoreState>;
  /** Jobs (one per driver run) of the cluster, from the head's table; this host's own job when it is in none. */
  listJobs(filter?: StateFilter): Promise<JobState[]>;
  /**
   * Hosts caught by this host's verified tasks (`verify`): each result that disagreed with the
   * accepted majority, newest first. Such a host gets no more of this host's verified work (no
   * work at all with verify.exclude: 'all'). `ray.on('disagreement')` tells of each as it happens.
   */
  listDisagreements(filter?: StateFilter): Promise<DisagreementState[]>;
  /** This host's verification of its tasks: each host's agreeing results in a row (trust, in adaptive mode), and the counts of tasks accepted on trust and spot-checked. */
  verification(): Promise<VerificationState>;
}

export interface VerificationState {
  /** Hosts that ran replicas of this host's verified tasks. */
  hosts: { hostId: string; hostName: string | null; agreed: number; excluded: boolean; excludedFromAll: boolean }[];
  /** Adaptive mode: tasks run once on a trusted host, accepted unchecked; and those verified anyway (spot checks). */
  acceptedOnTrust: number;
  spotChecks: number;
}

export interface DisagreementState {
  /** The verified task, and its name. */
  taskId: string;
  name: string;
  /** The host whose result disagreed, and its name (null once it left the cluster). */
  hostId: string;
  hostName: string | null;
  /** SHA-256 (hex) of the bytes received from it, and of the accepted result. */
  hash: string;
  acceptedHash: string;
  /** When the majority was reached (ms since the epoch). */
  at: number;
}

export interface JobState {
  jobId: string;
  /** The host whose driver runs it. */
  hostId: string;
  /** That host's name (init({ hostName })); null once it left the cluster. */
  hostName: string | null;
  /** FAILED when its host left the cluster while it ran. */
  state: 'RUNNING' | 'FINISHED' | 'FAILED';
  startedAt: number;
  endedAt: number | null;
}

const stateFilterKeys = ['filters', 'limit'] as const satisfies readonly (keyof StateFilter)[];

/** A state query, its filter checked first: record fields belong under `filters`. */
function listed(what: string, query: 'tasks' | 'actors' | 'objects' | 'jobs' | 'disagreements', f: StateFilter | undefined): Promise<unknown> {
  const field = f && typeof f === 'object' ? Object.keys(f).find((k) => !(stateFilterKeys as readonly string[]).includes(k)) : undefined;
  if (field !== undefined) {
    throw new RayUsageError(
      `ray.state.${what}: unknown option '${field}'. Options here are: filters, limit; to keep records by a field, write { filters: { ${field}: ${describeValue((f as Record<string, unknown>)[field]).replace(/ \(a \w+\)$/, '')} } }.`,
    );
  }
  checkKeys(`ray.state.${what}`, f, stateFilterKeys);
  return requireCore().state(query, f);
}

const stateApi: StateApi = {
  listTasks: (f) => listed('listTasks', 'tasks', f) as Promise<TaskState[]>,
  listActors: (f) => listed('listActors', 'actors', f) as Promise<ActorState[]>,
  listObjects: (f) => listed('listObjects', 'objects', f) as Promise<ObjectState[]>,
  objectStore: () => requireCore().state('store') as Promise<ObjectStoreState>,
  listJobs: (f) => listed('listJobs', 'jobs', f) as Promise<JobState[]>,
  listDisagreements: (f) => listed('listDisagreements', 'disagreements', f) as Promise<DisagreementState[]>,
  verification: () => requireCore().state('verification') as Promise<VerificationState>,
};

function timeoutOf(what: string, t: number | undefined): number | undefined {
  if (t === undefined || t === null) return undefined;
  if (typeof t !== 'number' || !(t >= 0)) throw new RayUsageError(`${what}: timeout is in milliseconds and must be ≥ 0, got ${describeValue(t)}.`);
  return t;
}

export type TaskStateName = 'PENDING_ARGS_AVAIL' | 'PENDING_NODE_ASSIGNMENT' | 'SUBMITTED_TO_WORKER' | 'RUNNING' | 'FINISHED' | 'FAILED';

export interface TaskState {
  taskId: string;
  attempt: number;
  name: string;
  state: TaskStateName;
  type: 'NORMAL_TASK' | 'ACTOR_CREATION_TASK' | 'ACTOR_TASK';
  jobId: string;
  actorId: string | null;
  parentTaskId: string;
  nodeId: string | null;
  errorType: string | null;
  errorMessage: string | null;
  /** Epoch milliseconds. */
  submittedAt: number;
  startedAt: number | null;
  endedAt: number | null;
}

export interface ActorState {
  actorId: string;
  className: string;
  state: 'DEPENDENCIES_UNREADY' | 'PENDING_CREATION' | 'ALIVE' | 'RESTARTING' | 'DEAD';
  name: string | null;
  namespace: string;
  nodeId: string | null;
  numRestarts: number;
  deathCause: string | null;
  /** Why each of its instances died, oldest first: one entry per restart, then the final death's (`deathCause`). */
  deathCauses: string[];
  jobId: string;
}

export interface ObjectState {
  objectId: string;
  owner: string;
  state: 'PENDING' | 'READY' | 'FAILED';
  /** References held: ObjectRefs in the driver plus nodes borrowing it. */
  refCount: number;
  /** Pins by tasks that use it as an argument and by objects that contain it. */
  pins: number;
  taskName: string;
  /** Where its value is: in the task's messages (small values), in the shared store, or spilled out of it. */
  location: 'INLINE' | 'SHARED_MEMORY' | 'SPILLED' | 'REMOTE';
}

export interface ObjectStoreState {
  /** False where threads cannot share memory (a page that is not cross-origin isolated): values are copied. */
  shared: boolean;
  objects: number;
  objectBytes: number;
  /** Bytes in allocated blocks (objects, their headers, the table). */
  usedBytes: number;
  /** Bytes of shared memory the store has now, and may grow to. */
  heapBytes: number;
  maxBytes: number;
  /** Objects spilled (to IndexedDB, or files in Node) and brought back, since init. */
  spilled: number;
  restored: number;
  /** Writes into sealed objects the driver thread found (only with init({ objectStoreChecks: true })). */
  mutations: number;
  /** Lost objects made again by re-running their task (lineage reconstruction), since init. */
  reconstructions: number;
  /** Estimated bytes of task specs kept as lineage now (capped by init({ maxLineageBytes })). */
  lineageBytes: number;
  /** Lineages dropped at the cap since init: their objects cannot be rebuilt if lost. */
  lineageEvictions: number;
  /** Object bytes this host pulled from (`bytesIn`) and served to (`bytesOut`) each other host since init. */
  transfers: { hostId: string; bytesIn: number; bytesOut: number }[];
}

export interface NodeState {
  nodeId: string;
  hostId: string;
  kind: 'task' | 'actor';
  alive: boolean;
  resources: Record<string, number>;
  /** The actor a dedicated actor node hosts. */
  actorId: string | null;
  tasksRunning: number;
  /** Its host's name (init({ hostName })): tells two hosts' nodes apart for people. */
  hostName: string;
  /** Its host's JavaScript engine family: 'v8', 'spidermonkey', 'javascriptcore' or 'unknown' (as its host says). */
  engine: string;
  /** Its host is paused (ray.pause()): it takes no new work from the cluster. */
  paused: boolean;
}

/** One Chrome trace event (the JSON array format chrome://tracing and Perfetto read). */
export interface TraceEvent {
  name: string;
  cat: string;
  ph: 'X' | 'M' | 'i';
  ts: number;
  dur?: number;
  pid: number | string;
  tid: number | string;
  args?: Record<string, unknown>;
}
