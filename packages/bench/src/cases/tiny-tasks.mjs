// Family 1–2: tiny (no-op) tasks, one at a time and as a batch.
import { loopSequential, loopBatches, range, expectEqual, expectArray } from '../harness.mjs';

export default [
  {
    id: 'tiny_tasks_sync',
    title: 'tiny tasks sync (submit, await, repeat)',
    needs: 'task',
    latency: true,
    rep: (sys, _state, cfg) =>
      loopSequential(
        async (i) => expectEqual(await sys.task(i), i, `${sys.name} task`),
        { budgetMs: cfg.budgetMs, maxOps: cfg.maxOps, latency: true },
      ),
  },
  {
    id: 'tiny_tasks_async',
    title: `tiny tasks async (batch submit, await all)`,
    needs: 'task',
    setup: async (_sys, cfg) => ({ xs: range(cfg.batchSize) }),
    rep: (sys, { xs }, cfg) =>
      loopBatches(async () => expectArray(await sys.tasks(xs), xs, `${sys.name} tasks`), {
        budgetMs: cfg.budgetMs,
        maxBatches: cfg.maxBatches,
        batchSize: xs.length,
      }),
  },
];
