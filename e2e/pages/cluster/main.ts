/**
 * The page behind cluster.e2e.test.ts: one tab, one host. Its init options come in the URL
 * fragment (as a volunteer page gets its join token: never in the query string). A driver tab
 * exposes checks on `window.clusterTests`.
 */
import * as ray from 'webray';
import { joinCluster } from '../join-cluster.js';

const { throttleTimers, ...options } = JSON.parse(decodeURIComponent(location.hash.slice(1))) as ray.InitOptions & { throttleTimers?: boolean };

// As a hidden tab's are: main-thread intervals fire at most once a minute (Chromium's intensive throttling).
if (throttleTimers) {
  const every = window.setInterval.bind(window);
  window.setInterval = ((fn: TimerHandler, ms?: number, ...rest: unknown[]) => every(fn, Math.max(ms ?? 0, 60_000), ...rest)) as typeof window.setInterval;
}

const GET_TIMEOUT = 60_000;
/** Between two looks at the cluster's state (it has no change events). */
const pause = () => new Promise((r) => setTimeout(r, 20));
/** The job `startJob` started. */
let job: Promise<string[]> | undefined;

class Counter {
  n = 0;
  add(k: number) { this.n += k; return this.n; }
  where() { return ray.getRuntimeContext().hostId; }
}

const clusterTests = {
  hostId: () => ray.getRuntimeContext().hostId,
  jobId: () => ray.getRuntimeContext().jobId,
  jobs: () => ray.state.listJobs(),

  async hosts() {
    return [...new Set((await ray.nodes()).map((n) => n.hostId))].sort();
  },

  async spread(n: number) {
    const where = ray.remote(() => ray.getRuntimeContext().hostId).options({ schedulingStrategy: 'SPREAD' });
    const hosts = await ray.get(Array.from({ length: n }, () => where.remote()), { timeout: GET_TIMEOUT });
    const counts: Record<string, number> = {};
    for (const h of hosts) counts[h] = (counts[h] ?? 0) + 1;
    return counts;
  },

  /** `n` tasks of `ms` of work each, placed by load (no strategy): how many ran on each host. */
  async byLoad(n: number, ms: number) {
    const busy = ray.remote((t: number) => {
      const end = Date.now() + t;
      while (Date.now() < end);
      return ray.getRuntimeContext().hostId;
    });
    const hosts = await ray.get(Array.from({ length: n }, () => busy.remote(ms)), { timeout: GET_TIMEOUT });
    const counts: Record<string, number> = {};
    for (const h of hosts) counts[h] = (counts[h] ?? 0) + 1;
    return counts;
  },

  /**
   * Starts `n` SPREAD tasks that each hold a slot for `ms` (a timed wait, no CPU burnt); the
   * count of where they ran comes from `jobResult()`.
   */
  startJob(n: number, ms: number) {
    const hold = ray.remote(async (t: number) => {
      await new Promise((r) => setTimeout(r, t));
      return ray.getRuntimeContext().hostId;
    }).options({ schedulingStrategy: 'SPREAD' });
    job = ray.get(Array.from({ length: n }, () => hold.remote(ms)), { timeout: GET_TIMEOUT });
    job.catch(() => undefined);
  },

  /** `n` tasks, one after another, that each need `resource` and hold it for `ms` (a timed wait): where each ran. */
  async holdOn(resource: string, n: number, ms: number) {
    const hold = ray.remote(async (t: number) => {
      await new Promise((r) => setTimeout(r, t));
      return ray.getRuntimeContext().hostId;
    }).options({ resources: { [resource]: 1 } });
    return ray.get(Array.from({ length: n }, () => hold.remote(ms)), { timeout: GET_TIMEOUT });
  },

  async jobResult() {
    const counts: Record<string, number> = {};
    for (const h of await job!) counts[h] = (counts[h] ?? 0) + 1;
    return counts;
  },

  /** Resolves once some task of this host's job is on `host` (sent there, not finished). */
  async untilTasksOn(host: string) {
    while ((await ray.state.listTasks({ filters: { nodeId: host, state: 'SUBMITTED_TO_WORKER' } })).length === 0) await pause();
  },

  /**
   * Resolves once this host counts `count` members, those in `present` among them and none of
   * `absent`. (Playwright's waitForFunction takes a returned promise for a truthy answer: waits
   * on the cluster are made here.)
   */
  async untilMembers(want: { count?: number; present?: string[]; absent?: string[] }) {
    for (;;) {
      const hosts = await clusterTests.hosts();
      if ((want.count === undefined || hosts.length === want.count) && (want.present ?? []).every((h) => hosts.includes(h)) && (want.absent ?? []).every((h) => !hosts.includes(h))) return hosts;
      await pause();
    }
  },

  /** Waits until the cluster's view of free CPUs reaches `cpus` (every host idle and reported). */
  async idle(cpus: number) {
    while ((await ray.availableResources()).CPU !== cpus) await new Promise((r) => setTimeout(r, 50));
  },

  /**
   * A 32 MiB Float64Array made where `makeOn` is, read here and by a task where `readOn` is
   * (passed by reference: that host pulls it from the maker, not from here), then a task with no
   * placement rule on it: locality sends it where the bytes are.
   */
  async bigAcross(makeOn: string, readOn: string, cpus: number) {
    const n = (32 * 1024 * 1024) / 8;
    const make = ray.remote((len: number) => {
      const a = new Float64Array(len);
      for (let i = 0; i < len; i++) a[i] = i % 977;
      return a;
    }).options({ resources: { [makeOn]: 1 } });
    const inspect = (a: Float64Array) => {
      let bad = 0;
      for (let i = 0; i < a.length; i++) if (a[i] !== i % 977) bad++;
      return { bad, length: a.length, host: ray.getRuntimeContext().hostId, shared: a.buffer instanceof SharedArrayBuffer };
    };
    const ref = make.remote(n);
    const here = inspect(await ray.get(ref, { timeout: GET_TIMEOUT }));
    const there = await ray.get(ray.remote(inspect).options({ resources: { [readOn]: 1 } }).remote(ref), { timeout: GET_TIMEOUT });
    const fresh = make.remote(n);
    await ray.wait([fresh], { timeout: GET_TIMEOUT });
    await clusterTests.idle(cpus);
    const local = await ray.get(ray.remote(inspect).remote(fresh), { timeout: GET_TIMEOUT });
    return { here, there, local };
  },

  /** A counter actor placed where `resource` is: its sums, in call order, and where it lives. */
  async counterOn(resource: string) {
    const c = ray.remote(Counter).options({ resources: { [resource]: 0.5 } }).remote();
    const sums = await ray.get([1, 2, 3, 4].map((k) => c.add.remote(k)), { timeout: GET_TIMEOUT });
    return { sums, where: await ray.get(c.where.remote(), { timeout: GET_TIMEOUT }) };
  },

  /** Creates a named counter actor on this host. */
  async makeNamedCounter(name: string) {
    const c = ray.remote(Counter).options({ name }).remote();
    return ray.get(c.add.remote(1), { timeout: GET_TIMEOUT });
  },

  /** Calls the named counter from this host, wherever it lives. */
  async callNamedCounter(name: string) {
    const c = await ray.getActor<{ add(k: number): number; where(): string }>(name);
    const sums = await ray.get([2, 3, 4].map((k) => c.add.remote(k)), { timeout: GET_TIMEOUT });
    return { sums, where: await ray.get(c.where.remote(), { timeout: GET_TIMEOUT }) };
  },

  /** A 32 MiB Float64Array made where `resource` is (the other tab), read here. */
  async bigFrom(resource: string) {
    const n = (32 * 1024 * 1024) / 8;
    const make = ray.remote((len: number) => {
      const a = new Float64Array(len);
      for (let i = 0; i < len; i++) a[i] = i % 977;
      return { a, madeOn: ray.getRuntimeContext().hostId };
    }).options({ resources: { [resource]: 1 } });
    const started = performance.now();
    const got = await ray.get(make.remote(n), { timeout: GET_TIMEOUT });
    const ms = performance.now() - started;
    let bad = 0;
    for (let i = 0; i < n; i++) if (got.a[i] !== i % 977) bad++;
    return { madeOn: got.madeOn, length: got.a.length, bad, shared: got.a.buffer instanceof SharedArrayBuffer, ms };
  },
};

declare global {
  interface Window {
    clusterTests: typeof clusterTests;
  }
}

window.clusterTests = clusterTests;
joinCluster(options);
