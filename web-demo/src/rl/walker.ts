/**
 * The walker environment on MuJoCo. The reward is fixed before any training and follows the
 * classic locomotion tasks: per step, the torso's forward velocity (m/s) plus 1 for being upright
 * minus a control cost (0.001·|a|²). The episode ends when the walker falls (torso below 0.8 m or
 * above 2 m, or pitched more than 1 rad) or after 1,000 steps. A lunge cannot pay: falling forward
 * gains about a metre (≈ 1/dt = 125 reward units spread over its few steps) and forfeits the
 * upright bonus of every remaining step (up to 1,000), so standing beats diving, and walking beats both.
 */
import type { MainModule, MjData, MjModel } from 'mujoco-js';
import type { Env } from './env.ts';
import { loadModel, loadMujoco } from './mujoco.ts';
import { Rng } from './random.ts';
import { WALKER_MJCF } from './walker-model.ts';

export const WALKER = {
  /** Physics steps per environment step (timestep 0.004 s: one env step is 0.008 s). */
  frameSkip: 2,
  maxSteps: 1000,
  upright: 1,
  controlCost: 1e-3,
  minHeight: 0.8,
  maxHeight: 2,
  maxPitch: 1,
  /** Fixed observation scaling: velocities are divided by this, then clipped to ±10. */
  velocityScale: 10,
  /** The initial state's joint positions and velocities are uniform in ±this. */
  initNoise: 0.005,
} as const;

/** A 2-D capsule for drawing, in the x–z plane: [x1, z1, x2, z2, radius] (metres). */
export type Segment = [number, number, number, number, number];

const TORSO_BODY = 1;
const GEOM_CAPSULE = 3;

export class Walker implements Env {
  readonly obsSize: number;
  readonly actSize: number;
  readonly actLow = -1;
  readonly actHigh = 1;
  readonly dt: number;
  done = false;
  steps = 0;
  /** The x of the torso: how far the walker has gone. */
  distance = 0;
  private readonly obs: Float64Array;
  private readonly model: MjModel;
  private readonly data: MjData;

  constructor(private readonly mujoco: MainModule) {
    ({ model: this.model, data: this.data } = loadModel(mujoco, 'walker', WALKER_MJCF));
    // The observation leaves out the root's x: the policy should not depend on where it is.
    this.obsSize = this.model.nq - 1 + this.model.nv;
    this.actSize = this.model.nu;
    this.obs = new Float64Array(this.obsSize);
    this.dt = this.model.opt.timestep * WALKER.frameSkip;
    // Positions (and so segments()) are valid from the start, before any reset.
    mujoco.mj_forward(this.model, this.data);
  }

  reset(seed: number): void {
    const { mujoco, model, data } = this;
    mujoco.mj_resetData(model, data);
    const rng = new Rng(seed);
    const qpos = data.qpos as Float64Array;
    for (let i = 0; i < model.nq; i++) qpos[i] = qpos[i]! + rng.uniform(-WALKER.initNoise, WALKER.initNoise);
    const qvel = data.qvel as Float64Array;
    for (let i = 0; i < model.nv; i++) qvel[i] = rng.uniform(-WALKER.initNoise, WALKER.initNoise);
    mujoco.mj_forward(model, data);
    this.steps = 0;
    this.done = false;
    this.distance = qpos[0]!;
  }

  observe(): Float64Array {
    const { model, data, obs } = this;
    const qpos = data.qpos as Float64Array;
    const qvel = data.qvel as Float64Array;
    const nq = model.nq;
    for (let i = 1; i < nq; i++) obs[i - 1] = qpos[i]!;
    for (let i = 0; i < model.nv; i++) {
      const v = qvel[i]! / WALKER.velocityScale;
      obs[nq - 1 + i] = v < -10 ? -10 : v > 10 ? 10 : v;
    }
    return obs;
  }

  step(action: Float64Array): number {
    if (this.done) throw new Error('Walker.step after the episode ended: call reset(seed) first');
    const { mujoco, model, data } = this;
    const ctrl = data.ctrl as Float64Array;
    let cost = 0;
    for (let j = 0; j < this.actSize; j++) {
      const a = Math.max(this.actLow, Math.min(this.actHigh, action[j]!));
      ctrl[j] = a;
      cost += a * a;
    }
    const before = (data.qpos as Float64Array)[0]!;
    for (let k = 0; k < WALKER.frameSkip; k++) mujoco.mj_step(model, data);
    const qpos = data.qpos as Float64Array;
    const after = qpos[0]!;
    this.distance = after;
    this.steps++;
    const height = (data.xpos as Float64Array)[3 * TORSO_BODY + 2]!;
    const pitch = qpos[2]!;
    const fallen = height < WALKER.minHeight || height > WALKER.maxHeight || Math.abs(pitch) > WALKER.maxPitch;
    this.done = fallen || this.steps >= WALKER.maxSteps;
    return (after - before) / this.dt + (fallen ? 0 : WALKER.upright) - WALKER.controlCost * cost;
  }

  /** The capsules' 2-D geometry (the floor left out), for drawing. */
  segments(): Segment[] {
    const { model, data } = this;
    const types = model.geom_type as Int32Array;
    const sizes = model.geom_size as Float64Array;
    const pos = data.geom_xpos as Float64Array;
    const mat = data.geom_xmat as Float64Array;
    const out: Segment[] = [];
    for (let g = 0; g < model.ngeom; g++) {
      if (types[g] !== GEOM_CAPSULE) continue;
      const half = sizes[3 * g + 1]!;
      // The capsule's axis is its frame's z: the third column of the row-major rotation matrix.
      const ax = mat[9 * g + 2]! * half;
      const az = mat[9 * g + 8]! * half;
      const x = pos[3 * g]!;
      const z = pos[3 * g + 2]!;
      out.push([x - ax, z - az, x + ax, z + az, sizes[3 * g]!]);
    }
    return out;
  }

  /** Frees MuJoCo's model and data (the thread's MuJoCo instance stays). */
  delete(): void {
    this.data.delete();
    this.model.delete();
  }
}

/** A new walker on the thread's MuJoCo instance (loaded on first use). */
export async function createWalker(): Promise<Walker> {
  return new Walker(await loadMujoco());
}
