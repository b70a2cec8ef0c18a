// A chaos run with Node hosts only (in-process hosts over the in-memory transport, real workers):
// a job of over 1,000 tasks with dependencies — 128 KiB arrays made on every host, a reduction
// tree over them, small tasks reading them, and calls to actors (two keep their state by checkpoints) — while faults come at seeded points
// (after N completions, never at wall times), each logged. The result must equal the fault-free
// result computed here, and the run prints how many recoveries of each kind happened.
// Replay a failure with WEBRAY_CHAOS_SEED=<the seed it printed>.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostRuntime } from '../host/runtime.js';
import type { NodeHandle } from '../host/node-handle.js';
import { MemorySignaling } from '../mesh/signaling.js';
import { prng } from '../shared/prng.js';
import * as ray from '../index.js';
import { currentCore } from './core.js';
import { startServingHost } from './index.js';
import { until } from '../test-support/until.js';
import { KeySet, addOf, normOf, reduceTree, scaleOf, seedOf, totalOf } from '../test-support/chaos-job.js';

const SEED = Number(process.env.WEBRAY_CHAOS_SEED ?? 20261204);
const SEEDS = 160;

let base: Omit<ray.ClusterConfig, 'submitterKey'>;
let privateKey: string;
const hosts: HostRuntime[] = [];

beforeAll(async () => {
  const keys = await ray.generateSubmitterKey();
  // The first host holds the operator key: it may be head (a host with only the join token may not).
  const operator = await ray.generateSubmitterKey();
  privateKey = keys.privateKey;
  base = { id: 'chaos', token: 'chaos-token', submitterPublicKey: keys.publicKey, operatorPublicKey: operator.publicKey, signaling: new MemorySignaling(), heartbeatMs: 100, deadAfterMs: 1500 };
  // hosts[0] starts first and holds the head (it has the operator key); hosts[1] and hosts[2] are the ones that leave.
  for (let i = 0; i < 3; i++) hosts.push(await startServingHost({ numWorkers: 1, cluster: i === 0 ? { ...base, operatorKey: operator.privateKey } : base }));
  await ray.init({ numWorkers: 2, cluster: { ...base, submitterKey: privateKey } });
  await until(async () => new Set((await ray.nodes()).map((n) => n.hostId)).size === 4);
}, 60_000);

afterAll(async () => {
  await ray.shutdown();
  await Promise.all(hosts.map((h) => h.shutdown()));
  // (Shutting down a host twice is a no-op: those that left mid-run are in the list too.)
});


const seed = ray.remote(seedOf).options({ name: 'seed', schedulingStrategy: 'SPREAD', maxRetries: 5 });
const scale = ray.remote(scaleOf).options({ name: 'scale', maxRetries: 5 });
const add = ray.remote(addOf).options({ name: 'add', maxRetries: 5 });
const norm = ray.remote(normOf).options({ name: 'norm', maxRetries: 5 });
class Doubler {
  twice(x: number) { return 2 * x; }
}
const KEYS = 60;

interface Fault { after: number; kind: 'worker' | 'actor-worker' | 'join' | 'host-leaves' | 'head-leaves'; done?: string }

describe('a chaos run on Node hosts', () => {
  it('computes the fault-free result while workers die, actors\' workers die, hosts holding objects and an actor leave, the head leaves and a host joins', async () => {
    const r = prng(SEED);
    const driver = currentCore() as HostRuntime;
    const doubler = ray.remote(Doubler).options({ maxRestarts: 5, maxTaskRetries: 5 }).remote();
    // Checkpointed actors: one here, one on the host that leaves (its owner restarts it elsewhere from the checkpoint and the calls since).
    const leaving = hosts.find((x) => !x.cluster!.member.isHead)!;
    const leavingNode = [...leaving.nodes.values()].find((n) => n.kind === 'task')!.id;
    const keySets = [{}, { schedulingStrategy: { nodeId: leavingNode, soft: true } }].map((o) => ray.remote(KeySet).options({ maxRestarts: 5, maxTaskRetries: 5, checkpointEvery: 7, ...o }).remote());

    const seeds = Array.from({ length: SEEDS }, (_, i) => seed.remote(i));
    const scaled = seeds.map((s, i) => scale.remote(s, i));
    const { sums, root } = reduceTree(scaled, (a, b) => add.remote(a, b));
    const norms = Array.from({ length: 3 * SEEDS }, (_, j) => norm.remote(seeds[j % SEEDS]!, j));
    const doubled = Array.from({ length: 60 }, (_, j) => doubler.twice.remote(j));
    const added = keySets.flatMap((k) => Array.from({ length: KEYS }, (_, j) => k.add.remote(j)));
    const all = [...seeds, ...scaled, ...sums, ...norms, ...doubled, ...added];
    expect(all.length).toBeGreaterThanOrEqual(1000);

    // Faults at seeded completion counts, in order.
    const faults: Fault[] = [
      { after: 80 + Math.floor(r() * 80), kind: 'worker' },
      { after: 200 + Math.floor(r() * 80), kind: 'host-leaves' },
      { after: 300 + Math.floor(r() * 80), kind: 'actor-worker' },
      { after: 400 + Math.floor(r() * 80), kind: 'join' },
      { after: 500 + Math.floor(r() * 80), kind: 'worker' },
      { after: 600 + Math.floor(r() * 80), kind: 'head-leaves' },
      { after: 700 + Math.floor(r() * 100), kind: 'worker' },
    ];
    const log: string[] = [];
    const taskNodes = (h: HostRuntime) => [...h.nodes.values()].filter((n) => n.kind === 'task' && n.alive);
    const crashNode = (n: NodeHandle) => n.endpoint.close();
    const inject = async (f: Fault, completed: number) => {
      if (f.kind === 'worker') {
        const live = [driver, ...hosts].filter((h) => taskNodes(h).length);
        const h = live[Math.floor(r() * live.length)]!;
        const nodes = taskNodes(h);
        const n = nodes[Math.floor(r() * nodes.length)]!;
        crashNode(n);
        f.done = `killed worker ${n.id}`;
      } else if (f.kind === 'actor-worker') {
        const killed = [doubler, keySets[0]!].map((h) => driver.actors.get(h.actorId)!);
        for (const a of killed) crashNode(a.node!);
        f.done = `killed the workers of actors ${killed.map((a) => a.id).join(', ')}`;
      } else if (f.kind === 'host-leaves' || f.kind === 'head-leaves') {
        // Its objects are lost with it: their owner makes them again from lineage.
        const h = f.kind === 'head-leaves' ? hosts.find((x) => x.cluster!.member.isHead)! : leaving;
        await h.shutdown();
        f.done = `host ${h.hostId}${f.kind === 'head-leaves' ? ' (the head)' : ''} left`;
      } else {
        const h = await startServingHost({ numWorkers: 1, cluster: base });
        hosts.push(h);
        f.done = `host ${h.hostId} joined`;
      }
      log.push(`after ${completed} completions: ${f.done}`);
    };

    let pending = all.slice();
    let completed = 0;
    let next = 0;
    while (pending.length) {
      const [ready, rest] = await ray.wait(pending, { numReturns: Math.min(pending.length, 10) });
      completed += ready.length;
      pending = rest;
      while (next < faults.length && completed >= faults[next]!.after) await inject(faults[next++]!, completed);
    }

    // The fault-free result, computed here.
    const [total] = await ray.get([root]);
    expect(Array.from(total as Float64Array)).toEqual(Array.from(totalOf(SEEDS)));
    expect(await ray.get(norms)).toEqual(Array.from({ length: 3 * SEEDS }, (_, j) => normOf(seedOf(j % SEEDS), j)));
    expect(await ray.get(doubled)).toEqual(Array.from({ length: 60 }, (_, j) => 2 * j));
    // Every key each actor was given is in its state, whatever it went through (restored from a checkpoint, calls replayed).
    for (const k of keySets) expect(await ray.get(k.sorted.remote())).toEqual(Array.from({ length: KEYS }, (_, j) => j));

    const tasks = await ray.state.listTasks({ limit: 100_000 });
    const actors = await ray.state.listActors();
    const recoveries = {
      'task retries': tasks.filter((t) => t.attempt > 0).length,
      'actor restarts': actors.reduce((n, a) => n + a.numRestarts, 0),
      'objects rebuilt': driver.recoveryStats.reconstructions,
    };
    console.log(`chaos seed ${SEED}, ${all.length} tasks:\n  ${log.join('\n  ')}`);
    console.table(recoveries);
    expect(faults.every((f) => f.done)).toBe(true);
    expect(recoveries['actor restarts']).toBeGreaterThanOrEqual(2);
  }, 180_000);
});
