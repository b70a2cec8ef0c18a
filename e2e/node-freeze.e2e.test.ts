/**
 * A host frozen for real (SIGSTOP on a Node host process, real WebRTC through a local PeerJS
 * server) long enough to be taken for gone, then thawed (SIGCONT) with its old identity. The actor
 * it held was restarted elsewhere by its owner (this process, the driver) meanwhile; once the
 * thawed host is back in touch, the instance it still holds must be stopped: no actor is live twice.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ray from 'webray';
import { startHost, stopHost } from './support/node-host.js';
import { startPeerServer, type RunningPeerServer } from './support/peer-server.js';
import { until } from './support/timeout.js';

let server: RunningPeerServer;
let head: ChildProcess;
let b: ChildProcess;
let bHost: string;

beforeAll(async () => {
  server = await startPeerServer();
  const keys = await ray.generateSubmitterKey();
  const operator = await ray.generateSubmitterKey();
  const cluster = { id: 'node-freeze', token: 'node-freeze-token', submitterPublicKey: keys.publicKey, operatorPublicKey: operator.publicKey, signal: server.signal, iceServers: [], heartbeatMs: 200, deadAfterMs: 2000 };
  // The actor needs `zone`, which the head and B have and the driver lacks: restarted, it goes to the head.
  const h = startHost({ numWorkers: 1, resources: { zone: 1 }, cluster: { ...cluster, operatorKey: operator.privateKey } });
  head = h.child;
  expect(await h.line).toMatch(/^ready /);
  await ray.init({ numWorkers: 1, cluster: { ...cluster, submitterKey: keys.privateKey } });
  const hb = startHost({ numWorkers: 1, resources: { zone: 1 }, cluster });
  b = hb.child;
  const line = await hb.line;
  expect(line).toMatch(/^ready /);
  bHost = line.slice(6);
  await until(async () => (await ray.nodes()).some((n) => n.hostId === bHost), 30_000, 'B joins');
}, 60_000);

afterAll(async () => {
  if (b?.signalCode === null && b.exitCode === null) b.kill('SIGCONT');
  await ray.shutdown();
  await stopHost(b);
  await stopHost(head);
  await server?.close();
});

class Counter {
  n = 0;
  add() { this.n += 1; return { host: ray.getRuntimeContext().hostId, n: this.n }; }
}

describe('a Node host frozen (SIGSTOP) and thawed', () => {
  it('has the actor instance it still holds stopped once it is back: the actor lives on only where its owner restarted it', async () => {
    const bNode = (await ray.nodes()).find((n) => n.hostId === bHost && n.kind === 'task')!.nodeId;
    const counter = ray.remote(Counter).options({ resources: { zone: 1 }, maxRestarts: 1, maxTaskRetries: 1, schedulingStrategy: { nodeId: bNode, soft: true } }).remote();
    expect(await ray.get(counter.add.remote(), { timeout: 30_000 })).toEqual({ host: bHost, n: 1 });
    const actorId = (counter as unknown as { actorId: string }).actorId;
    expect((await ray.state.listActors({ filters: { actorId } })).map((a) => [a.state, a.nodeId?.split('.')[0]])).toEqual([['ALIVE', bHost]]);

    b.kill('SIGSTOP');
    await until(async () => !(await ray.nodes()).some((n) => n.hostId === bHost), 30_000, 'B is taken for gone');
    const after = await ray.get(counter.add.remote(), { timeout: 30_000 });
    expect(after.host).not.toBe(bHost);
    expect(after.n).toBe(1);

    b.kill('SIGCONT');
    await until(async () => (await ray.nodes()).some((n) => n.hostId === bHost), 60_000, 'B is back, with its old id');
    // Each host reports its instance: B's stopped (a dead actor has no node), the head's alive.
    await until(async () => {
      const rows = await ray.state.listActors({ filters: { actorId } });
      return rows.some((a) => a.state === 'DEAD') && rows.filter((a) => a.state === 'ALIVE').length === 1;
    }, 30_000, 'the instance on B is stopped');
    expect(await ray.get(counter.add.remote(), { timeout: 30_000 })).toEqual({ host: after.host, n: 2 });
  }, 180_000);
});
