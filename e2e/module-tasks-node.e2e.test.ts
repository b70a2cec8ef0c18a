/**
 * A task module on a Node host of a real cluster: this process is host A (the driver, with the
 * submitter key) and serves the module over http on loopback, as an app's server would; a child
 * process is host B (join token only) with a resource A lacks, so the task runs there. B's worker
 * threads import the module (and the module it imports) from its http URL, after checking the
 * digest that A signed. Runs inside the loopback-only network namespace.
 */
import type { ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ray from 'webray';
import { startHost, stopHost } from './support/node-host.js';
import { startPeerServer, type RunningPeerServer } from './support/peer-server.js';

const served: Record<string, string> = {
  '/assets/tasks.js': "import { offset } from './dep.js';\nexport function shift(x) { return x + offset; }\n",
  '/assets/dep.js': 'export const offset = 100;\n',
};

let peers: RunningPeerServer;
let app: http.Server;
let origin: string;
let b: ChildProcess;
let bHost: string;

beforeAll(async () => {
  app = http.createServer((req, res) => {
    const body = served[req.url ?? ''];
    res.writeHead(body === undefined ? 404 : 200, { 'content-type': 'text/javascript' });
    res.end(body ?? 'not found');
  });
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
  peers = await startPeerServer();
  const keys = await ray.generateSubmitterKey();
  // The first host holds the operator key: it may be head (a host with only the join token may not).
  const operator = await ray.generateSubmitterKey();
  const cluster = { id: 'module-node-e2e', token: 'module-node-token', submitterPublicKey: keys.publicKey, operatorPublicKey: operator.publicKey, signal: peers.signal, iceServers: [] };
  const host = startHost({ numWorkers: 1, resources: { onB: 1 }, cluster: { ...cluster, operatorKey: operator.privateKey } });
  b = host.child;
  const line = await host.line;
  expect(line).toMatch(/^ready /);
  bHost = line.slice(6);
  await ray.init({ numWorkers: 1, cluster: { ...cluster, submitterKey: keys.privateKey } });
  for (let i = 0; i < 200 && (await ray.nodes()).length < 2; i++) await new Promise((r) => setTimeout(r, 25));
}, 60_000);

afterAll(async () => {
  await ray.shutdown();
  await stopHost(b);
  await peers?.close();
  await new Promise((r) => app?.close(r));
});

describe('a task module on a Node host of a cluster', () => {
  it('runs on the host that has the resource, imported from its http URL', async () => {
    const shift = ray.remote((x: number) => x, { module: `${origin}/assets/tasks.js`, exportName: 'shift' });
    const where = ray.remote(() => ray.getRuntimeContext().hostId).options({ resources: { onB: 1 } });
    expect(await ray.get(where.remote(), { timeout: 30_000 })).toBe(bHost);
    expect(await ray.get(shift.options({ resources: { onB: 1 } }).remote(1), { timeout: 30_000 })).toBe(101);
  });
});
