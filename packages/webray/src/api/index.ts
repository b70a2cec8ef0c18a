/**
 * webray's public API, mirroring Ray: `init`, `remote`, `get`, `wait`, `put`, `cancel`, `kill`,
 * `getActor`, `getRuntimeContext`, the state API and `timeline`.
 */
import { RayUsageError } from '../shared/errors.js';
import { newJobId } from '../shared/ids.js';
import { checkResources, type Resources } from '../shared/options.js';
import { checkKeys, describeValue } from '../shared/usage.js';
import { isHostName, MAX_HOST_NAME } from '../shared/host-name.js';
import { loadPlatform } from '../platform/detect.js';
import { workerResourceLimitKeys, type Platform, type WorkerResourceLimits } from '../platform/types.js';
import { HostRuntime } from '../host/runtime.js';
import type { ClusterConfig } from '../host/cluster-host.js';
import { checkClusterConfig } from '../host/cluster-config.js';
import { apiNames, RayApi, type DisagreementState } from './api.js';
import { currentCore, setCurrentCore } from './core.js';

export interface InitOptions {
  /** Task nodes (workers) to start. Default: the machine's logical CPUs (at least 1). */
  numWorkers?: number;
  /** Custom resources this host offers, e.g. `{ webgpu: 1 }`. CPUs are `numWorkers`. */
  resources?: Resources;
  /** Namespace for named actors. Default: 'default'. */
  namespace?: string;
  /** How many finished tasks `state.listTasks()` and `timeline()` remember. Default 10,000. */
  taskLogSize?: number;
  /** Bytes of shared memory the object store starts with. Default 64 MiB (grows on demand). */
  objectStoreMemory?: number;
  /**
   * Bytes the object store may grow to. Default 2 GiB; at most 4 GiB (a wasm32 memory). If the
   * engine refuses to reserve that much (phones), the largest maximum it grants is used.
   */
  objectStoreMaxMemory?: number;
  /**
   * Debug mode: checksum every object when sealed and check it at each read and release, so a
   * write into a sealed (immutable) object through a view is reported. Costs a pass over the bytes.
   */
  objectStoreChecks?: boolean;
  /** Values with at least this many bytes of typed arrays and strings go to the store. Default 100 KiB (as Ray). */
  maxInlineBytes?: number;
  /**
   * Node only: heap and stack limits of each worker, in MB, as Node's worker_threads
   * `resourceLimits`, e.g. `{ maxOldGenerationSizeMb: 512 }`. A worker that runs out of memory
   * dies; its tasks are retried (maxRetries) or fail with WorkerCrashedError saying so. Default:
   * Node's limits.
   */
  workerResourceLimits?: WorkerResourceLimits;
  /**
   * Bytes of task specs the owner keeps to rebuild lost objects (lineage: for each object still
   * referenced, the task that made it). Past it the oldest lineage is dropped, and those objects
   * fail with ObjectLostError if lost. Default 64 MiB.
   */
  maxLineageBytes?: number;
  /** Join (or start) a cluster of hosts: same id and token on every host. */
  cluster?: ClusterConfig;
  /**
   * This host's name for people, shown in `nodes()` and `state.listJobs()` rows and the timeline
   * (1–64 characters, no control or invisible formatting characters). Default: in a tab `tab <first 4 of its host id>`,
   * in Node the machine's name and the pid.
   */
  hostName?: string;
  /** @internal A platform other than the detected one (tests). */
  platform?: Platform;
}

const initKeys = [
  'numWorkers', 'resources', 'namespace', 'taskLogSize', 'objectStoreMemory', 'objectStoreMaxMemory',
  'objectStoreChecks', 'maxInlineBytes', 'workerResourceLimits', 'maxLineageBytes', 'cluster', 'hostName',
] as const satisfies readonly (keyof InitOptions)[];

let host: HostRuntime | undefined;
let starting: Promise<void> | undefined;
let isolationNoted = false;
/** Stops watching for the end of the script (a Node script, a page) in a cluster (see Platform.whenScriptDone). */
let unwatch: (() => void) | undefined;

/** Starts webray in this tab or process: a host with `numWorkers` nodes. */
export async function init(options: InitOptions = {}): Promise<void> {
  if (host || starting) throw new RayUsageError('webray is already initialised: call ray.shutdown() before calling ray.init() again.');
  if (currentCore()) throw new RayUsageError('ray.init() cannot be called inside a task or actor: the worker is already part of the cluster.');
  starting = (async () => {
    const h = await createHost(options);
    setCurrentCore(h);
    try {
      await h.start();
    } catch (e) {
      setCurrentCore(undefined);
      await h.shutdown();
      throw e;
    }
    host = h;
    // WebRTC connections keep a Node process alive where nothing shows it: a script that joined
    // a cluster and forgot shutdown() would never end; a closing tab would leave its peers to
    // notice its silence. Shut down (saying goodbye to the cluster) once it is done.
    if (options.cluster) unwatch = h.platform.whenScriptDone?.((atOnce) => void (atOnce ? detach()?.shutdownAtOnce() : shutdown()));
  })();
  try { await starting; } finally { starting = undefined; }
}

/** A host runtime for these options, not yet started. */
async function createHost(options: InitOptions): Promise<HostRuntime> {
  checkInitOptions(options);
  const platform = options.platform ?? (await loadPlatform());
  if (options.workerResourceLimits !== undefined && platform.name !== 'node') {
    throw new RayUsageError(`ray.init: workerResourceLimits works only in Node (worker_threads); a browser cannot limit a Web Worker's memory. Leave it out in a ${platform.name}.`);
  }
  if (platform.name === 'browser' && !globalThis.crossOriginIsolated && !isolationNoted) {
    isolationNoted = true;
    console.info(
      'webray: this page is not cross-origin isolated, so workers cannot share memory: there is no shared object store and large objects are copied between them. ' +
      'Serve the page with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp (the webray/vite plugin sets both).',
    );
  }
  const numWorkers = options.numWorkers ?? Math.max(1, platform.cpuCount);
  if (options.cluster !== undefined) await checkClusterConfig(options.cluster);
  return new HostRuntime(platform, {
    numWorkers,
    resources: options.resources ?? {},
    namespace: options.namespace ?? 'default',
    taskLogSize: options.taskLogSize ?? 10_000,
    apiNames,
    cluster: options.cluster,
    workerResourceLimits: options.workerResourceLimits,
    maxLineageBytes: positive('maxLineageBytes', options.maxLineageBytes, 64 * MiB),
    hostName: options.hostName,
    store: {
      initialBytes: positive('objectStoreMemory', options.objectStoreMemory, 64 * MiB),
      maxBytes: positive('objectStoreMaxMemory', options.objectStoreMaxMemory, 2048 * MiB),
      inlineLimit: positive('maxInlineBytes', options.maxInlineBytes, 100 * 1024),
      checks: options.objectStoreChecks ?? false,
    },
  }, newJobId());
}

/**
 * @internal A started host that this thread's API is not bound to: a host that only serves the
 * cluster (runs others' work), e.g. several hosts in one process in tests.
 */
export async function startServingHost(options: InitOptions): Promise<HostRuntime> {
  const h = await createHost(options);
  try {
    await h.start();
  } catch (e) {
    await h.shutdown();
    throw e;
  }
  return h;
}

const MiB = 1024 * 1024;

/** Refuses what init cannot use, before anything starts: unknown keys, values of the wrong type. */
function checkInitOptions(o: InitOptions): void {
  checkKeys('ray.init', o, initKeys, ['platform']);
  if (o.numWorkers !== undefined && (typeof o.numWorkers !== 'number' || !Number.isInteger(o.numWorkers) || o.numWorkers < 1)) {
    throw new RayUsageError(`ray.init: numWorkers must be an integer ≥ 1, got ${describeValue(o.numWorkers)}. Omit it for one worker per logical CPU.`);
  }
  if (o.resources !== undefined && typeof o.resources === 'object' && o.resources !== null && 'CPU' in o.resources) {
    throw new RayUsageError('ray.init: give CPUs with numWorkers (one task node per CPU), not resources.CPU; resources are custom ones, e.g. { webgpu: 1 }.');
  }
  checkResources('ray.init', undefined, o.resources);
  if (o.namespace !== undefined && (typeof o.namespace !== 'string' || o.namespace === '')) {
    throw new RayUsageError(`ray.init: namespace must be a non-empty string, got ${describeValue(o.namespace)}.`);
  }
  if (o.taskLogSize !== undefined && (typeof o.taskLogSize !== 'number' || !Number.isInteger(o.taskLogSize) || o.taskLogSize < 0)) {
    throw new RayUsageError(`ray.init: taskLogSize must be an integer ≥ 0 (finished tasks remembered), got ${describeValue(o.taskLogSize)}.`);
  }
  checkKeys('ray.init: workerResourceLimits', o.workerResourceLimits, workerResourceLimitKeys);
  for (const k of workerResourceLimitKeys) {
    const v = o.workerResourceLimits?.[k];
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)) {
      throw new RayUsageError(`ray.init: workerResourceLimits.${k} must be a positive number of MB, got ${describeValue(v)}; e.g. { ${k}: 512 }.`);
    }
  }
  if (o.hostName !== undefined && !isHostName(o.hostName)) {
    throw new RayUsageError(`ray.init: hostName must be 1–${MAX_HOST_NAME} characters without control characters or leading/trailing spaces (a name people read, e.g. 'lab laptop'), got ${describeValue(o.hostName)}.`);
  }
  if (o.objectStoreChecks !== undefined && typeof o.objectStoreChecks !== 'boolean') {
    throw new RayUsageError(`ray.init: objectStoreChecks must be true or false, got ${describeValue(o.objectStoreChecks)}.`);
  }
}

function positive(name: string, v: number | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new RayUsageError(`ray.init: ${name} must be a positive number of bytes, got ${describeValue(v)}.`);
  return v;
}

export function isInitialized(): boolean {
  return host !== undefined;
}

export interface ShutdownOptions {
  /**
   * Leave the cluster gracefully first (a volunteer pressing Leave): take no new work, hand back
   * other hosts' tasks not yet started, let those running finish and their owners take the results
   * kept here, so nothing is retried or rebuilt; actors here restart elsewhere (maxRestarts), as on
   * a host loss. Closing a tab instead is a crash, recovered by retries and lineage.
   */
  graceful?: boolean;
  /** With graceful: milliseconds to wait at most; then it leaves anyway, as on a crash. Default 30,000. */
  timeout?: number;
}

/** Stops every node and forgets all tasks, actors and objects of this host (after leaving its cluster gracefully with `{ graceful: true }`). */
export async function shutdown(options: ShutdownOptions = {}): Promise<void> {
  checkKeys('ray.shutdown', options, ['graceful', 'timeout']);
  if (options.graceful !== undefined && typeof options.graceful !== 'boolean') {
    throw new RayUsageError(`ray.shutdown: graceful must be true or false, got ${describeValue(options.graceful)}.`);
  }
  if (options.timeout !== undefined && (typeof options.timeout !== 'number' || !(options.timeout >= 0) || !options.graceful)) {
    throw new RayUsageError(`ray.shutdown: timeout is the milliseconds a graceful leave may take (≥ 0, with graceful: true), got ${describeValue(options.timeout)}${options.graceful ? '' : ' without graceful: true'}.`);
  }
  await detach()?.shutdown(options.graceful ? { timeoutMs: options.timeout ?? 30_000 } : undefined);
}

/** The running host, no longer the API's (undefined if there is none). */
function detach(): HostRuntime | undefined {
  const h = host;
  host = undefined;
  unwatch?.();
  unwatch = undefined;
  if (h) setCurrentCore(undefined);
  return h;
}

/** The host this thread started (init), for what only a host does: `what` names the call in the error. */
function startedHost(what: string): HostRuntime {
  if (host) return host;
  if (currentCore()) throw new RayUsageError(`${what} works on a host (the tab or Node process that called ray.init()), not inside a task or actor.`);
  throw new RayUsageError(`${what}: webray is not initialised. Call ray.init() first.`);
}

/**
 * Stops taking new work from the cluster (a volunteer lending their tab no more for now): other
 * hosts place nothing here; tasks they sent that have not reached a worker go back to them unrun
 * (no retry spent), and run elsewhere; tasks already on a worker finish; actors here keep serving.
 * This host's own tasks run on other hosts meanwhile, while one takes work (else here). A task
 * pinned to a node here ({ nodeId, soft: false }) waits for resume(). Without a cluster it does nothing.
 */
export function pause(): void {
  startedHost('ray.pause()').pause();
}

/** Takes work from the cluster again after pause(). */
export function resume(): void {
  startedHost('ray.resume()').resume();
}

/** Is this host paused (pause() called, resume() not yet)? */
export function isPaused(): boolean {
  return startedHost('ray.isPaused()').paused;
}

/** What `ray.on` can listen to, and what each listener is given. */
export interface RayEvents {
  /** A host a verified task of this host caught returning another result than the accepted one (the row `state.listDisagreements()` adds). */
  disagreement: DisagreementState;
}

/**
 * Calls `listener` on each `event` of this host from now until shutdown: `'disagreement'`, a host
 * caught by a verified task (README "Untrusted hosts"). Returns a function that removes it.
 */
export function on<E extends keyof RayEvents>(event: E, listener: (e: RayEvents[E]) => void): () => void {
  if (event !== 'disagreement') throw new RayUsageError(`ray.on(event): unknown event ${describeValue(event)}; the events are 'disagreement'.`);
  if (typeof listener !== 'function') throw new RayUsageError(`ray.on('${event}', listener): listener must be a function, got ${describeValue(listener)}.`);
  return startedHost(`ray.on('${event}')`).onDisagreement(listener as (e: DisagreementState) => void);
}

/** The ambient API: bound to the driver, or inside a node to the task running right now. */
const ambient = new RayApi(undefined);

export const remote: RayApi['remote'] = ambient.remote.bind(ambient) as RayApi['remote'];
export const get: RayApi['get'] = ambient.get.bind(ambient) as RayApi['get'];
export const wait: RayApi['wait'] = ambient.wait.bind(ambient);
export const put: RayApi['put'] = ambient.put.bind(ambient);
export const release: RayApi['release'] = ambient.release.bind(ambient);
export const cancel: RayApi['cancel'] = ambient.cancel.bind(ambient);
export const kill: RayApi['kill'] = ambient.kill.bind(ambient);
export const getActor: RayApi['getActor'] = ambient.getActor.bind(ambient);
export const getRuntimeContext: RayApi['getRuntimeContext'] = ambient.getRuntimeContext.bind(ambient);
export const nodes: RayApi['nodes'] = ambient.nodes.bind(ambient);
export const clusterResources: RayApi['clusterResources'] = ambient.clusterResources.bind(ambient);
export const availableResources: RayApi['availableResources'] = ambient.availableResources.bind(ambient);
export const timeline: RayApi['timeline'] = ambient.timeline.bind(ambient);
export const state: RayApi['state'] = ambient.state;
