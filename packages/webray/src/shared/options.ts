/** Options of tasks and actors, as Ray names them (camelCase), with their checks and defaults. */
import { RayUsageError } from './errors.js';
import { checkKeys, describeValue } from './usage.js';

export type Resources = Record<string, number>;

export type SchedulingStrategy = 'DEFAULT' | 'SPREAD' | { nodeId: string; soft?: boolean };

export interface TaskOptions {
  /** How many ObjectRefs the call returns (the function returns an array of that length). Default 1. */
  numReturns?: number;
  /** CPUs the task holds while it runs. Default 1. */
  numCpus?: number;
  /** Custom resources the task holds while it runs, e.g. `{ webgpu: 1 }`. */
  resources?: Resources;
  /** Retries when the worker dies (and, with `retryExceptions`, when the task throws). Default 3; -1 is unlimited. */
  maxRetries?: number;
  /** Retry thrown errors too: `true`, or the error names (e.g. `['NetworkError']`) to retry. Default false. */
  retryExceptions?: boolean | string[];
  schedulingStrategy?: SchedulingStrategy;
  /** A display name for the state API and timeline. */
  name?: string;
  /**
   * Quorum verification for untrusted hosts: run the task on `replicas` distinct hosts and accept
   * its result only when a majority agree (README "Untrusted hosts"). For pure, bit-deterministic
   * leaf tasks only. Default: no verification.
   */
  verify?: VerifyOptions;
}

/** `verify` of a task: how many replicas run at first, and how many at most when they disagree. */
export interface VerifyOptions {
  /** Replicas run at once, each on its own host; a majority of equal results is accepted. At least 2. */
  replicas: number;
  /** Replicas in all, counting those run again after a disagreement. Default `replicas + 1`. */
  maxReplicas?: number;
  /**
   * Adaptive replication: a host earns trust by `trustAfter` results in a row that agreed with an
   * accepted majority; a task then runs once, on a trusted host, and is verified (run as `replicas`
   * replicas, that host among them) only at the rate `spotCheck` (0–1). A disagreement resets the
   * host's trust (and excludes it). A spot check does not take back results accepted on trust.
   */
  adaptive?: AdaptiveVerify;
  /**
   * What a host caught disagreeing with an accepted result is kept from: 'verified' (default) —
   * every later replica of this host's verified tasks; 'all' — also every task and actor this host
   * places (those pinned to its nodes by `{ nodeId }` excepted).
   */
  exclude?: 'verified' | 'all';
  /**
   * Homogeneous redundancy: a task's replicas all run on hosts of one JavaScript engine family
   * (`nodes()`'s `engine`), so results that differ only by an engine's Math precision are not
   * taken for lies. The family with the most hosts able to run it is chosen.
   */
  sameEngine?: boolean;
  /**
   * Numbers agree within a tolerance instead of bit for bit: |a − b| ≤ absolute + relative ·
   * max(|a|, |b|), element by element through arrays, typed arrays, plain objects and Maps (same
   * shape); other values must be equal. Default: equal bytes.
   */
  tolerance?: Tolerance;
}

export interface Tolerance {
  /** Of the larger magnitude. Default 0. */
  relative?: number;
  /** Default 0. */
  absolute?: number;
}

export interface AdaptiveVerify {
  /** Agreeing results in a row that make a host trusted. */
  trustAfter: number;
  /** The share of a trusted host's tasks still verified (0–1). */
  spotCheck: number;
  /**
   * Seeds the spot-check draws so a run replays (tests, chaos runs). Default: a random seed per
   * session — a host that could predict the draws would lie only between checks.
   */
  seed?: number;
}

export interface ActorOptions {
  numCpus?: number;
  resources?: Resources;
  /** How often the actor is restarted after its worker dies. Default 0; -1 is unlimited. */
  maxRestarts?: number;
  /** How often a call in flight when the actor died is retried on the restarted actor. Default 0. */
  maxTaskRetries?: number;
  /** Calls that may run at once (async methods only). Default 1, or 1000 for a class with async methods. */
  maxConcurrency?: number;
  /** Calls submitted but not finished before `.remote` throws. Default -1: unlimited. */
  maxPendingCalls?: number;
  /** A name for `ray.getActor(name)`. */
  name?: string;
  namespace?: string;
  /** 'detached' actors outlive their job (cluster-wide; within one host they live until shutdown). */
  lifetime?: 'detached' | null;
  schedulingStrategy?: SchedulingStrategy;
  /**
   * Checkpoint the actor every N calls (opt-in; needs maxConcurrency 1 and the methods
   * webrayCheckpoint() and webrayRestore(state)): a restart restores the last checkpoint and
   * replays only the calls after it. Default: no checkpoints (a restart runs the constructor only).
   */
  checkpointEvery?: number;
}

/**
 * The hooks of an actor class given `checkpointEvery`: `webrayCheckpoint()` returns the state to
 * keep (any value webray can pass: typed arrays travel fast), `webrayRestore(state)` sets it on a
 * restarted instance, after its constructor and before the calls replayed after the checkpoint.
 */
export interface Checkpointable<S> {
  webrayCheckpoint(): S;
  webrayRestore(state: S): void;
}

export interface MethodOptions {
  numReturns?: number;
  name?: string;
}

const taskKeys = new Set(['numReturns', 'numCpus', 'resources', 'maxRetries', 'retryExceptions', 'schedulingStrategy', 'name', 'verify']);
const verifyKeys = new Set(['replicas', 'maxReplicas', 'adaptive', 'exclude', 'sameEngine', 'tolerance']);
const toleranceKeys = new Set(['relative', 'absolute']);
const adaptiveKeys = new Set(['trustAfter', 'spotCheck', 'seed']);
const actorKeys = new Set(['numCpus', 'resources', 'maxRestarts', 'maxTaskRetries', 'maxConcurrency', 'maxPendingCalls', 'name', 'namespace', 'lifetime', 'schedulingStrategy', 'checkpointEvery']);
const methodKeys = new Set(['numReturns', 'name']);

function checkInt(what: string, name: string, v: unknown, min: number): void {
  if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < min)) {
    throw new RayUsageError(`${what}: option '${name}' must be an integer ≥ ${min}, got ${describeValue(v)}.`);
  }
}

export function checkResources(what: string, numCpus: unknown, resources: unknown): void {
  if (numCpus !== undefined && (typeof numCpus !== 'number' || !(numCpus >= 0))) {
    throw new RayUsageError(`${what}: option 'numCpus' must be a number ≥ 0, got ${describeValue(numCpus)}.`);
  }
  if (resources === undefined) return;
  if (typeof resources !== 'object' || resources === null) {
    throw new RayUsageError(`${what}: option 'resources' must be an object like { webgpu: 1 }, got ${describeValue(resources)}.`);
  }
  for (const [k, v] of Object.entries(resources)) {
    if (k === 'CPU') throw new RayUsageError(`${what}: give CPUs with 'numCpus', not resources.CPU.`);
    if (typeof v !== 'number' || !(v >= 0)) throw new RayUsageError(`${what}: resource '${k}' must be a number ≥ 0, got ${describeValue(v)}.`);
  }
}

function checkStrategy(what: string, s: unknown): void {
  if (s === undefined || s === 'DEFAULT' || s === 'SPREAD') return;
  if (typeof s === 'object' && s !== null && typeof (s as { nodeId?: unknown }).nodeId === 'string') return;
  throw new RayUsageError(`${what}: schedulingStrategy must be 'DEFAULT', 'SPREAD' or { nodeId, soft }, got ${JSON.stringify(s)}.`);
}

export function checkTaskOptions(what: string, o: TaskOptions): void {
  checkKeys(what, o, taskKeys);
  checkInt(what, 'numReturns', o.numReturns, 0);
  checkInt(what, 'maxRetries', o.maxRetries, -1);
  checkResources(what, o.numCpus, o.resources);
  checkStrategy(what, o.schedulingStrategy);
  const re = o.retryExceptions;
  if (re !== undefined && typeof re !== 'boolean' && !(Array.isArray(re) && re.every((x) => typeof x === 'string'))) {
    throw new RayUsageError(`${what}: retryExceptions must be true, false or a list of error names.`);
  }
  checkVerify(what, o.verify, o.schedulingStrategy);
}

function checkVerify(what: string, v: unknown, strategy: unknown): void {
  if (v === undefined) return;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new RayUsageError(`${what}: option 'verify' must be an object like { replicas: 2 }, got ${describeValue(v)}.`);
  }
  checkKeys(`${what}: verify`, v as Record<string, unknown>, verifyKeys);
  const { replicas, maxReplicas } = v as VerifyOptions;
  if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 2) {
    throw new RayUsageError(`${what}: verify.replicas must be an integer ≥ 2 (the hosts that must agree on the result), got ${describeValue(replicas)}.`);
  }
  if (maxReplicas !== undefined && (typeof maxReplicas !== 'number' || !Number.isInteger(maxReplicas) || maxReplicas < replicas)) {
    throw new RayUsageError(`${what}: verify.maxReplicas must be an integer ≥ verify.replicas (${replicas}), got ${describeValue(maxReplicas)}.`);
  }
  const a = (v as VerifyOptions).adaptive;
  if (a !== undefined) {
    if (typeof a !== 'object' || a === null || Array.isArray(a)) {
      throw new RayUsageError(`${what}: verify.adaptive must be an object like { trustAfter: 10, spotCheck: 0.1 }, got ${describeValue(a)}.`);
    }
    checkKeys(`${what}: verify.adaptive`, a as unknown as Record<string, unknown>, adaptiveKeys);
    if (typeof a.trustAfter !== 'number' || !Number.isInteger(a.trustAfter) || a.trustAfter < 1) {
      throw new RayUsageError(`${what}: verify.adaptive.trustAfter must be an integer ≥ 1 (agreeing results in a row that make a host trusted), got ${describeValue(a.trustAfter)}.`);
    }
    if (typeof a.spotCheck !== 'number' || !(a.spotCheck >= 0 && a.spotCheck <= 1)) {
      throw new RayUsageError(`${what}: verify.adaptive.spotCheck must be a number from 0 to 1 (the share of a trusted host's tasks still verified), got ${describeValue(a.spotCheck)}.`);
    }
    if (a.seed !== undefined && (typeof a.seed !== 'number' || !Number.isInteger(a.seed))) {
      throw new RayUsageError(`${what}: verify.adaptive.seed must be an integer, got ${describeValue(a.seed)}.`);
    }
  }
  const { exclude, sameEngine, tolerance } = v as VerifyOptions;
  if (exclude !== undefined && exclude !== 'verified' && exclude !== 'all') {
    throw new RayUsageError(`${what}: verify.exclude must be 'verified' (a caught host gets no more verified work from this host) or 'all' (no more work of any kind), got ${describeValue(exclude)}.`);
  }
  if (sameEngine !== undefined && typeof sameEngine !== 'boolean') {
    throw new RayUsageError(`${what}: verify.sameEngine must be true or false, got ${describeValue(sameEngine)}.`);
  }
  if (tolerance !== undefined) {
    if (typeof tolerance !== 'object' || tolerance === null || Array.isArray(tolerance)) {
      throw new RayUsageError(`${what}: verify.tolerance must be an object like { relative: 1e-12, absolute: 0 }, got ${describeValue(tolerance)}.`);
    }
    checkKeys(`${what}: verify.tolerance`, tolerance as unknown as Record<string, unknown>, toleranceKeys);
    for (const k of ['relative', 'absolute'] as const) {
      const x = tolerance[k];
      if (x !== undefined && (typeof x !== 'number' || !(x >= 0) || x === Infinity)) {
        throw new RayUsageError(`${what}: verify.tolerance.${k} must be a finite number ≥ 0, got ${describeValue(x)}.`);
      }
    }
  }
  if (typeof strategy === 'object' && strategy !== null) {
    throw new RayUsageError(`${what}: verify runs replicas on distinct hosts, so it cannot be pinned to a node ({ nodeId }); drop schedulingStrategy or verify.`);
  }
}

/** Verification is for tasks: an actor's result depends on its state, which one host holds. */
function refuseVerify(what: string, o: unknown): void {
  if (typeof o === 'object' && o !== null && 'verify' in o) {
    throw new RayUsageError(`${what}: 'verify' is for tasks only. An actor's results depend on the state one host keeps, so replicas on other hosts cannot check them; ` +
      'move the computation to verify into a task (ray.remote(fn).options({ verify: { replicas: 2 } })).');
  }
}

export function checkActorOptions(what: string, o: ActorOptions): void {
  refuseVerify(what, o);
  checkKeys(what, o, actorKeys);
  checkInt(what, 'maxRestarts', o.maxRestarts, -1);
  checkInt(what, 'maxTaskRetries', o.maxTaskRetries, -1);
  checkInt(what, 'maxConcurrency', o.maxConcurrency, 1);
  checkInt(what, 'maxPendingCalls', o.maxPendingCalls, -1);
  checkInt(what, 'checkpointEvery', o.checkpointEvery, 1);
  checkResources(what, o.numCpus, o.resources);
  checkStrategy(what, o.schedulingStrategy);
  if (o.name !== undefined && (typeof o.name !== 'string' || o.name === '')) throw new RayUsageError(`${what}: name must be a non-empty string.`);
  if (o.lifetime !== undefined && o.lifetime !== null && o.lifetime !== 'detached') throw new RayUsageError(`${what}: lifetime must be 'detached' or null.`);
}

export function checkMethodOptions(what: string, o: MethodOptions): void {
  refuseVerify(what, o);
  checkKeys(what, o, methodKeys);
  checkInt(what, 'numReturns', o.numReturns, 0);
}

/** What a task or actor holds while it runs: CPU plus custom resources. */
export function demandOf(numCpus: number | undefined, resources: Resources | undefined, defaultCpus: number): Resources {
  const d: Resources = { CPU: numCpus ?? defaultCpus };
  if (resources) for (const [k, v] of Object.entries(resources)) d[k] = v;
  return d;
}
