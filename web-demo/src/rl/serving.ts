/**
 * Serving: an actor that holds the current policy and runs its own environment under it, for a
 * page to draw on every animation frame. Shipped as a module actor (it imports MuJoCo):
 * `ray.remote(PolicyServer, { module: new URL('./serving.ts', import.meta.url), exportName: 'PolicyServer' })`.
 */
import type { CartPoleEnv } from './cartpole-env.ts';
import type { Env, EnvName } from './env.ts';
import { checkEnvName, createEnv } from './envs.ts';
import { act, policySize } from './policy.ts';
import { mixSeed } from './random.ts';
import { ENV_SIZES } from './sizes.ts';
import type { Segment, Walker } from './walker.ts';

/** What the page draws: the state after the frame's steps, its time in the episode and the reward so far. */
export type Frame =
  | { kind: 'cartpole'; x: number; theta: number; t: number; episodeReward: number; episode: number }
  | { kind: 'walker'; segments: Segment[]; t: number; episodeReward: number; episode: number };

export class PolicyServer {
  private readonly envName: EnvName;
  private readonly seed: number;
  private readonly size: number;
  private env: Promise<Env> | undefined;
  private policy: Float32Array;
  private action: Float64Array;
  private episode = 0;
  private episodeReward = 0;

  /** Serves a policy for `env` (zeros until `setPolicy`); episode i starts from the state seed and i give. */
  constructor(env: EnvName, seed = 0) {
    this.envName = checkEnvName(env);
    this.seed = seed;
    const sizes = ENV_SIZES[this.envName];
    this.size = policySize(sizes);
    this.policy = new Float32Array(this.size);
    this.action = new Float64Array(sizes.actSize);
  }

  /** Serves `policy` from the next step on (the episode running goes on under it). */
  setPolicy(policy: Float32Array): void {
    if (!(policy instanceof Float32Array) || policy.length !== this.size) {
      throw new RangeError(`setPolicy expects the ${this.envName} policy, a Float32Array of ${this.size} parameters; got ${policy instanceof Float32Array ? `${policy.length} parameters` : typeof policy}`);
    }
    this.policy = policy.slice();
  }

  /** Advances the environment `steps` steps under the policy (a new episode after one ends) and returns what to draw. */
  async frame(steps = 1): Promise<Frame> {
    this.env ??= createEnv(this.envName).then((env) => {
      env.reset(mixSeed(this.seed, 0));
      return env;
    });
    const env = await this.env;
    for (let i = 0; i < steps; i++) {
      if (env.done) {
        env.reset(mixSeed(this.seed, ++this.episode));
        this.episodeReward = 0;
      }
      this.episodeReward += env.step(act(this.policy, env.observe(), this.action, env.actLow, env.actHigh));
    }
    const t = env.steps * env.dt;
    if (this.envName === 'walker') return { kind: 'walker', segments: (env as Walker).segments(), t, episodeReward: this.episodeReward, episode: this.episode };
    const [x, , theta] = (env as CartPoleEnv).sim.state;
    return { kind: 'cartpole', x: x!, theta: theta!, t, episodeReward: this.episodeReward, episode: this.episode };
  }
}
