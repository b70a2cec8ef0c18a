/**
 * Faults of a worker (Node worker_threads here): a task that exits or crashes its worker, a worker
 * that runs out of memory. Results already made are delivered once; unfinished tasks are retried.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ray from '../index.js';
import { nodePlatform } from '../platform/node.js';
import type { HostRuntime } from '../host/runtime.js';
import { taskOfObject } from '../shared/ids.js';
import { until } from '../test-support/until.js';
import { currentCore } from './core.js';

const N = 20;

/**
 * Counts its runs in `runs[i]` (shared memory, so the test sees every run, even on a worker that
 * died) and exits the worker on the attempts listed in `exitOn`. One quick function for all, so the
 * node reports no start before the last (see node/executor.ts reportStart).
 */
const step = ray.remote((runs: Int32Array, i: number, exitOn: number[]) => {
  Atomics.add(runs, i, 1);
  if (exitOn.includes(ray.getRuntimeContext().attempt)) process.exit(3);
  return i;
});

/** N runs of `step`, then one that exits on the given attempts; the worker has run `step` before. */
async function runThenExit(options: { maxRetries: number }, exitOn: number[]) {
  const runs = new Int32Array(new SharedArrayBuffer(4 * (N + 2)));
  await ray.get(step.remote(runs, N + 1, []));
  const refs = Array.from({ length: N }, (_, i) => step.options(options).remote(runs, i, []));
  const last = step.options(options).remote(runs, N, exitOn);
  return { runs: () => [...runs.subarray(0, N)], refs, last };
}

const indexes = Array.from({ length: N }, (_, i) => i);

describe('a task that exits its worker', () => {
  /** One worker, so the tasks of a test run back to back on it. */
  beforeAll(() => ray.init({ numWorkers: 1 }));
  afterAll(() => ray.shutdown());

  it('does not lose the results of tasks that finished before it on the same worker (maxRetries 0)', async () => {
    const { runs, refs, last } = await runThenExit({ maxRetries: 0 }, [0]);
    const err = await ray.get(last).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ray.WorkerCrashedError);
    expect(await ray.get(refs)).toEqual(indexes);
    expect(runs()).toEqual(Array(N).fill(1));
  });

  it('writes a large result again when its worker died in the middle of writing it', async () => {
    // Waits for flags[0]; its first attempt then exits, the next returns 160 KB (written to the store).
    const big = ray.remote((flags: Int32Array) => {
      Atomics.wait(flags, 0, 0);
      if (ray.getRuntimeContext().attempt === 0) process.exit(3);
      return new Float64Array(20_000).fill(7);
    });
    const flags = new Int32Array(new SharedArrayBuffer(4));
    const ref = big.options({ maxRetries: 1 }).remote(flags);
    await until(async () => (await ray.state.listTasks({ filters: { taskId: taskOfObject(ref.id) } }))[0]?.state === 'RUNNING');
    // As the dying worker left it: the result's entry made in the store, never sealed.
    expect(typeof (currentCore() as HostRuntime).store!.store.beginWrite(ref.id, 160_016)).toBe('number');
    Atomics.store(flags, 0, 1);
    Atomics.notify(flags, 0);
    const v = await ray.get(ref);
    expect([v.length, v[0], v[19_999]]).toEqual([20_000, 7, 7]);
  });

  it('does not run a finished task again when a later one is retried after exiting', async () => {
    const { runs, refs, last } = await runThenExit({ maxRetries: 3 }, [0]);
    expect(await ray.get(last)).toBe(N);
    expect(await ray.get(refs)).toEqual(indexes);
    expect(runs()).toEqual(Array(N).fill(1));
  });
});

/** Holds ever more heap (arrays of numbers, 8 KB each) on `attempt` 0 up to 1 GiB; says so if it got there. */
const hog = ray.remote((hogOn: number[]) => {
  if (!hogOn.includes(ray.getRuntimeContext().attempt)) return 'small';
  const held: number[][] = [];
  for (let i = 0; i < 131072; i++) held.push(new Array<number>(1024).fill(i));
  return `held ${held.length} arrays: no limit`;
});

/** Counts its calls; exits its worker when told to (one quick method, as `step` above). */
class Counter {
  n = 0;
  inc(exit = false) {
    if (exit) process.exit(3);
    return ++this.n;
  }
}

describe('a task whose timer crashes its worker later', () => {
  beforeAll(() => ray.init({ numWorkers: 1 }));
  afterAll(() => ray.shutdown());

  it('keeps the results sent before the crash, and runs no task twice', async () => {
    const runs = new Int32Array(new SharedArrayBuffer(4 * (N + 1)));
    const crashLater = ray.remote((runs: Int32Array, i: number) => {
      Atomics.add(runs, i, 1);
      setTimeout(() => { throw new Error('uncaught in a timer'); });
      return ray.getRuntimeContext().nodeId;
    });
    const refs = Array.from({ length: N }, (_, i) => step.options({ maxRetries: 0 }).remote(runs, i, []));
    const last = crashLater.options({ maxRetries: 0 }).remote(runs, N);
    expect(await ray.get(refs)).toEqual(indexes);
    const crashed = await ray.get(last);
    expect(crashed).toEqual(expect.any(String));
    await expect.poll(async () => (await ray.nodes()).some((n) => n.nodeId === crashed)).toBe(false);
    expect([...runs]).toEqual(Array(N + 1).fill(1));
  });
});

describe('an actor call that exits its worker', () => {
  beforeAll(() => ray.init({ numWorkers: 1 }));
  afterAll(() => ray.shutdown());

  it('does not lose the results of calls that finished before it, nor run them again', async () => {
    const counter = ray.remote(Counter).options({ maxRestarts: 1 }).remote();
    await ray.get(counter.inc.remote());
    const refs = Array.from({ length: N }, () => counter.inc.remote());
    const exit = counter.inc.remote(true);
    expect(await ray.get(exit).catch((e: unknown) => e)).toBeInstanceOf(ray.RayActorError);
    expect(await ray.get(refs)).toEqual(Array.from({ length: N }, (_, i) => i + 2));
    expect(await ray.get(counter.inc.remote())).toBe(1);
  });
});

describe('a worker that runs out of memory', () => {
  beforeAll(() => ray.init({ numWorkers: 1, workerResourceLimits: { maxOldGenerationSizeMb: 48 } }));
  afterAll(() => ray.shutdown());

  it('fails its task with WorkerCrashedError naming the limit when it has no retries', async () => {
    const err = await ray.get(hog.options({ maxRetries: 0 }).remote([0])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ray.WorkerCrashedError);
    expect((err as Error).message).toMatch(/ran out of memory.*workerResourceLimits\.maxOldGenerationSizeMb \(48 MB\)/);
  });

  it('retries its task on a new worker', async () => {
    expect(await ray.get(hog.options({ maxRetries: 1 }).remote([0]))).toBe('small');
  });
});

describe('ray.init workerResourceLimits', () => {
  it('refuses a limit that is not a positive number, and unknown keys', async () => {
    await expect(ray.init({ workerResourceLimits: { maxOldGenerationSizeMb: -1 } })).rejects.toThrow(
      /workerResourceLimits\.maxOldGenerationSizeMb must be a positive number of MB, got -1/);
    await expect(ray.init({ workerResourceLimits: { maxOldSizeMb: 64 } as never })).rejects.toThrow(
      /unknown option 'maxOldSizeMb'.*maxOldGenerationSizeMb/);
    await expect(ray.init({ workerResourceLimits: { maxOldGenerationSizeMb: 64 } })).resolves.toBeUndefined();
    await ray.shutdown();
  });

  it('is refused in a browser, which cannot limit a Web Worker', async () => {
    const browser = { ...nodePlatform, name: 'browser' as const };
    await expect(ray.init({ platform: browser, workerResourceLimits: { maxOldGenerationSizeMb: 64 } })).rejects.toThrow(
      /workerResourceLimits works only in Node/);
  });
});
