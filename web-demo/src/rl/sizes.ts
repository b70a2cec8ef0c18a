/** Observation and action sizes by environment, so the learner and the server know the policy's shape without a simulator (nor MuJoCo). */
import type { EnvName } from './env.ts';

export const ENV_SIZES: Record<EnvName, { obsSize: number; actSize: number }> = {
  cartpole: { obsSize: 4, actSize: 1 },
  walker: { obsSize: 17, actSize: 6 },
};
