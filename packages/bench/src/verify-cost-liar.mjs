// The LYING host's copy of the task module (a bench fixture, not a webray feature): only the Node
// host started with verify-cost-liar-hooks.mjs runs it, in place of verify-cost-rollouts.mjs.
// It computes every rollout honestly, then, from its `honestTasks`-th task on, changes the first
// return of a task at the seeded `rate` (+1 on the first pair's θ+σε return: a plausible lie) and
// writes each lie (the task's first seed, the honest and the lied value) as a line to `log`, where
// the bench counts them. Settings: the JSON in WEBRAY_BENCH_LIAR.
import { appendFileSync } from 'node:fs';
import { mixSeed } from '../../../web-demo/node_modules/.rl-test/random.js';
import { evaluatePairs as honest } from './verify-cost-rollouts.mjs';

const { log, honestTasks, rate, seed } = JSON.parse(process.env.WEBRAY_BENCH_LIAR);
let ran = 0;

export async function evaluatePairs(...args) {
  const result = await honest(...args);
  const tag = args[4][0];
  // Seeded by the task (its first episode's seed), so a rerun lies about the same tasks.
  if (++ran > honestTasks && mixSeed(seed, tag) / 2 ** 32 < rate) {
    const plus = Float64Array.from(result.plus);
    plus[0] += 1;
    appendFileSync(log, `${JSON.stringify({ tag, honest: result.plus[0], lied: plus[0] })}\n`);
    return { ...result, plus };
  }
  return result;
}
