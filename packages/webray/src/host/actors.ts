/** Actor records: lifecycle (pending → alive → restarting → dead) and each actor's ordered call queue. */
import { RayUsageError } from '../shared/errors.js';
import type { ActorId } from '../shared/ids.js';
import type { ActorOptions, Resources } from '../shared/options.js';
import type { ActorSpec } from '../api/core.js';
import type { NodeHandle } from './node-handle.js';
import type { TaskRecord } from './task-record.js';

export type ActorStateName = 'DEPENDENCIES_UNREADY' | 'PENDING_CREATION' | 'ALIVE' | 'RESTARTING' | 'DEAD';

export interface ActorRecord {
  id: ActorId;
  spec: ActorSpec;
  options: ActorOptions;
  /** The creation task: its args (kept for restarts) and its state. */
  creation: TaskRecord;
  state: ActorStateName;
  node: NodeHandle | null;
  name: string | null;
  namespace: string;
  numRestarts: number;
  maxRestarts: number;
  maxTaskRetries: number;
  maxConcurrency: number;
  maxPendingCalls: number;
  /** Calls submitted and not finished (for maxPendingCalls). */
  pendingCalls: number;
  /** Calls not yet sent to the node, in submission order. */
  queue: TaskRecord[];
  deathCause: string | null;
  /** Why each instance died, oldest first: one per restart, then the final death's. */
  deathCauses: string[];
  /** Resources held for the actor's life (only those given explicitly, as in Ray). */
  held: Resources | null;
  jobId: string;
  detached: boolean;
  /** The host whose job created it, when another host placed it here: it ends with that job unless detached. */
  ownerHost?: string;
  /** Sends what can be sent of the queue (made once per actor: every call's readiness ends here). */
  pump: () => void;
  /** `Class.method` per method, the calls' task names (made once, not per call). */
  callNames: Map<string, string>;
}

/** Creating an actor under a name a live actor holds (on this host, or anywhere in the cluster: `where`). */
export function nameTakenError(name: string, namespace: string, where = ''): RayUsageError {
  return new RayUsageError(`An actor named '${name}' already exists in namespace '${namespace}'${where}. Use ray.getActor('${name}') to reach it, or pick another name.`);
}

export class ActorTable {
  readonly actors = new Map<ActorId, ActorRecord>();
  private readonly named = new Map<string, ActorId>();

  static nameKey(namespace: string, name: string): string {
    return namespace + '\u0000' + name;
  }

  add(a: ActorRecord): void {
    this.actors.set(a.id, a);
    if (a.name !== null) this.named.set(ActorTable.nameKey(a.namespace, a.name), a.id);
  }

  get(id: ActorId): ActorRecord | undefined {
    return this.actors.get(id);
  }

  byName(namespace: string, name: string): ActorRecord | undefined {
    const id = this.named.get(ActorTable.nameKey(namespace, name));
    return id === undefined ? undefined : this.actors.get(id);
  }

  /** A dead actor's name is free again, as in Ray. */
  releaseName(a: ActorRecord): void {
    if (a.name !== null && this.named.get(ActorTable.nameKey(a.namespace, a.name)) === a.id) {
      this.named.delete(ActorTable.nameKey(a.namespace, a.name));
    }
  }

  /** A class declaring async methods is an async actor: many calls may run at once. */
  static defaultConcurrency(spec: ActorSpec): number {
    return spec.asyncMethods.length > 0 ? 1000 : 1;
  }
}
