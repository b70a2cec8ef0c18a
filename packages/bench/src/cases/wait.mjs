// Family 5: ray.wait on 1,000 refs of tiny tasks (numReturns = all). webray only.
// - submit+wait: one op = submit the tiny tasks, then one ray.wait until all are ready.
// - ready refs: one op = one ray.wait over refs that are all already ready (pure wait cost).
import { loopBatches, loopSequential, range, expectEqual } from '../harness.mjs';

function checkWait([ready, notReady], n) {
  expectEqual(ready.length, n, 'ray.wait ready.length');
  expectEqual(notReady.length, 0, 'ray.wait notReady.length');
}

export default [
  {
    id: 'wait_1k_refs_submit_wait',
    title: 'wait 1k tiny-task refs (submit + wait)',
    needs: 'ray',
    setup: async (_sys, cfg) => ({ xs: range(cfg.waitRefs) }),
    rep: (sys, { xs }, cfg) =>
      loopBatches(
        async () => {
          const refs = xs.map((x) => sys.submit(x));
          checkWait(await sys.ray.wait(refs, { numReturns: refs.length }), refs.length);
        },
        { budgetMs: cfg.budgetMs, maxBatches: cfg.maxBatches, batchSize: 1 },
      ),
  },
  {
    id: 'wait_1k_refs_ready',
    title: 'wait 1k refs already ready',
    needs: 'ray',
    async setup(sys, cfg) {
      const refs = range(cfg.waitRefs).map((x) => sys.submit(x));
      await sys.ray.get(refs);
      return { refs };
    },
    rep: (sys, { refs }, cfg) =>
      loopSequential(async () => checkWait(await sys.ray.wait(refs, { numReturns: refs.length }), refs.length), {
        budgetMs: cfg.budgetMs,
        maxOps: cfg.maxOps,
      }),
  },
];
