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
    stop: () => ray.shutdown(),
  };
}
