// Family 6: large objects and the shared store. A 64 MiB Float64Array read by the driver after a
// task on another worker made it (webray: a view of shared memory; baseline: postMessage, which
// structured-clones it), put from the driver (baseline: TypedArray.set into memory allocated
// beforehand), and the store under load from one worker and from two at once (webray only).
import { loopSequential } from '../harness.mjs';

export const BIG_BYTES = 64 * 1024 * 1024;
/** Per put+get pair of the churn cases. */
export const CHURN_BYTES = 1024 * 1024;
const CHURN_PAIRS = 64;

export default [
  {
    id: 'get_64mib',
    title: 'get of a 64 MiB Float64Array made on another worker',
    needs: 'bigGet',
    latency: true,
    setup: (sys) => sys.bigGet(BIG_BYTES),
    rep: (_sys, get, cfg) => loopSequential(get, { budgetMs: cfg.budgetMs, maxOps: cfg.maxOps, latency: true }),
  },
  {
    id: 'put_64mib',
    title: 'put of a 64 MiB Float64Array from the driver',
    needs: 'bigPut',
    latency: true,
    setup: (sys) => sys.bigPut(BIG_BYTES),
    rep: (_sys, put, cfg) => loopSequential(put, { budgetMs: cfg.budgetMs, maxOps: cfg.maxOps, latency: true }),
  },
  ...[1, 2].map((workers) => ({
    id: `store_churn_${workers}_worker${workers > 1 ? 's' : ''}`,
    title: `store put+get of 1 MiB arrays inside tasks, ${workers} worker(s) at once`,
    needs: 'storeChurn',
    setup: (sys) => sys.storeChurn(workers, CHURN_PAIRS, CHURN_BYTES),
    rep: async (_sys, churn, cfg) => {
      const r = await loopSequential(churn, { budgetMs: cfg.budgetMs, maxOps: cfg.maxOps });
      // One op of the loop is `workers` tasks of CHURN_PAIRS put+get pairs each.
      const pairs = r.ops * workers * CHURN_PAIRS;
      return { ...r, ops: pairs, opsPerSec: Math.round((pairs / r.elapsedMs) * 1000 * 10) / 10 };
    },
  })),
];
