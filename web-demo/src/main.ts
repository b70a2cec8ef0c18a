/**
 * The webray demo page: Monte-Carlo π with remote tasks, a parameter-server actor driven by
 * tasks that hold its handle, a live view of the cluster state, and the task timeline.
 * The code that runs on the workers lives in ./work.ts.
 */
import * as ray from 'webray';
import type { ActorHandle, NodeState, ObjectRef, TaskState, TraceEvent } from 'webray';
import { clusterFromLink } from './cluster-link.ts';
import { ParameterServer, samplePi, trainWorker, type PiBatch, type TrainResult } from './work.ts';
import './style.css';

const PI_TASKS = 64;
const PI_SAMPLES = 1_000_000;
const TRAIN_WORKERS = 8;
const TRAIN_STEPS = 25;
const TRAIN_BATCH = 64;
const LEARNING_RATE = 0.1;

// ---- small DOM helpers ----------------------------------------------------------------------

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

function h(tag: string, props: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) el.setAttribute(k, v);
  el.append(...children);
  return el;
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

function showError(where: string, e: unknown): void {
  const el = $('error');
  const err = e instanceof Error ? e : new Error(String(e));
  el.hidden = false;
  el.textContent += `${el.textContent ? '\n\n' : ''}${where}: ${err.name}: ${err.message}`;
  console.error(where, e);
}

const nowMs = () => performance.timeOrigin + performance.now();

// ---- nodes and their colours ----------------------------------------------------------------

const palette = ['#2f6fde', '#e0662f', '#2e9e5b', '#a64ad6', '#d4a21a', '#1aa3b8', '#d43f6f', '#6b7a2a', '#7d5a3c', '#4a55a8'];
const colours = new Map<string, string>();

/** `3f2a9c1e.3` → `node 3`; the driver (main thread) is `driver`. */
function nodeLabel(nodeId: string): string {
  if (nodeId === 'driver' || nodeId.endsWith('.driver')) return 'driver';
  const i = nodeId.lastIndexOf('.');
  return `node ${i >= 0 ? nodeId.slice(i + 1) : nodeId}`;
}

function nodeOrder(nodeId: string): number {
  const n = Number(nodeId.slice(nodeId.lastIndexOf('.') + 1));
  return Number.isFinite(n) ? n : -1;
}

function colourOf(nodeId: string): string {
  let c = colours.get(nodeId);
  if (!c) {
    c = palette[colours.size % palette.length]!;
    colours.set(nodeId, c);
  }
  return c;
}

function learnNodes(nodes: NodeState[]): void {
  for (const n of [...nodes].sort((a, b) => nodeOrder(a.nodeId) - nodeOrder(b.nodeId))) colourOf(n.nodeId);
}

function swatch(nodeId: string): HTMLElement {
  const s = h('span', { class: 'swatch', title: nodeId });
  s.style.background = colourOf(nodeId);
  return s;
}

function nodeCell(nodeId: string | null): HTMLElement {
  return nodeId ? h('span', { title: nodeId }, swatch(nodeId), nodeLabel(nodeId)) : h('span', { class: 'dim' }, '—');
}

// ---- the remote functions and the actor class -------------------------------------------------

/**
 * `ray.remote` reads each function's source and refuses closures, so call it where errors are
 * shown. In a cluster, π tasks SPREAD over every node of every tab.
 */
function makeRemotes(cluster: boolean) {
  return {
    samplePi: cluster ? ray.remote(samplePi).options({ schedulingStrategy: 'SPREAD' }) : ray.remote(samplePi),
    trainWorker: ray.remote(trainWorker),
    ParameterServer: ray.remote(ParameterServer),
  };
}
let remotes: ReturnType<typeof makeRemotes>;

/** When the latest run started: the Gantt chart shows tasks from here on. */
let windowStart = 0;
let running = 0;

async function run(button: HTMLButtonElement, what: string, body: () => Promise<void>): Promise<void> {
  button.disabled = true;
  running++;
  try {
    await body();
  } catch (e) {
    showError(what, e);
  } finally {
    running--;
    button.disabled = false;
    void drawGantt();
  }
}

// ---- 1: Monte-Carlo π ------------------------------------------------------------------------

async function runPi(): Promise<void> {
  const section = $('pi');
  section.dataset.state = 'running';
  const grid = $('pi-grid');
  grid.replaceChildren(...Array.from({ length: PI_TASKS }, () => h('div')));
  const bar = $('pi-bar');
  bar.style.width = '0%';
  const result = $('pi-result');
  result.textContent = `submitting ${PI_TASKS} tasks…`;

  const t0 = performance.now();
  const refs: ObjectRef<PiBatch>[] = [];
  for (let i = 0; i < PI_TASKS; i++) refs.push(remotes.samplePi.remote(PI_SAMPLES));
  const indexOf = new Map(refs.map((r, i) => [r, i] as const));

  let pending = refs;
  let done = 0;
  let inside = 0;
  let samples = 0;
  const perNode = new Map<string, number>();
  while (pending.length > 0) {
    const [ready, notReady] = await ray.wait(pending, { numReturns: 1 });
    pending = notReady;
    for (const ref of ready) {
      const batch = await ray.get(ref);
      done++;
      inside += batch.inside;
      samples += batch.samples;
      perNode.set(batch.nodeId, (perNode.get(batch.nodeId) ?? 0) + 1);
      const cell = grid.children[indexOf.get(ref)!] as HTMLElement;
      cell.style.background = colourOf(batch.nodeId);
      cell.title = `task ${indexOf.get(ref)} on ${nodeLabel(batch.nodeId)}: ${fmt(batch.ms, 1)} ms`;
    }
    bar.style.width = `${(100 * done) / PI_TASKS}%`;
    const estimate = (4 * inside) / samples;
    result.textContent = `${done} / ${PI_TASKS} tasks done · π ≈ ${estimate.toFixed(5)}`;
  }
  const seconds = (performance.now() - t0) / 1000;
  const pi = (4 * inside) / samples;
  result.replaceChildren(
    'π ≈ ', h('b', {}, pi.toFixed(6)),
    h('span', { class: 'dim' }, ` (error ${Math.abs(pi - Math.PI).toExponential(1)})`),
    h('br'),
    `${fmt(samples)} samples in ${fmt(seconds, 2)} s · `,
    h('b', {}, fmt(PI_TASKS / seconds, 0)), ' tasks/s · ',
    `${fmt(samples / seconds / 1e6, 1)} M samples/s`,
  );
  $('pi-legend').replaceChildren(
    ...[...perNode].sort((a, b) => nodeOrder(a[0]) - nodeOrder(b[0]))
      .map(([node, n]) => h('span', { title: node }, swatch(node), `${nodeLabel(node)}: ${n} tasks`)),
  );
  section.dataset.state = 'done';
  section.dataset.pi = String(pi);
}

// ---- 2: the parameter-server actor -------------------------------------------------------------

let lastServer: ActorHandle<ParameterServer> | undefined;

async function runActor(): Promise<void> {
  const section = $('actor');
  section.dataset.state = 'running';
  const result = $('actor-result');
  const bars = $('actor-bars');
  bars.replaceChildren();
  if (lastServer) await ray.kill(lastServer);

  const t0 = performance.now();
  const ps = remotes.ParameterServer.remote(LEARNING_RATE);
  lastServer = ps;
  // The actor handle is an ordinary argument: every task calls the same actor through it.
  const refs = Array.from({ length: TRAIN_WORKERS }, () => remotes.trainWorker.remote(ps, TRAIN_STEPS, TRAIN_BATCH));
  let pending = refs;
  const finished: TrainResult[] = [];
  result.textContent = `0 / ${TRAIN_WORKERS} training tasks done…`;
  while (pending.length > 0) {
    const [ready, notReady] = await ray.wait(pending, { numReturns: 1 });
    pending = notReady;
    finished.push(...(await ray.get(ready)));
    const { version } = await ray.get(ps.getWeights.remote());
    result.textContent = `${finished.length} / ${TRAIN_WORKERS} training tasks done · ${version} updates applied`;
  }
  const state = await ray.get(ps.snapshot.remote());
  const seconds = (performance.now() - t0) / 1000;
  const [actor] = await ray.state.listActors({ filters: { actorId: ps.actorId } });

  result.replaceChildren(
    'learned ', h('b', {}, `y = ${state.w.toFixed(3)}·x ${state.b < 0 ? '−' : '+'} ${Math.abs(state.b).toFixed(3)}`),
    h('span', { class: 'dim' }, '  (target y = 3·x − 2)'),
    h('br'),
    `${fmt(state.version)} gradient updates from ${TRAIN_WORKERS} tasks in ${fmt(seconds, 2)} s · `,
    `${fmt((2 * state.version) / seconds, 0)} actor calls/s`,
    h('br'),
    h('span', { class: 'dim' }, 'actor ParameterServer lives on '), actor?.nodeId ? nodeCell(actor.nodeId) : 'an actor node',
    h('span', { class: 'dim' }, `, state ${actor?.state ?? '?'}`),
  );
  const max = Math.max(1, ...Object.values(state.updatesByNode));
  bars.append(h('span', { class: 'dim' }, 'updates pushed from'), h('span'), h('span'));
  for (const [node, n] of Object.entries(state.updatesByNode).sort((a, b) => nodeOrder(a[0]) - nodeOrder(b[0]))) {
    const bar = h('div', { class: 'bar' });
    bar.style.width = `${(100 * n) / max}%`;
    bar.style.background = colourOf(node);
    bars.append(nodeCell(node), bar, h('span', { class: 'num' }, String(n)));
  }
  section.dataset.state = 'done';
  section.dataset.w = String(state.w);
  section.dataset.b = String(state.b);
  section.dataset.version = String(state.version);
}

// ---- 3: live cluster state --------------------------------------------------------------------

const typeShort: Record<TaskState['type'], string> = { NORMAL_TASK: 'task', ACTOR_CREATION_TASK: 'actor init', ACTOR_TASK: 'actor call' };

function resourceText(r: Record<string, number>): string {
  return Object.entries(r).map(([k, v]) => `${k} ${fmt(v, Number.isInteger(v) ? 0 : 2)}`).join(', ') || '—';
}

let refreshing = false;

async function refresh(): Promise<void> {
  if (refreshing) return;
  refreshing = true;
  try {
    const [nodes, available, total, tasks, actors] = await Promise.all([
      ray.nodes(), ray.availableResources(), ray.clusterResources(), ray.state.listTasks(), ray.state.listActors(),
    ]);
    learnNodes(nodes);
    const actorClass = new Map(actors.map((a) => [a.actorId, `${a.className} (${a.state.toLowerCase()})`]));

    $('nodes').replaceChildren(
      h('tr', {}, h('th', {}, 'node'), h('th', {}, 'kind'), h('th', {}, 'alive'), h('th', { class: 'num' }, 'running'), h('th', {}, 'resources'), h('th', {}, 'actor')),
      ...[...nodes].sort((a, b) => nodeOrder(a.nodeId) - nodeOrder(b.nodeId)).map((n) => h('tr', {},
        h('td', {}, nodeCell(n.nodeId)),
        h('td', {}, n.kind),
        h('td', {}, n.alive ? '✓' : '✗'),
        h('td', { class: 'num' }, String(n.tasksRunning)),
        h('td', {}, resourceText(n.resources)),
        h('td', {}, n.actorId ? (actorClass.get(n.actorId) ?? n.actorId) : ''),
      )),
    );

    $('resources').replaceChildren(
      ...Object.keys(total).map((k) => h('div', {}, `${k}: ${fmt(available[k] ?? 0, 0)} of ${fmt(total[k] ?? 0, 0)} available`)),
    );

    const counts = new Map<string, number>();
    for (const t of tasks) counts.set(t.state, (counts.get(t.state) ?? 0) + 1);
    $('task-counts').textContent = `${fmt(tasks.length)} recorded: ` + [...counts].map(([s, n]) => `${fmt(n)} ${s.toLowerCase()}`).join(', ');
    // The newest 20, running ones first.
    const recent = [...tasks]
      .sort((a, b) => Number(b.state === 'RUNNING') - Number(a.state === 'RUNNING') || b.submittedAt - a.submittedAt)
      .slice(0, 20);
    $('tasks').replaceChildren(
      h('tr', {}, h('th', {}, 'task'), h('th', {}, 'type'), h('th', {}, 'state'), h('th', {}, 'node'), h('th', { class: 'num' }, 'ms'), h('th', {}, 'id')),
      ...recent.map((t) => h('tr', {},
        h('td', {}, t.name),
        h('td', {}, typeShort[t.type]),
        h('td', {}, h('span', { class: `state ${t.state}` }, t.state), t.attempt > 0 ? ` (attempt ${t.attempt + 1})` : ''),
        h('td', {}, nodeCell(t.nodeId)),
        h('td', { class: 'num' }, t.startedAt ? fmt((t.endedAt ?? nowMs()) - t.startedAt, 1) : ''),
        h('td', { class: 'dim mono', title: t.errorMessage ?? t.taskId }, t.taskId.slice(0, 12) + '…'),
      )),
    );
    if (running > 0) await drawGantt();
  } catch (e) {
    showError('cluster state', e);
    clearInterval(refreshTimer);
  } finally {
    refreshing = false;
  }
}

let refreshTimer: ReturnType<typeof setInterval> | undefined;

// ---- 4: timeline ------------------------------------------------------------------------------

const taskColours = new Map<string, string>();
const taskPalette = ['#0f766e', '#f59e0b', '#db2777', '#7c3aed', '#65a30d', '#0891b2', '#b45309'];

function taskColour(name: string): string {
  let c = taskColours.get(name);
  if (!c) {
    c = taskPalette[taskColours.size % taskPalette.length]!;
    taskColours.set(name, c);
  }
  return c;
}

async function drawGantt(): Promise<void> {
  const events = (await ray.timeline()).filter((e): e is TraceEvent & { dur: number } => e.ph === 'X' && e.dur !== undefined);
  const shown = events.filter((e) => e.ts + e.dur >= windowStart * 1000);
  const rows = [...new Set(shown.map((e) => String(e.tid)))].sort((a, b) => nodeOrder(a) - nodeOrder(b));
  const canvas = $<HTMLCanvasElement>('gantt');
  const rowH = 20;
  const top = 6;
  const axisH = 22;
  const labelW = 78;
  const cssW = canvas.clientWidth || 1000;
  const cssH = top + Math.max(rows.length, 1) * rowH + axisH;
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.round(cssW * dpr);
  canvas.height = Math.round(cssH * dpr);
  canvas.style.height = `${cssH}px`;
  const g = canvas.getContext('2d')!;
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, cssW, cssH);
  g.font = '11px system-ui, sans-serif';
  g.textBaseline = 'middle';
  if (shown.length === 0) {
    g.fillStyle = '#6b7385';
    g.fillText('no finished tasks yet', labelW, top + rowH / 2);
    return;
  }
  const t0 = Math.min(...shown.map((e) => e.ts));
  const t1 = Math.max(...shown.map((e) => e.ts + e.dur));
  const span = Math.max(t1 - t0, 1);
  const plotW = cssW - labelW - 10;
  const x = (ts: number) => labelW + ((ts - t0) / span) * plotW;

  rows.forEach((row, i) => {
    const y = top + i * rowH;
    g.fillStyle = i % 2 ? '#fafbfc' : '#f1f3f6';
    g.fillRect(labelW, y, plotW, rowH);
    g.fillStyle = colourOf(row);
    g.fillRect(4, y + 6, 8, 8);
    g.fillStyle = '#1d2330';
    g.fillText(nodeLabel(row), 16, y + rowH / 2);
  });
  for (const e of shown) {
    const y = top + rows.indexOf(String(e.tid)) * rowH;
    g.fillStyle = taskColour(e.name);
    g.fillRect(x(e.ts), y + 3, Math.max(1, (e.dur / span) * plotW - 0.5), rowH - 6);
  }
  // Time axis in milliseconds from the first task shown.
  const axisY = top + rows.length * rowH;
  g.strokeStyle = '#c9ced8';
  g.beginPath();
  g.moveTo(labelW, axisY + 0.5);
  g.lineTo(labelW + plotW, axisY + 0.5);
  g.stroke();
  const spanMs = span / 1000;
  const step = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 60000].find((s) => spanMs / s <= 8) ?? 60000;
  g.fillStyle = '#6b7385';
  g.textAlign = 'center';
  for (let ms = 0; ms <= spanMs; ms += step) {
    const px = x(t0 + ms * 1000);
    g.fillRect(px, axisY, 1, 4);
    g.fillText(ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`, px, axisY + 13);
  }
  g.textAlign = 'start';

  const perName = new Map<string, number>();
  for (const e of shown) perName.set(e.name, (perName.get(e.name) ?? 0) + 1);
  $('gantt-legend').replaceChildren(
    ...[...perName].map(([name, n]) => {
      const s = h('span', { class: 'swatch' });
      s.style.background = taskColour(name);
      return h('span', {}, s, `${name} × ${fmt(n)}`);
    }),
    h('span', {}, `· ${fmt(spanMs, 0)} ms shown, since the latest run`),
  );
}

async function downloadTimeline(): Promise<void> {
  const events = await ray.timeline();
  const blob = new Blob([JSON.stringify(events)], { type: 'application/json' });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = `webray-timeline-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

// ---- start ------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const isolated = globalThis.crossOriginIsolated === true;
  const iso = $('isolation');
  iso.textContent = `crossOriginIsolated: ${isolated ? 'yes — SharedArrayBuffer available' : 'no — objects are copied, not shared'}`;
  iso.classList.add(isolated ? 'ok' : 'warn');
  document.body.dataset.crossOriginIsolated = String(isolated);

  const numWorkers = navigator.hardwareConcurrency || 2;
  $('pi-what').textContent = `${PI_TASKS} tasks × ${fmt(PI_SAMPLES)} samples, submitted at once; the page waits with ray.wait(refs, { numReturns: 1 }) and colours each task by the node that ran it.`;
  $('actor-what').textContent = `ParameterServer is an actor; ${TRAIN_WORKERS} trainWorker tasks receive its handle as an argument, each pulling weights and pushing ${TRAIN_STEPS} SGD gradients to fit y = 3x − 2.`;

  // `pnpm demo` prints a driver link whose fragment holds a cluster config: then this tab joins the others.
  const link = await clusterFromLink();
  remotes = makeRemotes(link !== undefined);
  const t0 = performance.now();
  await ray.init({ numWorkers, cluster: link?.cluster });
  if (link?.joinLink) {
    const a = $<HTMLAnchorElement>('join-link');
    a.href = a.textContent = link.joinLink;
    $('join').hidden = false;
  }
  const role = link ? (link.driver ? ' · cluster driver (its π tasks spread over every tab)' : ' · joined the cluster (runs tasks for the driver tab)') : '';
  $('workers').textContent = `${numWorkers} workers (navigator.hardwareConcurrency) · ray.init in ${fmt(performance.now() - t0, 0)} ms${role}`;
  learnNodes(await ray.nodes());
  // For trying the API in DevTools: `await ray.get(ray.put(42))`.
  (globalThis as { ray?: typeof ray }).ray = ray;

  refreshTimer = setInterval(() => void refresh(), 500);
  void refresh();

  const piButton = $<HTMLButtonElement>('pi-run');
  const actorButton = $<HTMLButtonElement>('actor-run');
  const downloadButton = $<HTMLButtonElement>('timeline-download');
  piButton.onclick = () => { windowStart = nowMs(); void run(piButton, 'π', runPi); };
  actorButton.onclick = () => { windowStart = nowMs(); void run(actorButton, 'actor', runActor); };
  downloadButton.onclick = () => void downloadTimeline().catch((e) => showError('timeline', e));
  downloadButton.disabled = false;
  window.addEventListener('resize', () => void drawGantt());

  windowStart = nowMs();
  $('actor-result').textContent = 'waiting for π…';
  await run(piButton, 'π', runPi);
  await run(actorButton, 'actor', runActor);
  document.body.dataset.demo = 'done';
}

window.addEventListener('unhandledrejection', (e) => showError('unhandled', e.reason));
main().catch((e) => showError('startup', e));
