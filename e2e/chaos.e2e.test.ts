/**
 * A chaos run in headless Chromium (loopback-only namespace): one Node host and three tabs, joined
 * over WebRTC through a local PeerJS server that the run restarts.
 *
 * Who holds which keys: the Node host (the package's `webray host` bin) holds the operator key,
 * starts first and claims the head; volunteer tabs B and C have only the join token. Tab D, the
 * driver, holds the submitter key too; it is not the head, but as the only other credentialed
 * host it is the standby, and takes the head when the Node host is killed. Tabs opened mid-run
 * are volunteers (token only).
 *
 * The driver runs a job of over 1,000 tasks with dependencies (128 KiB arrays made on every host
 * with SPREAD, a reduction tree over them, small tasks reading them, calls to six actors with
 * state spread over the hosts and to two that keep their state by checkpoints — see
 * e2e/pages/chaos) and counts completions; at seeded counts
 * (never at wall times) it asks this test to inject a fault, each logged. The result must equal
 * the fault-free result the page computes; the run prints the recoveries of each kind from the
 * state API. Replay a run with WEBRAY_CHAOS_SEED=<the seed it printed>; choose the fault kinds with
 * WEBRAY_CHAOS_KINDS=worker,close-tab,… (empty: a fault-free run)
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ray from 'webray';
import { prng } from '../packages/webray/src/shared/prng.js';
import type { ChaosResult, Fault, FaultKind } from './pages/chaos/main.js';
import { ClusterTabs, type Tab } from './support/cluster-tabs.js';
import { startHost, stopHost } from './support/node-host.js';
import { withTimeout } from './support/timeout.js';

const SEED = Number(process.env.WEBRAY_CHAOS_SEED ?? 20261204);

/**
 * Every kind of fault: workers and actor workers killed, the PeerJS server restarted, tabs opened,
 * volunteer tabs closed (with the bytes of objects the job still needs, and actors: lineage
 * reconstruction and actor restarts elsewhere) and the head killed (also the Node host).
 */
const KINDS: FaultKind[] = ['worker', 'actor-worker', 'signal-restart', 'open-tab', 'close-tab', 'close-actor-tab', 'kill-head'];
/** The kinds this run injects: all, or those in WEBRAY_CHAOS_KINDS. */
const ENABLED = new Set<FaultKind>(process.env.WEBRAY_CHAOS_KINDS === undefined ? KINDS : process.env.WEBRAY_CHAOS_KINDS.split(',').filter(Boolean).map((k) => {
  if (!KINDS.includes(k as FaultKind)) throw new Error(`WEBRAY_CHAOS_KINDS: unknown fault kind '${k}'; the kinds are ${KINDS.join(', ')} (comma-separated; empty for none)`);
  return k as FaultKind;
}));

/** One entry per fault: its kind and the window of completion counts its seeded point falls in. */
const PLAN: { kind: FaultKind; from: number; span: number }[] = [
  { kind: 'worker', from: 60, span: 80 },
  { kind: 'signal-restart', from: 160, span: 80 },
  { kind: 'actor-worker', from: 260, span: 80 },
  { kind: 'close-tab', from: 360, span: 60 },
  { kind: 'open-tab', from: 440, span: 60 },
  { kind: 'close-actor-tab', from: 520, span: 60 },
  { kind: 'worker', from: 600, span: 100 },
  { kind: 'kill-head', from: 720, span: 60 },
  // A volunteer joins the cluster the standby now heads.
  { kind: 'open-tab', from: 790, span: 40 },
  { kind: 'actor-worker', from: 840, span: 60 },
];

let tabs: ClusterTabs;
let cluster: ray.ClusterConfig;
let head: ChildProcess;
let headId: string;
let driver: Tab;

const logs = () => tabs.logs();
const hostOf = (t: Tab) => t.page.evaluate(() => window.chaosHooks.hostId());

async function openVolunteer(): Promise<Tab> {
  const t = await tabs.open({ numWorkers: 2, cluster });
  expect(t.status, t.error ?? t.log.text()).toBe('ready');
  return t;
}

beforeAll(async () => {
  tabs = await ClusterTabs.start('chaos');
  const keys = await ray.generateSubmitterKey();
  const operator = await ray.generateSubmitterKey();
  cluster = { id: 'chaos-e2e', token: 'chaos-token', submitterPublicKey: keys.publicKey, operatorPublicKey: operator.publicKey, signal: tabs.peers.signal, iceServers: [] };
  // The Node host holds the operator key: it may be head, and starts first, so it is.
  const h = startHost({ numWorkers: 1, cluster: { ...cluster, operatorKey: operator.privateKey } });
  head = h.child;
  const line = await withTimeout('the Node host', 60_000, h.line);
  expect(line).toMatch(/^ready /);
  headId = line.slice(6);
  await openVolunteer();
  await openVolunteer();
  driver = await tabs.open({ numWorkers: 2, cluster: { ...cluster, submitterKey: keys.privateKey } });
  expect(driver.status, driver.error ?? driver.log.text()).toBe('ready');
  console.log(`hosts: Node ${headId} (head), tabs ${await Promise.all(tabs.tabs.map(hostOf))} (the last is the driver)`);
  await withTimeout('all four hosts known to the driver', 30_000, driver.page.evaluate((h) => window.chaosHooks.untilHosts({ count: 4, present: [h] }), headId), logs);
}, 150_000);

afterAll(async () => {
  await tabs?.close();
  await stopHost(head);
});

describe('a chaos run in Chromium: three tabs and a Node host', () => {
  it('computes the fault-free result while workers die, an actor\'s worker dies, the PeerJS server restarts and tabs come and go', async () => {
    const r = prng(SEED);
    const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)]!;
    const plan: (Fault & { done?: string })[] = PLAN.filter((p) => ENABLED.has(p.kind)).map((p) => ({ kind: p.kind, after: p.from + Math.floor(r() * p.span) }));

    /** The actors' workers in the tabs (every actor worker there is one of the job's). */
    const actorWorkers = async () => {
      const found: { tab: Tab; name: string }[] = [];
      for (const tab of tabs.tabs) {
        for (const name of await tab.page.evaluate(() => window.chaosHooks.workers())) if (name.startsWith('webray-actor-')) found.push({ tab, name });
      }
      return found;
    };
    const volunteers = () => tabs.tabs.filter((t) => t !== driver);

    const inject = async (f: Fault): Promise<string> => {
      switch (f.kind) {
        case 'worker': {
          // A worker running a task of the job if there is one in a tab (the Node host's are out of reach).
          const busy = new Set((await driver.page.evaluate(() => window.chaosTests.busyNodes())).map((n) => `webray-task-${n}`));
          const all: { tab: Tab; name: string }[] = [];
          for (const tab of tabs.tabs) {
            for (const name of await tab.page.evaluate(() => window.chaosHooks.workers())) if (name.startsWith('webray-task-')) all.push({ tab, name });
          }
          const running = all.filter((w) => busy.has(w.name));
          const { tab, name } = pick(running.length ? running : all);
          await tab.page.evaluate((n) => window.chaosHooks.kill(n), name);
          return `killed worker ${name} in tab ${await hostOf(tab)}`;
        }
        case 'actor-worker': {
          const found = await actorWorkers();
          if (!found.length) throw new Error('no actor of the job runs in a tab');
          const { tab, name } = pick(found);
          await tab.page.evaluate((n) => window.chaosHooks.kill(n), name);
          return `killed actor worker ${name} in tab ${await hostOf(tab)}`;
        }
        case 'signal-restart':
          await tabs.restartPeers();
          return `restarted the PeerJS server on port ${tabs.peers.port}`;
        case 'open-tab': {
          const id = await hostOf(await openVolunteer());
          await withTimeout('the new tab known to the driver', 30_000, driver.page.evaluate((h) => window.chaosHooks.untilHosts({ present: [h] }), id), logs);
          return `opened tab ${id}`;
        }
        case 'close-tab':
        case 'close-actor-tab': {
          const withActor = new Set((await actorWorkers()).map((a) => a.tab));
          // close-tab: one without an actor if there is one (the actors spread over most tabs).
          const withActors = volunteers().filter((t) => withActor.has(t));
          const without = volunteers().filter((t) => !withActor.has(t));
          const candidates = f.kind === 'close-actor-tab' ? withActors : without.length ? without : volunteers();
          if (!candidates.length) throw new Error(`no volunteer tab to close (${f.kind})`);
          const tab = pick(candidates);
          const closed = await hostOf(tab);
          await tabs.closeTab(tab);
          const opened = await hostOf(await openVolunteer());
          return `closed tab ${closed}${withActor.has(tab) ? ' (it ran an actor)' : ''}, opened tab ${opened}`;
        }
        case 'kill-head':
          head.kill('SIGKILL');
          return `killed the Node host ${headId} (the head)`;
      }
    };
    await driver.page.exposeFunction('chaosFault', async (i: number) => {
      const f = plan[i]!;
      try {
        f.done = await inject(f);
      } catch (e) {
        f.done = `failed to inject ${f.kind}: ${e instanceof Error ? e.message : String(e)}`;
      }
      return f.done;
    });

    console.log(`chaos seed ${SEED} (replay with WEBRAY_CHAOS_SEED=${SEED}); faults: ${plan.map((f) => `${f.kind}@${f.after}`).join(', ')}`);
    const result: ChaosResult = await withTimeout('the chaos job', 150_000, driver.page.evaluate((p) => window.chaosTests.run(p), plan), logs);
    console.log(`chaos seed ${SEED}, ${result.tasks} tasks:\n  ${result.log.join('\n  ')}`);
    console.table(result.recoveries);
    expect(result.tasks).toBeGreaterThanOrEqual(1000);
    expect(result.mismatch).toBe('');
    expect(plan.filter((f) => !f.done?.match(/^(killed|restarted|opened|closed)/))).toEqual([]);
    if (plan.some((f) => f.kind === 'actor-worker')) expect(result.recoveries['actor restarts']).toBeGreaterThanOrEqual(1);
  }, 170_000);
});
