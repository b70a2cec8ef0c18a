/** CartPole as an `Env`: one action, whose sign picks the push (> 0: right). */
import { CARTPOLE, CARTPOLE_OBS, CartPole } from './cartpole.ts';
import type { Env } from './env.ts';

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

  observe(): Float64Array {
    return this.sim.state;
  }

  step(action: Float64Array): number {
    return this.sim.step(action[0]! > 0 ? 1 : 0);
  }
}
