// What a volunteer's tab needs: pausing a host (lending no more for now) and host names. Three
// hosts in one process over the in-memory transport — the driver's host A (submitter key), and
// serving hosts B (named) and C.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { HostRuntime } from '../host/runtime.js';
import { MemorySignaling } from '../mesh/signaling.js';
import * as ray from '../index.js';
import { currentCore } from './core.js';
import { startServingHost } from './index.js';
import { until } from '../test-support/until.js';
import { hostname } from 'node:os';

let b: HostRuntime;
let c: HostRuntime;
let base: NonNullable<ray.InitOptions['cluster']>;

beforeAll(async () => {
  const keys = await ray.generateSubmitterKey();
  const operator = await ray.generateSubmitterKey();
  // Public keys in their compact form, as a join link carries them.
  base = { id: 'pause-cluster', token: 'join-secret', submitterPublicKey: ray.compactPublicKey(keys.publicKey), operatorPublicKey: ray.compactPublicKey(operator.publicKey), signaling: new MemorySignaling(), heartbeatMs: 100, deadAfterMs: 2000 };
  b = await startServingHost({ numWorkers: 2, hostName: 'lab laptop ☕', cluster: { ...base, operatorKey: operator.privateKey } });
  c = await startServingHost({ numWorkers: 1, cluster: base });
  await ray.init({ numWorkers: 1, cluster: { ...base, submitterKey: keys.privateKey } });
  const a = currentCore() as HostRuntime;
  await until(() => a.cluster!.member.linked(b.hostId) && a.cluster!.member.linked(c.hostId) && b.cluster!.member.linked(c.hostId));
});

afterAll(async () => {
  await ray.shutdown();
  await b?.shutdown();
  await c?.shutdown();
});

/** Busy for `ms` (work that keeps a worker's CPU), then says where it ran. */
const work = ray.remote((ms: number) => {
  const end = Date.now() + ms;
  while (Date.now() < end);
  return ray.getRuntimeContext().hostId;
});

const count = (hosts: string[], h: string) => hosts.filter((x) => x === h).length;

describe('pause and resume', () => {
  it('hands back the tasks a paused host had not started (no retry spent), runs none there meanwhile, and takes work again after resume', async () => {
    const spread = work.options({ schedulingStrategy: 'SPREAD', name: 'lent' });
    const first = Array.from({ length: 24 }, () => spread.remote(40));
    // B holds some on its workers and more in its queue: pause then.
    await until(() => b.scheduler.queueLength > 0);
    b.pause();
    expect(b.paused).toBe(true);
    expect((await b.state('nodes') as ray.NodeState[]).filter((n) => n.hostId === b.hostId).every((n) => n.paused)).toBe(true);
    const onWorkers = [...b.tasks.values()].filter((t) => t.state === 'SUBMITTED_TO_WORKER').length;
    const meanwhile = Array.from({ length: 12 }, () => spread.remote(1));
    const hosts = await ray.get([...first, ...meanwhile]);
    expect(hosts).toHaveLength(36);
    // Only what was on B's workers ran there; the rest went back and ran elsewhere, each once, first attempt.
    expect(count(hosts, b.hostId)).toBe(onWorkers);
    expect(count(hosts, c.hostId)).toBeGreaterThan(0);
    const ranOnB = b.localState('tasks', { filters: { name: 'lent' } }) as { state: string }[];
    expect(ranOnB.map((r) => r.state)).toEqual(Array(onWorkers).fill('FINISHED'));
    const rows = await ray.state.listTasks({ filters: { name: 'lent' } });
    const owned = rows.filter((r) => r.jobId === ray.getRuntimeContext().jobId && !r.nodeId?.startsWith(`${b.hostId}.`));
    expect(owned.every((r) => r.attempt === 0 && r.state === 'FINISHED')).toBe(true);
    expect(b.tasks.size).toBe(0);

    b.resume();
    expect(b.paused).toBe(false);
    await until(async () => (await ray.nodes()).some((n) => n.hostId === b.hostId && !n.paused));
    const after = await ray.get(Array.from({ length: 20 }, () => spread.remote(1)));
    expect(count(after, b.hostId)).toBeGreaterThan(0);
  });

  it('reports nothing free on a paused host to the head, and its resources again after resume', async () => {
    await until(async () => ((await ray.availableResources()).CPU ?? 0) === 4);
    c.pause();
    await until(async () => ((await ray.availableResources()).CPU ?? 0) === 3);
    c.resume();
    await until(async () => ((await ray.availableResources()).CPU ?? 0) === 4);
  });

  it('sends a paused driver\'s own tasks to other hosts', async () => {
    ray.pause();
    expect(ray.isPaused()).toBe(true);
    try {
      const hosts = await ray.get(Array.from({ length: 12 }, () => work.remote(1)));
      expect(count(hosts, ray.getRuntimeContext().hostId)).toBe(0);
    } finally {
      ray.resume();
    }
    expect(ray.isPaused()).toBe(false);
  });

  it('keeps a task pinned to a paused host\'s node until resume; an actor there keeps serving', async () => {
    const Counter = ray.remote(class Counter { n = 0; add() { return ++this.n; } });
    const cNode = (await ray.nodes()).find((n) => n.hostId === c.hostId && n.kind === 'task')!.nodeId;
    const counter = Counter.options({ schedulingStrategy: { nodeId: cNode, soft: false } }).remote();
    expect(await ray.get(counter.add.remote())).toBe(1);
    c.pause();
    expect(await ray.get(counter.add.remote())).toBe(2);
    const pinned = work.options({ schedulingStrategy: { nodeId: cNode, soft: false } }).remote(1);
    const soft = work.options({ schedulingStrategy: { nodeId: cNode, soft: true } }).remote(1);
    expect(await ray.get(soft)).not.toBe(c.hostId);
    const [ready] = await ray.wait([pinned], { timeout: 200 });
    expect(ready).toHaveLength(0);
    c.resume();
    expect(await ray.get(pinned)).toBe(c.hostId);
    await ray.kill(counter);
  });
});

describe('host names', () => {
  it('name every host in nodes() and jobs rows: the given name, else the machine and pid in Node', async () => {
    const a = ray.getRuntimeContext().hostId;
    const nodes = await ray.nodes();
    const nameOf = (h: string) => new Set(nodes.filter((n) => n.hostId === h).map((n) => n.hostName));
    expect(nameOf(b.hostId)).toEqual(new Set(['lab laptop ☕']));
    expect(nameOf(a)).toEqual(new Set([`${hostname().slice(0, 40)} pid ${process.pid}`]));
    expect(nameOf(c.hostId)).toEqual(new Set([c.hostName]));
    const jobs = await ray.state.listJobs({ filters: { hostId: a } });
    expect(jobs.map((j) => j.hostName)).toEqual([`${hostname().slice(0, 40)} pid ${process.pid}`]);
  });

  it('refuse a name with control characters, padding or over 64 characters, saying what a name may be', async () => {
    for (const hostName of ['tab\n1', ' tab', 'x'.repeat(65), '', 'a\u202Eb']) {
      await expect(startServingHost({ numWorkers: 1, hostName })).rejects.toThrow(/ray\.init: hostName must be 1–64 characters without control characters/);
    }
  });
});

describe('a graceful leave', () => {
  it('leaves mid-job with results kept for another host\'s driver: every value arrives, no object rebuilt, no task retried', async () => {
    const a = currentCore() as HostRuntime;
    const d = await startServingHost({ numWorkers: 2, cluster: base });
    await until(() => a.cluster!.member.linked(d.hostId));
    const dNodes = (await ray.nodes()).filter((n) => n.hostId === d.hostId).map((n) => n.nodeId);
    // Each result is 160 KB: kept in D's store for the driver, which pulls it when it needs it.
    const make = ray.remote((i: number, ms: number) => {
      const end = Date.now() + ms;
      while (Date.now() < end);
      return { host: ray.getRuntimeContext().hostId, data: new Float64Array(20_000).fill(i) };
    });
    const rebuiltBefore = a.recoveryStats.reconstructions;
    const refs = Array.from({ length: 8 }, (_, i) => make.options({ name: 'left-gracefully', schedulingStrategy: { nodeId: dNodes[i % 2]!, soft: true } }).remote(i, 100));
    await until(() => [...d.tasks.values()].some((t) => t.state === 'SUBMITTED_TO_WORKER'));
    // A task pinned to D (soft: false) waits there while D is paused: leaving does not wait for it.
    d.pause();
    const pinned = make.options({ schedulingStrategy: { nodeId: dNodes[0]!, soft: false }, maxRetries: 0 }).remote(-1, 0);
    await until(() => [...d.tasks.values()].some((t) => t.remoteOwner !== undefined && t.state === 'PENDING_NODE_ASSIGNMENT'));
    const info = vi.spyOn(console, 'info').mockImplementation(() => undefined);
    try {
      await d.shutdown({ timeoutMs: 10_000 });
      // It left nothing behind, so it says nothing (past the timeout it would say what it left).
      expect(info.mock.calls.filter((c) => String(c[0]).includes('left its cluster'))).toEqual([]);
    } finally {
      info.mockRestore();
    }
    await expect(ray.get(pinned)).rejects.toThrow(ray.NodeDiedError);
    const got = await ray.get(refs);
    got.forEach((v, i) => {
      expect(v.data.length).toBe(20_000);
      expect(v.data.every((x) => x === i)).toBe(true);
    });
    expect(a.recoveryStats.reconstructions - rebuiltBefore).toBe(0);
    // Some ran on D (a rebuilt one would name the host that made it again).
    expect(got.filter((v) => v.host === d.hostId).length).toBeGreaterThan(0);
    const rows = await ray.state.listTasks({ filters: { name: 'left-gracefully' } });
    expect(rows.filter((r) => r.jobId === ray.getRuntimeContext().jobId).every((r) => r.attempt === 0 && r.state === 'FINISHED')).toBe(true);
  });
});
