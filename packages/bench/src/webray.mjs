// webray as a benchmark system: tiny tasks, actors, and the driver-side object store.
import * as ray from 'webray';

export async function start({ workers }) {
  await ray.init({ numWorkers: workers });
  // Shipped by source text: self-contained, no closures.
  const noop = ray.remote((x) => x);
  class A {
    f(x) {
      return x;
    }
  }
  const Actor = ray.remote(A);
  await ray.get(noop.remote(0));
  return {
    name: 'webray',
    ray,
    task: (x) => ray.get(noop.remote(x)),
    tasks: (xs) => ray.get(xs.map((x) => noop.remote(x))),
    submit: (x) => noop.remote(x),
    async createActor() {
      const h = Actor.remote();
      await ray.get(h.f.remote(0)); // created and reachable before timing
      return {
        call: (x) => ray.get(h.f.remote(x)),
        calls: (xs) => ray.get(xs.map((x) => h.f.remote(x))),
        kill: async () => ray.kill(h),
      };
    },
    async bigGet(bytes) {
      const nodes = (await ray.nodes()).filter((n) => n.kind === 'task');
      const make = ray.remote((n) => new Float64Array(n).fill(1)).options({ schedulingStrategy: { nodeId: nodes[0].nodeId, soft: false } });
      const ref = make.remote(bytes / 8);
      await ray.wait([ref]);
      return async () => {
        const a = await ray.get(ref);
        if (a.length !== bytes / 8) throw new Error('webray get: wrong length');
        ray.release(a);
      };
    },
    bigPut(bytes) {
      const src = new Float64Array(bytes / 8).fill(1);
      return () => {
        // Released at once, so each put reuses the memory the last one freed.
        ray.release(ray.put(src));
      };
    },
    storeChurn(workers, pairs, bytes) {
      const churn = ray.remote(async (k, n) => {
        const a = new Float64Array(n).fill(k);
        let sum = 0;
        for (let i = 0; i < k; i++) {
          const ref = ray.put(a);
          const v = await ray.get(ref);
          sum += v[0];
          ray.release(v, ref);
        }
        return sum;
      });
      return async () => {
        const sums = await ray.get(Array.from({ length: workers }, () => churn.remote(pairs, bytes / 8)));
        if (sums.some((s) => s !== pairs * pairs)) throw new Error('webray store churn: wrong sum');
      };
    },
    stop: () => ray.shutdown(),
  };
}
