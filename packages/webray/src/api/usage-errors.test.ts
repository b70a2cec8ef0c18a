// Walks the public API with the mistakes a new user makes and checks that each is answered by a
// RayUsageError naming what was given (with its type), what is expected and what to do.
import { inspect } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { MemorySignaling } from '../mesh/signaling.js';
import * as ray from '../index.js';
import { ActorHandleBase } from './remote.js';

/** The error `call` throws or rejects with. */
async function errorOf(call: () => unknown): Promise<unknown> {
  try {
    await call();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error, got none');
}

async function expectUsageError(call: () => unknown, message: RegExp): Promise<void> {
  const e = await errorOf(call);
  expect(e).toBeInstanceOf(ray.RayUsageError);
  expect((e as Error).message).toMatch(message);
}

class Counter {
  n = 0;
  inc(by = 1) { return (this.n += by); }
  read() { return this.n; }
}

afterAll(() => ray.shutdown());

describe('every mistake is answered', () => {
  it('init refuses unknown keys and values of the wrong type, before starting anything', async () => {
    const init = (o: unknown) => () => ray.init(o as ray.InitOptions);
    await expectUsageError(init({ numWorker: 2 }), /ray\.init: unknown option 'numWorker'\. Did you mean 'numWorkers'\? Options here are: numWorkers, resources, namespace, taskLogSize, objectStoreMemory, objectStoreMaxMemory, objectStoreChecks, maxInlineBytes, workerResourceLimits, maxLineageBytes, cluster, hostName\.$/);
    await expectUsageError(init({ num_workers: 2 }), /unknown option 'num_workers'\. Did you mean 'numWorkers'\?/);
    await expectUsageError(init({ resources: { CPU: 4 } }), /give CPUs with numWorkers .*not resources\.CPU/);
    await expectUsageError(init({ resources: { gpu: 'one' } }), /resource 'gpu' must be a number ≥ 0, got 'one' \(a string\)/);
    await expectUsageError(init({ numWorkers: '2' }), /numWorkers must be an integer ≥ 1, got '2' \(a string\)\. Omit it/);
    await expectUsageError(init({ numWorkers: 0 }), /numWorkers must be an integer ≥ 1, got 0 \(a number\)/);
    await expectUsageError(init({ objectStoreMemory: '64MB' }), /objectStoreMemory must be a positive number of bytes, got '64MB' \(a string\)/);
    await expectUsageError(init({ maxLineageBytes: 0 }), /maxLineageBytes must be a positive number of bytes, got 0/);
    await expectUsageError(init(null), /ray\.init: options must be an object .*got null/);
    await expectUsageError(init({ resources: 4 }), /option 'resources' must be an object like \{ webgpu: 1 \}, got 4 \(a number\)/);
    expect(ray.isInitialized()).toBe(false);
  });

  it('init checks the whole cluster config before any network', async () => {
    const { publicKey, privateKey } = await ray.generateSubmitterKey();
    const signal = { host: '127.0.0.1', port: 1, path: '/' }; // nothing listens: reaching it would fail otherwise
    const cluster = (c: Record<string, unknown>) => () => ray.init({ numWorkers: 1, cluster: { id: 'c', token: 't', submitterPublicKey: publicKey, signal, ...c } as never });
    await expectUsageError(cluster({ token: undefined }), /'token' must be a non-empty string, got undefined\. Every host of one cluster gives the same id and join token/);
    await expectUsageError(cluster({ token: '' }), /'token' must be a non-empty string, got '' \(a string\)/);
    await expectUsageError(cluster({ submitterPublicKey: undefined }), /'submitterPublicKey' must be JWK text or a compact key, got undefined\. Give every host the publicKey text that ray\.generateSubmitterKey\(\) returned/);
    await expectUsageError(cluster({ submitterPublicKey: 'not a key' }), /'submitterPublicKey': 'not a key' \(a string\) is not a compact public key \(44 characters of base64url/);
    await expectUsageError(cluster({ submitterPublicKey: JSON.parse(publicKey) }), /got an object \(a key object: pass JSON\.stringify\(key\)\)/);
    await expectUsageError(cluster({ submitterKey: publicKey }), /'submitterKey' is not a usable ECDSA P-256 JSON Web Key/);
    await expectUsageError(cluster({ signal: 'localhost:9000' }), /'signal' is the PeerJS server as an object, got 'localhost:9000' \(a string\)\. Write signal: \{ host: 'localhost', port: 9000, path: '\/' \}/);
    await expectUsageError(cluster({ signal: undefined }), /'signal' is required: .*npx -p peer peerjs --port 9000/);
    await expectUsageError(cluster({ signal: { host: 'h', port: '9000' } }), /signal\.port must be an integer from 1 to 65535, .*got '9000' \(a string\)/);
    await expectUsageError(cluster({ tokn: 'x' }), /unknown option 'tokn'\. Did you mean 'token'\?/);
    await expectUsageError(cluster({ operatorKey: privateKey }), /'operatorKey' is given without 'operatorPublicKey': .*give every host operatorPublicKey/);
    await expectUsageError(cluster({ operatorPublicKey: privateKey.slice(1) }), /'operatorPublicKey': .* is not a compact public key/);
    await expectUsageError(cluster({ submitterKey: privateKey, heartbeatMs: -1 }), /'heartbeatMs' must be a positive number of milliseconds, got -1 \(a number\)/);
    expect(ray.isInitialized()).toBe(false);
    // The same config, right, joins (here over the in-memory transport).
    await ray.init({ numWorkers: 1, cluster: { id: 'c', token: 't', submitterPublicKey: publicKey, submitterKey: privateKey, signaling: new MemorySignaling() } });
    await ray.shutdown();
  });

  it('get, wait, cancel, kill and getActor refuse wrong arguments and unknown option keys', async () => {
    await ray.init({ numWorkers: 1 });
    const r = ray.put(1);
    await expectUsageError(() => ray.wait(r as never), /ray\.wait expects an array of ObjectRefs, got one ObjectRef \(ObjectRef\(.*\)\)\. Wrap it: ray\.wait\(\[ref\]\)/);
    await expectUsageError(() => ray.wait('r' as never), /ray\.wait expects an array of ObjectRefs, got 'r' \(a string\)/);
    expect(await ray.wait([])).toEqual([[], []]);
    await expectUsageError(() => ray.wait([r], { num_returns: 1 } as never), /ray\.wait: unknown option 'num_returns'\. Did you mean 'numReturns'\? Options here are: numReturns, timeout, fetchLocal/);
    await expectUsageError(() => ray.wait([r], { numReturns: '1' } as never), /numReturns must be an integer .*got '1' \(a string\)/);
    await expectUsageError(() => ray.get(r, { timeot: 5 } as never), /ray\.get: unknown option 'timeot'\. Did you mean 'timeout'\?/);
    await expectUsageError(() => ray.get(r, { timeout: '5' } as never), /timeout is in milliseconds and must be ≥ 0, got '5' \(a string\)/);
    await expectUsageError(() => ray.get([r, 7] as never), /element 1 is not an ObjectRef, got 7 \(a number\)/);
    await expectUsageError(() => ray.cancel(r, { forse: true } as never), /ray\.cancel: unknown option 'forse'\. Did you mean 'force'\?/);
    await expectUsageError(() => ray.cancel('r' as never), /ray\.cancel expects the ObjectRef returned by \.remote\(\), got 'r' \(a string\)/);
    const counter = ray.remote(Counter).options({ name: 'c1' }).remote();
    await expectUsageError(() => ray.kill(counter, { no_restart: true } as never), /ray\.kill: unknown option 'no_restart'\. Did you mean 'noRestart'\?/);
    await expectUsageError(() => ray.kill({} as never), /ray\.kill expects an actor handle .*got an object/);
    await expectUsageError(() => (ray.getActor as () => unknown)(), /ray\.getActor expects the actor's name \(given with \.options\(\{ name \}\) when it was created\), got undefined/);
    await expectUsageError(() => ray.getActor('c1', { namspace: 'x' } as never), /ray\.getActor: unknown option 'namspace'\. Did you mean 'namespace'\?/);
    await expectUsageError(() => ray.remote(Counter).options({ max_restarts: 1 } as never), /unknown option 'max_restarts'\. Did you mean 'maxRestarts'\?/);
    await expectUsageError(() => ray.state.listTasks({ state: 'FINISHED' } as never), /ray\.state\.listTasks: unknown option 'state'\. Options here are: filters, limit; to keep records by a field, write \{ filters: \{ state: 'FINISHED' \} \}/);
    await expectUsageError(() => ray.state.listObjects('FINISHED' as never), /ray\.state\.listObjects: options must be an object .*got 'FINISHED' \(a string\)/);
    expect(await ray.get(counter.inc.remote(2))).toBe(2);
  });

  it('a method the actor lacks is named with the class and its methods; handles stay non-thenable and printable', async () => {
    const counter = ray.remote(Counter).remote();
    await expectUsageError(() => (counter as unknown as { nope: { remote(): unknown } }).nope.remote(), /Actor class Counter has no method 'nope' \(its methods: inc, read\)/);
    const named = await ray.getActor('c1');
    await expectUsageError(() => (named as unknown as { incr: unknown }).incr, /Actor class Counter has no method 'incr'/);
    expect(await Promise.resolve(counter)).toBe(counter); // not a thenable
    expect(JSON.stringify({ counter })).toMatch(/^\{"counter":\{/);
    expect(inspect(counter)).toMatch(/ActorHandleBase/);
    expect(String(counter)).toMatch(/^ActorHandle\(Counter, /);
    expect(counter).toBeInstanceOf(ActorHandleBase);
    expect(await ray.get(ray.remote((c: ray.ActorHandle<Counter>) => ray.get(c.read.remote())).remote(counter))).toBe(0);
  });

  it('a ref or actor handle kept across shutdown and a new init says its session was shut down', async () => {
    const old = ray.put('from the first session');
    const oldCounter = ray.remote(Counter).remote();
    await ray.shutdown();
    await ray.init({ numWorkers: 1 });
    await expectUsageError(() => ray.get(old), /ray\.get: ObjectRef\(.*\) belongs to a webray session that was shut down \(ray\.shutdown\(\)\).*submit the task or put the value again/);
    await expectUsageError(() => ray.wait([old]), /ray\.wait: .* belongs to a webray session that was shut down/);
    await expectUsageError(() => ray.cancel(old), /ray\.cancel: .* belongs to a webray session that was shut down/);
    const inc = ray.remote(function inc(x: number) { return x + 1; });
    await expectUsageError(() => inc.remote(old as never), /inc\.remote: .* belongs to a webray session that was shut down/);
    await expectUsageError(() => oldCounter.inc.remote(1), /inc\.remote: ActorHandle\(Counter, .*\) belongs to a webray session that was shut down .*Create the actor again after ray\.init\(\)/);
    await expectUsageError(() => ray.kill(oldCounter), /ray\.kill: ActorHandle\(Counter, .*\) belongs to a webray session that was shut down/);
    old.release(); // harmless: it does not touch the new session
    expect(await ray.get(ray.put(3))).toBe(3);
  });
});
