// The head leaves mid-job. Four hosts in one process over the in-memory transport: the head H
// (the first to join, with the operator key), two serving hosts S1 and S2 with a resource each, and the
// driver's host (submitter key). What the driver placed on S1 and S2 must outlive H.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostRuntime } from '../host/runtime.js';
import { MemorySignaling } from '../mesh/signaling.js';
import { toWire } from '../host/cluster-host.js';
import * as ray from '../index.js';
import { currentCore } from './core.js';
import { startServingHost } from './index.js';
import { until } from '../test-support/until.js';

let h: HostRuntime;
let s1: HostRuntime;
let s2: HostRuntime;
let base: Omit<ray.ClusterConfig, 'submitterKey'>;

class Counter {
  n = 0;
  incr() { return ++this.n; }
}

type CounterHandle = { incr: { remote(): ray.ObjectRef<number> } };
const kept = {
  ref: undefined as ray.ObjectRef<Float64Array> | undefined, counter: undefined as CounterHandle | undefined, fnId: '',
  jobsAskedOfH: undefined as Promise<ray.JobState[]> | undefined, questionsToH: -1,
  spilled: [] as ray.ObjectRef<number>[],
};

beforeAll(async () => {
  const keys = await ray.generateSubmitterKey();
  // The first host holds the operator key: it may be head (a host with only the join token may not).
  const operator = await ray.generateSubmitterKey();
  base = { id: 'head-cluster', token: 'join-secret', submitterPublicKey: keys.publicKey, operatorPublicKey: operator.publicKey, signaling: new MemorySignaling(), heartbeatMs: 100, deadAfterMs: 2000 };
  h = await startServingHost({ numWorkers: 1, cluster: { ...base, operatorKey: operator.privateKey } });
  s1 = await startServingHost({ numWorkers: 1, resources: { s1: 1 }, cluster: base });
  s2 = await startServingHost({ numWorkers: 1, resources: { s2: 1 }, cluster: base });
  await ray.init({ numWorkers: 1, cluster: { ...base, submitterKey: keys.privateKey } });
  await until(async () => (await ray.nodes()).filter((n) => n.kind === 'task').length >= 4);
  expect(h.cluster!.member.isHead).toBe(true);

  // A large result made on S1: S1 keeps it for the driver until the driver pulls or frees it.
  const make = ray.remote((n: number) => new Float64Array(n).fill(3)).options({ resources: { s1: 1 } });
  kept.ref = make.remote(200_000);
  await ray.wait([kept.ref]);
  const hostA = currentCore() as HostRuntime;
  kept.fnId = [...hostA.functions.values()].find((d) => d.kind === 'source' && d.source.includes('fill(3)'))!.id;
  // An actor of the driver's job on S2 (not detached), with state, and a named one there.
  const C = ray.remote(Counter);
  kept.counter = C.options({ resources: { s2: 0.5 } }).remote() as unknown as CounterHandle;
  expect(await ray.get(kept.counter!.incr.remote())).toBe(1);
  const named = C.options({ name: 'named-on-s2', resources: { s2: 0.5 } }).remote() as unknown as CounterHandle;
  expect(await ray.get(named.incr.remote())).toBe(1);

  // H stops answering (its links stay open) while the driver asks it for the jobs; then it goes.
  h.cluster!.member.onWork = () => undefined;
  kept.jobsAskedOfH = ray.state.listJobs();
  // More tasks than the driver has CPUs: the rest are spilled to H for placement, which never answers.
  const sq = ray.remote(async (x: number) => { await new Promise((r) => setTimeout(r, 20)); return x * x; });
  kept.spilled = Array.from({ length: 8 }, (_, i) => sq.remote(i));
  await h.shutdown();
  const survivors = [currentCore() as HostRuntime, s1, s2];
  await until(() => survivors.filter((x) => x.cluster!.member.isHead).length === 1 &&
    survivors.every((x) => x.cluster!.member.headId !== '' && x.cluster!.member.headId !== h.hostId));
  const questions = (currentCore() as HostRuntime).cluster as unknown as { answers: Map<number, { host: string }> };
  kept.questionsToH = [...questions.answers.values()].filter((q) => q.host === h.hostId).length;
});

afterAll(async () => {
  await ray.shutdown();
  for (const x of [s1, s2]) await x?.shutdown();
});

describe('the head leaves', () => {
  it('runs the tasks spilled to it that it never placed: none is lost, none delivered twice', async () => {
    expect(await ray.get(kept.spilled)).toEqual([0, 1, 4, 9, 16, 25, 36, 49]);
    const rows = await ray.state.listTasks({ filters: { name: 'anonymous' }, limit: 1000 });
    const mine = new Set(kept.spilled.map((r) => r.id.slice(0, 24)));
    expect(rows.filter((t) => mine.has(t.taskId) && t.state === 'FINISHED')).toHaveLength(8);
  });

  it('keeps objects kept elsewhere for the driver: they are not freed', async () => {
    const v = await ray.get(kept.ref!);
    expect([v.length, v[0], v[v.length - 1]]).toEqual([200_000, 3, 3]);
  });

  it('does not stop a non-detached actor of the driver\'s job on another host', async () => {
    expect(await ray.get(kept.counter!.incr.remote())).toBe(2);
  });

  it('still resolves a named actor that lives on another host', async () => {
    const again = await ray.getActor('named-on-s2') as unknown as CounterHandle;
    expect(await ray.get(again.incr.remote())).toBe(2);
  });

  it('still lists the jobs of every live host', async () => {
    const jobs = await ray.state.listJobs();
    expect(jobs.map((j) => j.hostId).sort()).toEqual(expect.arrayContaining([ray.getRuntimeContext().hostId, s1.hostId, s2.hostId].sort()));
    expect(jobs.find((j) => j.jobId === ray.getRuntimeContext().jobId)?.state).toBe('RUNNING');
  });

  it('asks the next head a question the departed head never answered: it ends with the link, not at its timeout', async () => {
    expect(kept.questionsToH).toBe(0);
    const jobs = await kept.jobsAskedOfH!;
    expect(jobs.map((j) => j.jobId)).toContain(ray.getRuntimeContext().jobId);
  });

  it('lets a host lacking a function entry fetch it from the new head', async () => {
    const c = await startServingHost({ numWorkers: 1, cluster: base });
    try {
      const hostA = currentCore() as HostRuntime;
      await until(() => hostA.cluster!.member.linked(c.hostId));
      const id = `${ray.getRuntimeContext().jobId}00000000000000fd`;
      hostA.cluster!.member.send(c.hostId, { t: 'task', id, fn: kept.fnId, name: 'fetched-from-new-head', args: toWire([4]), nret: 1, attempt: 0, demand: { CPU: 1 } });
      await until(async () => ((await c.state('tasks', { filters: { name: 'fetched-from-new-head' } })) as { state: string }[]).some((t) => t.state === 'FINISHED'));
      expect(c.functions.has(kept.fnId)).toBe(true);
    } finally {
      await c.shutdown();
    }
  });
});
