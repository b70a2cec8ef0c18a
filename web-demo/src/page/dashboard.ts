/**
 * The live cluster view: hosts (named), their nodes and resources, tasks by state, actors with
 * their restarts, and the object store. Polled (the state API has no change events).
 */
import * as ray from 'webray';
import type { ActorState, NodeState, TaskState } from 'webray';
import { $, figure, fmt, h } from './dom.ts';
import { byHostThenNumber, hostLabel, hostOf, learnNodes, nodeCell } from './labels.ts';

const EVERY_MS = 1000;
/**
 * Tasks counted by state: the newest this many (every host's whole task log, up to 10,000 rows
 * each, every second, made long main-thread tasks on a page with volunteers).
 */
const TASK_WINDOW = 1000;

const resourceText = (r: Record<string, number>) =>
  Object.entries(r).map(([k, v]) => `${k} ${fmt(v, Number.isInteger(v) ? 0 : 2)}`).join(', ') || '—';

const mib = (bytes: number) => `${fmt(bytes / 2 ** 20, 1)} MiB`;

function sum(into: Record<string, number>, r: Record<string, number>): void {
  for (const [k, v] of Object.entries(r)) into[k] = (into[k] ?? 0) + v;
}

/**
 * Running tasks by host, from the cluster-wide task list: `nodes()` knows the running count of
 * this host's nodes only (another host's read 0), while each host's own rows in `listTasks()`
 * say which of its nodes runs what.
 */
function runningByHost(tasks: readonly TaskState[]): Map<string, number> {
  const running = new Map<string, number>();
  for (const t of tasks) {
    if (t.state !== 'RUNNING' || !t.nodeId) continue;
    const host = hostOf(t.nodeId);
    running.set(host, (running.get(host) ?? 0) + 1);
  }
  return running;
}

function hostRows(nodes: readonly NodeState[], running: ReadonlyMap<string, number>): HTMLElement[] {
  const byHost = new Map<string, NodeState[]>();
  for (const n of [...nodes].sort((a, b) => byHostThenNumber(a.nodeId, b.nodeId))) byHost.set(n.hostId, [...(byHost.get(n.hostId) ?? []), n]);
  return [...byHost].map(([hostId, ns]) => {
    const resources: Record<string, number> = {};
    for (const n of ns) if (n.kind === 'task') sum(resources, n.resources);
    const actors = ns.filter((n) => n.kind === 'actor').length;
    const runs = running.get(hostId) ?? 0;
    // data-*: the row's host and figures, for tests and scripts.
    return h('tr', { 'data-host-id': hostId, 'data-host': hostLabel(hostId), 'data-running': String(runs) },
      h('td', { title: hostId }, hostLabel(hostId), ns.some((n) => n.paused) ? h('span', { class: 'dim' }, ' (paused)') : ''),
      h('td', { class: 'num' }, String(ns.length - actors)),
      h('td', { class: 'num' }, String(actors)),
      h('td', { class: 'num' }, String(runs)),
      h('td', {}, resourceText(resources)),
    );
  });
}

function actorRows(actors: readonly ActorState[]): HTMLElement[] {
  return actors.slice(-12).map((a) => h('tr', {},
    h('td', {}, a.name ? `${a.className} “${a.name}”` : a.className),
    h('td', {}, h('span', { class: `state ${a.state}` }, a.state)),
    h('td', {}, nodeCell(a.nodeId)),
    h('td', { class: 'num' }, String(a.numRestarts)),
    h('td', { class: 'dim small' }, a.deathCauses.at(-1) ?? ''),
  ));
}

/** Hosts seen at the last refresh: the log says who arrived and who went since. */
let seen: Map<string, string> | undefined;

function logArrivals(nodes: readonly NodeState[]): void {
  const now = new Map(nodes.map((n) => [n.hostId, hostLabel(n.hostId)]));
  const log = $('host-log');
  const line = (text: string) => {
    log.prepend(h('li', {}, h('span', { class: 'dim' }, new Date().toLocaleTimeString()), ` ${text}`));
    while (log.children.length > 8) log.lastElementChild!.remove();
  };
  if (seen) {
    for (const [id, name] of now) if (!seen.has(id)) line(`${name} joined`);
    for (const [id, name] of seen) if (!now.has(id)) line(`${name} left`);
  }
  seen = now;
}

async function refresh(): Promise<void> {
  const [nodes, available, total, tasks, running, actors, store] = await Promise.all([
    ray.nodes(), ray.availableResources(), ray.clusterResources(), ray.state.listTasks({ limit: TASK_WINDOW }),
    // Each host filters its own: only running rows cross the mesh.
    ray.state.listTasks({ filters: { state: 'RUNNING' } }), ray.state.listActors(), ray.state.objectStore(),
  ]);
  learnNodes(nodes);
  logArrivals(nodes);
  // The RL section's workers figure: the cluster's live task workers (training asks nothing more).
  figure('rl-workers', nodes.filter((n) => n.kind === 'task' && n.alive).length);
  $('hosts').replaceChildren(
    h('tr', {}, h('th', {}, 'host'), h('th', { class: 'num' }, 'task nodes'), h('th', { class: 'num' }, 'actor nodes'), h('th', { class: 'num' }, 'running'), h('th', {}, 'resources')),
    ...hostRows(nodes, runningByHost(running)),
  );
  $('resources').textContent = Object.keys(total).map((k) => `${k} ${fmt(available[k] ?? 0, 0)} free of ${fmt(total[k] ?? 0, 0)}`).join(' · ');
  const counts = new Map<string, number>();
  for (const t of tasks) counts.set(t.state, (counts.get(t.state) ?? 0) + 1);
  $('task-states').replaceChildren(...[...counts].sort().map(([s, n]) => h('span', { class: `state ${s}` }, `${s.toLowerCase()} ${fmt(n)}`)));
  $('actors').replaceChildren(
    h('tr', {}, h('th', {}, 'actor'), h('th', {}, 'state'), h('th', {}, 'where'), h('th', { class: 'num' }, 'restarts'), h('th', {}, 'last death')),
    ...actorRows(actors),
  );
  $('store').textContent = `${fmt(store.objects)} objects, ${mib(store.objectBytes)} in ${mib(store.heapBytes)} of shared memory (max ${mib(store.maxBytes)})` +
    ` · ${store.shared ? 'zero-copy' : 'copied (not cross-origin isolated)'} · spilled ${fmt(store.spilled)}, rebuilt by lineage ${fmt(store.reconstructions)}`;
  $('transfers').replaceChildren(
    h('tr', {}, h('th', {}, 'with host'), h('th', { class: 'num' }, 'pulled from it'), h('th', { class: 'num' }, 'served to it')),
    ...store.transfers.map((t) => h('tr', {}, h('td', { title: t.hostId }, hostLabel(t.hostId)), h('td', { class: 'num' }, mib(t.bytesIn)), h('td', { class: 'num' }, mib(t.bytesOut)))),
  );
}

/** Refreshes the dashboard every second until the page goes; a failure is shown, and polling stops. */
export function startDashboard(onError: (e: unknown) => void): void {
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    refresh().catch((e) => { clearInterval(timer); onError(e); }).finally(() => { busy = false; });
  }, EVERY_MS);
}
