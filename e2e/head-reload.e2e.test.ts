/**
 * A head tab that reloads, with no standby to take over, finds the cluster's tables it kept in
 * IndexedDB (keyed by the cluster and the tab's sessionStorage id): the job of a driver that left
 * before the reload is still listed, FINISHED, to a driver that joins after it. Headless Chromium,
 * a local PeerJS server, loopback-only namespace.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ray from 'webray';
import { ClusterTabs } from './support/cluster-tabs.js';
import { until, withTimeout } from './support/timeout.js';

let tabs: ClusterTabs;

beforeAll(async () => {
  tabs = await ClusterTabs.start();
}, 60_000);

afterAll(async () => {
  await tabs?.close();
});

const jobState = async (page: Page, jobId: string) => (await page.evaluate(() => window.clusterTests.jobs())).find((j) => j.jobId === jobId)?.state;

describe('a head tab that reloads', () => {
  it('finds its tables in IndexedDB: a driver joining after sees the job of a driver that left before', async () => {
    const keys = await ray.generateSubmitterKey();
    const operator = await ray.generateSubmitterKey();
    const cluster = { id: 'head-reload', token: 'head-reload-token', submitterPublicKey: keys.publicKey, operatorPublicKey: operator.publicKey, signal: tabs.peers.signal, iceServers: [] };
    const logs = () => tabs.logs();
    // H holds the operator key (the head); V only the join token; D1, the driver, is H's standby while it lives.
    const h = await tabs.open({ numWorkers: 1, cluster: { ...cluster, operatorKey: operator.privateKey } });
    expect(h.status, h.error ?? h.log.text()).toBe('ready');
    const v = await tabs.open({ numWorkers: 1, cluster });
    expect(v.status, v.error ?? v.log.text()).toBe('ready');
    const d1 = await tabs.open({ numWorkers: 1, cluster: { ...cluster, submitterKey: keys.privateKey } });
    expect(d1.status, d1.error ?? d1.log.text()).toBe('ready');
    const d1Job = await d1.page.evaluate(() => window.clusterTests.jobId());
    await until(async () => (await jobState(h.page, d1Job)) === 'RUNNING', 30_000, 'D1\'s job at the head');

    // D1 leaves (its job ends); no credentialed host but H is left: no standby.
    await tabs.closeTab(d1);
    await until(async () => (await jobState(h.page, d1Job)) === 'FINISHED', 30_000, 'D1\'s job FINISHED at the head');

    // H reloads: a new host (new id) in the same tab, which takes the head id again.
    await withTimeout('reloading the head tab', 30_000, h.page.reload());
    await withTimeout('ray.init after the reload', 60_000, h.page.waitForFunction(() => window.clusterStatus !== 'loading', undefined, { timeout: 60_000 }), logs);
    expect(await h.page.evaluate(() => window.clusterStatus), h.log.text()).toBe('ready');

    const d2 = await tabs.open({ numWorkers: 1, cluster: { ...cluster, submitterKey: keys.privateKey } });
    expect(d2.status, d2.error ?? d2.log.text()).toBe('ready');
    expect(await jobState(d2.page, d1Job)).toBe('FINISHED');
  }, 240_000);
});
