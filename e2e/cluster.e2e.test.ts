/**
 * Tabs form one cluster in headless Chromium: each tab is a host (its own Web Workers and store),
 * joined over WebRTC data channels through a local PeerJS server, inside the loopback-only
 * network namespace. Tab A is the driver (it holds the submitter key); tab B has only the join
 * token and a resource A lacks; a third tab with a wrong token is refused.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ray from 'webray';
import { ClusterTabs } from './support/cluster-tabs.js';
import { withTimeout } from './support/timeout.js';

let tabs: ClusterTabs;
let cluster: Record<string, unknown>;
let privateKey: string;
let a: Page;
let bPage: Page;
let bHost: string;

beforeAll(async () => {
  tabs = await ClusterTabs.start();
  const keys = await ray.generateSubmitterKey();
  // The first host holds the operator key: it may be head (a host with only the join token may not).
  const operator = await ray.generateSubmitterKey();
  privateKey = keys.privateKey;
  cluster = { id: 'tabs-e2e', token: 'tabs-token', submitterPublicKey: keys.publicKey, operatorPublicKey: operator.publicKey, signal: tabs.peers.signal, iceServers: [] };
  const b = await tabs.open({ numWorkers: 2, resources: { webgpu: 1 }, cluster: { ...cluster, operatorKey: operator.privateKey } });
  expect(b.status, b.error ?? b.log.text()).toBe('ready');
  bHost = await b.page.evaluate(() => window.clusterTests.hostId());
  bPage = b.page;
  const tabA = await tabs.open({ numWorkers: 2, cluster: { ...cluster, submitterKey: privateKey } });
  expect(tabA.status, tabA.error ?? tabA.log.text()).toBe('ready');
  a = tabA.page;
  await withTimeout('both hosts known', 30_000, a.evaluate(() => window.clusterTests.untilMembers({ count: 2 })), () => tabA.log.text());
}, 180_000);

afterAll(async () => {
  await tabs?.close();
});

const logs = () => tabs.logs();

describe('tabs in Chromium as one cluster (WebRTC, local PeerJS server)', () => {
  it('run 200 SPREAD tasks from tab A on both tabs', async () => {
    const counts = await withTimeout('spread', 90_000, a.evaluate((n) => window.clusterTests.spread(n), 200), logs);
    const aHost = await a.evaluate(() => window.clusterTests.hostId());
    expect(Object.keys(counts).sort()).toEqual([aHost, bHost].sort());
    expect(counts[bHost]).toBeGreaterThan(50);
  });

  it('read in tab A a 32 MiB Float64Array made in tab B', async () => {
    const r = await withTimeout('bigFrom', 120_000, a.evaluate(() => window.clusterTests.bigFrom('webgpu')), logs);
    expect(r).toMatchObject({ madeOn: bHost, length: 4 * 1024 * 1024, bad: 0, shared: true });
  });

  it('let tab B call a named actor created from tab A', async () => {
    expect(await withTimeout('make actor', 30_000, a.evaluate(() => window.clusterTests.makeNamedCounter('tab-counter')), logs)).toBe(1);
    const aHost = await a.evaluate(() => window.clusterTests.hostId());
    const r = await withTimeout('call actor', 60_000, bPage.evaluate(() => window.clusterTests.callNamedCounter('tab-counter')), logs);
    expect(r).toEqual({ sums: [3, 6, 10], where: aHost });
  });

  it('refuse a tab with a wrong token', async () => {
    const c = await tabs.open({ numWorkers: 1, cluster: { ...cluster, token: 'guessed' } });
    expect(c.status).toBe('failed');
    expect(c.error).toMatch(/^ClusterAuthError: Cluster authentication failed/);
    expect(await a.evaluate(() => window.clusterTests.hosts())).toHaveLength(2);
  });
  it('drop a tab that goes away mid-job at once (back-forward cache or closed), and run its tasks elsewhere', async () => {
    /** Opens a tab that joins, starts a job from A and resolves once some of its tasks are on the new tab. */
    const busyTab = async () => {
      const t = await tabs.open({ numWorkers: 2, cluster });
      expect(t.status, t.error ?? t.log.text()).toBe('ready');
      const id = await t.page.evaluate(() => window.clusterTests.hostId());
      await withTimeout('the tab known to A', 30_000, a.evaluate((h) => window.clusterTests.untilMembers({ present: [h] }), id), logs);
      await a.evaluate(() => window.clusterTests.startJob(12, 2_000));
      await withTimeout('tasks on the tab', 30_000, a.evaluate((h) => window.clusterTests.untilTasksOn(h), id), logs);
      return { page: t.page, id };
    };
    // Well inside A's 5 s dead-after window: silence alone would not drop the tab in time.
    const goneFromA = (id: string) => withTimeout('the tab gone from A', 2_500, a.evaluate((h) => window.clusterTests.untilMembers({ absent: [h] }), id), logs);
    const jobDone = async () => {
      const counts = await withTimeout('the job', 60_000, a.evaluate(() => window.clusterTests.jobResult()), logs);
      expect(Object.values(counts).reduce((x, y) => x + y, 0)).toBe(12);
    };

    // The event the browser fires when it keeps a page in the back-forward cache: the page lives
    // on (frozen), its links open, yet it is gone for the cluster.
    const c = await busyTab();
    await c.page.evaluate(() => window.dispatchEvent(new PageTransitionEvent('pagehide', { persisted: true })));
    await goneFromA(c.id);
    await jobDone();
    await c.page.close();

    const d = await busyTab();
    await d.page.close();
    await goneFromA(d.id);
    await jobDone();
  });

  it('keep a tab whose main-thread timers are throttled (as when hidden) alive: heartbeats run on a worker\'s timers', async () => {
    const c = await tabs.open({ numWorkers: 1, throttleTimers: true, cluster });
    expect(c.status, c.error ?? c.log.text()).toBe('ready');
    const cHost = await c.page.evaluate(() => window.clusterTests.hostId());
    await withTimeout('C known to A', 30_000, a.evaluate((h) => window.clusterTests.untilMembers({ present: [h] }), cHost), logs);
    // Two of A's dead-after windows (5 s each): with heartbeats on throttled main-thread intervals, A would drop C.
    await c.page.waitForTimeout(11_000);
    expect(await a.evaluate(() => window.clusterTests.hosts())).toContain(cHost);
    await c.page.close();
    await withTimeout('C gone from A', 30_000, a.evaluate((h) => window.clusterTests.untilMembers({ absent: [h] }), cHost), logs);
  });

  it('keep a tab hidden through the DevTools Protocol (another tab opened in front of it) in the cluster, running tasks', async () => {
    const d = await tabs.openHideable({ numWorkers: 1, resources: { backstage: 1 }, cluster });
    expect(d.status, d.error ?? d.log.text()).toBe('ready');
    const dHost = await d.page.evaluate(() => window.clusterTests.hostId());
    await withTimeout('D known to A', 30_000, a.evaluate((h) => window.clusterTests.untilMembers({ present: [h] }), dHost), logs);
    await tabs.hide(d);
    // 12 s of tasks that only D can run, over two of A's dead-after windows (5 s each).
    const ranOn = await withTimeout('tasks on the hidden tab', 60_000, a.evaluate(() => window.clusterTests.holdOn('backstage', 12, 1000)), logs);
    expect(new Set(ranOn)).toEqual(new Set([dHost]));
    expect(await d.page.evaluate(() => document.visibilityState)).toBe('hidden');
    expect(await a.evaluate(() => window.clusterTests.hosts())).toContain(dHost);
  });
});
