/**
 * The page behind chaos.e2e.test.ts: one tab, one host (init options in the URL fragment). Every
 * tab exposes `window.chaosHooks` (its webray workers, and a way to kill one as a crash would);
 * the driver tab runs the job with `window.chaosTests.run(plan)`, counts completions, and at each
 * fault's count asks the test (`window.chaosFault`, exposed by Playwright) to inject it.
 */
import * as ray from 'webray';
import { joinCluster } from '../join-cluster.js';
import { KeySet, addOf, normOf, reduceTree, scaleOf, seedOf, totalOf } from '../../../packages/webray/src/test-support/chaos-job.js';

const options = JSON.parse(decodeURIComponent(location.hash.slice(1))) as ray.InitOptions;

/**
 * The tab's webray workers by name (`webray-task-<nodeId>`, `webray-actor-<nodeId>`): the page
 * wraps Worker before ray.init spawns any, so the test can terminate one. Terminating a worker is
 * what a crash looks like to its host (its life lock is released); nothing in the package knows.
 */
const workers = new Map<string, Worker>();
const NativeWorker = window.Worker;
window.Worker = class extends NativeWorker {
  private readonly webrayName?: string;
  constructor(url: string | URL, opts?: WorkerOptions) {
    super(url, opts);
    if (opts?.name?.startsWith('webray-')) {
      this.webrayName = opts.name;
      workers.set(opts.name, this);
    }
  }
  override terminate(): void {
    if (this.webrayName) workers.delete(this.webrayName);
    super.terminate();
  }
};

const chaosHooks = {
  hostId: () => ray.getRuntimeContext().hostId,
  /** Resolves once this host counts `count` hosts in the cluster, `present` among them and none of `absent`. */
  async untilHosts(want: { count?: number; present?: string[]; absent?: string[] }) {
    for (;;) {
      const hosts = [...new Set((await ray.nodes()).map((n) => n.hostId))];
      if ((want.count === undefined || hosts.length === want.count) && (want.present ?? []).every((h) => hosts.includes(h)) && (want.absent ?? []).every((h) => !hosts.includes(h))) return;
      // Between two looks at the cluster's state (it has no change events).
      await new Promise((r) => setTimeout(r, 20));
    }
  },
  /** Names of this tab's webray workers still running. */
  workers: () => [...workers.keys()].sort(),
  /** Terminates the worker named `name`, as if it crashed. */
  kill(name: string) {
    const w = workers.get(name);
    if (!w) throw new Error(`no webray worker named ${name} in this tab (it has ${[...workers.keys()].join(', ')})`);
    w.terminate();
  },
};

export type FaultKind = 'worker' | 'actor-worker' | 'signal-restart' | 'open-tab' | 'close-tab' | 'kill-head' | 'close-actor-tab';
export interface Fault { after: number; kind: FaultKind }
export interface ChaosResult {
  tasks: number;
  /** Where the fault-free result differs from the job's ('' when equal). */
  mismatch: string;
  log: string[];
  recoveries: Record<string, number>;
}

const SEEDS = 100;
const NORMS = 5 * SEEDS;
const ACTORS = 6;
const CALLS = 35;
const GET_TIMEOUT = 120_000;

// The job's functions (test-support/chaos-job.ts): its tasks, and run here for the fault-free result.
const lookupOf = (table: Float64Array, j: number) => table[(j * 131) % table.length]! + j;

const seed = ray.remote(seedOf).options({ name: 'seed', schedulingStrategy: 'SPREAD', maxRetries: 5 });
const scale = ray.remote(scaleOf).options({ name: 'scale', maxRetries: 5 });
const add = ray.remote(addOf).options({ name: 'add', maxRetries: 5 });
const norm = ray.remote(normOf).options({ name: 'norm', maxRetries: 5 });

/**
 * An actor with state: a 128 KiB table built from its argument, and a memo of its answers. A
 * restart rebuilds both from the constructor, so every answer is the same with or without one.
 */
class Lookup {
  readonly table: Float64Array;
  readonly memo = new Map<number, number>();
  constructor(k: number) {
    this.table = new Float64Array(16_384);
    for (let i = 0; i < this.table.length; i++) this.table[i] = ((k * 31 + i) % 97) / 7;
  }
  get(j: number) {
    if (!this.memo.has(j)) this.memo.set(j, this.table[(j * 131) % this.table.length]! + j);
    return this.memo.get(j)!;
  }
}

const KEY_SETS = 2;
const KEYS = 60;

function firstDifference(got: unknown[], want: unknown[], what: string): string {
  if (got.length !== want.length) return `${what}: ${got.length} values, want ${want.length}`;
  const i = got.findIndex((g, k) => g !== want[k]);
  return i < 0 ? '' : `${what}[${i}] = ${String(got[i])}, want ${String(want[i])}`;
}

const chaosTests = {
  /** Runs the job; at each fault's completion count, waits for the test to inject the fault. */
  async run(plan: Fault[]): Promise<ChaosResult> {
    const lookups = Array.from({ length: ACTORS }, (_, k) => ray.remote(Lookup).options({ schedulingStrategy: 'SPREAD', maxRestarts: 5, maxTaskRetries: 5 }).remote(k));
    const keySets = Array.from({ length: KEY_SETS }, () => ray.remote(KeySet).options({ schedulingStrategy: 'SPREAD', maxRestarts: 5, maxTaskRetries: 5, checkpointEvery: 7 }).remote());

    const seeds = Array.from({ length: SEEDS }, (_, i) => seed.remote(i));
    const scaled = seeds.map((s, i) => scale.remote(s, i));
    const { sums, root } = reduceTree(scaled, (a, b) => add.remote(a, b));
    const norms = Array.from({ length: NORMS }, (_, j) => norm.remote(seeds[j % SEEDS]!, j));
    const looked = Array.from({ length: ACTORS * CALLS }, (_, j) => lookups[j % ACTORS]!.get.remote(j));
    const added = keySets.flatMap((k) => Array.from({ length: KEYS }, (_, j) => k.add.remote(j)));
    const all = [...seeds, ...scaled, ...sums, ...norms, ...looked, ...added];

    const log: string[] = [];
    let pending = all.slice();
    let completed = 0;
    let next = 0;
    try {
      while (pending.length) {
        const [ready, rest] = await ray.wait(pending, { numReturns: Math.min(pending.length, 10), timeout: GET_TIMEOUT });
        if (!ready.length) throw new Error(`no task finished in ${GET_TIMEOUT} ms; ${pending.length} of ${all.length} pending`);
        completed += ready.length;
        pending = rest;
        while (next < plan.length && completed >= plan[next]!.after) {
          log.push(`after ${completed} completions: ${await window.chaosFault(next, completed)}`);
          next++;
        }
      }
    } catch (e) {
      throw new Error(`the job failed after ${completed} completions: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}\nfaults so far:\n  ${log.join('\n  ')}`);
    }

    // The fault-free result, computed here.
    const tables = Array.from({ length: ACTORS }, (_, k) => seedOf(k));
    const results = async <T>(what: string, refs: ray.ObjectRef<T>[]): Promise<T[]> => {
      try {
        return await ray.get(refs, { timeout: GET_TIMEOUT });
      } catch (e) {
        throw new Error(`reading the job's ${what} failed: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}\nfaults:\n  ${log.join('\n  ')}`);
      }
    };
    const [total] = await results('total', [root]);
    const mismatch = [
      firstDifference(Array.from(total!), Array.from(totalOf(SEEDS)), 'total'),
      firstDifference(await results('norms', norms), Array.from({ length: NORMS }, (_, j) => normOf(seedOf(j % SEEDS), j)), 'norms'),
      firstDifference(await results('actor answers', looked), Array.from({ length: ACTORS * CALLS }, (_, j) => lookupOf(tables[j % ACTORS]!, j)), 'actor answers'),
      // Every key each checkpointed actor was given is in its state, whatever restarts it went through.
      ...(await results('checkpointed states', keySets.map((k) => k.sorted.remote()))).map((keys, i) => firstDifference(keys, Array.from({ length: KEYS }, (_, j) => j), `keys of checkpointed actor ${i}`)),
    ].filter(Boolean).join('; ');

    const tasks = await ray.state.listTasks({ limit: 100_000 });
    const actors = await ray.state.listActors();
    const recoveries = {
      'task retries': tasks.filter((t) => t.attempt > 0).length,
      'actor restarts': actors.reduce((n, a) => n + a.numRestarts, 0),
      // The driver owns the job's objects: it counts those it made again from lineage.
      'objects rebuilt': (await ray.state.objectStore()).reconstructions,
    };
    return { tasks: all.length, mismatch, log, recoveries };
  },

  /** The workers (node ids) running a task of the job now. */
  async busyNodes() {
    const busy = (await ray.state.listTasks({ limit: 100_000 })).filter((t) => t.type === 'NORMAL_TASK' && (t.state === 'RUNNING' || t.state === 'SUBMITTED_TO_WORKER') && t.nodeId);
    return [...new Set(busy.map((t) => t.nodeId!))];
  },
};

declare global {
  interface Window {
    chaosHooks: typeof chaosHooks;
    chaosTests: typeof chaosTests;
    /** Exposed by the test on the driver tab: injects fault `index` of the plan, answers what it did. */
    chaosFault(index: number, completed: number): Promise<string>;
  }
}

window.chaosHooks = chaosHooks;
window.chaosTests = chaosTests;
joinCluster(options);
