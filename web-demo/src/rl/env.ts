/** What the ES engine needs of an environment: deterministic episodes driven by continuous actions. */
export interface Env {
  readonly obsSize: number;
  readonly actSize: number;
  /** The actuator range each action is clamped to. */
  readonly actLow: number;
  readonly actHigh: number;
  /** Simulated seconds per step. */
  readonly dt: number;
  readonly done: boolean;
  /** Steps taken in the current episode. */
  readonly steps: number;
  /** Starts an episode whose initial state is a function of `seed`. */
  reset(seed: number): void;
  /** The observation of the current state (a view: copy it to keep it). */
  observe(): Float64Array;
  /** Applies one action (clamped to the actuator range) for one step; returns the step's reward. */
  step(action: Float64Array): number;
}

export type EnvName = 'cartpole' | 'walker';
