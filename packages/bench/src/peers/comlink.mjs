// comlink over worker_threads: `workers` workers each exposing one object.
// Tiny tasks go round-robin over them; an "actor" is a dedicated worker of its own.
import { Worker } from 'node:worker_threads';
import { wrap, releaseProxy } from 'comlink/dist/esm/comlink.mjs';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';

const WORKER = new URL('./comlink-worker.mjs', import.meta.url);

async function spawn() {
  const worker = new Worker(WORKER);
  const remote = wrap(nodeEndpoint(worker));
  await remote.f(0);
  return {
    remote,
    async close() {
      remote[releaseProxy]();
      await worker.terminate();
    },
  };
}

export async function start({ workers }) {
  const pool = await Promise.all(Array.from({ length: workers }, spawn));
  let next = 0;
  const pick = () => pool[next++ % pool.length].remote;
  return {
    name: 'comlink',
    task: (x) => pick().f(x),
    tasks: (xs) => Promise.all(xs.map((x) => pick().f(x))),
    async createActor() {
      const w = await spawn();
      return {
        call: (x) => w.remote.f(x),
        calls: (xs) => Promise.all(xs.map((x) => w.remote.f(x))),
        kill: () => w.close(),
      };
    },
    stop: () => Promise.all(pool.map((w) => w.close())),
  };
}
