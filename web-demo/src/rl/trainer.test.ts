// ES on webray in Node: 2 workers, the rollouts as module tasks (compiled to JavaScript: Node 20
// workers run no TypeScript), the noise table put once.
import * as ray from 'webray';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileForNode } from './compile-for-node.ts';
import { evaluate, train, type IterationStats } from './trainer.ts';

let module: string;

beforeAll(async () => {
  module = compileForNode('rollouts');
  await ray.init({ numWorkers: 2 });
}, 60_000);

afterAll(() => ray.shutdown());

const NOISE = 1 << 16;

describe('train (ES on webray)', () => {
  it('solves CartPole: a seeded run reaches a mean of ≥ 475 over 100 evaluation episodes in 25 iterations', async () => {
    const stats: IterationStats[] = [];
    const policy = await train({ env: 'cartpole', seed: 1, iterations: 25, pairs: 16, tasks: 4, noiseFloats: NOISE, module }, (s) => stats.push(s));
    expect(stats.map((s) => s.iteration)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    expect(stats.every((s) => s.tasks === 4 && s.episodes === 32 && s.hosts === 1 && s.steps >= s.episodes)).toBe(true);
    const result = await evaluate({ env: 'cartpole', policy, episodes: 100, seed: 99, module });
    expect(result.mean).toBeGreaterThanOrEqual(475);
    expect(stats.at(-1)!.meanReward).toBeGreaterThan(stats[0]!.meanReward);
  }, 120_000);

  it('replays: the same seed gives the same policy bytes, however the pairs are split into tasks; the noise table is one object made once; rollouts ran as module tasks', async () => {
    const noiseTasks = async () => (await ray.state.listTasks()).filter((t) => t.name === 'makeNoiseTable').length;
    const noiseTasksBefore = await noiseTasks();
    const noiseIds: string[][] = [];
    const run = (tasks: number) => train({ env: 'cartpole', seed: 5, iterations: 3, pairs: 8, tasks, noiseFloats: NOISE, module }, () => {
      noiseIds.push([]);
      const ids = noiseIds.at(-1)!;
      void ray.state.listObjects().then((objs) => ids.push(...objs.filter((o) => o.location === 'SHARED_MEMORY').map((o) => o.objectId)));
    });
    const a = await run(3);
    // Split otherwise over tasks (as when hosts join): the pairs and their order are the same.
    const b = await run(5);
    expect(new Uint8Array(b.buffer)).toEqual(new Uint8Array(a.buffer));
    expect(a.some((v) => v !== 0)).toBe(true);
    await ray.state.listObjects();
    // Within a run the same one object at every iteration (16 MiB in the app: every host pulls it once).
    expect(noiseIds.map((ids) => ids.length)).toEqual([1, 1, 1, 1, 1, 1]);
    expect(new Set(noiseIds.slice(0, 3).flat()).size).toBe(1);
    expect(new Set(noiseIds.slice(3).flat()).size).toBe(1);
    const tasks = await ray.state.listTasks();
    // The functions shipped as module tasks are named after their export; one noise table per run.
    expect(await noiseTasks()).toBe(noiseTasksBefore + 2);
    expect(tasks.filter((t) => t.name === 'evaluatePairs').length).toBeGreaterThanOrEqual(3 * 3 + 3 * 5);
  }, 120_000);

  it('stops after the running iteration when its signal aborts, resolving with the policy so far', async () => {
    const stop = new AbortController();
    const seen: Float32Array[] = [];
    const policy = await train({ env: 'cartpole', seed: 2, iterations: 50, pairs: 4, tasks: 2, noiseFloats: NOISE, module, signal: stop.signal }, (s, p) => {
      seen.push(p);
      if (s.iteration === 2) stop.abort();
    });
    expect(seen).toHaveLength(2);
    expect(policy).toEqual(seen[1]);
  });
});
