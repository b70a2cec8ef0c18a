/**
 * Three tabs and a Node.js host as one cluster (headless Chromium, WebRTC through a local PeerJS
 * server, loopback-only network namespace). Tab A drives; B, C (tabs) and D (`pnpm host`) have
 * the join token only, each with a resource naming it. Work with no placement rule goes by load
 * (bottom-up: A's own CPUs first, then the head's global scheduler), and to where its data is.
 */
import type { ChildProcess } from 'node:child_process';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ray from 'webray';
import { ClusterTabs } from './support/cluster-tabs.js';
import { startHost, stopHost } from './support/node-host.js';
import { withTimeout } from './support/timeout.js';

const WORKERS = 2;
const HOSTS = 4;

let tabs: ClusterTabs;
let d: ChildProcess | undefined;
let a: Page;
const ids: Record<'a' | 'b' | 'c' | 'd', string> = { a: '', b: '', c: '', d: '' };

beforeAll(async () => {
  tabs = await ClusterTabs.start();
  const keys = await ray.generateSubmitterKey();
  // The first host holds the operator key: it may be head (a host with only the join token may not).
  const operator = await ray.generateSubmitterKey();
  const cluster = { id: 'scale-e2e', token: 'scale-token', submitterPublicKey: keys.publicKey, operatorPublicKey: operator.publicKey, signal: tabs.peers.signal, iceServers: [] };
  for (const name of ['b', 'c'] as const) {
    const t = await tabs.open({ numWorkers: WORKERS, resources: { [`on-${name}`]: 1 }, cluster: name === 'b' ? { ...cluster, operatorKey: operator.privateKey } : cluster });
    expect(t.status, t.error ?? t.log.text()).toBe('ready');
    ids[name] = await t.page.evaluate(() => window.clusterTests.hostId());
  }
  const host = startHost({ numWorkers: WORKERS, resources: { 'on-d': 1 }, cluster });
  d = host.child;
  const line = await withTimeout('the Node host', 60_000, host.line);
  expect(line).toMatch(/^ready /);
  ids.d = line.slice(6);
  const tabA = await tabs.open({ numWorkers: WORKERS, cluster: { ...cluster, submitterKey: keys.privateKey } });
  expect(tabA.status, tabA.error ?? tabA.log.text()).toBe('ready');
  a = tabA.page;
  ids.a = await a.evaluate(() => window.clusterTests.hostId());
  await withTimeout('all four hosts known', 60_000, a.evaluate((n) => window.clusterTests.untilMembers({ count: n }), HOSTS), tabs.logs);
}, 240_000);

afterAll(async () => {
  await stopHost(d);
  await tabs?.close();
});

describe('three tabs and a Node host as one cluster', () => {
  it('spread 300 tasks with no placement rule over all four hosts by load', async () => {
    const counts = await withTimeout('300 tasks', 120_000, a.evaluate(() => window.clusterTests.byLoad(300, 20)), tabs.logs);
    const linked = await a.evaluate(() => window.clusterTests.hosts());
    const why = JSON.stringify({ counts, ids, linked });
    console.log(`300 tasks by load: ${why}`);
    expect(Object.values(counts).reduce((x, y) => x + y, 0)).toBe(300);
    expect(Object.keys(counts).sort(), why).toEqual(Object.values(ids).sort());
    // Every host takes a real share (an even split would be 75 each).
    for (const host of Object.values(ids)) expect(counts[host], why).toBeGreaterThanOrEqual(20);
  }, 150_000);

  it('host an actor for tab A on the Node host, its calls in order', async () => {
    const r = await withTimeout('actor on D', 60_000, a.evaluate(() => window.clusterTests.counterOn('on-d')), tabs.logs);
    expect(r).toEqual({ sums: [1, 3, 6, 10], where: ids.d });
  });

  it('read a 32 MiB object made in B in A and in C, and run a task on B\'s data on B', async () => {
    const r = await withTimeout('32 MiB across', 180_000, a.evaluate((cpus) => window.clusterTests.bigAcross('on-b', 'on-c', cpus), HOSTS * WORKERS), tabs.logs);
    const n = (32 * 1024 * 1024) / 8;
    expect(r.here).toEqual({ bad: 0, length: n, host: ids.a, shared: true });
    expect(r.there).toEqual({ bad: 0, length: n, host: ids.c, shared: true });
    expect(r.local).toEqual({ bad: 0, length: n, host: ids.b, shared: true });
  }, 200_000);
});
