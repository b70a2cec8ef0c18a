/**
 * The volunteer page: someone lends their tab to a cluster. It reads the volunteer link, says
 * whose code would run (the coordinator's name and the submitter key's fingerprint) and runs
 * nothing until Start; then it joins with the workers chosen, shows what the tab does and what it
 * contributed, pauses on low battery or (if asked) while hidden, and leaves gracefully on Leave.
 */
import * as ray from 'webray';
import { linkFromFragment } from './link-fragment.ts';
import { $, figure, fmt, showError } from './page/dom.ts';
import { readVolunteerLink, type VolunteerLink } from './volunteer-link.ts';
import './style.css';

const REFRESH_MS = 1000;

/** Why the tab is paused now (each reason is lifted on its own): the person, the battery, hiding. */
const pausedFor = new Set<'person' | 'battery' | 'hidden'>();
let started = false;
let left = false;

function describePause(): string {
  const why = [...pausedFor].map((r) => ({ person: 'you paused it', battery: 'the battery is low', hidden: 'the tab is hidden' })[r]);
  return `paused: ${why.join(', ')} — running tasks finish, no new ones start`;
}

async function applyPause(): Promise<void> {
  if (!started || left) return;
  if (pausedFor.size > 0) await ray.pause();
  else await ray.resume();
  $('pause').textContent = pausedFor.has('person') ? 'Resume' : 'Pause';
  document.body.dataset.paused = String(pausedFor.size > 0);
}

function pauseFor(reason: 'person' | 'battery' | 'hidden', on: boolean): void {
  if (on) pausedFor.add(reason); else pausedFor.delete(reason);
  void applyPause().catch((e) => showError('pause', e));
}

interface BatteryLike extends EventTarget { charging: boolean; level: number }

/** Pauses while discharging below the threshold the person set; says so. */
async function watchBattery(): Promise<void> {
  const getBattery = (navigator as Navigator & { getBattery?: () => Promise<BatteryLike> }).getBattery;
  if (!getBattery) return;
  const battery = await getBattery.call(navigator);
  const check = () => {
    const guard = $<HTMLInputElement>('battery-guard').checked;
    const min = Number($<HTMLInputElement>('battery-min').value) / 100;
    pauseFor('battery', guard && !battery.charging && battery.level < min);
  };
  for (const e of ['chargingchange', 'levelchange']) battery.addEventListener(e, check);
  $('battery-guard').addEventListener('change', check);
  $('battery-min').addEventListener('change', check);
  check();
}

function watchVisibility(): void {
  const check = () => pauseFor('hidden', !$<HTMLInputElement>('keep-hidden').checked && document.visibilityState === 'hidden');
  document.addEventListener('visibilitychange', check);
  $('keep-hidden').addEventListener('change', check);
}

/**
 * Tasks this host ran (finished) and the CPU time they took, from its own timeline (local: no
 * question to the cluster), as far back as its task log goes; what runs now.
 */
async function showContribution(): Promise<void> {
  const hostId = ray.getRuntimeContext().hostId;
  const [events, nodes] = await Promise.all([ray.timeline(), ray.nodes()]);
  const finished = events.filter((e) => e.ph === 'X' && e.args?.state === 'FINISHED' && String(e.args.nodeId).startsWith(`${hostId}.`));
  const cpuMs = finished.reduce((a, e) => a + (e.dur ?? 0) / 1000, 0);
  const running = nodes.filter((n) => n.hostId === hostId).reduce((a, n) => a + n.tasksRunning, 0);
  const hosts = new Set(nodes.map((n) => n.hostId)).size;
  figure('tasks-done', finished.length);
  figure('cpu-seconds', cpuMs / 1000, `${fmt(cpuMs / 1000, 1)} s`);
  figure('running-now', running);
  figure('cluster-hosts', hosts);
  if (!left) $('status').textContent = pausedFor.size > 0 ? describePause() : running > 0 ? `running ${running} task${running === 1 ? '' : 's'}` : 'in the cluster, waiting for work';
}

async function start(link: VolunteerLink): Promise<void> {
  const workers = Number($<HTMLSelectElement>('worker-count').value);
  $<HTMLButtonElement>('start').disabled = true;
  $('status').textContent = 'joining…';
  const name = $<HTMLInputElement>('volunteer-name').value.trim().slice(0, 40) || 'a volunteer';
  await ray.init({ numWorkers: workers, hostName: name, cluster: link.cluster });
  started = true;
  document.body.dataset.state = 'started';
  $<HTMLButtonElement>('pause').disabled = false;
  $<HTMLButtonElement>('leave').disabled = false;
  await applyPause();
  const timer = setInterval(() => void showContribution().catch((e) => { clearInterval(timer); showError('status', e); }), REFRESH_MS);
  void showContribution();
  $('leave').onclick = async () => {
    $<HTMLButtonElement>('leave').disabled = true;
    $<HTMLButtonElement>('pause').disabled = true;
    $('status').textContent = 'leaving: finishing running tasks and handing over results…';
    clearInterval(timer);
    await ray.shutdown({ graceful: true });
    left = true;
    document.body.dataset.state = 'left';
    $('status').textContent = 'left the cluster. Thank you! Reload the link to join again.';
  };
}

async function main(): Promise<void> {
  const link = linkFromFragment('webray-volunteer-link', readVolunteerLink);
  if (!link) throw new Error('this page has no volunteer link (the part after # is empty): open the whole link the coordinator shared (volunteer.html#c=…).');
  $('coordinator').textContent = link.coordinator;
  $('fingerprint').textContent = await ray.keyFingerprint(link.cluster.submitterPublicKey);
  const cores = navigator.hardwareConcurrency || 2;
  const select = $<HTMLSelectElement>('worker-count');
  for (let n = 1; n <= cores; n++) select.append(new Option(String(n), String(n), false, n === Math.max(1, cores - 1)));
  $('cores').textContent = `of ${cores} cores (default: one left for you)`;
  $('start').onclick = () => void start(link).catch((e) => showError('start', e));
  $('pause').onclick = () => pauseFor('person', !pausedFor.has('person'));
  watchVisibility();
  void watchBattery().catch(() => undefined);
  document.body.dataset.state = 'ready';
}

window.addEventListener('unhandledrejection', (e) => showError('unhandled', e.reason));
main().catch((e) => showError('volunteer link', e));
