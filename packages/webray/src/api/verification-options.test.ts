// verify's comparison and exclusion options: sameEngine (homogeneous redundancy), tolerance, and
// exclude: 'all', with the 'disagreement' event. Four hosts in one process over an in-memory
// network: the driver's host A (head and owner, V8) and serving hosts B, C (V8) and D, which says it
// runs SpiderMonkey. Test fixtures, each changing what one host sends back (its ClusterHost.sendDone
// patched here): D's numbers differ in their last bits, as another engine's Math functions may;
// a liar's are off by one.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { HostRuntime } from '../host/runtime.js';
import { PartitionableNetwork } from '../test-support/partitionable-network.js';
import { taskOfObject } from '../shared/ids.js';
import * as ray from '../index.js';
import { currentCore } from './core.js';
import { startServingHost } from './index.js';
import { until } from '../test-support/until.js';
import { loadPlatform } from '../platform/detect.js';

const net = new PartitionableNetwork();
let a: HostRuntime;
let b: HostRuntime;
let c: HostRuntime;
let d: HostRuntime;

beforeAll(async () => {
  const keys = await ray.generateSubmitterKey();
  const base = { id: 'verify-options', token: 'verify-options-token', submitterPublicKey: keys.publicKey, heartbeatMs: 100, deadAfterMs: 1000 };
  await ray.init({ numWorkers: 1, cluster: { ...base, signaling: net.host(), submitterKey: keys.privateKey } });
  a = currentCore() as HostRuntime;
  const platform = await loadPlatform();
  const serve = (engine: string) => startServingHost({ numWorkers: 1, platform: { ...platform, engine }, cluster: { ...base, signaling: net.host() } });
  [b, c, d] = [await serve('v8'), await serve('v8'), await serve('spidermonkey')];
  await until(async () => new Set((await ray.nodes()).map((n) => n.hostId)).size === 4, 20_000);
  await until(() => [b, c, d].every((h) => a.cluster!.member.linked(h.hostId)));
}, 60_000);

afterAll(async () => {
  await ray.shutdown();
  for (const h of [b, c, d]) await h?.shutdown();
});

/** Changes every number `h` sends back to an owner by `change`. */
function alter(h: HostRuntime, change: (x: number) => number) {
  const cluster = h.cluster!;
  const send = cluster.sendDone.bind(cluster);
  return vi.spyOn(cluster, 'sendDone').mockImplementation((to, id, attempt, values, remote, error, start, end) =>
    send(to, id, attempt, values?.map((v) => (typeof v === 'number' ? change(v) : v)), remote, error, start, end));
}

const score = ray.remote((x: number) => x / 3);
/** Several verified tasks at once: replicas go to the least busy hosts, so every host runs some. */
const many = (options: ray.VerifyOptions, name: string) => Array.from({ length: 6 }, (_, k) => score.options({ verify: options, name }).remote(k + 1));

async function replicaHosts(refs: ray.ObjectRef<unknown>[]): Promise<string[]> {
  const hosts: string[] = [];
  for (const r of refs) for (const row of await ray.state.listTasks({ filters: { parentTaskId: taskOfObject(r.id) } })) hosts.push(row.nodeId!.split('.')[0]!);
  return hosts;
}

/** The hosts plain tasks ran on. */
async function ranOn(refs: ray.ObjectRef<unknown>[]): Promise<string[]> {
  return Promise.all(refs.map(async (r) => (await ray.state.listTasks({ filters: { taskId: taskOfObject(r.id) } }))[0]!.nodeId!.split('.')[0]!));
}

const expected = Array.from({ length: 6 }, (_, k) => (k + 1) / 3);

describe('verify: comparing results', () => {
  it('nodes() tells each host\'s engine', async () => {
    const engines = new Map((await ray.nodes()).map((n) => [n.hostId, n.engine]));
    expect([a, b, c, d].map((h) => engines.get(h.hostId))).toEqual(['v8', 'v8', 'v8', 'spidermonkey']);
  });

  it('sameEngine runs a task\'s replicas on hosts of one engine only, so an engine\'s last bits are not taken for lies', async () => {
    const spy = alter(d, (x) => x * (1 + 2 ** -50));
    try {
      const before = (await ray.state.listDisagreements()).length;
      const refs = many({ replicas: 2, sameEngine: true }, 'same-engine');
      expect(await ray.get(refs)).toEqual(expected);
      const hosts = await replicaHosts(refs);
      expect(hosts).toHaveLength(12);
      expect(hosts).not.toContain(d.hostId);
      expect(await ray.state.listDisagreements()).toHaveLength(before);
    } finally {
      spy.mockRestore();
    }
  });

  it('a tolerance lets numbers that differ in their last bits agree', async () => {
    const spy = alter(d, (x) => x * (1 + 2 ** -50));
    try {
      const before = (await ray.state.listDisagreements()).length;
      const refs = many({ replicas: 2, tolerance: { relative: 1e-12 } }, 'tolerant');
      const values = await ray.get(refs);
      values.forEach((v, i) => expect(Math.abs(v - expected[i]!)).toBeLessThanOrEqual(1e-12 * expected[i]!));
      expect(await replicaHosts(refs)).toContain(d.hostId);
      expect(await ray.state.listDisagreements()).toHaveLength(before);
      expect((await ray.state.verification()).hosts.find((h) => h.hostId === d.hostId)!.agreed).toBeGreaterThan(0);
    } finally {
      spy.mockRestore();
    }
  });

  it('a difference beyond the tolerance is a disagreement', async () => {
    const spy = alter(d, (x) => x + 1e-6);
    try {
      const refs = many({ replicas: 2, tolerance: { relative: 1e-12 } }, 'beyond');
      expect(await ray.get(refs)).toEqual(expected);
      expect((await ray.state.listDisagreements()).map((x) => x.hostId)).toContain(d.hostId);
      // Caught with the default exclude ('verified'), it still takes unverified work (honest again here).
      spy.mockRestore();
      const state = (await ray.state.verification()).hosts.find((h) => h.hostId === d.hostId)!;
      expect([state.excluded, state.excludedFromAll]).toEqual([true, false]);
      const spread = ray.remote((k: number) => k).options({ schedulingStrategy: 'SPREAD' });
      const plain = Array.from({ length: 8 }, (_, k) => spread.remote(k));
      expect(await ray.get(plain)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      expect(await ranOn(plain)).toContain(d.hostId);
    } finally {
      spy.mockRestore();
    }
  });

  it('refuses malformed options, saying what is expected', () => {
    expect(() => score.options({ verify: { replicas: 2, exclude: 'some' as never } })).toThrow(/verify.exclude must be 'verified' .* or 'all' .*got 'some'/);
    expect(() => score.options({ verify: { replicas: 2, sameEngine: 1 as never } })).toThrow(/verify.sameEngine must be true or false, got 1/);
    expect(() => score.options({ verify: { replicas: 2, tolerance: { relative: -1 } } })).toThrow(/verify.tolerance.relative must be a finite number ≥ 0, got -1/);
    expect(() => score.options({ verify: { replicas: 2, tolerance: { rel: 1 } as never } })).toThrow(/unknown option 'rel'/);
    expect(() => ray.on('lie' as never, () => undefined)).toThrow(/unknown event 'lie' .*the events are 'disagreement'/);
  });
});

describe("verify.exclude: 'all'", () => {
  it('tells of a caught host by the disagreement event, and places no work of any kind there again', async () => {
    const heard: ray.DisagreementState[] = [];
    const off = ray.on('disagreement', (e) => heard.push(e));
    const spy = alter(b, (x) => x + 1);
    try {
      const refs = many({ replicas: 2, exclude: 'all' }, 'exclude-all');
      expect(await ray.get(refs)).toEqual(expected);
      await until(() => heard.some((e) => e.hostId === b.hostId));
      const e = heard.find((x) => x.hostId === b.hostId)!;
      expect(e.hostName).toBe(b.hostName);
      expect(e.hash).not.toBe(e.acceptedHash);
      const state = (await ray.state.verification()).hosts.find((h) => h.hostId === b.hostId)!;
      expect([state.excluded, state.excludedFromAll]).toEqual([true, true]);
      // Unverified work spread over the cluster now skips it.
      const spread = ray.remote((k: number) => k).options({ schedulingStrategy: 'SPREAD' });
      const plain = Array.from({ length: 8 }, (_, k) => spread.remote(k));
      expect(await ray.get(plain)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      const ran = await ranOn(plain);
      expect(ran).not.toContain(b.hostId);
      expect(new Set(ran).size).toBeGreaterThan(1);
      // Nor do the actors it places.
      class Probe { host() { return ray.getRuntimeContext().hostId; } }
      const probes = Array.from({ length: 6 }, () => ray.remote(Probe).options({ schedulingStrategy: 'SPREAD' }).remote());
      const at = await ray.get(probes.map((p) => p.host.remote()));
      expect(at).not.toContain(b.hostId);
      expect(new Set(at).size).toBeGreaterThan(1);
      for (const p of probes) await ray.kill(p);
    } finally {
      off();
      spy.mockRestore();
    }
  });
});
