// Two hosts in one process, joined over the in-memory transport: the driver's host A (which holds
// the submitter key) and a serving host B (join token only, like a volunteer tab) with a resource
// A lacks. Real workers on both; only the links between hosts are in memory.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { HostRuntime } from '../host/runtime.js';
import { MemorySignaling } from '../mesh/signaling.js';
import { toWire } from '../host/cluster-host.js';
import * as ray from '../index.js';
import { currentCore } from './core.js';
import { startServingHost } from './index.js';
import { describeFunction } from './api.js';
import { Signer, Verifier } from '../mesh/signing.js';
import type { FunctionDescriptor } from '../shared/protocol.js';
import { HostilePeer } from '../test-support/hostile-peer.js';
import { headPeerId } from '../mesh/cluster.js';
import { until } from '../test-support/until.js';
import { taskOfObject } from '../shared/ids.js';

let b: HostRuntime;
let base: Omit<ray.ClusterConfig, 'submitterKey'>;
let privateKey: string;

beforeAll(async () => {
  const keys = await ray.generateSubmitterKey();
  // The first host holds the operator key: it may be head (a host with only the join token may not).
  const operator = await ray.generateSubmitterKey();
  privateKey = keys.privateKey;
  base = { id: 'test-cluster', token: 'join-secret', submitterPublicKey: keys.publicKey, operatorPublicKey: operator.publicKey, signaling: new MemorySignaling(), heartbeatMs: 100, deadAfterMs: 2000 };
  b = await startServingHost({ numWorkers: 2, resources: { webgpu: 1 }, cluster: { ...base, operatorKey: operator.privateKey } });
  await ray.init({ numWorkers: 2, cluster: { ...base, submitterKey: privateKey } });
  await until(async () => (await ray.nodes()).length >= 4);
});

afterAll(async () => {
  await ray.shutdown();
  await b?.shutdown();
});

const where = ray.remote(() => ({ hostId: ray.getRuntimeContext().hostId, nodeId: ray.getRuntimeContext().nodeId }));

/** A third host joined to the cluster, once this host is linked to it, and one of its nodes. */
async function thirdHost(numWorkers: number): Promise<{ c: HostRuntime; cNode: string }> {
  const c = await startServingHost({ numWorkers, cluster: base });
  await until(() => (currentCore() as HostRuntime).cluster!.member.linked(c.hostId));
  return { c, cNode: (await ray.nodes()).find((n) => n.hostId === c.hostId)!.nodeId };
}

/** The link from this host to `hostId` drops (a network blink): both stay in the cluster. */
function dropLink(hostId: string): void {
  const peers = ((currentCore() as HostRuntime).cluster!.member as unknown as { peers: Map<string, { channel: { link: { close(): void } } }> }).peers;
  peers.get(hostId)!.channel.link.close();
}

describe('two hosts as one cluster', () => {
  it('list every host\'s nodes and resources cluster-wide', async () => {
    const nodes = await ray.nodes();
    expect(new Set(nodes.filter((n) => n.kind === 'task').map((n) => n.hostId))).toEqual(new Set([ray.getRuntimeContext().hostId, b.hostId]));
    expect(await ray.clusterResources()).toMatchObject({ CPU: 4, webgpu: 1 });
  });

  it('run SPREAD tasks on both hosts', async () => {
    const spread = where.options({ schedulingStrategy: 'SPREAD' });
    const out = await ray.get(Array.from({ length: 200 }, () => spread.remote()));
    const hosts = new Set(out.map((o) => o.hostId));
    expect(hosts).toEqual(new Set([ray.getRuntimeContext().hostId, b.hostId]));
    expect(out.filter((o) => o.hostId === b.hostId).length).toBeGreaterThan(50);
  });

  it('list tasks cluster-wide: tasks that ran on the other host show its node, once each', async () => {
    const tagged = ray.remote(() => 1).options({ schedulingStrategy: 'SPREAD', name: 'listed-everywhere' });
    await ray.get(Array.from({ length: 20 }, () => tagged.remote()));
    const rows = await ray.state.listTasks({ filters: { name: 'listed-everywhere' } });
    expect(rows).toHaveLength(20);
    expect(new Set(rows.map((r) => r.taskId)).size).toBe(20);
    expect(rows.some((r) => r.nodeId?.startsWith(`${b.hostId}.`))).toBe(true);
    expect(rows.every((r) => r.state === 'FINISHED')).toBe(true);
  });

  it('list tasks cluster-wide with a limit: that many, and no host sends more', async () => {
    const tagged = ray.remote(() => 1).options({ schedulingStrategy: 'SPREAD', name: 'listed-limited' });
    await ray.get(Array.from({ length: 20 }, () => tagged.remote()));
    const all = await ray.state.listTasks({ filters: { name: 'listed-limited' } });
    const sent = vi.spyOn(b, 'localState');
    try {
      const rows = await ray.state.listTasks({ filters: { name: 'listed-limited' }, limit: 5 });
      expect(rows).toHaveLength(5);
      expect(rows.every((r) => all.some((a) => a.taskId === r.taskId))).toBe(true);
      expect(sent.mock.results.map((r) => (r.value as unknown[]).length)).toEqual([5]);
    } finally {
      sent.mockRestore();
    }
  });

  it('list a task\'s children by parent cluster-wide: one running on the other host shows its node and state there', async () => {
    const bNode = (await ray.nodes()).find((n) => n.hostId === b.hostId && n.kind === 'task')!.nodeId;
    const child = ray.remote((ms: number) => { const end = Date.now() + ms; while (Date.now() < end); return ms; }).options({ schedulingStrategy: { nodeId: bNode, soft: false }, name: 'child-on-b' });
    const parent = ray.remote(async () => ray.get(child.remote(1000)), { uses: () => [child] });
    const ref = parent.remote();
    await until(() => (b.localState('tasks', { filters: { name: 'child-on-b', state: 'RUNNING' } }) as unknown[]).length === 1, 20_000);
    const rows = await ray.state.listTasks({ filters: { parentTaskId: taskOfObject(ref.id) } });
    expect(rows.map((r) => [r.name, r.state, r.nodeId])).toEqual([['child-on-b', 'RUNNING', bNode]]);
    expect(await ray.get(ref)).toBe(1000);
  });

  it('run a task on a chosen node of the other host ({ nodeId })', async () => {
    const target = (await ray.nodes()).find((n) => n.hostId === b.hostId)!.nodeId;
    const got = await ray.get(where.options({ schedulingStrategy: { nodeId: target, soft: false } }).remote());
    expect(got).toEqual({ hostId: b.hostId, nodeId: target });
  });

  it('fails at once a task pinned to the other host\'s node whose arguments cannot cross hosts (nested refs, actor handles)', async () => {
    const target = (await ray.nodes()).find((n) => n.hostId === b.hostId)!.nodeId;
    const pinned = ray.remote((x: unknown) => typeof x).options({ schedulingStrategy: { nodeId: target, soft: false } });
    const Box = ray.remote(class Box { get() { return 1; } });
    for (const arg of [{ nested: ray.put(1) }, Box.remote()]) {
      // A timeout well below the test's: hanging would end in GetTimeoutError, not the refusal.
      const err = await ray.get(pinned.remote(arg), { timeout: 10_000 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ray.RayUsageError);
      expect((err as Error).message).toMatch(new RegExp(`pinned to node ${target.replace('.', '\\.')} of host ${b.hostId}.*do not cross hosts yet`));
    }
  });

  it('fails at once a task that a host without the submitter key pins to another host\'s node, naming submitterKey; its SPREAD work stays, said once', async () => {
    const hostA = currentCore() as HostRuntime;
    const target = [...hostA.nodes.values()].find((n) => n.kind === 'task')!.id;
    const { d } = describeFunction(() => 1, undefined);
    const [id] = b.submitTask(b.currentCaller(), d, [], { schedulingStrategy: { nodeId: target, soft: false } });
    const err = await b.get([id!], 10_000, undefined).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ray.RayUsageError);
    expect((err as Error).message).toMatch(new RegExp(`host ${b.hostId} has no submitterKey`));
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      const spread = b.submitTask(b.currentCaller(), d, [], { schedulingStrategy: 'SPREAD' });
      const again = b.submitTask(b.currentCaller(), d, [], { schedulingStrategy: 'SPREAD' });
      expect(await b.get([...spread, ...again], 10_000, undefined)).toEqual([1, 1]);
      const said = warn.mock.calls.filter((c) => String(c[0]).includes('no submitterKey'));
      expect(said).toHaveLength(1);
      expect(String(said[0]![0])).toMatch(/SPREAD tasks and actors stay on this host/);
    } finally {
      warn.mockRestore();
    }
  });

  it('counts what an actor holds as taken (availableResources), and says why a task needing it waits', async () => {
    await until(async () => (await ray.availableResources()).webgpu === 1);
    const Holder = ray.remote(class GpuHolder { ping() { return 'held'; } }).options({ resources: { webgpu: 1 } });
    const holder = Holder.remote();
    expect(await ray.get(holder.ping.remote())).toBe('held');
    await until(async () => ((await ray.availableResources()).webgpu ?? 0) === 0);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      const needs = ray.remote(() => 'ran').options({ resources: { webgpu: 1 } }).remote();
      await until(() => warn.mock.calls.some((c) => String(c[0]).includes('actors on this host hold {"webgpu":1}')));
      await ray.kill(holder);
      expect(await ray.get(needs)).toBe('ran');
    } finally {
      warn.mockRestore();
    }
    await until(async () => (await ray.availableResources()).webgpu === 1);
  });

  it('run a task that needs a resource only the other host has there', async () => {
    const got = await ray.get(where.options({ resources: { webgpu: 1 } }).remote());
    expect(got.hostId).toBe(b.hostId);
  });

  it('bring back values of every type and errors with their cause from the other host', async () => {
    const make = ray.remote((n: number) => ({ m: new Map([[1, new Set(['x'])]]), big: 2n ** 70n, a: new Float64Array(n).fill(0.5), u: undefined }))
      .options({ resources: { webgpu: 1 } });
    const v = await ray.get(make.remote(20_000)); // 160 KB: into A's store on arrival
    expect(v.m).toEqual(new Map([[1, new Set(['x'])]]));
    expect(v.big).toBe(2n ** 70n);
    expect(v.a.length).toBe(20_000);
    expect(v.a.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect('u' in v).toBe(true);
    const boom = ray.remote(function boom() { throw new RangeError('remote kaboom'); }).options({ resources: { webgpu: 1 } });
    const err = await ray.get(boom.remote()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ray.RayTaskError);
    expect((err as Error).cause).toBeInstanceOf(RangeError);
    expect(((err as Error).cause as Error).message).toBe('remote kaboom');
  });

  it('brings back every numReturns (1, 2, 3) from the other host, large values (in its store) and small ones mixed', async () => {
    const N = 20_000; // 160 KB: kept in B's store
    const make = ray.remote((k: number, large: number[]) => {
      const out = Array.from({ length: k }, (_, i) => (large.includes(i) ? new Float64Array(20_000).fill(i + 1) : { small: i + 1 }));
      return k === 1 ? out[0] : out;
    });
    const cases: [number, number[]][] = [[1, [0]], [1, []], [2, [0]], [2, [1]], [2, [0, 1]], [2, []], [3, [1]], [3, [0, 2]], [3, [0, 1, 2]], [3, []]];
    for (const [k, large] of cases) {
      const f = make.options({ resources: { webgpu: 1 }, numReturns: k });
      const refs = f.remote(k, large) as unknown as ray.ObjectRef<unknown> | ray.ObjectRef<unknown>[];
      const got = await ray.get(Array.isArray(refs) ? refs : [refs]);
      expect(got).toHaveLength(k);
      got.forEach((v, i) => {
        if (large.includes(i)) {
          const a = v as Float64Array;
          expect([a.length, a[0], a[N - 1]]).toEqual([N, i + 1, i + 1]);
        } else expect(v).toEqual({ small: i + 1 });
      });
    }
  });

  it('brings back a thrown error\'s properties from the other host, and its answer even when one cannot go as JSON', async () => {
    const f = ray.remote((big: boolean) => {
      const e = new Error('remote failure') as Error & Record<string, unknown>;
      e.code = 'E_REMOTE';
      if (big) e.big = 2n ** 70n;
      throw e;
    }).options({ resources: { webgpu: 1 } });
    const plain = (await ray.get(f.remote(false), { timeout: 10_000 }).catch((e: unknown) => e)) as Error;
    expect(((plain.cause as Error & { code?: string }).code)).toBe('E_REMOTE');
    const withBig = (await ray.get(f.remote(true), { timeout: 10_000 }).catch((e: unknown) => e)) as Error;
    expect(withBig).toBeInstanceOf(ray.RayTaskError);
    expect((withBig.cause as Error).message).toBe('remote failure');
  });

  it('sends an object to a host once for every task there that takes it: the copy pulled for the first stays for the next', async () => {
    const n = 400_000;
    const big = ray.put(new Float64Array(n).fill(2));
    const first = ray.remote((xs: Float64Array) => xs[0]! + xs.length).options({ resources: { webgpu: 1 } });
    const servedToB = async () => (await ray.state.objectStore()).transfers.find((t) => t.hostId === b.hostId)?.bytesOut ?? 0;
    const before = await servedToB();
    for (let i = 0; i < 3; i++) expect(await ray.get(first.remote(big))).toBe(n + 2);
    const served = (await servedToB()) - before;
    expect(served).toBeGreaterThanOrEqual(n * 8);
    expect(served).toBeLessThan(2 * n * 8);
  });

  it('pulls a 32 MiB Float64Array made on the other host into this host\'s store, once for concurrent gets, and frees the other copy', async () => {
    const hostA = currentCore() as HostRuntime;
    const bObjectsBefore = b.store!.store.wasm.stats().objects;
    const make = ray.remote((n: number) => Float64Array.from({ length: n }, (_, i) => i % 977)).options({ resources: { webgpu: 1 } });
    const n = (32 * 1024 * 1024) / 8;
    const ref = make.remote(n);
    await ray.wait([ref]);
    expect((await ray.state.listObjects()).find((o) => o.objectId === ref.id)?.location).toBe('REMOTE');
    const fromB = async () => (await ray.state.objectStore()).transfers.find((t) => t.hostId === b.hostId)?.bytesIn ?? 0;
    const before = hostA.cluster!.pulls!.bytesIn;
    const beforeFromB = await fromB();
    const [x, y] = await Promise.all([ray.get(ref), ray.get(ref)]);
    const moved = hostA.cluster!.pulls!.bytesIn - before;
    expect(moved).toBeGreaterThanOrEqual(n * 8);
    expect(moved).toBeLessThan(n * 8 + 4096); // one transfer (value-codec header included), not two
    // The state API names where the bytes came from, as the dashboard shows them.
    expect(await fromB() - beforeFromB).toBe(moved);
    expect(x.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(y.byteOffset).toBe(x.byteOffset);
    let ok = true;
    for (let i = 0; i < n; i += 4099) if (x[i] !== i % 977) ok = false;
    expect(ok && x[n - 1] === (n - 1) % 977).toBe(true);
    expect((await ray.state.listObjects()).find((o) => o.objectId === ref.id)?.location).toBe('SHARED_MEMORY');
    await until(() => b.store!.store.wasm.stats().objects === bObjectsBefore);
  });

  it('gives a third host an object whose maker freed it after its owner pulled it: the third host pulls from the owner', async () => {
    // Found by the chaos run in Chromium (e2e/chaos.e2e.test.ts): a task sent to C says its argument
    // is on B; the owner then pulls it (to read it) and frees B's copy before C asks B for it.
    const hostA = currentCore() as HostRuntime;
    const c = await startServingHost({ numWorkers: 1, resources: { tpu: 1 }, cluster: base });
    try {
      await until(() => hostA.cluster!.member.linked(c.hostId) && !!b.cluster?.member.linked(c.hostId));
      const make = ray.remote((n: number) => new Float64Array(n).fill(5)).options({ resources: { webgpu: 1 } });
      const sum = ray.remote((a: Float64Array) => a.reduce((p, v) => p + v, 0)).options({ resources: { tpu: 1 } });
      const ref = make.remote(20_000); // 160 KiB: kept in B's store for A
      await ray.wait([ref]);
      // C's pulls wait until B has freed its copy.
      const pulls = c.cluster!.pulls!;
      const pull = pulls.pull.bind(pulls);
      let freedOnB!: () => void;
      const gate = new Promise<void>((r) => (freedOnB = r));
      const asked: string[] = [];
      vi.spyOn(pulls, 'pull').mockImplementation(async (host, id) => {
        asked.push(host);
        await gate;
        return pull(host, id);
      });
      const total = sum.remote(ref);
      await until(() => asked.length > 0);
      expect(asked[0]).toBe(b.hostId);
      expect((await ray.get(ref))[0]).toBe(5);
      await until(() => b.store!.store.holdBytes(ref.id) === undefined);
      freedOnB();
      expect(await ray.get(total)).toBe(100_000);
    } finally {
      vi.restoreAllMocks();
      await c.shutdown();
    }
  });

  it('passes an object made on the other host to a task pinned here (pulled before the task runs)', async () => {
    const make = ray.remote((n: number) => new Float64Array(n).fill(3)).options({ resources: { webgpu: 1 } });
    const here = (await ray.nodes()).find((n) => n.hostId === ray.getRuntimeContext().hostId && n.kind === 'task')!.nodeId;
    const sum = ray.remote((a: Float64Array) => ({ s: a.reduce((p, v) => p + v, 0), host: ray.getRuntimeContext().hostId }))
      .options({ schedulingStrategy: { nodeId: here, soft: false } });
    const got = await ray.get(sum.remote(make.remote(100_000)));
    expect(got).toEqual({ s: 300_000, host: ray.getRuntimeContext().hostId });
  });

  it('places a turn of thousands of spilled tasks (more than one placement frame holds)', async () => {
    // A 'place' frame holds at most 10,000 tasks (frames.ts).
    const out = await ray.get(Array.from({ length: 10_500 }, () => where.remote()));
    expect(out).toHaveLength(10_500);
    expect(out.filter((o) => o.hostId === b.hostId).length).toBeGreaterThan(100);
  });

  it('runs tasks on a large object where the object is (locality), without moving its bytes', async () => {
    const hostA = currentCore() as HostRuntime;
    const make = ray.remote((n: number) => new Float64Array(n).fill(2)).options({ resources: { webgpu: 1 } });
    const big = make.remote(1 << 20); // 8 MiB, kept in B's store
    await ray.wait([big]);
    // Once the cluster's view has both hosts idle, B has free CPUs and the data: both tasks go there.
    await until(async () => (await ray.availableResources()).CPU === 4);
    const before = hostA.cluster!.pulls!.bytesIn;
    const sum = ray.remote((a: Float64Array, k: number) => ({ s: a[k]! * a.length, host: ray.getRuntimeContext().hostId }));
    const out = await ray.get([0, 1].map((k) => sum.remote(big, k)));
    expect(out).toEqual([0, 1].map(() => ({ s: 2 * (1 << 20), host: b.hostId })));
    expect(hostA.cluster!.pulls!.bytesIn).toBe(before);
  });

  it('runs a task here while this host has a free CPU and sends the backlog to hosts with room (bottom-up)', async () => {
    const busy = ray.remote((ms: number) => {
      const end = Date.now() + ms;
      while (Date.now() < end);
      return ray.getRuntimeContext().hostId;
    });
    const out = await ray.get(Array.from({ length: 24 }, () => busy.remote(20)));
    const onA = out.filter((h) => h === ray.getRuntimeContext().hostId).length;
    const onB = out.filter((h) => h === b.hostId).length;
    expect(onA + onB).toBe(24);
    // A's two CPUs take the first two; the global scheduler (on the head) gives B its share of the rest.
    expect(onA).toBeGreaterThanOrEqual(2);
    expect(onB).toBeGreaterThanOrEqual(2);
  });

  it('retries a task whose host left the cluster on a host that is still in', async () => {
    const { c, cNode } = await thirdHost(1);
    const slow = ray.remote(async () => {
      // The first attempt runs until its host goes.
      if (ray.getRuntimeContext().attempt === 0) await new Promise(() => undefined);
      return { hostId: ray.getRuntimeContext().hostId, attempt: ray.getRuntimeContext().attempt };
    }).options({ schedulingStrategy: { nodeId: cNode, soft: true } });
    const ref = slow.remote();
    await until(async () => (await ray.state.listTasks()).some((t) => t.name === 'anonymous' && !!t.nodeId?.startsWith(c.hostId) && t.state === 'RUNNING'));
    await c.shutdown();
    const got = await ray.get(ref);
    expect(got.hostId).not.toBe(c.hostId);
    expect(got.attempt).toBe(1);
    await until(async () => !(await ray.nodes()).some((n) => n.hostId === c.hostId));
  });

  it('retries a task whose link to its host dropped while it ran (the host stays in the cluster): its result could not come back', async () => {
    const { c, cNode } = await thirdHost(2);
    const lostAnswer = ray.remote(async () => {
      // The first attempt's answer never comes (as one sent while the link is down).
      if (ray.getRuntimeContext().attempt === 0) await new Promise(() => undefined);
      return ray.getRuntimeContext().attempt;
    }).options({ schedulingStrategy: { nodeId: cNode, soft: true }, name: 'answer-lost-with-link' });
    const ref = lostAnswer.remote();
    await until(async () => (await ray.state.listTasks({ filters: { name: 'answer-lost-with-link' } })).some((t) => t.state === 'RUNNING'));
    dropLink(c.hostId);
    try {
      expect(await ray.get(ref, { timeout: 15_000 })).toBe(1);
      expect((currentCore() as HostRuntime).cluster!.member.hosts().some((h) => h.hostId === c.hostId)).toBe(true);
    } finally {
      await c.shutdown();
    }
  });

  it('fails an actor call in flight when the link to the actor\'s host drops (the host stays in) with ActorUnavailableError; the actor lives on, with its state', async () => {
    const { c, cNode } = await thirdHost(2);
    class Keeper {
      n = 0;
      async add() { return ++this.n; }
      async hang() { await new Promise(() => undefined); }
    }
    const keeper = ray.remote(Keeper).options({ schedulingStrategy: { nodeId: cNode, soft: false } }).remote();
    try {
      expect(await ray.get(keeper.add.remote())).toBe(1);
      const stuck = keeper.hang.remote();
      await until(async () => (await ray.state.listTasks({ filters: { name: 'Keeper.hang' } })).some((t) => t.state === 'RUNNING'));
      dropLink(c.hostId);
      const err = await ray.get(stuck, { timeout: 15_000 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ray.ActorUnavailableError);
      expect(err).toBeInstanceOf(ray.RayActorError);
      expect((err as Error).message).toMatch(/may or may not have run; the actor lives on/);
      await until(() => (currentCore() as HostRuntime).cluster!.member.linked(c.hostId));
      expect(await ray.get(keeper.add.remote(), { timeout: 15_000 })).toBe(2);
    } finally {
      await c.shutdown();
    }
  });

  it('runs a task softly pinned to a node of the other host that died meanwhile on another node there ({ nodeId, soft: true })', async () => {
    const { c, cNode } = await thirdHost(2);
    try {
      const node = c.nodes.get(cNode)!;
      node.endpoint.close();
      await until(() => !c.nodes.get(cNode)?.alive);
      const got = await ray.get(where.options({ schedulingStrategy: { nodeId: cNode, soft: true } }).remote(), { timeout: 15_000 });
      expect(got.nodeId).not.toBe(cNode);
    } finally {
      await c.shutdown();
    }
  });

  it('ignores a late end of a superseded attempt: a retry on the same host gets its own result', async () => {
    const target = (await ray.nodes()).find((n) => n.hostId === b.hostId)!.nodeId;
    const flaky = ray.remote(() => {
      if (ray.getRuntimeContext().attempt === 0) throw new Error('first attempt fails');
      return ray.getRuntimeContext().attempt;
    }).options({ schedulingStrategy: { nodeId: target, soft: false }, retryExceptions: true, maxRetries: 1 });
    // B's first answer (the failure) arrives again, late, just before the retry's: as a host that
    // was cut off and came back would send it.
    const sendDone = b.cluster!.sendDone.bind(b.cluster!);
    let first: Parameters<typeof sendDone> | undefined;
    b.cluster!.sendDone = (...args) => {
      if (first && args[1] === first[1]) sendDone(...first);
      first ??= args;
      sendDone(...args);
    };
    try {
      expect(await ray.get(flaky.remote())).toBe(1);
    } finally {
      b.cluster!.sendDone = sendDone;
    }
  });

  it('answers work that reaches a host while it is still joining (its start not yet returned)', async () => {
    // A member that never links keeps a new host's join waiting (it waits to be linked to every member).
    const phantom = await HostilePeer.connect(base.signaling!, headPeerId(base.id));
    await phantom.join({ cluster: base.id, host: 'fffphantom', token: base.token });
    phantom.sendFrame({ t: 'register', host: { hostId: 'fffphantom', resources: {}, nodes: [] }, epoch: 0 });
    const beats = setInterval(() => phantom.send('heartbeat', JSON.stringify({ t: 'hb', seq: 1 })), 50);
    const known = new Set((await ray.nodes()).map((n) => n.hostId));
    const joining = startServingHost({ numWorkers: 1, cluster: base });
    try {
      let node: string | undefined;
      await until(async () => !!(node = (await ray.nodes()).find((n) => !known.has(n.hostId) && n.kind === 'task')?.nodeId));
      const onC = ray.remote(() => ray.getRuntimeContext().hostId).options({ schedulingStrategy: { nodeId: node!, soft: false } });
      expect(await ray.get(onC.remote(), { timeout: 10_000 })).toBe(node!.split('.')[0]);
    } finally {
      clearInterval(beats);
      phantom.close();
      await (await joining).shutdown();
    }
  });

  it('restarts an actor whose host left on another host with room: the constructor runs again, a call in flight is retried, the name follows it', async () => {
    // C and D both offer 'spare'; A and B do not: the actor goes to one of them, then to the other.
    const c = await startServingHost({ numWorkers: 1, resources: { spare: 1 }, cluster: base });
    const d = await startServingHost({ numWorkers: 1, resources: { spare: 1 }, cluster: base });
    const hostA = currentCore() as HostRuntime;
    await until(() => hostA.cluster!.member.linked(c.hostId) && hostA.cluster!.member.linked(d.hostId));
    class Mover {
      n: number;
      constructor(start: number) { this.n = start; }
      add(k: number) { this.n += k; return { n: this.n, host: ray.getRuntimeContext().hostId, restarted: ray.getRuntimeContext().wasCurrentActorRestarted }; }
      async stuck() {
        // The first instance never answers: the call is in flight when its host goes.
        if (!ray.getRuntimeContext().wasCurrentActorRestarted) await new Promise(() => undefined);
        return ray.getRuntimeContext().hostId;
      }
    }
    // Checked here, before it is sent: the other host could not say it refused.
    expect(() => ray.remote(Mover).options({ resources: { spare: 1 }, maxRestarts: 1, checkpointEvery: 2 }).remote(0)).toThrow(/needs the methods webrayCheckpoint/);
    const mover = ray.remote(Mover).options({ resources: { spare: 1 }, maxRestarts: 1, maxTaskRetries: 1, name: 'mover' }).remote(100);
    const first = await ray.get(mover.add.remote(1));
    expect([c.hostId, d.hostId]).toContain(first.host);
    const [gone, other] = first.host === c.hostId ? [c, d] : [d, c];
    // B holds a handle found by name before the restart.
    const info = await b.getActor('mover', undefined);
    const inflight = mover.stuck.remote();
    await until(async () => ((await gone.state('tasks', { filters: { name: 'Mover.stuck' } })) as { state: string }[]).some((t) => t.state === 'RUNNING'));
    await gone.shutdown();
    expect(await ray.get(inflight)).toBe(other.hostId);
    // Its state is the constructor's again (no checkpoint); calls go on in order on the new instance.
    expect(await ray.get([mover.add.remote(2), mover.add.remote(3)])).toEqual([
      { n: 102, host: other.hostId, restarted: true },
      { n: 105, host: other.hostId, restarted: true },
    ]);
    // The head's table names the new incarnation: B's handle follows it to the other host.
    expect(await b.get(b.submitActorTask(b.currentCaller(), info.actorId, 'add', [4], {}), 30_000, undefined)).toEqual([{ n: 109, host: other.hostId, restarted: true }]);
    expect((await b.getActor('mover', undefined)).actorId).toBe(info.actorId);
    const [row] = await ray.state.listActors({ filters: { name: 'mover' } });
    expect(row).toMatchObject({ state: 'ALIVE', numRestarts: 1, deathCauses: [`its host ${gone.hostId} left the cluster`] });
    // No restarts left: the next loss of its host is final, and says so.
    await other.shutdown();
    const err = await ray.get(mover.add.remote(1)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ray.RayActorError);
    expect((err as Error).message).toMatch(new RegExp(`is dead: its host ${other.hostId} left the cluster`));
  });

  it('restarts an actor whose host left from the checkpoint its owner kept, replaying only the calls after it', async () => {
    const e = await startServingHost({ numWorkers: 1, resources: { spare: 1 }, cluster: base });
    const f = await startServingHost({ numWorkers: 1, resources: { spare: 1 }, cluster: base });
    const hostA = currentCore() as HostRuntime;
    await until(() => hostA.cluster!.member.linked(e.hostId) && hostA.cluster!.member.linked(f.hostId));
    class Ledger implements ray.Checkpointable<{ n: number; log: number[] }> {
      n = 0;
      ranHere = 0;
      log: number[] = [];
      inc(k: number) { this.n++; this.ranHere++; this.log.push(k); return this.n; }
      read() { return { n: this.n, ranHere: this.ranHere, log: this.log.slice(-5), host: ray.getRuntimeContext().hostId }; }
      webrayCheckpoint() { return { n: this.n, log: this.log }; }
      webrayRestore(s: { n: number; log: number[] }) { this.n = s.n; this.log = s.log; }
    }
    const l = ray.remote(Ledger).options({ resources: { spare: 1 }, maxRestarts: 1, checkpointEvery: 10 }).remote();
    expect((await ray.get(Array.from({ length: 25 }, (_, i) => l.inc.remote(i)))).at(-1)).toBe(25);
    const { host } = await ray.get(l.read.remote());
    const [gone, other] = host === e.hostId ? [e, f] : [f, e];
    try {
      await gone.shutdown();
      // A call sent before the cluster sees the host go would be lost with it (no maxTaskRetries): wait for the restart.
      await until(async () => (await ray.state.listActors({ filters: { actorId: l.actorId } })).some((r) => r.state === 'ALIVE' && r.numRestarts === 1));
      // The owner (A) kept the checkpoint after call 20 and the calls after it: the new instance ran 21..25 (and the read) again.
      expect(await ray.get(l.read.remote())).toEqual({ n: 25, ranHere: 5, log: [20, 21, 22, 23, 24], host: other.hostId });
      expect(await ray.get(l.inc.remote(25))).toBe(26);
    } finally {
      await other.shutdown();
    }
  });

  it('restarts here an actor whose host left when it was pinned to a node of that host, its calls in flight first', async () => {
    const { c, cNode } = await thirdHost(1);
    class Pinned {
      calls: string[] = [];
      async log(k: string) {
        if (k === 'stuck' && !ray.getRuntimeContext().wasCurrentActorRestarted) await new Promise(() => undefined);
        this.calls.push(k);
        return { calls: this.calls.slice(), host: ray.getRuntimeContext().hostId };
      }
    }
    const p = ray.remote(Pinned).options({ schedulingStrategy: { nodeId: cNode, soft: true }, maxRestarts: -1, maxTaskRetries: -1 }).remote();
    expect((await ray.get(p.log.remote('a'))).host).toBe(c.hostId);
    const stuck = p.log.remote('stuck');
    await until(async () => ((await c.state('tasks', { filters: { name: 'Pinned.log' } })) as { state: string }[]).some((t) => t.state === 'RUNNING'));
    await c.shutdown();
    const here = ray.getRuntimeContext().hostId;
    expect(await ray.get(stuck)).toEqual({ calls: ['stuck'], host: here });
    expect(await ray.get(p.log.remote('b'))).toEqual({ calls: ['stuck', 'b'], host: here });
  });

  it('lets another host call a named actor created here, in submission order', async () => {
    class Counter {
      n = 0;
      add(k: number) { this.n += k; return this.n; }
      where() { return ray.getRuntimeContext().hostId; }
    }
    const counter = ray.remote(Counter).options({ name: 'shared-counter' }).remote();
    expect(await ray.get(counter.add.remote(1))).toBe(1);
    // From host B, by name through the head's table: B's calls run on the actor here, in order.
    const info = await b.getActor('shared-counter', undefined);
    const caller = b.currentCaller();
    const ids = [2, 3, 4].map((k) => b.submitActorTask(caller, info.actorId, 'add', [k], {})[0]!);
    expect(await b.get(ids, 30_000, undefined)).toEqual([3, 6, 10]);
    expect(await b.get(b.submitActorTask(caller, info.actorId, 'where', [], {}), 30_000, undefined)).toEqual([ray.getRuntimeContext().hostId]);
    expect(await ray.get(counter.add.remote(0))).toBe(10);
    await expect(b.getActor('no-such-actor', undefined)).rejects.toThrow(/No live actor named 'no-such-actor'/);
  });

  it('passes an actor on the other host large values and ObjectRefs (pulled there, in call order), and refuses a value with a ref inside before storing anything', async () => {
    class Summer {
      seen: string[] = [];
      sum(label: string, a: Float64Array | number) { this.seen.push(label); return typeof a === 'number' ? a : a.reduce((x, y) => x + y, 0); }
      order() { return this.seen; }
    }
    const summer = ray.remote(Summer).options({ resources: { webgpu: 1 } }).remote();
    const big = new Float64Array(256 * 1024).fill(2); // 2 MiB: stored here, passed by reference
    const put = ray.put(new Float64Array(128 * 1024).fill(3));
    const small = ray.put(5);
    const made = ray.remote(() => new Float64Array(64 * 1024).fill(1)).remote();
    const sums = ray.get([summer.sum.remote('big', big), summer.sum.remote('inline', 7), summer.sum.remote('put', put), summer.sum.remote('small', small), summer.sum.remote('made', made)]);
    expect(await sums).toEqual([2 * 256 * 1024, 7, 3 * 128 * 1024, 5, 64 * 1024]);
    expect(await ray.get(summer.order.remote())).toEqual(['big', 'inline', 'put', 'small', 'made']);
    const objects = (currentCore() as HostRuntime).objects.size;
    expect(() => summer.sum.remote('nested', { inner: put } as unknown as number)).toThrow(/pass it values or ObjectRefs, not values with ObjectRefs/);
    expect((currentCore() as HostRuntime).objects.size).toBe(objects);
    // An ObjectRef whose value holds a ref: the call fails, saying why.
    await expect(ray.get(summer.sum.remote('holder', ray.put({ inner: put }) as unknown as number))).rejects.toThrow(/not values with ObjectRefs/);
    await ray.kill(summer);
  });

  it('creates an actor on the host that has the resource it needs; its calls run there, in order, until killed', async () => {
    class Gpu {
      calls: number[] = [];
      constructor(readonly label: string) {}
      push(k: number) { this.calls.push(k); return { label: this.label, calls: this.calls.slice(), host: ray.getRuntimeContext().hostId }; }
    }
    const gpu = ray.remote(Gpu).options({ resources: { webgpu: 1 }, name: 'gpu-actor' }).remote('g1');
    const results = await ray.get([1, 2, 3].map((k) => gpu.push.remote(k)));
    expect(results.at(-1)).toEqual({ label: 'g1', calls: [1, 2, 3], host: b.hostId });
    expect((await ray.state.listActors()).some((a) => a.className === 'Gpu' && a.state === 'ALIVE')).toBe(true);
    // Found by name from either host: it lives on B.
    expect((await b.getActor('gpu-actor', undefined)).actorId).toBe((await ray.getActor('gpu-actor') as unknown as { actorId: string }).actorId);
    await ray.kill(gpu);
    await until(async () => (await ray.state.listActors()).some((a) => a.className === 'Gpu' && a.state === 'DEAD'));
    await expect(ray.get(gpu.push.remote(4))).rejects.toBeInstanceOf(ray.RayActorError);
  });

  it('keeps the cluster\'s jobs and function entries on the head', async () => {
    const jobs = await ray.state.listJobs();
    expect(jobs).toEqual(expect.arrayContaining([expect.objectContaining({ jobId: ray.getRuntimeContext().jobId, hostId: ray.getRuntimeContext().hostId, state: 'RUNNING' })]));
    expect(jobs.map((j) => j.hostId)).toContain(b.hostId);
    // The head (B) keeps every signed entry shipped in the cluster...
    const hostA = currentCore() as HostRuntime;
    const fresh = ray.remote((x: number) => x * 7).options({ resources: { webgpu: 1 } });
    expect(await ray.get(fresh.remote(6))).toBe(42);
    const fnId = [...hostA.functions.values()].find((d) => d.kind === 'source' && d.source.includes('x * 7'))!.id;
    expect(b.cluster!.member.isHead).toBe(true);
    // ...so a host sent a task without the entry fetches it from the head, checks it and runs the task.
    const c = await startServingHost({ numWorkers: 1, cluster: base });
    await until(() => hostA.cluster!.member.linked(c.hostId));
    const id = `${ray.getRuntimeContext().jobId}00000000000000ff`;
    hostA.cluster!.member.send(c.hostId, { t: 'task', id, fn: fnId, name: 'fetched-from-head', args: toWire([6]), nret: 1, attempt: 0, demand: { CPU: 1 } });
    await until(async () => ((await c.state('tasks', { filters: { name: 'fetched-from-head' } })) as { state: string }[]).some((t) => t.state === 'FINISHED'));
    expect(c.functions.has(fnId)).toBe(true);
    await c.shutdown();
  });

  it('keeps a fetch of a function entry from the head alive when a forged entry for the same id arrives first', async () => {
    const hostA = currentCore() as HostRuntime;
    const fresh = ray.remote((x: number) => x * 11).options({ resources: { webgpu: 1 } });
    expect(await ray.get(fresh.remote(2))).toBe(22); // the signed entry reaches the head (B)
    const genuine = [...hostA.functions.values()].find((d): d is Extract<typeof d, { kind: 'source' }> => d.kind === 'source' && d.source.includes('x * 11'))!;
    const c = await startServingHost({ numWorkers: 1, cluster: base });
    await until(() => hostA.cluster!.member.linked(c.hostId));
    // C gets a task whose entry it lacks (it asks the head), then a forged entry for that id, before the head answers.
    const id = `${ray.getRuntimeContext().jobId}00000000000000fe`;
    hostA.cluster!.member.send(c.hostId, { t: 'task', id, fn: genuine.id, name: 'fetched-despite-forgery', args: toWire([3]), nret: 1, attempt: 0, demand: { CPU: 1 } });
    hostA.cluster!.member.send(c.hostId, { t: 'fn', d: { ...genuine, source: '(x) => x * 666' }, sig: '00'.repeat(64) });
    await until(async () => ((await c.state('tasks', { filters: { name: 'fetched-despite-forgery' } })) as { state: string }[]).some((t) => t.state === 'FINISHED'));
    expect(c.cluster!.member.drops.reasons.some((r) => r.includes('is not signed by the submitter key'))).toBe(true);
    await c.shutdown();
  });

  it('runs a task with uses on another host, its descriptor (with the used functions inside) signed as one entry', async () => {
    const sq = ray.remote((x: number) => ({ v: x * x, hostId: ray.getRuntimeContext().hostId }));
    const onB = ray.remote(async (x: number) => ray.get(sq.remote(x)), { uses: { sq } }).options({ resources: { webgpu: 1 } });
    expect(await ray.get(onB.remote(6))).toEqual({ v: 36, hostId: b.hostId });

    const signer = await Signer.fromJwk(privateKey);
    const verifier = await Verifier.fromPublicKey(base.submitterPublicKey);
    const d = onB.descriptor as Extract<FunctionDescriptor, { kind: 'source' }>;
    const sig = await signer.sign(d);
    expect(await verifier.verify(d, sig)).toBe(true);
    const used = d.bindings.sq as { fn: Extract<FunctionDescriptor, { kind: 'source' }>; options: object };
    const tampered = { ...d, bindings: { ...d.bindings, sq: { ...used, fn: { ...used.fn, source: '(x) => x * 666' } } } };
    expect(await verifier.verify(tampered, sig)).toBe(false);
  });

  it('ends a departed host\'s job: the actors it placed elsewhere stop, except detached ones, and its objects kept elsewhere are freed', async () => {
    const c = await startServingHost({ numWorkers: 1, cluster: { ...base, submitterKey: privateKey } });
    await until(() => c.cluster!.member.linked(b.hostId));
    // A large result of C's task, made on B: B keeps it for C until C fetches or frees it.
    const bObjectsBefore = b.store!.store.wasm.stats().objects;
    const make = describeFunction((n: number) => new Float64Array(n).fill(1), undefined).d;
    const [kept] = c.submitTask(c.currentCaller(), make, [200_000], { resources: { webgpu: 1 } });
    await c.wait([kept!], 1, 30_000);
    expect(b.store!.store.wasm.stats().objects).toBe(bObjectsBefore + 1);
    class Worker {
      ping() { return ray.getRuntimeContext().hostId; }
    }
    const { d, methods, asyncMethods } = describeFunction(Worker, undefined);
    const spec = { fn: d, className: d.name, methods, asyncMethods };
    const plain = c.createActor(c.currentCaller(), spec, [], { resources: { webgpu: 0.1 } });
    const detached = c.createActor(c.currentCaller(), spec, [], { resources: { webgpu: 0.1 }, lifetime: 'detached' });
    const state = async (id: string) => (((await b.state('actors')) as { actorId: string; state: string }[]).find((x) => x.actorId === id))?.state;
    await until(async () => (await state(plain)) === 'ALIVE' && (await state(detached)) === 'ALIVE');
    await c.shutdown();
    await until(async () => (await state(plain)) === 'DEAD');
    expect(await state(detached)).toBe('ALIVE');
    await until(() => b.store!.store.wasm.stats().objects === bObjectsBefore);
  });

  it('gives a name to one actor only when two hosts create it at once: the other gets the duplicate-name error; the name is free again once the winner dies', async () => {
    class Named { ping() { return ray.getRuntimeContext().hostId; } }
    const { d, methods, asyncMethods } = describeFunction(Named, undefined);
    const options = { name: 'counter', namespace: 'shared' };
    const onB = b.createActor(b.currentCaller(), { fn: d, className: d.name, methods, asyncMethods }, [], options);
    const NamedActor = ray.remote(Named);
    const onA = NamedActor.options(options).remote();
    const rows = async () => (await ray.state.listActors({ filters: { name: 'counter' } })).filter((r) => r.actorId === onA.actorId || r.actorId === onB);
    await until(async () => (await rows()).every((r) => r.state === 'ALIVE' || r.state === 'DEAD') && (await rows()).length === 2);
    const [alive, dead] = [(await rows()).filter((r) => r.state === 'ALIVE'), (await rows()).filter((r) => r.state === 'DEAD')];
    expect([alive.length, dead.length]).toEqual([1, 1]);
    expect(dead[0]!.deathCause).toMatch(/name 'counter' is taken/);
    // What a user creating it again meets: the error a duplicate name gets on one host.
    const err = await ray.get(NamedActor.options(options).remote().ping.remote()).catch((e: unknown) => e);
    const usage = err instanceof ray.RayUsageError ? err : (err as Error).cause;
    expect(usage).toBeInstanceOf(ray.RayUsageError);
    expect((usage as Error).message).toMatch(/An actor named 'counter' already exists in namespace 'shared'/);
    if (alive[0]!.actorId === onB) await b.killActor(onB, true);
    else await ray.kill(onA);
    await until(async () => (await rows()).every((r) => r.state === 'DEAD'));
    const again = NamedActor.options(options).remote();
    expect(await ray.get(again.ping.remote())).toBe(ray.getRuntimeContext().hostId);
    await ray.kill(again);
  });

  it('refuses a host with a wrong token: it never joins and gets no work', async () => {
    const err = await startServingHost({ numWorkers: 1, cluster: { ...base, token: 'guess' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ray.ClusterAuthError);
    expect((await ray.nodes()).every((n) => n.hostId === ray.getRuntimeContext().hostId || n.hostId === b.hostId)).toBe(true);
  });

  it('runs no code that the submitter key did not sign', async () => {
    // B has only the join token: it cannot sign, so its own tasks stay on B...
    expect(b.cluster!.place({ demand: { CPU: 1 }, strategy: 'SPREAD' }, true)).toBeUndefined();
    // ...and a forged function entry it pushes to A is dropped, with the task that uses it.
    const a = ray.getRuntimeContext().hostId;
    const evil = { kind: 'source' as const, id: 'fevil0000000000000001', name: 'evil', source: '() => 1', bindings: {} };
    b.cluster!.member.send(a, { t: 'fn', d: evil, sig: '00'.repeat(64) });
    b.cluster!.member.send(a, { t: 'task', id: 'deadbeef0000000000000001', fn: evil.id, name: 'evil', args: 'AAAA', nret: 1, attempt: 0, demand: { CPU: 1 } });
    const hostA = currentCore() as HostRuntime;
    await until(() => hostA.cluster!.member.drops.reasons.some((r) => r.includes('function evil from')));
    expect(hostA.cluster!.member.drops.reasons.find((r) => r.includes('function evil from'))).toMatch(/is not signed by the submitter key/);
    expect(hostA.functions.has(evil.id)).toBe(false);
    expect((await ray.state.listTasks()).some((t) => t.name === 'evil')).toBe(false);
  });
});
