/**
 * Two Node.js processes form one cluster over real WebRTC (node-datachannel, loaded by init) through a local PeerJS
 * server: this process is host A (the driver, with the submitter key); a child process is host B
 * (join token only) with a resource A lacks. Runs inside the loopback-only network namespace.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as ray from 'webray';
import { startHost, stopHost } from './support/node-host.js';
import { startPeerServer, type RunningPeerServer } from './support/peer-server.js';

let server: RunningPeerServer;
let b: ChildProcess;
let bHost: string;
let cluster: ray.ClusterConfig;
let privateKey: string;

beforeAll(async () => {
  server = await startPeerServer();
  const keys = await ray.generateSubmitterKey();
  // The first host holds the operator key: it may be head (a host with only the join token may not).
  const operator = await ray.generateSubmitterKey();
  privateKey = keys.privateKey;
  cluster = { id: 'node-e2e', token: 'node-e2e-token', submitterPublicKey: keys.publicKey, operatorPublicKey: operator.publicKey, signal: server.signal, iceServers: [] };
  const host = startHost({ numWorkers: 2, resources: { webgpu: 1 }, cluster: { ...cluster, operatorKey: operator.privateKey } });
  b = host.child;
  const line = await host.line;
  expect(line).toMatch(/^ready /);
  bHost = line.slice(6);
  await ray.init({ numWorkers: 2, cluster: { ...cluster, submitterKey: privateKey } });
  for (let i = 0; i < 200 && (await ray.nodes()).length < 4; i++) await new Promise((r) => setTimeout(r, 25));
}, 60_000);

afterAll(async () => {
  await ray.shutdown();
  await stopHost(b);
  await server?.close();
});

describe('two Node.js processes as one cluster (WebRTC, local PeerJS server)', () => {
  it('run 200 SPREAD tasks on both hosts', async () => {
    const where = ray.remote(() => ray.getRuntimeContext().hostId).options({ schedulingStrategy: 'SPREAD' });
    const hosts = await ray.get(Array.from({ length: 200 }, () => where.remote()), { timeout: 60_000 });
    const counts = new Map<string, number>();
    for (const h of hosts) counts.set(h, (counts.get(h) ?? 0) + 1);
    expect([...counts.keys()].sort()).toEqual([ray.getRuntimeContext().hostId, bHost].sort());
    expect(counts.get(bHost)).toBeGreaterThan(50);
  });

  it('read in A a 32 MiB Float64Array made in B', async () => {
    const make = ray.remote((n: number) => Float64Array.from({ length: n }, (_, i) => i % 977)).options({ resources: { webgpu: 1 } });
    const n = (32 * 1024 * 1024) / 8;
    const where = ray.remote(() => ray.getRuntimeContext().hostId).options({ resources: { webgpu: 1 } });
    expect(await ray.get(where.remote(), { timeout: 30_000 })).toBe(bHost);
    const a = await ray.get(make.remote(n), { timeout: 60_000 });
    expect(a.length).toBe(n);
    expect(a.buffer).toBeInstanceOf(SharedArrayBuffer);
    let bad = 0;
    for (let i = 0; i < n; i++) if (a[i] !== i % 977) bad++;
    expect(bad).toBe(0);
  });

  it('let B call a named actor created from A', async () => {
    class Counter {
      n = 0;
      add(k: number) { this.n += k; return this.n; }
      where() { return ray.getRuntimeContext().hostId; }
    }
    const counter = ray.remote(Counter).options({ name: 'node-counter' }).remote();
    expect(await ray.get(counter.add.remote(1))).toBe(1);
    // B (the `pnpm host` process) calls it by name: add 2, 3, 4, then where().
    const answers = new Promise<unknown[]>((resolve) => {
      const got: unknown[] = [];
      let out = '';
      const onData = (d: Buffer) => {
        out += String(d);
        for (let i = out.indexOf('\n'); i >= 0; i = out.indexOf('\n')) {
          const line = out.slice(0, i);
          out = out.slice(i + 1);
          if (line.startsWith('called ')) got.push(JSON.parse(line.slice(7)));
        }
        if (got.length === 4) { b.stdout!.off('data', onData); resolve(got); }
      };
      b.stdout!.on('data', onData);
    });
    b.stdin!.write('call node-counter add [2]\ncall node-counter add [3]\ncall node-counter add [4]\ncall node-counter where []\n');
    expect(await answers).toEqual([3, 6, 10, ray.getRuntimeContext().hostId]);
  });

  it('refuse a host with a wrong token', async () => {
    const intruder = startHost({ numWorkers: 1, cluster: { ...cluster, token: 'guessed' } });
    expect(await intruder.line).toMatch(/^error ClusterAuthError: Cluster authentication failed/);
    expect((await ray.nodes()).every((n) => n.hostId !== 'guessed')).toBe(true);
    expect(new Set((await ray.nodes()).map((n) => n.hostId))).toEqual(new Set([ray.getRuntimeContext().hostId, bHost]));
  });

  it('let a script that joined the cluster, ran a task on another host and forgot ray.shutdown() exit', async () => {
    // Neither the PeerJS server's socket and pings nor the WebRTC links (node-datachannel keeps a
    // process alive while one is open, unseen by Node) may keep it running once its work is done.
    const script = `import * as ray from 'webray';
await ray.init({ numWorkers: 1, cluster: ${JSON.stringify({ ...cluster, submitterKey: privateKey })} });
console.log(await ray.get(ray.remote(() => ray.getRuntimeContext().hostId).options({ resources: { webgpu: 1 } }).remote()));`;
    const file = join(dirname(createRequire(import.meta.url).resolve('webray/package.json')), 'dist', 'exit-check.mjs');
    writeFileSync(file, script);
    const out = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      execFile(process.execPath, [file], { timeout: 60_000 }, (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout: stdout + (error ? `${error.message}\n${stderr}` : '') });
      });
    }).finally(() => rmSync(file, { force: true }));
    expect(out).toEqual({ code: 0, stdout: `${bHost}\n` });
  });

  it('lose nothing when the PeerJS server restarts mid-job: links stay up, the job ends on both hosts, a new host joins after', async () => {
    const self = ray.getRuntimeContext().hostId;
    const hold = ray.remote(async (ms: number) => {
      await new Promise((r) => setTimeout(r, ms));
      return ray.getRuntimeContext().hostId;
    }).options({ schedulingStrategy: 'SPREAD' });
    const job = ray.get(Array.from({ length: 16 }, () => hold.remote(500)), { timeout: 60_000 });
    await server.close();
    server = await startPeerServer(server.port);
    expect(new Set(await job)).toEqual(new Set([self, bHost]));
    const c = startHost({ numWorkers: 1, resources: { late: 1 }, cluster });
    try {
      const line = await c.line;
      expect(line).toMatch(/^ready /);
      const where = ray.remote(() => ray.getRuntimeContext().hostId).options({ resources: { late: 1 } });
      expect(await ray.get(where.remote(), { timeout: 30_000 })).toBe(line.slice(6));
      expect(new Set((await ray.nodes()).map((n) => n.hostId))).toEqual(new Set([self, bHost, line.slice(6)]));
    } finally {
      await stopHost(c.child);
    }
  }, 90_000);

  it('keep B through a restart of the PeerJS server while A leaves: B claims its ids back, and a new A finds it', async () => {
    await ray.shutdown();
    await server.close();
    server = await startPeerServer(server.port);
    await ray.init({ numWorkers: 2, cluster: { ...cluster, submitterKey: privateKey } });
    const where = ray.remote(() => ray.getRuntimeContext().hostId).options({ resources: { webgpu: 1 } });
    expect(await ray.get(where.remote(), { timeout: 30_000 })).toBe(bHost);
    expect(b.exitCode).toBeNull();
  }, 90_000);
});
