/** CartPole as an `Env`: one action, whose sign picks the push (> 0: right). */
import { CARTPOLE, CARTPOLE_OBS, CartPole } from './cartpole.ts';
import type { Env } from './env.ts';

/** The typical magnitude of each state variable: x, ẋ, θ (12° in radians), θ̇. */
const OBS_SCALE = [2.4, 2, 0.2095, 2];

export class CartPoleEnv implements Env {
  readonly obsSize = CARTPOLE_OBS;
  readonly actSize = 1;
  readonly actLow = -1;
  readonly actHigh = 1;
  readonly dt = CARTPOLE.tau;
  readonly sim = new CartPole(0);

  get done(): boolean {
    return this.sim.done;
  }

  get steps(): number {
    return this.sim.steps;
  }

  reset(seed: number): void {
    this.sim.reset(seed);
  }

  private readonly scaled = new Float64Array(CARTPOLE_OBS);

  /**
   * The state over the scale it lives on (x to ±2.4 m, θ to ±12°, velocities to a few units), so a
   * linear policy's bias and weights act on the same scale: raw, θ is ~0.05 and one Adam step on
   * the bias swamps every weight (the policy then pushes one way only).
   */
  observe(): Float64Array {
    const s = this.sim.state;
    for (let i = 0; i < CARTPOLE_OBS; i++) this.scaled[i] = s[i]! / OBS_SCALE[i]!;
    return this.scaled;
  }

  step(action: Float64Array): number {
    return this.sim.step(action[0]! > 0 ? 1 : 0);
  }
}
