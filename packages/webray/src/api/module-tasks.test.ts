// Module tasks (`ray.remote(fn, { module, exportName })`) on Node hosts of a cluster, joined over
// the in-memory transport: the module is served over http (loopback), as an app serves it, and
// imports another module beside it, as a built chunk does. Node's own loader cannot import http
// URLs; the signed entry carries the module's digest, checked by each host before it runs it.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostRuntime } from '../host/runtime.js';
import { MemorySignaling } from '../mesh/signaling.js';
import * as ray from '../index.js';
import { startServingHost } from './index.js';
import { until } from '../test-support/until.js';

let server: http.Server;
let origin: string;
/** What the server answers for each path: a test changes it to change the served code. */
const served: Record<string, string> = {
  '/assets/tasks.js': "import { offset } from './dep.js';\nexport function shift(x) { return x + offset; }\nexport function where() { return 'module'; }\n",
  '/assets/dep.js': 'export const offset = 100;\n',
};

let b: HostRuntime;
let c: HostRuntime | undefined;
let base: Omit<ray.ClusterConfig, 'submitterKey'>;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const body = served[req.url ?? ''];
    res.writeHead(body === undefined ? 404 : 200, { 'content-type': 'text/javascript' });
    res.end(body ?? 'not found');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const keys = await ray.generateSubmitterKey();
  // The first host holds the operator key: it may be head (a host with only the join token may not).
  const operator = await ray.generateSubmitterKey();
  base = { id: 'module-tasks', token: 'join-secret', submitterPublicKey: keys.publicKey, operatorPublicKey: operator.publicKey, signaling: new MemorySignaling(), heartbeatMs: 100, deadAfterMs: 2000 };
  b = await startServingHost({ numWorkers: 1, resources: { onB: 1 }, cluster: { ...base, operatorKey: operator.privateKey } });
  await ray.init({ numWorkers: 1, cluster: { ...base, submitterKey: keys.privateKey } });
  await until(async () => (await ray.nodes()).length >= 2);
}, 30_000);

afterAll(async () => {
  await ray.shutdown();
  await b?.shutdown();
  await c?.shutdown();
  await new Promise((r) => server.close(r));
});

describe('module tasks on Node hosts', () => {
  it('a Node host imports a task module (and the module it imports) from its http URL', async () => {
    // The local function stands in for the module's export, as an app imports it.
    const remote = ray.remote((x: number) => x, { module: `${origin}/assets/tasks.js`, exportName: 'shift' });
    expect(await ray.get(remote.remote(1), { timeout: 20_000 })).toBe(101);
    const onB = remote.options({ resources: { onB: 1 } });
    expect(await ray.get(onB.remote(2), { timeout: 20_000 })).toBe(102);
  });

  it('a host refuses a module whose URL serves other code than when its entry was signed, with ModuleChangedError', async () => {
    const where = ray.remote(() => 'local', { module: `${origin}/assets/tasks.js`, exportName: 'where' });
    // Signed (with the digest of the served module) when first shipped, to B.
    expect(await ray.get(where.options({ resources: { onB: 1 } }).remote(), { timeout: 20_000 })).toBe('module');
    served['/assets/tasks.js'] = served['/assets/tasks.js']!.replace("'module'", "'changed'");
    c = await startServingHost({ numWorkers: 1, resources: { onC: 1 }, cluster: base });
    await until(async () => (await ray.nodes()).length >= 3);
    const err = await ray.get(where.options({ resources: { onC: 1 } }).remote(), { timeout: 20_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ray.ModuleChangedError);
    expect((err as Error).message).toContain(`${origin}/assets/tasks.js`);
    expect((err as Error).message).toMatch(/not [0-9a-f]{64} as when it was signed/);
  });
});

describe('ray.remote(fn, { module }) given what a build without the plugin produces', () => {
  it('refuses a data: URL that is not JavaScript (an inlined .ts asset) and names the webray/vite plugin', () => {
    const url = `data:video/mp2t;base64,${btoa('export function double(x: number) { return 2 * x; }')}`;
    expect(() => ray.remote((x: number) => x, { module: url, exportName: 'double' })).toThrow(ray.RayUsageError);
    expect(() => ray.remote((x: number) => x, { module: url, exportName: 'double' })).toThrow(/data: URL of type 'video\/mp2t', not JavaScript.*webray\/vite/);
  });
});
