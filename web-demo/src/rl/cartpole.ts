/**
 * CartPole, faithful to the classic (Barto, Sutton & Anderson 1983, as in OpenAI Gym's
 * CartPole-v1): Euler integration at tau = 0.02 s, a ±10 N push each step, reward 1 per step,
 * done when |x| > 2.4 or |θ| > 12° or after 500 steps. The initial state is uniform in ±0.05,
 * drawn from a seeded PRNG, so an episode is a function of its seed.
 */
import { Rng } from './random.ts';

export const CARTPOLE = {
  gravity: 9.8,
  massCart: 1.0,
  massPole: 0.1,
  /** Half the pole's length (the classic's `length`). */
  halfLength: 0.5,
  forceMag: 10,
  tau: 0.02,
  xLimit: 2.4,
  thetaLimit: (12 * 2 * Math.PI) / 360,
  maxSteps: 500,
} as const;

/** The observation: [x, ẋ, θ, θ̇]. */
export const CARTPOLE_OBS = 4;

export class CartPole {
  /** [x, ẋ, θ, θ̇], the observation. */
  readonly state = new Float64Array(CARTPOLE_OBS);
  steps = 0;
  done = false;

  constructor(seed: number) {
    this.reset(seed);
  }

  reset(seed: number): Float64Array {
    const rng = new Rng(seed);
    for (let i = 0; i < CARTPOLE_OBS; i++) this.state[i] = rng.uniform(-0.05, 0.05);
    this.steps = 0;
    this.done = false;
    return this.state;
  }

  /** Pushes right (action 1) or left (0) for one tau; returns the step's reward (1). */
  step(action: 0 | 1): number {
    if (this.done) throw new Error('CartPole.step after the episode ended: call reset(seed) first');
    const c = CARTPOLE;
    const s = this.state;
    const [x, xDot, theta, thetaDot] = s as unknown as [number, number, number, number];
    const force = action === 1 ? c.forceMag : -c.forceMag;
    const cos = Math.cos(theta);
    const sin = Math.sin(theta);
    const totalMass = c.massCart + c.massPole;
    const poleMassLength = c.massPole * c.halfLength;
    const temp = (force + poleMassLength * thetaDot * thetaDot * sin) / totalMass;
    const thetaAcc = (c.gravity * sin - cos * temp) / (c.halfLength * (4 / 3 - (c.massPole * cos * cos) / totalMass));
    const xAcc = temp - (poleMassLength * thetaAcc * cos) / totalMass;
    s[0] = x + c.tau * xDot;
    s[1] = xDot + c.tau * xAcc;
    s[2] = theta + c.tau * thetaDot;
    s[3] = thetaDot + c.tau * thetaAcc;
    this.steps++;
    this.done = Math.abs(s[0]!) > c.xLimit || Math.abs(s[2]!) > c.thetaLimit || this.steps >= c.maxSteps;
    return 1;
  }
}
