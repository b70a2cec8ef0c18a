// Quorum verification (`verify: { replicas }`) for hosts that may lie. Four hosts in one process
// over an in-memory network that can cut one off: the driver's host A (the head and owner) and
// serving hosts B, C, D; C and D offer a `lab` resource. A lying host is a test fixture: a serving
// host whose results are changed on their way out (its ClusterHost.sendDone patched here).
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { HostRuntime } from '../host/runtime.js';
import { PartitionableNetwork, type HostSide } from '../test-support/partitionable-network.js';
import { taskOfObject } from '../shared/ids.js';
import * as ray from '../index.js';
import { currentCore } from './core.js';
import { startServingHost } from './index.js';
import { until } from '../test-support/until.js';
import { describeFunction } from './api.js';
import { loadPlatform } from '../platform/detect.js';
import { memorySpill } from '../test-support/memory-spill.js';

const net = new PartitionableNetwork();
const sides = new Map<HostRuntime, HostSide>();
let a: HostRuntime;
let serving: HostRuntime[];

async function serve(resources?: Record<string, number>): Promise<HostRuntime> {
  const side = net.host();
  const h = await startServingHost({ numWorkers: 1, ...(resources ? { resources } : {}), cluster: { ...base, signaling: side } });
  sides.set(h, side);
  return h;
}

let base: Omit<NonNullable<ray.InitOptions['cluster']>, 'signaling'>;
let submitterKey: string;

beforeAll(async () => {
  const keys = await ray.generateSubmitterKey();
  submitterKey = keys.privateKey;
  const operator = await ray.generateSubmitterKey();
  base = { id: 'verify', token: 'verify-token', submitterPublicKey: keys.publicKey, operatorPublicKey: operator.publicKey, heartbeatMs: 100, deadAfterMs: 1000 };
  await ray.init({ numWorkers: 1, cluster: { ...base, signaling: net.host(), submitterKey: keys.privateKey, operatorKey: operator.privateKey } });
  a = currentCore() as HostRuntime;
  serving = [await serve(), await serve({ lab: 1 }), await serve({ lab: 1 })];
  await until(async () => new Set((await ray.nodes()).map((n) => n.hostId)).size === 4, 20_000);
  await until(() => serving.every((h) => a.cluster!.member.linked(h.hostId)));
}, 60_000);

afterAll(async () => {
  await ray.shutdown();
  for (const h of serving ?? []) await h.shutdown();
});

const sum = ray.remote((xs: number[]) => xs.reduce((s, x) => s + x, 0));

/** The serving hosts in the order replicas go to them (others first, by id, when none is busy). */
const byId = () => [...serving].sort((x, y) => (x.hostId < y.hostId ? -1 : 1));

/** Makes `h` a liar: every number it returns to an owner is off by one. */
function lie(h: HostRuntime) {
  const cluster = h.cluster!;
  const send = cluster.sendDone.bind(cluster);
  return vi.spyOn(cluster, 'sendDone').mockImplementation((to, id, attempt, values, remote, error, start, end) =>
    send(to, id, attempt, values?.map((v) => (typeof v === 'number' ? v + 1 : v)), remote, error, start, end));
}

/** The owner's rows of a verified task's replicas (children of its task), oldest first. */
async function replicaRows(ref: ray.ObjectRef<unknown>) {
  const rows = await ray.state.listTasks({ filters: { parentTaskId: taskOfObject(ref.id) } });
  return rows.reverse();
}

const hostOf = (nodeId: string | null) => nodeId!.split('.')[0];

/** Busy for `ms` on a worker, then 7. */
const slow = ray.remote((ms: number) => { const end = Date.now() + ms; while (Date.now() < end); return 7; });

describe('verify: { replicas }', () => {
  it('runs honest replicas on distinct hosts, and the value they agree on arrives', async () => {
    const ref = sum.options({ verify: { replicas: 2 }, name: 'honest' }).remote([1, 2, 3]);
    expect(await ray.get(ref)).toBe(6);
    const rows = await replicaRows(ref);
    expect(rows.map((r) => r.state)).toEqual(['FINISHED', 'FINISHED']);
    expect(rows.every((r) => r.name === 'honest')).toBe(true);
    expect(new Set(rows.map((r) => hostOf(r.nodeId))).size).toBe(2);
    // Unfiltered, the cluster-wide rows (those of the hosts that ran them, naming their nodes) are still the task's children.
    const all = (await ray.state.listTasks()).filter((r) => rows.some((x) => x.taskId === r.taskId));
    expect(all.map((r) => r.parentTaskId)).toEqual([taskOfObject(ref.id), taskOfObject(ref.id)]);
    expect(all.every((r) => r.nodeId!.includes('.'))).toBe(true);
    expect(a.quorum.disagreements).toEqual([]);
  });

  it('hashes several returns together, and a large result from the bytes pulled into the owner\'s store', async () => {
    const pair = ray.remote((n: number) => [n * 2, 'n=' + n]).options({ numReturns: 2, verify: { replicas: 2 } });
    const [x, y] = pair.remote(21);
    expect(await ray.get([x!, y!])).toEqual([42, 'n=21']);
    // 128 KiB of doubles: kept in the store of the host that made it, pulled by the owner to be hashed.
    const big = ray.remote((n: number) => Float64Array.from({ length: n }, (_, i) => i / 4)).options({ verify: { replicas: 2 } });
    const ref = big.remote(16_384);
    const v = await ray.get(ref);
    expect(v.length).toBe(16_384);
    expect(v[16_383]).toBe(16_383 / 4);
    expect((await replicaRows(ref)).map((r) => r.state)).toEqual(['FINISHED', 'FINISHED']);
    expect((await replicaRows(x!)).map((r) => r.state)).toEqual(['FINISHED', 'FINISHED']);
    expect(a.quorum.disagreements).toEqual([]);
  });

  it('cancels a verified task and its replicas', async () => {
    const ref = slow.options({ verify: { replicas: 2 }, name: 'cancelled' }).remote(1500);
    await until(async () => (await replicaRows(ref)).length === 2);
    await ray.cancel(ref);
    await expect(ray.get(ref)).rejects.toBeInstanceOf(ray.TaskCancelledError);
    // The replicas end (their results dropped), and leave no task behind.
    await until(() => a.tasks.size === 0, 20_000);
  });

  it('catches a lying host: two replicas disagree, a third on a third host makes the honest majority', async () => {
    const [liar, honest] = byId();
    const spy = lie(liar!);
    try {
      const ref = sum.options({ verify: { replicas: 2 } }).remote([4, 5]);
      expect(await ray.get(ref)).toBe(9);
      const rows = await replicaRows(ref);
      expect(rows.map((r) => r.state)).toEqual(['FINISHED', 'FINISHED', 'FINISHED']);
      const hosts = rows.map((r) => hostOf(r.nodeId));
      expect(new Set(hosts).size).toBe(3);
      expect(hosts).toContain(liar!.hostId);
      expect(hosts).toContain(honest!.hostId);
      const caught = await ray.state.listDisagreements();
      expect(caught.map((d) => [d.taskId, d.hostId, d.hostName])).toEqual([[taskOfObject(ref.id), liar!.hostId, liar!.hostName]]);
      expect(caught[0]!.hash).not.toBe(caught[0]!.acceptedHash);
      // Caught, it gets no more verified work of this job: later tasks' replicas go to the others (A included).
      const later = Array.from({ length: 4 }, (_, k) => sum.options({ verify: { replicas: 3 } }).remote([k]));
      expect(await ray.get(later)).toEqual([0, 1, 2, 3]);
      for (const r of later) expect((await replicaRows(r)).map((x) => hostOf(x.nodeId))).not.toContain(liar!.hostId);
      expect(await ray.state.listDisagreements()).toHaveLength(1);
    } finally {
      spy.mockRestore();
      a.quorum.disagreements.length = 0;
      a.quorum.excluded.clear();
    }
  });

  it('fails with a VerificationError naming both hosts when two replicas disagree and no third host can run it', async () => {
    const lab = serving.filter((h) => h.scheduler.pool.total.lab);
    const spy = lie(lab[0]!);
    try {
      const ref = sum.options({ verify: { replicas: 2 }, resources: { lab: 1 } }).remote([1, 1]);
      const err = await ray.get(ref).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(ray.VerificationError);
      const v = err as ray.VerificationError;
      expect(v.results.map((r) => r.host).sort()).toEqual(lab.map((h) => h.hostId).sort());
      expect(v.results[0]!.hash).not.toBe(v.results[1]!.hash);
      for (const h of lab) expect(v.message).toContain(`host ${h.hostId} → sha256 `);
      expect(v.message).toMatch(/no other host that never ran a replica of it can run one more/);
    } finally {
      spy.mockRestore();
    }
  });

  it('fails at once when fewer hosts can run it than replicas, saying how many can', async () => {
    const ref = sum.options({ verify: { replicas: 3 }, resources: { lab: 1 } }).remote([1]);
    const err = await ray.get(ref).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ray.VerificationError);
    expect((err as Error).message).toMatch(/runs it on 3 distinct hosts, but only 2 can run it now/);
  });

  it('refuses work submitted from a verified task, and verify on actors, saying why', async () => {
    const inner = ray.remote(() => 1);
    const outer = ray.remote(() => ray.get(inner.remote()), { uses: { inner } });
    const err = await ray.get(outer.options({ verify: { replicas: 2 } }).remote()).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ray.RayTaskError);
    expect(((err as Error).cause as Error).name).toBe('RayUsageError');
    expect(((err as Error).cause as Error).message).toMatch(/a task run with verify may not submit task .*pure leaf tasks/);

    class Counter { n = 0; add() { return ++this.n; } }
    expect(() => ray.remote(Counter).options({ verify: { replicas: 2 } } as never)).toThrow(/'verify' is for tasks only/);
    expect(() => sum.options({ verify: { replicas: 1 } })).toThrow(/verify.replicas must be an integer ≥ 2 .*got 1/);
    expect(() => sum.options({ verify: { replicas: 2, maxReplicas: 1 } })).toThrow(/verify.maxReplicas must be an integer ≥ verify.replicas \(2\), got 1/);
    expect(() => sum.options({ verify: { replica: 2 } } as never)).toThrow(/unknown option 'replica'. Did you mean 'replicas'\?/);
  });

  it('verifies a result rebuilt by lineage again: its replicas run again', async () => {
    const MiB = 1024 * 1024;
    const spill = memorySpill();
    const { copies } = spill;
    const platform = await loadPlatform();
    // An owner with a small store: its verified results (1 MiB each, 10 MiB in an 8 MiB store) are spilled, then their copies lost.
    const o = await startServingHost({ numWorkers: 1, objectStoreMemory: 2 * MiB, objectStoreMaxMemory: 8 * MiB, platform: { ...platform, spillTarget: () => spill },
      cluster: { ...base, signaling: net.host(), submitterKey } });
    try {
      await until(() => [a, ...serving].every((h) => o.cluster!.member.linked(h.hostId)));
      const caller = o.currentCaller();
      const make = describeFunction((k: number, n: number) => new Float64Array(n).fill(k), undefined).d;
      // One at a time: the owner pulls each replica's result to hash it, and has room for two at once.
      const made: string[] = [];
      for (let k = 0; k < 10; k++) {
        made.push(o.submitTask(caller, make, [k + 1, MiB / 8], { verify: { replicas: 2 } })[0]!);
        await o.wait(made.slice(-1), 1, undefined);
      }
      const at = new Map(((await o.state('objects')) as { objectId: string; location: string }[]).map((x) => [x.objectId, x.location]));
      const lost = made.filter((id) => at.get(id) === 'SPILLED');
      expect(lost.length).toBeGreaterThan(0);
      copies.clear();
      for (const [k, id] of made.entries()) {
        const [v] = (await o.get([id], undefined, undefined)) as Float64Array[];
        expect([v![0], v![v!.length - 1]]).toEqual([k + 1, k + 1]);
        o.releaseView(v!);
      }
      expect(o.recoveryStats.reconstructions).toBe(lost.length);
      for (const id of made) {
        const rows = (await o.state('tasks', { filters: { parentTaskId: taskOfObject(id), state: 'FINISHED' } })) as unknown[];
        expect(rows).toHaveLength(lost.includes(id) ? 4 : 2);
      }
    } finally {
      await o.shutdown();
    }
  }, 60_000);

  it('runs a replica whose host is cut off mid-task again on a host no replica ran on, and verifies the value', async () => {
    const [victim] = byId();
    const ref = slow.options({ verify: { replicas: 2 }, name: 'cut' }).remote(2000);
    await until(() => [...victim!.tasks.values()].some((t) => t.name === 'cut'), 10_000);
    sides.get(victim!)!.cutOff();
    try {
      expect(await ray.get(ref, { timeout: 30_000 })).toBe(7);
      const rows = await replicaRows(ref);
      const where = rows.map((r) => `${r.state} on ${hostOf(r.nodeId)}`);
      expect(where, JSON.stringify(rows)).toContain(`FAILED on ${victim!.hostId}`);
      const finished = rows.filter((r) => r.state === 'FINISHED').map((r) => hostOf(r.nodeId));
      expect(finished).toHaveLength(2);
      expect(finished).not.toContain(victim!.hostId);
      // Every attempt of every replica on a host of its own.
      expect(new Set(rows.map((r) => hostOf(r.nodeId))).size).toBe(rows.length);
    } finally {
      sides.get(victim!)!.heal();
      await until(() => a.cluster!.others().some((h) => h.hostId === victim!.hostId), 20_000);
    }
  }, 60_000);

  it('fails with a VerificationError when a replica\'s host is lost and no host that never ran one is left', async () => {
    const lab = serving.filter((h) => h.scheduler.pool.total.lab);
    const ref = slow.options({ verify: { replicas: 2 }, resources: { lab: 1 }, name: 'stranded' }).remote(1500);
    await until(() => lab.every((h) => [...h.tasks.values()].some((t) => t.name === 'stranded')), 10_000);
    sides.get(lab[0]!)!.cutOff();
    try {
      const err = await ray.get(ref, { timeout: 30_000 }).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(ray.VerificationError);
      const v = err as ray.VerificationError;
      expect(v.message).toMatch(/no 2 of its replicas agree/);
      expect(v.results.map((r) => r.host).sort()).toEqual(lab.map((h) => h.hostId).sort());
      expect(v.results.find((r) => r.host === lab[0]!.hostId)!.error).toMatch(/^VerificationError: .*no other host that never ran a replica of it can run it now/);
    } finally {
      sides.get(lab[0]!)!.heal();
      await until(() => a.cluster!.others().some((h) => h.hostId === lab[0]!.hostId), 20_000);
    }
  }, 60_000);
});
