// Adaptive replication (`verify: { replicas, adaptive: { trustAfter, spotCheck, seed } }`): hosts
// earn trust by agreeing results in a row, then run tasks alone, spot-checked at a seeded rate; a
// trusted host that turns liar is caught by a spot check. The driver's host A (owner) and serving
// hosts B and C in one process over the in-memory transport; the liar is a test fixture (its
// results changed on their way out), not a flag in the package.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { HostRuntime } from '../host/runtime.js';
import { PartitionableNetwork, type HostSide } from '../test-support/partitionable-network.js';
import { prng } from '../shared/prng.js';
import { taskOfObject } from '../shared/ids.js';
import * as ray from '../index.js';
import { startServingHost } from './index.js';
import { until } from '../test-support/until.js';

const net = new PartitionableNetwork();
let base: Omit<NonNullable<ray.InitOptions['cluster']>, 'signaling'>;
let b: HostRuntime;
let c: HostRuntime;
const sides = new Map<HostRuntime, HostSide>();

async function serve(): Promise<HostRuntime> {
  const side = net.host();
  const h = await startServingHost({ numWorkers: 1, cluster: { ...base, signaling: side } });
  sides.set(h, side);
  return h;
}

beforeAll(async () => {
  const keys = await ray.generateSubmitterKey();
  const operator = await ray.generateSubmitterKey();
  base = { id: 'adaptive', token: 'adaptive-token', submitterPublicKey: keys.publicKey, operatorPublicKey: operator.publicKey, heartbeatMs: 100, deadAfterMs: 1000 };
  await ray.init({ numWorkers: 1, cluster: { ...base, signaling: net.host(), submitterKey: keys.privateKey, operatorKey: operator.privateKey } });
  b = await serve();
  c = await serve();
  await until(async () => new Set((await ray.nodes()).map((n) => n.hostId)).size === 3, 20_000);
}, 60_000);

afterAll(async () => {
  await ray.shutdown();
  await b?.shutdown();
  await c?.shutdown();
});

const SEED = 11;
const adaptive = { replicas: 2, adaptive: { trustAfter: 3, spotCheck: 0.25, seed: SEED } };
const sum = ray.remote((xs: number[]) => xs.reduce((s, x) => s + x, 0)).options({ verify: adaptive, name: 'adaptive' });

/** Runs one verified task; its value and how many replicas it ran as. */
async function run(xs: number[]): Promise<{ value: number; replicas: number }> {
  const ref = sum.remote(xs);
  const value = await ray.get(ref);
  const rows = await ray.state.listTasks({ filters: { parentTaskId: taskOfObject(ref.id) } });
  return { value, replicas: rows.length };
}

describe('adaptive replication', () => {
  it('verifies every task until hosts earned trust, then runs each once on a trusted host, spot-checking at the seeded rate', async () => {
    for (let i = 0; i < 3; i++) expect(await run([i, 1])).toEqual({ value: i + 1, replicas: 2 });
    const warm = await ray.state.verification();
    expect(warm.hosts.filter((h) => h.agreed === 3).map((h) => h.hostId).sort()).toEqual([b.hostId, c.hostId].sort());
    expect(warm.acceptedOnTrust + warm.spotChecks).toBe(0);

    const after = [];
    for (let i = 0; i < 20; i++) after.push(await run([i, 2]));
    expect(after.map((r) => r.value)).toEqual(Array.from({ length: 20 }, (_, i) => i + 2));
    // The draws are the seed's: a task is spot-checked (2 replicas) when its draw is under 0.25.
    const draw = prng(SEED);
    const expected = Array.from({ length: 20 }, () => (draw() < 0.25 ? 2 : 1));
    expect(after.map((r) => r.replicas)).toEqual(expected);
    const s = await ray.state.verification();
    expect(s.spotChecks).toBe(expected.filter((n) => n === 2).length);
    expect(s.acceptedOnTrust).toBe(expected.filter((n) => n === 1).length);
    expect(s.spotChecks).toBeGreaterThan(0);
  });

  it('catches a trusted host that turns liar at a spot check: its trust is reset and it gets no more verified work', async () => {
    // Tasks run one at a time go to the trusted host first by id.
    const [liar, honest] = [b, c].sort((x, y) => (x.hostId < y.hostId ? -1 : 1));
    const cluster = liar!.cluster!;
    const send = cluster.sendDone.bind(cluster);
    const spy = vi.spyOn(cluster, 'sendDone').mockImplementation((to, id, attempt, values, remote, error, start, end) =>
      send(to, id, attempt, values?.map((v) => (typeof v === 'number' ? v + 1 : v)), remote, error, start, end));
    try {
      let wrongOnTrust = 0;
      let caught = false;
      for (let i = 0; i < 40 && !caught; i++) {
        const r = await run([i, 3]);
        if (r.value !== i + 3) wrongOnTrust++;
        caught = (await ray.state.listDisagreements()).some((d) => d.hostId === liar!.hostId);
      }
      expect(caught).toBe(true);
      const s = await ray.state.verification();
      expect(s.hosts.find((h) => h.hostId === liar!.hostId)).toMatchObject({ agreed: 0, excluded: true });
      // Until the seed's next draw under 0.25 it ran tasks alone, and its wrong results were
      // accepted: a spot check does not take them back (the documented limit).
      const draw = prng(SEED);
      for (let i = 0; i < 20; i++) draw();
      let unchecked = 0;
      while (draw() >= 0.25) unchecked++;
      expect(wrongOnTrust).toBe(unchecked);
      const ranOnLiar = spy.mock.calls.length;
      for (let i = 0; i < 5; i++) expect((await run([i, 4])).value).toBe(i + 4);
      expect(spy.mock.calls.length).toBe(ranOnLiar);
      expect(s.hosts.find((h) => h.hostId === honest!.hostId)!.excluded).toBe(false);
    } finally {
      spy.mockRestore();
    }
  });

  it('refuses adaptive options it cannot use, saying what they mean', () => {
    const f = ray.remote((x: number) => x);
    expect(() => f.options({ verify: { replicas: 2, adaptive: { trustAfter: 0, spotCheck: 0.1 } } })).toThrow(/verify.adaptive.trustAfter must be an integer ≥ 1 .*got 0/);
    expect(() => f.options({ verify: { replicas: 2, adaptive: { trustAfter: 5, spotCheck: 1.5 } } })).toThrow(/verify.adaptive.spotCheck must be a number from 0 to 1 .*got 1.5/);
    expect(() => f.options({ verify: { replicas: 2, adaptive: { trustAfter: 5, spotcheck: 0.1 } } } as never)).toThrow(/unknown option 'spotcheck'. Did you mean 'spotCheck'\?/);
  });

  it('verifies a task whose trusted host is lost while it runs it alone: on hosts that never ran it', async () => {
    const d = await serve();
    try {
      await until(async () => new Set((await ray.nodes()).map((n) => n.hostId)).size === 4, 20_000);
      const trusted = (await ray.state.verification()).hosts.find((h) => !h.excluded && h.agreed >= 3)!.hostId;
      const host = [b, c].find((h) => h.hostId === trusted)!;
      // Never spot-checked: it runs alone on the trusted host.
      const slow = ray.remote((ms: number) => { const end = Date.now() + ms; while (Date.now() < end); return 7; })
        .options({ verify: { replicas: 2, adaptive: { trustAfter: 3, spotCheck: 0, seed: SEED } }, name: 'alone' });
      const ref = slow.remote(1500);
      const children = () => ray.state.listTasks({ filters: { parentTaskId: taskOfObject(ref.id) } });
      // Running there (the trusted host's own row says so).
      await until(() => (host.localState('tasks', { filters: { name: 'alone', state: 'RUNNING' } }) as unknown[]).length === 1, 20_000);
      sides.get(host)!.cutOff();
      expect(await ray.get(ref, { timeout: 30_000 })).toBe(7);
      const rows = await children();
      const ranOn = new Set(rows.filter((r) => r.state === 'FINISHED').map((r) => r.nodeId!.split('.')[0]));
      expect(ranOn.size).toBe(2);
      expect(ranOn.has(trusted)).toBe(false);
    } finally {
      await d.shutdown();
    }
  }, 60_000);
});
