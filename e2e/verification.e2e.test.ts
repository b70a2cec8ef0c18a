/**
 * Quorum verification (`verify: { replicas: 2 }`) across a real cluster with a lying host, in the
 * loopback-only network namespace: this process is the driver (the owner, with the submitter
 * key); an honest Node host (the package's `webray host` bin, which holds the operator key and is
 * the head), an honest tab and a lying tab (headless Chromium) join over WebRTC through a local
 * PeerJS server.
 *
 * The liar is a fixture, not a flag: its page is served a tampered copy of webray's worker script
 * (dist/node/entry.js, what its Web Workers run), as a volunteer who edits the code their browser
 * runs would; the signatures decide which code a host accepts, not what its machine then does.
 * The tampered worker rebuilds every task function shipped by source so that a number it returns
 * is one off.
 *
 * Placement is deterministic: every task is submitted in one synchronous loop, so all replicas
 * are placed before any result comes back, each task's two on the hosts least busy with replicas
 * (then by id). Three hosts other than the driver take two replicas each per three tasks, so the
 * liar surely gets replicas before it is caught.
 */
import type { ChildProcess } from 'node:child_process';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ray from 'webray';
import { taskOfObject } from '../packages/webray/src/shared/ids.js';
import { ClusterTabs } from './support/cluster-tabs.js';
import { startHost, stopHost } from './support/node-host.js';
import { withTimeout } from './support/timeout.js';

/**
 * Prepended to the liar's worker script: `new Function` (how a worker rebuilds a task function
 * from its source) now makes factories whose functions return each number plus one.
 */
const LIE = `{
  const Honest = Function;
  const lie = (v) => (typeof v === 'number' ? v + 1 : v);
  globalThis.Function = function (...parts) {
    const factory = Reflect.construct(Honest, parts);
    return (...bound) => {
      const fn = factory(...bound);
      return typeof fn === 'function' ? (...args) => lie(fn(...args)) : fn;
    };
  };
}
`;

/**
 * A seeded rollout, the verified task: a pure function of its arguments, the same bits on every
 * engine (an integer LCG; + * / only). The test calls it here for the right values.
 */
function rollout(seed: number, steps: number): number {
  let x = seed >>> 0;
  let s = 0;
  for (let i = 0; i < steps; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    s = s * 0.5 + x / 4294967296;
  }
  return s;
}
const STEPS = 10_000;

let tabs: ClusterTabs;
let node: ChildProcess | undefined;
const ids = { node: '', honest: '', liar: '' };
/** Requests for the worker script that the liar's page was served tampered. */
let tampered = 0;

/** Serves the page the worker script (dist/node/entry.js) with LIE in front. */
async function tamperWorker(page: Page): Promise<void> {
  await page.route(/\/dist\/node\/entry\.js(\?|$)/, async (route) => {
    const res = await route.fetch();
    tampered++;
    await route.fulfill({ response: res, body: LIE + (await res.text()) });
  });
}

beforeAll(async () => {
  tabs = await ClusterTabs.start();
  const keys = await ray.generateSubmitterKey();
  const operator = await ray.generateSubmitterKey();
  const cluster = { id: 'verify-e2e', token: 'verify-token', submitterPublicKey: keys.publicKey, operatorPublicKey: operator.publicKey, signal: tabs.peers.signal, iceServers: [] };
  const host = startHost({ numWorkers: 1, cluster: { ...cluster, operatorKey: operator.privateKey } });
  node = host.child;
  const line = await withTimeout('the Node host', 60_000, host.line);
  expect(line).toMatch(/^ready /);
  ids.node = line.slice(6);
  const honest = await tabs.open({ numWorkers: 1, cluster });
  expect(honest.status, honest.error ?? honest.log.text()).toBe('ready');
  ids.honest = await honest.page.evaluate(() => window.clusterTests.hostId());
  // The liar offers a resource of its own, so the test can show it lies when nothing checks it.
  const liar = await tabs.open({ numWorkers: 1, resources: { suspect: 1 }, cluster }, tamperWorker);
  expect(liar.status, liar.error ?? liar.log.text()).toBe('ready');
  ids.liar = await liar.page.evaluate(() => window.clusterTests.hostId());
  await ray.init({ numWorkers: 1, cluster: { ...cluster, submitterKey: keys.privateKey } });
  const all = [ray.getRuntimeContext().hostId, ids.node, ids.honest, ids.liar];
  await withTimeout('all four hosts known to the driver', 60_000, async () => {
    for (;;) {
      const known = new Set((await ray.nodes()).map((n) => n.hostId));
      if (all.every((h) => known.has(h))) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  }, tabs.logs);
}, 180_000);

afterAll(async () => {
  await ray.shutdown();
  await stopHost(node);
  await tabs?.close();
});

const remoteRollout = ray.remote(rollout);

/** The hosts a verified task's replicas ran on, as its owner lists them (children of the task). */
async function replicaHosts(ref: ray.ObjectRef<number>): Promise<string[]> {
  const rows = await ray.state.listTasks({ filters: { parentTaskId: taskOfObject(ref.id) } });
  expect(rows.map((r) => r.state)).toEqual(rows.map(() => 'FINISHED'));
  return rows.map((r) => r.nodeId!.split('.')[0]!).sort();
}

describe('verified tasks on a cluster of tabs and a Node host, one tab lying', () => {
  it('knows every host\'s engine: V8 in Node and in Chromium alike', async () => {
    const engines = new Map((await ray.nodes()).map((n) => [n.hostId, n.engine]));
    expect([ids.node, ids.honest, ids.liar].map((h) => engines.get(h))).toEqual(['v8', 'v8', 'v8']);
  });

  it('shows the fixture lies: an unverified task on the liar returns a wrong value', async () => {
    expect(tampered).toBeGreaterThan(0);
    const onLiar = remoteRollout.options({ resources: { suspect: 1 } });
    expect(await ray.get(onLiar.remote(1, STEPS), { timeout: 30_000 })).toBe(rollout(1, STEPS) + 1);
  });

  it('catches the liar: a third replica settles each task it ran, the right values come back, and it is reported and excluded', async () => {
    const heard: ray.DisagreementState[] = [];
    const off = ray.on('disagreement', (d) => heard.push(d));
    const verified = remoteRollout.options({ verify: { replicas: 2 } });
    // One synchronous loop: 6 tasks × 2 replicas over 3 hosts, 4 replicas each, before any result.
    const seeds = [11, 12, 13, 14, 15, 16];
    const refs = seeds.map((s) => verified.remote(s, STEPS));
    expect(await withTimeout('the verified tasks', 60_000, ray.get(refs), tabs.logs)).toEqual(seeds.map((s) => rollout(s, STEPS)));

    const honest = [ids.node, ids.honest].sort();
    const caughtOn: string[] = [];
    for (const ref of refs) {
      const ran = await replicaHosts(ref);
      if (ran.includes(ids.liar)) {
        // Its replica disagreed with the other: a third, on the host neither ran on, made the majority.
        expect(ran).toEqual([...honest, ids.liar].sort());
        caughtOn.push(taskOfObject(ref.id));
      } else {
        expect(ran).toEqual(honest);
      }
    }
    expect(caughtOn).toHaveLength(4);

    const caught = await ray.state.listDisagreements();
    expect(caught.map((d) => [d.taskId, d.name, d.hostId]).sort()).toEqual(caughtOn.sort().map((id) => [id, 'rollout', ids.liar]));
    for (const d of caught) expect(d.hash).not.toBe(d.acceptedHash);
    // Each was told as it happened, too.
    off();
    expect(heard.map((d) => d.taskId).sort()).toEqual(caughtOn.sort());
    const state = await ray.state.verification();
    const excluded = Object.fromEntries(state.hosts.map((h) => [h.hostId, h.excluded]));
    expect(excluded).toEqual({ [ids.liar]: true, [ids.node]: false, [ids.honest]: false });

    // Caught, it gets no more replica of this owner's verified tasks: every later one runs on the honest hosts.
    const later = [21, 22, 23, 24];
    const laterRefs = later.map((s) => verified.remote(s, STEPS));
    expect(await withTimeout('the later verified tasks', 60_000, ray.get(laterRefs), tabs.logs)).toEqual(later.map((s) => rollout(s, STEPS)));
    for (const ref of laterRefs) expect(await replicaHosts(ref)).toEqual(honest);
    expect(await ray.state.listDisagreements()).toHaveLength(4);
  }, 120_000);
});
