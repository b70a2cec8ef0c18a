/**
 * Lineage reconstruction across Node.js processes (real WebRTC through a local PeerJS server):
 * host C (the head) and host B are child processes, this process is the driver A. Chains of
 * tasks with 128 KiB arrays spread over every host; once their first two levels are done, B is
 * killed with SIGKILL (no goodbye: found by heartbeat silence) and the chains go on. Every final
 * result must be right, the lost objects made again by re-running their tasks.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ray from 'webray';
import { startHost, stopHost } from './support/node-host.js';
import { startPeerServer, type RunningPeerServer } from './support/peer-server.js';

let server: RunningPeerServer;
let b: ChildProcess;
let c: ChildProcess;
let bHost: string;

/** 128 KiB of doubles. */
const N = 16_384;
const CHAINS = 12;
const DEPTH = 5;

beforeAll(async () => {
  server = await startPeerServer();
  const keys = await ray.generateSubmitterKey();
  const operator = await ray.generateSubmitterKey();
  const cluster = { id: 'node-lineage', token: 'node-lineage-token', submitterPublicKey: keys.publicKey, operatorPublicKey: operator.publicKey, signal: server.signal, iceServers: [], heartbeatMs: 200, deadAfterMs: 2000 };
  // C first, with the operator key: it is the head, so killing B never takes the head.
  const hc = startHost({ numWorkers: 2, cluster: { ...cluster, operatorKey: operator.privateKey } });
  c = hc.child;
  expect(await hc.line).toMatch(/^ready /);
  await ray.init({ numWorkers: 2, cluster: { ...cluster, submitterKey: keys.privateKey } });
  const hb = startHost({ numWorkers: 2, cluster });
  b = hb.child;
  const line = await hb.line;
  expect(line).toMatch(/^ready /);
  bHost = line.slice(6);
  for (let i = 0; i < 400 && (await ray.nodes()).length < 6; i++) await new Promise((r) => setTimeout(r, 25));
  expect((await ray.nodes()).length).toBe(6);
}, 60_000);

afterAll(async () => {
  await ray.shutdown();
  await stopHost(b);
  await stopHost(c);
  await server?.close();
});

describe('a Node.js host killed mid-job', () => {
  it('loses no result: the objects its store held are made again by their owner', async () => {
    const make = ray.remote((n: number, k: number) => new Float64Array(n).fill(k)).options({ schedulingStrategy: 'SPREAD' });
    const add = ray.remote((a: Float64Array, k: number) => a.map((x) => x + k)).options({ schedulingStrategy: 'SPREAD' });
    const where = ray.remote((a: Float64Array) => ray.getRuntimeContext().hostId + ':' + a.length).options({ schedulingStrategy: 'SPREAD' });
    let level = Array.from({ length: CHAINS }, (_, k) => make.remote(N, k));
    level = level.map((x) => add.remote(x, 1));
    await ray.wait(level, { numReturns: CHAINS, timeout: 60_000 });
    // Some of the second level lives on B (SPREAD over every node of every host).
    const onB = (await ray.state.listObjects()).filter((o) => level.some((x) => x.id === o.objectId) && o.location === 'REMOTE').length;
    expect(onB).toBeGreaterThan(0);
    await ray.get(where.remote(level[0]!), { timeout: 30_000 });
    const before = (await ray.state.objectStore()).reconstructions;
    b.kill('SIGKILL');
    for (let d = 2; d <= DEPTH; d++) level = level.map((x) => add.remote(x, d));
    const finals = await ray.get(level, { timeout: 120_000 });
    finals.forEach((a, k) => {
      const want = k + 1 + 2 + 3 + 4 + 5;
      expect(a.length).toBe(N);
      expect(a.every((x) => x === want)).toBe(true);
    });
    expect((await ray.state.objectStore()).reconstructions).toBeGreaterThan(before);
    expect((await ray.nodes()).some((n) => n.hostId === bHost)).toBe(false);
  }, 180_000);
});
