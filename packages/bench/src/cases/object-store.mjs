// Family 4: ray.put / ray.get of a small value from the driver. webray only.
import { loopSequential, now, round, yieldMacrotask, expectEqual } from '../harness.mjs';

const small = () => ({ ok: true, n: 1 });

export default [
  {
    id: 'put_calls',
    title: 'put calls, small value (driver)',
    needs: 'ray',
    // ray.put is synchronous: a plain loop, yielding to the event loop every 1,000 puts
    // (so the runtime can process what puts schedule), bounded by count and time.
    async rep(sys, _state, cfg) {
      const { ray } = sys;
      const value = small();
      const t0 = now();
      const deadline = t0 + cfg.budgetMs;
      let n = 0;
      let last = null;
      while (n < cfg.maxOps && now() < deadline) {
        for (let k = 0; k < 1000 && n < cfg.maxOps; k++, n++) last = ray.put(value);
        await yieldMacrotask();
      }
      const elapsed = now() - t0;
      expectEqual((await ray.get(last)).n, 1, 'put then get');
      return { ops: n, elapsedMs: round(elapsed, 3), opsPerSec: round((n / elapsed) * 1000, 1) };
    },
  },
  {
    id: 'get_calls',
    title: 'get calls, small value (driver)',
    needs: 'ray',
    latency: true,
    setup: async (sys) => ({ ref: sys.ray.put(small()) }),
    rep: (sys, { ref }, cfg) =>
      loopSequential(async () => expectEqual((await sys.ray.get(ref)).n, 1, 'get'), {
        budgetMs: cfg.budgetMs,
        maxOps: cfg.maxOps,
        latency: true,
      }),
  },
];
