// Family 3: actor method calls — 1:1 sync, 1:1 pipelined, n:n pipelined (n = 2 actors).
// Actors are created per case (setup) and killed afterwards (teardown), outside timing.
import { loopSequential, loopBatches, range, expectEqual, expectArray } from '../harness.mjs';

const N_ACTORS = 2;

export default [
  {
    id: 'actor_calls_sync_1_1',
    title: 'actor calls sync 1:1',
    needs: 'createActor',
    latency: true,
    setup: async (sys) => ({ actors: [await sys.createActor()] }),
    rep: (sys, { actors: [a] }, cfg) =>
      loopSequential(async (i) => expectEqual(await a.call(i), i, `${sys.name} actor call`), {
        budgetMs: cfg.budgetMs,
        maxOps: cfg.maxOps,
        latency: true,
      }),
    teardown: killAll,
  },
  {
    id: 'actor_calls_async_1_1',
    title: 'actor calls pipelined 1:1',
    needs: 'createActor',
    setup: async (sys, cfg) => ({ actors: [await sys.createActor()], xs: range(cfg.batchSize) }),
    rep: (sys, { actors: [a], xs }, cfg) =>
      loopBatches(async () => expectArray(await a.calls(xs), xs, `${sys.name} actor calls`), {
        budgetMs: cfg.budgetMs,
        maxBatches: cfg.maxBatches,
        batchSize: xs.length,
      }),
    teardown: killAll,
  },
  {
    id: 'actor_calls_async_n_n',
    title: `actor calls pipelined n:n (n=${N_ACTORS})`,
    needs: 'createActor',
    setup: async (sys, cfg) => {
      const actors = [];
      for (let i = 0; i < N_ACTORS; i++) actors.push(await sys.createActor());
      return { actors, xs: range(Math.ceil(cfg.batchSize / N_ACTORS)) };
    },
    rep: (sys, { actors, xs }, cfg) =>
      loopBatches(
        async () => {
          const all = await Promise.all(actors.map((a) => a.calls(xs)));
          all.forEach((values) => expectArray(values, xs, `${sys.name} n:n actor calls`));
        },
        { budgetMs: cfg.budgetMs, maxBatches: cfg.maxBatches, batchSize: xs.length * actors.length },
      ),
    teardown: killAll,
  },
];

async function killAll(_sys, state) {
  for (const a of state?.actors ?? []) await a.kill();
}
