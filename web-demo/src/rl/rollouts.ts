/**
 * The rollout code, shipped to every worker of every host (Node hosts included) as a MODULE task
 * (`ray.remote(fn, { module, exportName })`): it imports MuJoCo, which source-shipped functions
 * cannot. Each worker imports this module once; its environments (and MuJoCo) live in module
 * scope, so tasks after the first pay nothing to set up.
 *
 * Rollout workers are TASKS, not actors (the classic design question; Ray's own ES example
 * uses actors). Here tasks win: a task that dies with its worker or host is retried elsewhere
 * for free, where an actor needs restarts and its caller must re-send its batch; the scheduler
 * balances tasks over whatever workers are free, so a slow host takes fewer batches and a host
 * that joins mid-run gets work at its next free worker, with no actor to create and register.
 * What an actor would keep between calls (the noise table, the simulator) is kept anyway: the
 * noise table is one shared object every host pulls once and caches, and the simulator lives in
 * this module's scope for the worker's life.
 */
import * as ray from 'webray';
import type { EnvName } from './env.ts';
import { checkEnvName, sharedEnv } from './envs.ts';
import { noiseTable, perturb } from './es.ts';
import { runEpisode } from './policy.ts';

/** What one rollout task sends back: per pair its noise index and both returns, and what it cost. */
export interface RolloutResult {
  indices: Int32Array;
  plus: Float64Array;
  minus: Float64Array;
  steps: number;
  episodes: number;
  /** The host that ran the task. */
  hostId: string;
}

/**
 * Evaluates antithetic pairs: for pair i, one episode under θ + σε_i and one under θ − σε_i,
 * both from the initial state `seeds[i]` gives (common random numbers), ε_i = noise[indices[i]..].
 * `noise` arrives as a view of the shared object store (no copy).
 */
export async function evaluatePairs(env: EnvName, theta: Float32Array, noise: Float32Array, indices: Int32Array, seeds: Uint32Array, sigma: number, maxSteps?: number): Promise<RolloutResult> {
  const sim = await sharedEnv(checkEnvName(env));
  const n = indices.length;
  const plus = new Float64Array(n);
  const minus = new Float64Array(n);
  const params = new Float32Array(theta.length);
  let steps = 0;
  for (let i = 0; i < n; i++) {
    const up = runEpisode(sim, perturb(theta, noise, indices[i]!, 1, sigma, params), seeds[i]!, maxSteps);
    const down = runEpisode(sim, perturb(theta, noise, indices[i]!, -1, sigma, params), seeds[i]!, maxSteps);
    plus[i] = up.reward;
    minus[i] = down.reward;
    steps += up.steps + down.steps;
  }
  return { indices, plus, minus, steps, episodes: 2 * n, hostId: ray.getRuntimeContext().hostId };
}

/**
 * The noise table, made on a worker: generating 2^22 Gaussian floats takes ~0.4 s, which on the
 * page's main thread would be one long task. As the task's result it is written into the object
 * store once, like a put.
 */
export function makeNoiseTable(seed: number, floats?: number): Float32Array {
  return noiseTable(seed, floats);
}

/** The returns of a policy without noise, one episode per seed. */
export async function evaluatePolicy(env: EnvName, theta: Float32Array, seeds: Uint32Array, maxSteps?: number): Promise<{ rewards: Float64Array; steps: number }> {
  const sim = await sharedEnv(checkEnvName(env));
  const rewards = new Float64Array(seeds.length);
  let steps = 0;
  for (let i = 0; i < seeds.length; i++) {
    const e = runEpisode(sim, theta, seeds[i]!, maxSteps);
    rewards[i] = e.reward;
    steps += e.steps;
  }
  return { rewards, steps };
}
