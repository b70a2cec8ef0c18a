/** webray: Ray's tasks, actors, futures and object store for browsers and Node.js. */
export {
  init, shutdown, isInitialized, remote, get, wait, put, release, cancel, kill, getActor, getRuntimeContext,
  nodes, clusterResources, availableResources, timeline, state, pause, resume, isPaused, on, type RayEvents, type InitOptions, type ShutdownOptions,
} from './api/index.js';
export { ObjectRef } from './api/object-ref.js';
export { ActorPool, type PoolCall, type PoolGetOptions } from './api/actor-pool.js';
export { RemoteFunction, ActorClass, type ActorHandle, type ActorMethod, type RemoteArgs, type Returns } from './api/remote.js';
export type { ModuleOptions, SourceOptions, DisagreementState, VerificationState, TaskState, ActorState, ObjectState, ObjectStoreState, JobState, NodeState, TraceEvent, StateApi, TaskStateName } from './api/api.js';
export type { RuntimeContext, WaitOptions, StateFilter } from './api/core.js';
export type { TaskOptions, VerifyOptions, AdaptiveVerify, Tolerance, ActorOptions, MethodOptions, Resources, SchedulingStrategy, Checkpointable } from './shared/options.js';
export {
  RayError, RayTaskError, RayActorError, ActorUnavailableError, WorkerCrashedError, GetTimeoutError, TaskCancelledError, NonSerializableError,
  OwnerDiedError, NodeDiedError, ObjectLostError, ObjectStoreFullError, ObjectMutatedError, PendingCallsLimitExceededError, RayUsageError,
  ClusterAuthError, ModuleChangedError, VerificationError, type ReplicaResult,
} from './shared/errors.js';
export { UnshippableFunctionError } from './shared/source.js';
export { generateSubmitterKey } from './mesh/signing.js';
export { compactPublicKey, keyFingerprint } from './mesh/compact-key.js';
export type { ClusterConfig } from './host/cluster-host.js';
export type { IceServer, SignalServer } from './mesh/peer-signaling.js';
