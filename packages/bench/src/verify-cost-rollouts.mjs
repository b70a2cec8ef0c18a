// The task module of the verify-cost bench: the demo's rollout (web-demo/src/rl/rollouts.ts,
// compiled for Node by its compile-for-node.ts before the bench starts), minus the one field
// that differs by host. The demo's result names the host that ran it (`hostId`, for its
// dashboard), so two honest replicas of it never agree; everything else in it is a pure,
// bit-deterministic function of the arguments (seeded episodes, a fixed order of sums).
import { evaluatePairs as rollout } from '../../../web-demo/node_modules/.rl-test/rollouts.js';

/** The demo's `evaluatePairs`, its result without `hostId`. */
export async function evaluatePairs(...args) {
  const { hostId: _host, ...result } = await rollout(...args);
  return result;
}
