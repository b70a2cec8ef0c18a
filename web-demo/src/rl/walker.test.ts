// The walker on the real mujoco-js: the model, its reward and observations, readable model errors,
// and a short seeded ES run on webray (2 Node workers, rollouts as module tasks) whose reward rises.
import * as ray from 'webray';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileForNode } from './compile-for-node.ts';
import { loadModel, loadMujoco, MujocoModelError } from './mujoco.ts';
import { policySize, runEpisode } from './policy.ts';
import { ENV_SIZES } from './sizes.ts';
import { train, type IterationStats } from './trainer.ts';
import { createWalker, WALKER, type Walker } from './walker.ts';

let walker: Walker;

beforeAll(async () => {
  walker = await createWalker();
}, 60_000);

describe('walker', () => {
  it('train says to call ray.init first when webray is not running', async () => {
    await expect(train({ env: 'walker', seed: 1, iterations: 1, pairs: 1 })).rejects.toThrow(/call ray.init\(\) \(or join a cluster\) first/);
  });

  it('loads as the learner expects it (17 observations, 6 actuators) and starts standing: torso from 1.05 m to 1.45 m', () => {
    expect({ obsSize: walker.obsSize, actSize: walker.actSize }).toEqual(ENV_SIZES.walker);
    walker.reset(1);
    const segments = walker.segments();
    expect(segments).toHaveLength(7);
    const [torso] = segments;
    expect(Math.max(torso![1], torso![3])).toBeCloseTo(1.45, 1);
    expect(Math.min(torso![1], torso![3])).toBeCloseTo(1.05, 1);
    expect(torso![0]).toBeCloseTo(0, 1);
    expect(torso![4]).toBe(0.05);
  });

  it('is deterministic under a seed, and an episode ends when it falls (no motor: it collapses) with the reward of its steps upright', () => {
    const still = new Float32Array(policySize(walker));
    const a = runEpisode(walker, still, 3);
    const b = runEpisode(walker, still, 3);
    expect(b).toEqual(a);
    expect(a.steps).toBeLessThan(WALKER.maxSteps);
    // About 1 per step upright; falling forward or back adds little either way.
    expect(a.reward).toBeGreaterThan(0.5 * a.steps);
    expect(a.reward).toBeLessThan(1.5 * a.steps);
    expect(runEpisode(walker, still, 4)).not.toEqual(a);
  });

  it('keeps actions in the actuator range, whatever the policy says', () => {
    walker.reset(1);
    const r = walker.step(new Float64Array([50, -50, 50, -50, 50, -50]));
    // The control cost is that of |a| = 1 on each of 6 motors.
    expect(r).toBeGreaterThan(-10);
    expect(Number.isFinite(r)).toBe(true);
  });

  it('turns MuJoCo\'s opaque model error into a readable MujocoModelError', async () => {
    const mujoco = await loadMujoco();
    const bad = '<mujoco><worldbody><geom type="capsule" fromto="0 0 0 1 0 0" pos="1 0 0" size="0.1"/></worldbody></mujoco>';
    const err = (() => { try { loadModel(mujoco, 'broken', bad); } catch (e) { return e; } })();
    expect(err).toBeInstanceOf(MujocoModelError);
    expect((err as Error).message).toMatch(/could not load the MJCF model 'broken': mjCError, its values do not compile together/);
  });
});

describe('walker ES on webray', () => {

  beforeAll(async () => {
    await ray.init({ numWorkers: 2 });
  }, 60_000);

  afterAll(() => ray.shutdown());

  it('the reward rises over a short seeded run (200-step episodes)', async () => {
    const stats: IterationStats[] = [];
    await train({ env: 'walker', seed: 1, iterations: 10, pairs: 8, tasks: 4, noiseFloats: 1 << 16, maxSteps: 200, module: compileForNode('rollouts') }, (s) => stats.push(s));
    const mean = (xs: IterationStats[]) => xs.reduce((a, s) => a + s.meanReward, 0) / xs.length;
    expect(mean(stats.slice(-3))).toBeGreaterThan(mean(stats.slice(0, 3)));
    expect(stats.every((s) => s.hosts === 1 && s.episodes === 16)).toBe(true);
  }, 120_000);
});
