/**
 * The policy: linear, action = W·obs + b clamped to the actuator range, its parameters one
 * Float32Array laid out row by row ([W row 0, b0, W row 1, b1, ...]). For CartPole the single
 * action's sign picks the push (w·obs + b > 0: right). Environments scale their observations
 * (fixed scales, part of the environment), so the policy needs no running statistics.
 */
import type { Env } from './env.ts';

/** How many parameters a linear policy for `env` has. */
export function policySize(env: Pick<Env, 'obsSize' | 'actSize'>): number {
  return env.actSize * (env.obsSize + 1);
}

/** Writes the policy's action for `obs` into `out` (length `actSize`), clamped to [low, high]. */
export function act(params: ArrayLike<number>, obs: ArrayLike<number>, out: Float64Array, low: number, high: number): Float64Array {
  const n = obs.length;
  for (let j = 0, row = 0; j < out.length; j++, row += n + 1) {
    let a = params[row + n]!;
    for (let i = 0; i < n; i++) a += params[row + i]! * obs[i]!;
    out[j] = a < low ? low : a > high ? high : a;
  }
  return out;
}

/** The outcome of one episode. */
export interface Episode {
  reward: number;
  steps: number;
}

/** Runs one episode of `env` under `params` from the state `seed` gives, up to `maxSteps`. */
export function runEpisode(env: Env, params: ArrayLike<number>, seed: number, maxSteps = Infinity): Episode {
  const action = new Float64Array(env.actSize);
  env.reset(seed);
  let reward = 0;
  while (!env.done && env.steps < maxSteps) reward += env.step(act(params, env.observe(), action, env.actLow, env.actHigh));
  return { reward, steps: env.steps };
}
