/**
 * The host's nodes (workers): spawned, their messages routed to the part that owns them, and their
 * deaths — a task node is replaced and its tasks retried; an actor's node goes to the actor manager.
 */
import type { CoreWorker } from '../api/core.js';
import { refsInside } from '../shared/codec.js';
import { RayUsageError, serializeError } from '../shared/errors.js';
import type { ActorId, TaskId } from '../shared/ids.js';
import { DONE_FIELDS, type HostToNode, type NodeToHost, type SubmitMsg } from '../shared/protocol.js';
import { fromJsonField, messagesOf, type Batch, type JsonField } from '../shared/outbox.js';
import type { Platform, WorkerResourceLimits } from '../platform/types.js';
import type { ActorManager, ActorNodes } from './actor-manager.js';
import type { HostContext } from './host-context.js';
import { NodeHandle } from './node-handle.js';
import type { NodePolling, ObjectGets } from './object-gets.js';
import type { ReferenceCounter } from './reference-counter.js';
import { placeOf, type TaskManager } from './task-manager.js';

/** What a node's `call` messages ask of the host (a task calling ray.wait, ray.cancel, …). */
export type NodeCalls = Pick<CoreWorker, 'wait' | 'cancel' | 'kill' | 'getActor' | 'state'>;

export class NodePool implements ActorNodes, NodePolling {
  private counter = 0;

  constructor(
    private readonly host: HostContext,
    private readonly platform: Platform,
    private readonly apiNames: readonly string[],
    private readonly limits: WorkerResourceLimits | undefined,
    private readonly tasks: TaskManager,
    private readonly actors: ActorManager,
    private readonly refs: ReferenceCounter,
    private readonly gets: ObjectGets,
    private readonly calls: NodeCalls,
  ) {}

  spawn(kind: 'task' | 'actor', actorId: ActorId | null): NodeHandle {
    const { hostId, jobId, namespace } = this.host;
    const nodeId = `${hostId}.${++this.counter}`;
    const proc = this.platform.spawn({
      nodeId, hostId, jobId, namespace, kind, apiNames: [...this.apiNames], store: this.host.store?.boot,
    }, this.limits);
    const node = new NodeHandle(nodeId, kind, proc, actorId);
    node.outbox.onUnsendable = (m, e) => this.unsendable(m, e);
    this.host.nodes.set(nodeId, node);
    proc.endpoint.listen((batch) => this.receive(node, batch as Batch));
    proc.onExit((reason) => this.died(node, reason));
    if (kind === 'task') {
      node.ready.then(() => {
        if (!node.alive) return;
        this.host.scheduler.addNode(node);
        this.tasks.scheduleDispatch();
      });
    }
    return node;
  }

  async kill(node: NodeHandle, reason: string, restartable = false): Promise<void> {
    if (!node.alive) return;
    await node.proc.terminate();
    this.died(node, reason, !restartable);
  }

  private receive(node: NodeHandle, batch: Batch): void {
    for (const m of messagesOf<NodeToHost>(batch, 'dones')) {
      try {
        this.handle(node, m);
      } catch (e) {
        console.error(`webray: host failed to handle '${m.t}' from node ${node.id}:`, e);
      }
    }
  }

  private handle(node: NodeHandle, m: NodeToHost): void {
    const { tasks } = this;
    switch (m.t) {
      case 'ready': node.setReady(); return;
      case 'done': tasks.ended(node, m.id, m.values, !!m.n, m.start, m.end); return;
      case 'failed': tasks.ended(node, m.id, undefined, false, m.start, m.end, m.error); return;
      case 'dones': {
        const run = JSON.parse(m.j as string) as unknown[];
        for (let i = 0; i < run.length; i += DONE_FIELDS) {
          tasks.ended(node, run[i] as TaskId, fromJsonField(run[i + 1] as JsonField), false, run[i + 2] as number, run[i + 3] as number);
        }
        return;
      }
      case 'started': tasks.started(node, m.id, m.at); return;
      case 'submit': this.submit(node, m); return;
      case 'get': this.gets.forNode(node, m.req, m.ids); return;
      case 'blocked': tasks.blocked(node, m.task, true); return;
      case 'unblocked': tasks.blocked(node, m.task, false); return;
      case 'put': {
        const { objects } = this.host;
        const e = objects.create(m.id, node.id, undefined);
        objects.resolve(e, m.v, !!m.n, m.n ? refsInside(m.v) : undefined, placeOf(m.v));
        return;
      }
      case 'borrow': this.refs.borrow(node, m.ids); return;
      case 'release': this.refs.release(node, m.ids); return;
      case 'fn': tasks.registerFunction(m.d); return;
      case 'actor-ready': this.actors.ready(node, m.actor); return;
      case 'actor-failed': this.actors.creationFailed(m.actor, m.error); return;
      case 'call': this.call(node, m.req, m.op, m.arg); return;
    }
  }

  private reply(node: NodeHandle, req: number, p: Promise<unknown>): void {
    p.then(
      (value) => node.post({ t: 'reply', req, ok: true, value }),
      (e) => node.post({ t: 'reply', req, ok: false, error: serializeError(e) }),
    );
  }

  private call(node: NodeHandle, req: number, op: string, arg: any): void {
    const { calls } = this;
    switch (op) {
      case 'wait': this.reply(node, req, calls.wait(arg.ids, arg.numReturns, arg.timeout, undefined)); return;
      case 'cancel': this.reply(node, req, calls.cancel(arg.id, arg.force, arg.recursive)); return;
      case 'kill': this.reply(node, req, calls.kill(arg.id, arg.noRestart)); return;
      case 'getActor': this.reply(node, req, calls.getActor(arg.name, arg.namespace)); return;
      case 'state': this.reply(node, req, calls.state(arg.query, arg.filter)); return;
      case 'space': this.reply(node, req, this.host.store ? this.host.store.makeRoom(arg.bytes) : Promise.resolve(false)); return;
      default: this.reply(node, req, Promise.reject(new RayUsageError(`unknown control op ${op}`)));
    }
  }

  /** A task on `node` submitted a task, an actor call or an actor. */
  private submit(node: NodeHandle, m: SubmitMsg): void {
    const fn = this.host.functions.get(m.fn);
    const args = { args: m.args, argRefs: m.refArgs, nested: !!m.n };
    if (m.create) {
      this.actors.create(m.create.actor, node.id, m.parent, { fn: fn!, className: fn!.name, methods: m.create.methods, asyncMethods: m.create.asyncMethods }, args, m.create.options);
      return;
    }
    if (m.actor) {
      try {
        this.actors.call(m.id, node.id, m.parent, m.actor, m.method!, args, m.options);
      } catch (e) {
        this.tasks.failNew(m.id, node.id, m.options.numReturns ?? 1, serializeError(e));
      }
      return;
    }
    this.tasks.submitFromNode(node, m, fn);
  }

  private died(node: NodeHandle, reason: string, deliberate = false): void {
    if (!node.alive) return;
    node.alive = false;
    this.host.nodes.delete(node.id);
    this.refs.releaseAll(node);
    if (node.kind === 'actor') {
      if (!deliberate) this.actors.nodeDied(node.actorId!, node, reason);
      return;
    }
    this.tasks.nodeLost(node, reason);
    if (!this.host.closed) this.spawn('task', null);
  }

  private unsendable(m: HostToNode, e: unknown): void {
    const id = (m as { id?: TaskId }).id;
    const t = id ? this.host.tasks.get(id) : undefined;
    if (!t) { console.error('webray: could not send a message to a node:', e); return; }
    this.tasks.unsendable(t, e);
  }

  polls(): boolean {
    return !!this.host.nodes.values().next().value?.endpoint.poll;
  }

  sendNow(): void {
    this.tasks.dispatchNow();
    for (const n of this.host.nodes.values()) n.outbox.flush();
  }

  pollNodes(): void {
    for (const n of this.host.nodes.values()) {
      if (!n.endpoint.poll) return;
      for (let m = n.endpoint.poll(); m !== undefined; m = n.endpoint.poll()) this.receive(n, m as Batch);
    }
  }

  /** Stops every node (shutdown). */
  async stopAll(): Promise<void> {
    const nodes = [...this.host.nodes.values()];
    for (const n of nodes) n.alive = false;
    await Promise.all(nodes.map((n) => n.proc.terminate().catch(() => undefined)));
    this.host.nodes.clear();
  }
}
