/**
 * The host's side of one node (worker): the outbox that batches messages into one postMessage
 * per turn, which functions the node already knows, and the tasks it holds.
 */
import * as Comlink from 'comlink';
import type { Endpoint, NodeProcess } from '../platform/types.js';
import { jsonField, Outbox } from '../shared/outbox.js';
import type { HostToNode } from '../shared/protocol.js';
import type { SchedNode } from '../scheduler/local.js';

/** What a node answers over its control channel (comlink). */
export interface NodeControl {
  stats(): { heapUsed: number; tasksRun: number; functions: number };
  gc(): boolean;
}

export class NodeHandle implements SchedNode {
  inflight = 0;
  blocked = 0;
  lease: Record<string, number> | null = null;
  leaseKey: string | null = null;
  alive = true;
  /** Tasks sent to this node and not finished (the records are the host's: state SUBMITTED_TO_WORKER, this nodeId). */
  taskCount = 0;
  /** Tasks now blocked in ray.get. */
  readonly blockedTasks = new Set<string>();
  /** Object ids this node holds refs to (released if the node dies). */
  readonly borrowed = new Map<string, number>();
  readonly knownFns = new Set<string>();
  readonly control: Comlink.Remote<NodeControl>;
  readonly ready: Promise<void>;
  readonly outbox: Outbox<HostToNode>;
  private markReady!: () => void;

  constructor(
    readonly id: string,
    readonly kind: 'task' | 'actor',
    readonly proc: NodeProcess,
    public actorId: string | null,
  ) {
    this.outbox = new Outbox<HostToNode>((batch) => { if (this.alive) proc.endpoint.send(batch); }, 'tasks');
    this.control = Comlink.wrap<NodeControl>(proc.control as unknown as Comlink.Endpoint);
    this.ready = new Promise((r) => (this.markReady = r));
  }

  get endpoint(): Endpoint {
    return this.proc.endpoint;
  }

  setReady(): void {
    this.markReady();
  }

  post(m: HostToNode): void {
    this.outbox.post(m);
  }

  /** A task whose arguments are plain JSON data, as the TASK_FIELDS of a JSON run. */
  postJsonTask(id: string, fn: string, nret: number, attempt: number, args: unknown[], method?: string): void {
    this.outbox.jsonRun().push(id, fn, nret, attempt, jsonField(args), method ?? null);
    this.outbox.added();
  }
}
