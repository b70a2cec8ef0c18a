// A host taken for gone that comes back with its old identity (cut off from the network, or
// frozen, for longer than deadAfterMs): the actor it held was restarted elsewhere meanwhile, and
// the instance still on it must not live on beside the new one. In-process hosts over an
// in-memory network that can cut one host off and heal it; real workers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostRuntime } from '../host/runtime.js';
import { PartitionableNetwork, type HostSide } from '../test-support/partitionable-network.js';
import * as ray from '../index.js';
import { currentCore } from './core.js';
import { startServingHost } from './index.js';
import { until } from '../test-support/until.js';

const net = new PartitionableNetwork();
let head: HostRuntime;
let b: HostRuntime;
let bSide: HostSide;

beforeAll(async () => {
  const keys = await ray.generateSubmitterKey();
  const operator = await ray.generateSubmitterKey();
  const base = { id: 'zombies', token: 'zombie-token', submitterPublicKey: keys.publicKey, operatorPublicKey: operator.publicKey, heartbeatMs: 100, deadAfterMs: 1000 };
  head = await startServingHost({ numWorkers: 1, cluster: { ...base, signaling: net.host(), operatorKey: operator.privateKey } });
  bSide = net.host();
  b = await startServingHost({ numWorkers: 1, cluster: { ...base, signaling: bSide } });
  await ray.init({ numWorkers: 1, cluster: { ...base, signaling: net.host(), submitterKey: keys.privateKey } });
  await until(async () => new Set((await ray.nodes()).map((n) => n.hostId)).size === 3);
}, 60_000);

afterAll(async () => {
  await ray.shutdown();
  await b?.shutdown();
  await head?.shutdown();
});

class Counter {
  n = 0;
  add() { this.n += 1; return { host: ray.getRuntimeContext().hostId, n: this.n }; }
}

describe('a host that comes back after it was taken for gone', () => {
  it('has the actor instance it still holds stopped: the actor lives on only where its owner restarted it', async () => {
    const bNode = (await ray.nodes()).find((n) => n.hostId === b.hostId && n.kind === 'task')!.nodeId;
    const counter = ray.remote(Counter).options({ maxRestarts: 1, schedulingStrategy: { nodeId: bNode, soft: true } }).remote();
    expect(await ray.get(counter.add.remote())).toEqual({ host: b.hostId, n: 1 });
    const actorId = (counter as unknown as { actorId: string }).actorId;
    expect(b.actors.get(actorId as never)?.state).toBe('ALIVE');

    bSide.cutOff();
    const driver = currentCore() as HostRuntime;
    await until(() => !driver.cluster!.member.hosts().some((h) => h.hostId === b.hostId), 20_000);
    // Restarted on another host, from its constructor.
    const after = await ray.get(counter.add.remote());
    expect(after.host).not.toBe(b.hostId);
    expect(after.n).toBe(1);
    // Cut off, B still runs its instance: nobody told it otherwise.
    expect(b.actors.get(actorId as never)?.state).toBe('ALIVE');

    bSide.heal();
    await until(() => driver.cluster!.member.linked(b.hostId), 20_000);
    await until(() => b.actors.get(actorId as never)?.state === 'DEAD', 20_000);
    // Calls still reach the one live instance, with its state.
    expect(await ray.get(counter.add.remote())).toEqual({ host: after.host, n: 2 });
    expect((await ray.state.listActors()).filter((a) => a.actorId === actorId && a.state === 'ALIVE')).toHaveLength(1);
  }, 90_000);

  it('hears again that a host is paused, which it had forgotten when it took that host for gone', async () => {
    head.pause();
    await until(() => b.cluster!.isPaused(head.hostId));
    bSide.cutOff();
    await until(() => !head.cluster!.member.hosts().some((h) => h.hostId === b.hostId) && !b.cluster!.member.hosts().some((h) => h.hostId === head.hostId), 20_000);
    expect(b.cluster!.isPaused(head.hostId)).toBe(false);
    bSide.heal();
    await until(() => head.cluster!.member.linked(b.hostId), 20_000);
    await until(() => b.cluster!.isPaused(head.hostId), 5_000);
    head.resume();
  }, 90_000);
});
