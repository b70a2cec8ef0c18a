/**
 * Faults of a worker (Node worker_threads here): a task that exits or crashes its worker, a worker
 * that runs out of memory. Results already made are delivered once; unfinished tasks are retried.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ray from '../index.js';

/** One worker, so the tasks of a test run back to back on it. */
beforeAll(() => ray.init({ numWorkers: 1 }));
afterAll(() => ray.shutdown());

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
  it('does not lose the results of tasks that finished before it on the same worker (maxRetries 0)', async () => {
    const { runs, refs, last } = await runThenExit({ maxRetries: 0 }, [0]);
    const err = await ray.get(last).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ray.WorkerCrashedError);
    expect(await ray.get(refs)).toEqual(indexes);
    expect(runs()).toEqual(Array(N).fill(1));
  });

  it('does not run a finished task again when a later one is retried after exiting', async () => {
    const { runs, refs, last } = await runThenExit({ maxRetries: 3 }, [0]);
    expect(await ray.get(last)).toBe(N);
    expect(await ray.get(refs)).toEqual(indexes);
    expect(runs()).toEqual(Array(N).fill(1));
  });
});
