// One exposed object per worker: a pool member for tiny tasks, or one "actor".
import { parentPort } from 'node:worker_threads';
import { expose } from 'comlink/dist/esm/comlink.mjs';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';

class A {
  f(x) {
    return x;
  }
}

expose(new A(), nodeEndpoint(parentPort));
