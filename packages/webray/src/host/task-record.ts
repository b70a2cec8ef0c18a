/** A task as its owner tracks it, from submission to its final state, and the bounded event log. */
import type { SerializedError } from '../shared/errors.js';
import type { ActorId, ObjectId, TaskId } from '../shared/ids.js';
import type { Resources, SchedulingStrategy } from '../shared/options.js';
import type { FunctionDescriptor } from '../shared/protocol.js';
import type { TaskStateName } from '../api/api.js';

export const NORMAL = 0;
export const ACTOR_CREATION = 1;
export const ACTOR_TASK = 2;

export interface TaskRecord {
  id: TaskId;
  attempt: number;
  type: typeof NORMAL | typeof ACTOR_CREATION | typeof ACTOR_TASK;
  fn: FunctionDescriptor;
  name: string;
  /** Arguments as they cross threads; at `argRefs` positions they hold object ids until resolved. */
  args: unknown[];
  nested: boolean;
  argRefs: number[] | undefined;
  /** Every object this task pins until it ends (top-level and nested ref arguments). */
  pinned: ObjectId[] | undefined;
  returns: ObjectId[];
  parent: TaskId;
  /** The node (or 'driver') that submitted it: the owner of its returns. */
  owner: string;
  demand: Resources;
  /** Scheduling class: tasks with the same demand share worker leases. */
  key: string;
  strategy: SchedulingStrategy;
  retriesLeft: number;
  retryExceptions: boolean | string[];
  pendingDeps: number;
  state: TaskStateName;
  nodeId: string | null;
  actorId: ActorId | null;
  method: string | undefined;
  children: TaskId[] | undefined;
  cancelled: boolean;
  submittedAt: number;
  startedAt: number | null;
  endedAt: number | null;
  error: SerializedError | undefined;
}

export function now(): number {
  return performance.timeOrigin + performance.now();
}

/** Finished tasks kept for the state API and the timeline: the newest `capacity` of them. */
export class TaskLog {
  private readonly ring: (TaskRecord | undefined)[];
  private next = 0;
  constructor(readonly capacity: number) {
    this.ring = new Array(capacity);
  }

  add(t: TaskRecord): void {
    if (this.capacity === 0) return;
    // Drop what only a live task needs, so the log holds no user data.
    t.args = [];
    t.pinned = undefined;
    t.children = undefined;
    this.ring[this.next] = t;
    this.next = (this.next + 1) % this.capacity;
  }

  *records(): IterableIterator<TaskRecord> {
    for (let i = 0; i < this.capacity; i++) {
      const t = this.ring[(this.next + i) % this.capacity];
      if (t) yield t;
    }
  }
}
