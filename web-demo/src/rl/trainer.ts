/**
 * The ES learner on webray: the noise table is made once by a task, so stored once in the object
 * store (every host pulls it once and reads it zero-copy; the learner too, off its main thread's
 * clock); each iteration puts the policy once, spreads the antithetic
 * pairs over rollout tasks (module tasks, see rollouts.ts), gathers indices and returns in pair
 * order, and takes one Adam step. The same seed gives the same policy bytes, however many hosts
 * ran the tasks and in whatever order they finished.
 */
import * as ray from 'webray';
import type { EnvName } from './env.ts';
import { checkEnvName } from './envs.ts';
import { Adam, esGradient, sampleIndices } from './es.ts';
import { policySize } from './policy.ts';
import { Rng, mixSeed } from './random.ts';
import { evaluatePairs, evaluatePolicy, makeNoiseTable } from './rollouts.ts';
import { ENV_SIZES } from './sizes.ts';
import rolloutsUrl from './rollouts.ts?webray-module';

/**
 * Defaults by environment, measured (seed 1). CartPole's policy acts on a sign only, so its scale
 * is free and a large step relative to σ gets there soonest (16 pairs: seeds 1-3 solved after
 * 23-30 iterations). The walker with 50 pairs, mean over 10 evaluation episodes: σ 0.05, lr 0.03
 * passed 1,000 at iteration 30 (checked every 5; 11 s on 2 workers) and gave 1,169.2 after 150 (upright for all 1,000 steps, ~1.4 m
 * forward); Ray's MuJoCo settings (σ 0.02, lr 0.01) stood still: 1,000.4 at 40, 1,000.3 at 60.
 */
export const ENV_DEFAULTS: Record<EnvName, { sigma: number; lr: number }> = {
  cartpole: { sigma: 0.1, lr: 0.1 },
  walker: { sigma: 0.05, lr: 0.03 },
};

/** The policy's parameter count for `env` (see policy.ts for the layout). */
export function policyLength(env: EnvName): number {
  return policySize(ENV_SIZES[checkEnvName(env)]);
}

export interface TrainOptions {
  env: EnvName;
  seed: number;
  iterations: number;
  /** Antithetic pairs per iteration (2 episodes each). */
  pairs: number;
  /** The perturbations' standard deviation (default: `ENV_DEFAULTS`). */
  sigma?: number;
  /** Adam's step size (default: `ENV_DEFAULTS`). */
  lr?: number;
  /** Rollout tasks per iteration (default: 4 per CPU in the cluster at the iteration's start, at most `pairs`). */
  tasks?: number;
  /** The noise table's size in floats (default 2^22 = 16 MiB). */
  noiseFloats?: number;
  /**
   * How rollout tasks are placed: 'DEFAULT' (by load: a free worker takes the next task, so a
   * slow or busy host takes fewer) or 'SPREAD' (round-robin over every worker of every host).
   * Default: 'DEFAULT'.
   */
  schedulingStrategy?: 'DEFAULT' | 'SPREAD';
  /** Steps per episode at most (default: the environment's own limit). */
  maxSteps?: number;
  /** The policy to start from (default: zeros). */
  initial?: Float32Array;
  /** Where the rollout module is served (default: rollouts.ts beside this file, as the app serves it). */
  module?: string | URL;
  /** Stops after the running iteration; `train` then resolves with the policy so far. */
  signal?: AbortSignal;
}

export interface IterationStats {
  iteration: number;
  /** Mean and max return of the iteration's perturbed episodes. */
  meanReward: number;
  maxReward: number;
  episodes: number;
  steps: number;
  tasks: number;
  /** Wall time of the iteration. */
  seconds: number;
  /** Distinct hosts that ran the iteration's tasks. */
  hosts: number;
}


/** Runs ES on the cluster `ray.init` joined; resolves with the final policy. */
export async function train(opts: TrainOptions, onIteration?: (s: IterationStats, policy: Float32Array) => void): Promise<Float32Array> {
  const env = checkEnvName(opts.env);
  if (!ray.isInitialized()) throw new Error('train runs on webray: call ray.init() (or join a cluster) first');
  const dim = policyLength(env);
  if (opts.initial && opts.initial.length !== dim) throw new RangeError(`initial policy has ${opts.initial.length} parameters, the ${env} policy ${dim}`);
  const sigma = opts.sigma ?? ENV_DEFAULTS[env].sigma;
  const pairs = opts.pairs;
  const theta = opts.initial ? opts.initial.slice() : new Float32Array(dim);
  const adam = new Adam(dim, opts.lr ?? ENV_DEFAULTS[env].lr);
  const rng = new Rng(mixSeed(opts.seed, 1));
  const module = opts.module ?? rolloutsUrl;
  const evaluate = ray.remote(evaluatePairs, { module, exportName: 'evaluatePairs' }).options({ schedulingStrategy: opts.schedulingStrategy ?? 'DEFAULT' });
  // Made on this host (soft: elsewhere if it is paused): the learner reads it every iteration, so
  // it is not pulled here too, and this page's main thread never writes 16 MiB of fresh memory.
  const self = ray.getRuntimeContext().hostId;
  const here = (await ray.nodes()).find((n) => n.hostId === self && n.kind === 'task' && n.alive);
  const noiseRef = ray.remote(makeNoiseTable, { module, exportName: 'makeNoiseTable' })
    .options(here ? { schedulingStrategy: { nodeId: here.nodeId, soft: true } } : {})
    .remote(mixSeed(opts.seed, 2), opts.noiseFloats);
  try {
    const noise = await ray.get(noiseRef);
    for (let it = 0; it < opts.iterations && !opts.signal?.aborted; it++) {
      const t0 = performance.now();
      // Asked each iteration, so hosts that joined get work at once; the split does not change the result.
      const tasks = Math.max(1, Math.min(pairs, opts.tasks ?? 4 * ((await ray.clusterResources()).CPU ?? 1)));
      const indices = sampleIndices(rng, pairs, noise.length, dim);
      const seeds = Uint32Array.from({ length: pairs }, (_, i) => mixSeed(opts.seed, 3, it, i));
      const policyRef = ray.put(theta.slice());
      const refs = [];
      for (let t = 0; t < tasks; t++) {
        // Contiguous slices in pair order: gathering in task order restores the pairs' order.
        const from = Math.floor((t * pairs) / tasks);
        const to = Math.floor(((t + 1) * pairs) / tasks);
        refs.push(evaluate.remote(env, policyRef, noiseRef, indices.slice(from, to), seeds.slice(from, to), sigma, opts.maxSteps));
      }
      const results = await ray.get(refs);
      // Released now, not when collected: a live result pins its task's arguments (lineage), the noise table among them.
      ray.release(policyRef, ...refs);
      const plus = new Float64Array(pairs);
      const minus = new Float64Array(pairs);
      let steps = 0;
      let episodes = 0;
      let at = 0;
      for (const r of results) {
        plus.set(r.plus, at);
        minus.set(r.minus, at);
        at += r.plus.length;
        steps += r.steps;
        episodes += r.episodes;
      }
      adam.ascend(theta, esGradient(theta, noise, { indices, plus, minus }));
      let sum = 0;
      let max = -Infinity;
      for (let i = 0; i < pairs; i++) {
        sum += plus[i]! + minus[i]!;
        max = Math.max(max, plus[i]!, minus[i]!);
      }
      onIteration?.({
        iteration: it + 1, meanReward: sum / (2 * pairs), maxReward: max, episodes, steps, tasks,
        seconds: (performance.now() - t0) / 1000, hosts: new Set(results.map((r) => r.hostId)).size,
      }, theta.slice());
    }
  } finally {
    noiseRef.release();
  }
  return theta;
}

export interface Evaluation {
  /** Mean return over the episodes. */
  mean: number;
  rewards: Float64Array;
  steps: number;
}

/**
 * A policy's mean return over `episodes` episodes without noise (seeds from `seed`), spread over
 * `tasks` rollout tasks: CartPole is solved at a mean ≥ 475 over 100 episodes.
 */
export async function evaluate(opts: { env: EnvName; policy: Float32Array; episodes: number; seed: number; tasks?: number; maxSteps?: number; module?: string | URL }): Promise<Evaluation> {
  const env = checkEnvName(opts.env);
  const run = ray.remote(evaluatePolicy, { module: opts.module ?? rolloutsUrl, exportName: 'evaluatePolicy' });
  const tasks = Math.max(1, Math.min(opts.episodes, opts.tasks ?? 4));
  const seeds = Uint32Array.from({ length: opts.episodes }, (_, i) => mixSeed(opts.seed, 4, i));
  const refs = [];
  for (let t = 0; t < tasks; t++) {
    const from = Math.floor((t * opts.episodes) / tasks);
    refs.push(run.remote(env, opts.policy, seeds.slice(from, Math.floor(((t + 1) * opts.episodes) / tasks)), opts.maxSteps));
  }
  const rewards = new Float64Array(opts.episodes);
  let steps = 0;
  let at = 0;
  const results = await ray.get(refs);
  ray.release(...refs);
  for (const r of results) {
    rewards.set(r.rewards, at);
    at += r.rewards.length;
    steps += r.steps;
  }
  return { mean: rewards.reduce((a, b) => a + b, 0) / rewards.length, rewards, steps };
}
