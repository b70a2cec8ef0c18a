/** The state API and timeline, read from the host's tables and task log. */
import type { ActorState, NodeState, ObjectState, ObjectStoreState, TaskState, TraceEvent } from '../api/api.js';
import type { StateFilter } from '../api/core.js';
import { FAILED, IN_STORE, READY, REMOTE, SPILLED } from './objects.js';
import type { HostContext } from './host-context.js';
import { ACTOR_CREATION, ACTOR_TASK, type TaskView } from './task-record.js';

const taskTypes = ['NORMAL_TASK', 'ACTOR_CREATION_TASK', 'ACTOR_TASK'] as const;

function taskState(t: TaskView, jobId: string): TaskState {
  return {
    taskId: t.id, attempt: t.attempt, name: t.name, type: taskTypes[t.type], jobId,
    // A task on a worker runs once its node said it started. (A task on another host reads
    // SUBMITTED_TO_WORKER until it ends: no frame carries its start.)
    state: t.state === 'SUBMITTED_TO_WORKER' && t.startedAt !== null ? 'RUNNING' : t.state,
    actorId: t.actorId, parentTaskId: t.parent, nodeId: t.nodeId,
    errorType: t.error ? (t.error.cause?.name ?? t.error.name) : null,
    errorMessage: t.error ? t.error.message : null,
    submittedAt: t.submittedAt, startedAt: t.startedAt, endedAt: t.endedAt,
  };
}

/** The items that match the filter's fields, up to its limit. */
export function select<T>(items: Iterable<T>, f: StateFilter | undefined): T[] {
  const out: T[] = [];
  const limit = f?.limit ?? Infinity;
  const filters = f?.filters ? Object.entries(f.filters) : [];
  for (const x of items) {
    if (out.length >= limit) break;
    if (filters.every(([k, v]) => (x as Record<string, unknown>)[k] === v)) out.push(x);
  }
  return out;
}

/** Newest first: live tasks, then the log from its newest entry. */
function* tasks(h: HostContext): IterableIterator<TaskState> {
  const live = [...h.tasks.values()];
  for (let i = live.length - 1; i >= 0; i--) yield taskState(live[i]!, h.jobId);
  for (const t of h.log.records(true)) yield taskState(t, h.jobId);
}

function actors(h: HostContext): ActorState[] {
  return [...h.actors.actors.values()].map((a) => ({
    actorId: a.id, className: a.spec.className, state: a.state, name: a.name, namespace: a.namespace,
    nodeId: a.node?.id ?? null, numRestarts: a.numRestarts, deathCause: a.deathCause, deathCauses: a.deathCauses.slice(), jobId: a.jobId,
  }));
}

function* objects(h: HostContext): IterableIterator<ObjectState> {
  for (const e of h.objects.entries.values()) {
    yield {
      objectId: e.id, owner: e.owner, state: e.state === READY ? 'READY' : e.state === FAILED ? 'FAILED' : 'PENDING',
      refCount: e.refs, pins: e.pins, taskName: e.taskName,
      location: e.place === IN_STORE ? 'SHARED_MEMORY' : e.place === SPILLED ? 'SPILLED' : e.place === REMOTE ? 'REMOTE' : 'INLINE',
    };
  }
}

function storeState(h: HostContext): ObjectStoreState {
  const s = h.store;
  const { reconstructions, lineageBytes, lineageEvictions } = h.recoveryStats;
  const recovery = { reconstructions, lineageBytes, lineageEvictions };
  const transfers = [...(h.cluster?.pulls?.byHost ?? [])].map(([hostId, c]) => ({ hostId, ...c }));
  if (!s) return { shared: false, objects: 0, objectBytes: 0, usedBytes: 0, heapBytes: 0, maxBytes: 0, spilled: 0, restored: 0, mutations: 0, ...recovery, transfers };
  const { objects, objectBytes, usedBytes, heapBytes, maxBytes } = s.store.wasm.stats();
  return { shared: true, objects, objectBytes, usedBytes, heapBytes, maxBytes, spilled: s.spilledCount, restored: s.restoredCount, mutations: s.store.mutations, ...recovery, transfers };
}

/** This host's nodes, then the task nodes of the other hosts of its cluster. */
function nodes(h: HostContext): NodeState[] {
  const local: NodeState[] = [...h.nodes.values()].map((n) => ({
    nodeId: n.id, hostId: h.hostId, hostName: h.hostName, engine: h.engine, kind: n.kind, alive: n.alive,
    resources: (n.kind === 'task' ? { CPU: 1 } : {}) as Record<string, number>,
    actorId: n.actorId, tasksRunning: n.taskCount, paused: h.cluster?.paused ?? false,
  }));
  const remote: NodeState[] = (h.cluster?.others() ?? []).flatMap((host) => host.nodes.map((nodeId) => ({
    nodeId, hostId: host.hostId, hostName: host.hostName ?? host.hostId, engine: host.engine ?? 'unknown', kind: 'task' as const, alive: true, resources: { CPU: 1 }, actorId: null, tasksRunning: 0,
    paused: h.cluster!.isPaused(host.hostId),
  })));
  return [...local, ...remote];
}

/** Resources of every host of the cluster (this one alone when it is in none). */
function clusterResources(h: HostContext): Record<string, number> {
  const total: Record<string, number> = { ...h.scheduler.pool.total };
  for (const host of h.cluster?.others() ?? []) for (const [k, v] of Object.entries(host.resources)) total[k] = (total[k] ?? 0) + v;
  return total;
}

/**
 * Chrome trace format: one complete ('X') event per task attempt. Process and thread ids are
 * numbers (viewers key tracks by them) and named by metadata events: the host, then one row per node.
 */
function timeline(h: HostContext): TraceEvent[] {
  const pid = 1;
  const events: TraceEvent[] = [{ name: 'process_name', ph: 'M', cat: '__metadata', ts: 0, pid, tid: 0, args: { name: `webray host ${h.hostName} (${h.hostId})` } }];
  const rows = new Map<string, number>();
  const add = (t: TaskView) => {
    if (t.startedAt === null || t.endedAt === null || !t.nodeId) return;
    let tid = rows.get(t.nodeId);
    if (tid === undefined) rows.set(t.nodeId, (tid = rows.size + 1));
    events.push({
      name: t.name, cat: t.type === ACTOR_TASK ? 'actor_task' : t.type === ACTOR_CREATION ? 'actor_creation' : 'task',
      ph: 'X', ts: t.startedAt * 1000, dur: Math.max(0, (t.endedAt - t.startedAt) * 1000), pid, tid,
      args: { taskId: t.id, nodeId: t.nodeId, attempt: t.attempt, state: t.state, ...(t.actorId ? { actorId: t.actorId } : {}), ...(t.error ? { error: t.error.message } : {}) },
    });
  };
  for (const t of h.log.records()) add(t);
  for (const t of h.tasks.values()) add(t);
  for (const [nodeId, tid] of rows) events.push({ name: 'thread_name', ph: 'M', cat: '__metadata', ts: 0, pid, tid, args: { name: `node ${nodeId}` } });
  return events;
}

/**
 * One list from every host's rows. A task sent to another host is known to both: the owner's
 * record says which host, the runner's which node; the runner's wins. Newest first, up to `limit`.
 */
export function mergeState(query: 'tasks' | 'actors', here: Record<string, unknown>[], there: Record<string, unknown>[], limit = Infinity): unknown[] {
  if (query === 'actors') {
    const seen = new Set(here.map((a) => a.actorId));
    return [...here, ...there.filter((a) => !seen.has(a.actorId))].slice(0, limit);
  }
  const byAttempt = new Map<string, Record<string, unknown>>();
  for (const t of [...here, ...there]) {
    const key = `${t.taskId}:${t.attempt}`;
    const had = byAttempt.get(key);
    if (!had || (!String(had.nodeId ?? '').includes('.') && String(t.nodeId ?? '').includes('.'))) byAttempt.set(key, t);
  }
  return [...byAttempt.values()].sort((a, b) => (b.submittedAt as number) - (a.submittedAt as number)).slice(0, limit);
}

export function hostState(h: HostContext, query: string, filter: StateFilter | undefined): unknown {
  switch (query) {
    case 'tasks': return select(tasks(h), filter);
    case 'actors': return select(actors(h), filter);
    case 'objects': return select(objects(h), filter);
    case 'nodes': return nodes(h);
    case 'resources': return clusterResources(h);
    case 'available': return { ...h.scheduler.pool.available };
    case 'timeline': return timeline(h);
    case 'store': return storeState(h);
    default: throw new Error(`unknown state query ${query}`);
  }
}
