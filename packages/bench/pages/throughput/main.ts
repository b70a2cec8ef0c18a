/**
 * One tab of the cluster throughput benchmark (run by src/cluster-throughput.mjs): a webray host,
 * alone or in a cluster, its init options in the URL fragment. A driver tab submits CPU-bound
 * tasks with no placement rule and counts where they ran.
 */
import * as ray from 'webray';

const GET_TIMEOUT = 60_000;

/**
 * A fixed amount of work (not a time): `steps` square roots, kept bounded so every step costs the
 * same. Returns where it ran, the result (checked by the caller) and how long it took there.
 */
const crunch = ray.remote((steps: number) => {
  const t0 = performance.now();
  let x = 0;
  for (let i = 1; i <= steps; i++) {
    x += Math.sqrt(i) * 1.0000001;
    x %= 1e9;
  }
  return { host: ray.getRuntimeContext().hostId, x, ms: performance.now() - t0 };
});

type Ran = { host: string; x: number; ms: number };

const bench = {
  hostId: () => ray.getRuntimeContext().hostId,
  hosts: async () => new Set((await ray.nodes()).map((n) => n.hostId)).size,

  /**
   * Waits (at most `ms`) until the cluster's view of free CPUs is `cpus`, every host idle and
   * reported: undefined then, else the view it was left at.
   */
  async idle(cpus: number, ms: number) {
    const deadline = performance.now() + ms;
    for (;;) {
      const free = await ray.availableResources();
      if (free.CPU === cpus) return undefined;
      if (performance.now() > deadline) return free;
      await new Promise((r) => setTimeout(r, 20));
    }
  },

  /** `n` tasks at once, all awaited: the wall time, and per host the tasks run and their time there. */
  async run(n: number, steps: number) {
    const t0 = performance.now();
    const out = await ray.get(Array.from({ length: n }, () => crunch.remote(steps)), { timeout: GET_TIMEOUT }) as Ran[];
    const ms = performance.now() - t0;
    const perHost: Record<string, { tasks: number; taskMs: number }> = {};
    for (const r of out) {
      const h = (perHost[r.host] ??= { tasks: 0, taskMs: 0 });
      h.tasks++;
      h.taskMs += r.ms;
    }
    return { ms, perHost, results: [...new Set(out.map((r) => r.x))] };
  },
};

declare global {
  interface Window { bench: typeof bench; benchStatus: string }
}
window.bench = bench;
window.benchStatus = 'loading';
const status = document.getElementById('status')!;
ray.init(JSON.parse(decodeURIComponent(location.hash.slice(1))) as ray.InitOptions).then(
  () => { window.benchStatus = 'ready'; status.textContent = `ready ${ray.getRuntimeContext().hostId}`; },
  (e: Error) => { window.benchStatus = `failed: ${e.name}: ${e.message}`; status.textContent = window.benchStatus; },
);
