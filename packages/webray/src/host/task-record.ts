/** A task as its owner tracks it, from submission to its final state, and the bounded event log. */
import type { SerializedError } from '../shared/errors.js';
import type { ActorId, ObjectId, TaskId } from '../shared/ids.js';
import type { Resources, SchedulingStrategy, VerifyOptions } from '../shared/options.js';
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
  /** Set on a task another host sent here to run: that host owns it, and gets its results. */
  remoteOwner: string | undefined;
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
  /** A task run with `verify` (host/verification.ts): it runs as replicas, never itself. */
  verify?: VerifyOptions;
  /** A replica of that verified task: its id, and the host this attempt is placed on. */
  replicaOf?: TaskId;
  onHost?: string;
  /** Runs a verified replica here (owned here or sent by its owner): its code may not submit work. */
  verified?: true;
}

/** What the state API and timeline read of a task: live records and logged ones alike. */
export type TaskView = Pick<TaskRecord, 'id' | 'attempt' | 'type' | 'name' | 'state' | 'parent' | 'nodeId' | 'actorId' | 'submittedAt' | 'startedAt' | 'endedAt'> & {
  error: { name: string; message: string; cause?: { name: string } } | undefined;
};

const stateNames: TaskStateName[] = ['PENDING_ARGS_AVAIL', 'PENDING_NODE_ASSIGNMENT', 'SUBMITTED_TO_WORKER', 'RUNNING', 'FINISHED', 'FAILED'];

/**
 * Finished tasks kept for the state API and the timeline: the newest `capacity` of them, in
 * columns, so a million tasks leave no million records for the garbage collector to promote.
 */
export class TaskLog {
  private next = 0;
  private count = 0;
  private readonly ids: (string | undefined)[];
  private readonly names: string[];
  private readonly parents: string[];
  private readonly nodes: (string | null)[];
  private readonly actorIds: (string | null)[];
  private readonly errors: (TaskView['error'])[];
  private readonly small: Uint8Array;
  private readonly attempts: Int32Array;
  private readonly times: Float64Array;

  constructor(readonly capacity: number) {
    this.ids = new Array(capacity);
    this.names = new Array(capacity);
    this.parents = new Array(capacity);
    this.nodes = new Array(capacity);
    this.actorIds = new Array(capacity);
    this.errors = new Array(capacity);
    this.small = new Uint8Array(capacity * 2);
    this.attempts = new Int32Array(capacity);
    this.times = new Float64Array(capacity * 3);
  }

  add(t: TaskView): void {
    if (this.capacity === 0) return;
    const i = this.next;
    this.ids[i] = t.id;
    this.names[i] = t.name;
    this.parents[i] = t.parent;
    this.nodes[i] = t.nodeId;
    this.actorIds[i] = t.actorId;
    this.errors[i] = t.error ? { name: t.error.name, message: t.error.message, ...(t.error.cause ? { cause: { name: t.error.cause.name } } : {}) } : undefined;
    this.small[2 * i] = stateNames.indexOf(t.state);
    this.small[2 * i + 1] = t.type;
    this.attempts[i] = t.attempt;
    this.times[3 * i] = t.submittedAt;
    this.times[3 * i + 1] = t.startedAt ?? NaN;
    this.times[3 * i + 2] = t.endedAt ?? NaN;
    this.next = (i + 1) % this.capacity;
    if (this.count < this.capacity) this.count++;
  }

  /** Oldest first, or newest first with `newestFirst`. */
  *records(newestFirst = false): IterableIterator<TaskView> {
    const start = this.count < this.capacity ? 0 : this.next;
    for (let k = 0; k < this.count; k++) {
      const i = (start + (newestFirst ? this.count - 1 - k : k)) % this.capacity;
      const started = this.times[3 * i + 1]!;
      const ended = this.times[3 * i + 2]!;
      yield {
        id: this.ids[i]!, name: this.names[i]!, parent: this.parents[i]!, nodeId: this.nodes[i]!, actorId: this.actorIds[i]!,
        error: this.errors[i], state: stateNames[this.small[2 * i]!]!, type: this.small[2 * i + 1]! as TaskRecord['type'],
        attempt: this.attempts[i]!, submittedAt: this.times[3 * i]!,
        startedAt: Number.isNaN(started) ? null : started, endedAt: Number.isNaN(ended) ? null : ended,
      };
    }
  }
}
