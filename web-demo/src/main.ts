/**
 * The webray demo page: ES training of CartPole and a MuJoCo walker across the cluster, served
 * live by an actor; the cluster's hosts, tasks, actors and store; the task timeline.
 */
import * as ray from 'webray';
import { clusterFromLink } from './cluster-link.ts';
import { startDashboard } from './page/dashboard.ts';
import { $, fmt, nowMs, showError } from './page/dom.ts';
import { learnNodes, setSelfHost } from './page/labels.ts';
import { drawGantt, downloadTimeline } from './page/timeline.ts';
import type { EnvName } from './rl/env.ts';
import { runTraining, stopTraining } from './page/training.ts';
import './style.css';

/** Fixed: a run replays (the page shows the same curve every time on the same cluster). */
const SEED = 1;

/** When the latest run started: the timeline shows tasks from then on. */
let since = 0;

async function main(): Promise<void> {
  const isolated = globalThis.crossOriginIsolated === true;
  const iso = $('isolation');
  iso.textContent = `crossOriginIsolated: ${isolated ? 'yes — SharedArrayBuffer available' : 'no — objects are copied, not shared'}`;
  iso.classList.add(isolated ? 'ok' : 'warn');
  document.body.dataset.crossOriginIsolated = String(isolated);

  // `pnpm demo` prints a driver link whose fragment holds a cluster config: then this tab drives a cluster.
  const link = await clusterFromLink();
  // ?workers=N: the benchmark's fixed worker counts.
  const numWorkers = Number(new URLSearchParams(location.search).get('workers')) || navigator.hardwareConcurrency || 2;
  const t0 = performance.now();
  await ray.init({ numWorkers, cluster: link?.cluster });
  setSelfHost(ray.getRuntimeContext().hostId);
  if (link?.joinLink) {
    const a = $<HTMLAnchorElement>('join-link');
    a.href = a.textContent = link.joinLink;
    $('join').hidden = false;
    // Under `pnpm demo` the terminal prints it too (the server says where to send it).
    const report = document.querySelector<HTMLMetaElement>('meta[name="volunteer-link-report"]')?.content;
    if (report) void fetch(report, { method: 'POST', body: link.joinLink }).catch(() => undefined);
  }
  $('workers').textContent = `${numWorkers} workers · ray.init in ${fmt(performance.now() - t0, 0)} ms${link ? ' · drives a cluster (the head)' : ''}`;
  learnNodes(await ray.nodes());
  // For trying the API in DevTools: `await ray.get(ray.put(42))`.
  (globalThis as { ray?: typeof ray }).ray = ray;
  startDashboard((e) => showError('cluster state', e));

  const buttons = { cartpole: $<HTMLButtonElement>('train-cartpole'), walker: $<HTMLButtonElement>('train-walker') };
  const stop = $<HTMLButtonElement>('train-stop');
  const timelineTimer = { id: undefined as ReturnType<typeof setInterval> | undefined };
  const train = async (env: EnvName, size?: { iterations?: number; pairs?: number }) => {
    for (const b of Object.values(buttons)) b.disabled = true;
    stop.disabled = false;
    since = nowMs();
    timelineTimer.id = setInterval(() => void drawGantt(since), 2000);
    try {
      return await runTraining(env, SEED, size);
    } catch (e) {
      showError(`training ${env}`, e);
      throw e;
    } finally {
      clearInterval(timelineTimer.id);
      void drawGantt(since);
      for (const b of Object.values(buttons)) b.disabled = false;
      stop.disabled = true;
    }
  };
  buttons.cartpole.onclick = () => void train('cartpole').catch(() => undefined);
  buttons.walker.onclick = () => void train('walker').catch(() => undefined);
  // For the benchmark (and DevTools): `await demo.train('walker', { iterations: 5 })` gives the run's totals.
  // `memberConfig()`: the cluster as a host that joins with the token only gets it (a Node host's config).
  (globalThis as { demo?: unknown }).demo = {
    train,
    memberConfig: () => link && (({ submitterKey: _private, ...member }) => member)(link.cluster),
  };
  stop.onclick = () => stopTraining();
  const download = $<HTMLButtonElement>('timeline-download');
  download.onclick = () => void downloadTimeline().catch((e) => showError('timeline', e));
  download.disabled = false;
  window.addEventListener('resize', () => void drawGantt(since));

  // The quick first run: CartPole trains as soon as the page is up (not with ?autorun=0).
  if (new URLSearchParams(location.search).get('autorun') !== '0') await train('cartpole').catch(() => undefined);
  document.body.dataset.demo = 'done';
}

window.addEventListener('unhandledrejection', (e) => showError('unhandled', e.reason));
main().catch((e) => showError('startup', e));
