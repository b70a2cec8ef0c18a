// Lineage reconstruction and owner death across hosts in one process, over the in-memory
// transport: the driver's host A (the head, with the submitter key) and serving hosts started per
// test, which are shut down (their links close, their stores go) to lose what they held. Real
// workers on every host.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostRuntime } from './runtime.js';
import { MemorySignaling } from '../mesh/signaling.js';
import * as ray from '../index.js';
import { currentCore } from '../api/core.js';
import { startServingHost } from '../api/index.js';
import { describeFunction } from '../api/api.js';
import { loadPlatform } from '../platform/detect.js';
import { memorySpill } from '../test-support/memory-spill.js';
import { until } from '../test-support/until.js';

let base: Omit<ray.ClusterConfig, 'submitterKey'>;
let privateKey: string;
let hostA: HostRuntime;
/** 128 KiB of doubles: an array that goes to the store, and stays on the host that made it. */
const N = 16_384;

beforeAll(async () => {
  const keys = await ray.generateSubmitterKey();
  privateKey = keys.privateKey;
  base = { id: 'lineage-cluster', token: 'join-secret', submitterPublicKey: keys.publicKey, signaling: new MemorySignaling(), heartbeatMs: 100, deadAfterMs: 2000 };
  // A starts first: it is the head, so the hosts killed below are never the head.
  await ray.init({ numWorkers: 2, cluster: { ...base, submitterKey: privateKey } });
  hostA = currentCore() as HostRuntime;
});

afterAll(() => ray.shutdown());

/** A serving host linked to A, and its first task node (a soft `nodeId` placement sends work there). */
async function serving(options: { resources?: Record<string, number>; key?: boolean } = {}): Promise<{ h: HostRuntime; onIt: { schedulingStrategy: { nodeId: string; soft: true } } }> {
  const h = await startServingHost({ numWorkers: 1, resources: options.resources, cluster: options.key ? { ...base, submitterKey: privateKey } : base });
  await until(() => hostA.cluster!.member.linked(h.hostId));
  await until(async () => (await ray.nodes()).some((n) => n.hostId === h.hostId));
  const nodeId = (await ray.nodes()).find((n) => n.hostId === h.hostId)!.nodeId;
  return { h, onIt: { schedulingStrategy: { nodeId, soft: true } } };
}

const reconstructions = async () => (await ray.state.objectStore()).reconstructions;
const locationOf = async (ref: ray.ObjectRef<unknown>) => (await ray.state.listObjects()).find((o) => o.objectId === ref.id)?.location;

describe('lineage reconstruction', () => {
  it('makes a chain of large results again when the host holding them is killed: the driver\'s get completes with the right value', async () => {
    const { h: b, onIt } = await serving();
    const make = ray.remote((n: number) => new Float64Array(n).fill(1)).options(onIt);
    const double = ray.remote((a: Float64Array) => a.map((x) => x * 2)).options(onIt);
    const lineageBefore = (await ray.state.objectStore()).lineageBytes;
    const x1 = make.remote(N);
    const x2 = double.remote(x1);
    const x3 = double.remote(x2);
    await ray.wait([x3]);
    expect(await locationOf(x3)).toBe('REMOTE');
    // Only the last ref is kept: the lineage of its arguments is what makes them again.
    x1.release();
    x2.release();
    const before = await reconstructions();
    await b.shutdown();
    const v = await ray.get(x3);
    expect(v.length).toBe(N);
    expect([v[0], v[N - 1]]).toEqual([4, 4]);
    expect((await reconstructions()) - before).toBe(3);
    // The lineage goes with the last ref: the chain's specs are no longer kept.
    ray.release(v);
    x3.release();
    await until(async () => (await ray.state.objectStore()).lineageBytes === lineageBefore);
  });

  it('keeps lineage within maxLineageBytes: an object whose lineage was dropped at the cap fails, saying so', async () => {
    const { h: b, onIt } = await serving();
    const d = await startServingHost({ numWorkers: 1, maxLineageBytes: 1000, cluster: { ...base, submitterKey: privateKey } });
    try {
      await until(() => d.cluster!.member.linked(b.hostId));
      const make = describeFunction((n: number) => new Float64Array(n).fill(1), undefined).d;
      const made = [0, 1, 2, 3, 4, 5].map(() => d.submitTask(d.currentCaller(), make, [N], onIt)[0]!);
      await d.wait(made, made.length, undefined);
      expect(d.recoveryStats.lineageEvictions).toBeGreaterThan(0);
      expect(d.recoveryStats.lineageBytes).toBeLessThanOrEqual(1000);
      await b.shutdown();
      const err = await d.get([made[0]!], undefined, undefined).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(ray.ObjectLostError);
      expect((err as Error).message).toMatch(/more than maxLineageBytes \(1000 bytes\) of task specs were kept\. Raise init\(\{ maxLineageBytes \}\)/);
      // The newest lineage was kept: that one is made again.
      const [last] = (await d.get([made[5]!], undefined, undefined)) as Float64Array[];
      expect(last!.length).toBe(N);
    } finally {
      await d.shutdown();
    }
  });

  it('fails a lost result whose task has no retries left, saying so', async () => {
    const { h: b, onIt } = await serving();
    const make = ray.remote((n: number) => new Float64Array(n).fill(1)).options({ ...onIt, maxRetries: 0 });
    const x = make.remote(N);
    await ray.wait([x]);
    await b.shutdown();
    const err = await ray.get(x).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ray.ObjectLostError);
    expect((err as Error).message).toMatch(/no retries left \(maxRetries\)/);
    expect((err as ray.ObjectLostError).objectId).toBe(x.id);
  });

  it('fails a lost result of an actor method with ObjectLostError naming the actor (an actor call is not run again)', async () => {
    const { h: b } = await serving({ resources: { onlyB: 1 } });
    class Maker {
      make(n: number) { return new Float64Array(n).fill(3); }
    }
    const actor = ray.remote(Maker).options({ resources: { onlyB: 1 } }).remote();
    const x = actor.make.remote(N);
    await ray.wait([x]);
    expect(await locationOf(x)).toBe('REMOTE');
    await b.shutdown();
    const err = await ray.get(x).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ray.ObjectLostError);
    expect((err as Error).message).toContain('Maker.make');
    expect((err as Error).message).toMatch(/on actor [0-9a-f]+/);
  });

  it('rebuilds an argument another host could not pull, and runs the task again without spending its retry', async () => {
    const { h: b, onIt: onB } = await serving();
    const { h: c, onIt: onC } = await serving();
    const x = ray.remote((n: number) => new Float64Array(n).fill(5)).options(onB).remote(N);
    await ray.wait([x]);
    // B keeps it but loses its copy: C's pull of it fails, C tells A, and A makes it again.
    b.store!.store.delete(x.id);
    const sum = ray.remote((a: Float64Array) => a.reduce((s, v) => s + v, 0)).options({ ...onC, maxRetries: 0 });
    const before = await reconstructions();
    expect(await ray.get(sum.remote(x))).toBe(5 * N);
    expect((await reconstructions()) - before).toBe(1);
    await Promise.all([b.shutdown(), c.shutdown()]);
  });
});

describe('lost spilled copies', () => {
  it('makes a result whose spilled copy is missing again; a put whose spilled copy is missing fails with ObjectLostError naming the put', async () => {
    const MiB = 1024 * 1024;
    const spill = memorySpill();
    const { copies } = spill;
    const platform = await loadPlatform();
    const h = await startServingHost({ numWorkers: 1, objectStoreMemory: 2 * MiB, objectStoreMaxMemory: 8 * MiB, platform: { ...platform, spillTarget: () => spill } });
    try {
      const caller = h.currentCaller();
      // 14 MiB in an 8 MiB store, every ref held: the oldest (the put first) are spilled.
      const put = h.put(caller, new Float64Array(MiB / 4).fill(7));
      const make = describeFunction((k: number, n: number) => new Float64Array(n).fill(k), undefined).d;
      const made = [1, 2, 3, 4, 5, 6].map((k) => h.submitTask(caller, make, [k, MiB / 4], {})[0]!);
      await h.wait(made, made.length, undefined);
      const where = async () => new Map(((await h.state('objects')) as { objectId: string; location: string }[]).map((o) => [o.objectId, o.location]));
      const at = await where();
      expect(at.get(put)).toBe('SPILLED');
      expect(made.some((id) => at.get(id) === 'SPILLED')).toBe(true);
      copies.clear();
      for (const [k, id] of made.entries()) {
        const [a] = (await h.get([id], undefined, undefined)) as Float64Array[];
        expect([a![0], a![a!.length - 1]]).toEqual([k + 1, k + 1]);
        h.releaseView(a!);
      }
      expect(h.recoveryStats.reconstructions).toBeGreaterThan(0);
      const err = await h.get([put], undefined, undefined).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(ray.ObjectLostError);
      expect((err as ray.ObjectLostError).objectId).toBe(put);
      expect((err as Error).message).toMatch(/its spilled copy is missing from a test spill target, and it was made by ray\.put/);
    } finally {
      await h.shutdown();
    }
  });
});

describe('a worker dying on another host', () => {
  it('retries the task there, as a worker dying here would (its owner spends a retry)', async () => {
    const { h: c } = await serving({ resources: { onlyC: 1 } });
    const crashOnce = ray.remote(() => {
      if (ray.getRuntimeContext().attempt === 0) process.exit(1);
      return ray.getRuntimeContext().attempt;
    }).options({ resources: { onlyC: 1 }, maxRetries: 1 });
    expect(await ray.get(crashOnce.remote())).toBe(1);
    await c.shutdown();
  });
});

describe('owner death', () => {
  it('stops the tasks a host that died placed on another host (fate sharing), their state saying OwnerDiedError', async () => {
    const { h: c } = await serving({ resources: { onlyC: 1 } });
    const { h: b } = await serving({ key: true });
    await until(() => b.cluster!.member.linked(c.hostId));
    // B owns the task and its large argument (put in B's store, pulled by C); the task runs until stopped.
    const hang = describeFunction(async (a: Float64Array) => { await new Promise(() => undefined); return a.length; }, undefined).d;
    const [ref] = b.submitTask(b.currentCaller(), hang, [new Float64Array(N)], { resources: { onlyC: 1 } });
    const row = async () => ((await c.state('tasks')) as { taskId: string; state: string; errorType: string | null; nodeId: string }[]).find((t) => ref!.startsWith(t.taskId));
    await until(async () => (await row())?.state === 'RUNNING');
    const node = (await row())!.nodeId;
    await b.shutdown();
    await until(async () => (await row())?.state === 'FAILED');
    expect((await row())?.errorType).toBe('OwnerDiedError');
    // Its node was taken down with it and replaced: C runs new work.
    await until(async () => !((await c.state('nodes')) as { nodeId: string }[]).some((n) => n.nodeId === node));
    const where = ray.remote(() => ray.getRuntimeContext().hostId).options({ resources: { onlyC: 1 } });
    expect(await ray.get(where.remote())).toBe(c.hostId);
    await c.shutdown();
  });
});
