/**
 * What a host's parts share: its identity and tables. HostRuntime holds them and hands itself to
 * each part as this interface, so the parts import no runtime (imports flow one way).
 */
import type { TaskId } from '../shared/ids.js';
import type { FunctionDescriptor } from '../shared/protocol.js';
import type { LocalScheduler } from '../scheduler/local.js';
import type { ActorTable } from './actors.js';
import type { ClusterHost } from './cluster-host.js';
import type { NodeHandle } from './node-handle.js';
import type { RecoveryStats } from './object-recovery.js';
import type { ObjectTable } from './objects.js';
import type { StoreOwner } from './store-owner.js';
import type { TaskLog, TaskRecord } from './task-record.js';

export interface HostContext {
  readonly jobId: string;
  readonly hostId: string;
  /** The driver's node id: the owner of what the driver submits and puts. */
  readonly nodeId: string;
  /** Its name for people (init({ hostName })). */
  readonly hostName: string;
  /** Its JavaScript engine's family (Platform.engine). */
  readonly engine: string;
  readonly namespace: string;
  /** The driver's root task (it has no record). */
  readonly driverTaskId: TaskId;
  readonly objects: ObjectTable;
  /** Tasks not yet ended, by id (actor creations until the actor is alive). */
  readonly tasks: Map<TaskId, TaskRecord>;
  readonly log: TaskLog;
  readonly scheduler: LocalScheduler<TaskRecord>;
  readonly nodes: Map<string, NodeHandle>;
  readonly actors: ActorTable;
  readonly functions: Map<string, FunctionDescriptor>;
  /** The shared object store; undefined where threads cannot share memory. */
  readonly store: StoreOwner | undefined;
  /** This host's membership of a cluster, if it joined one. */
  readonly cluster: ClusterHost | undefined;
  /** What object recovery did (shown by the state API). */
  readonly recoveryStats: RecoveryStats;
  /** Set by shutdown: nothing new is started. */
  readonly closed: boolean;
  /** Keeps a Node process alive until the returned function is called (a no-op in browsers). */
  holdProcess(): () => void;
}
