#!/usr/bin/env node
// Sorting, the other classic app: a distributed sample sort on webray (sample-sort-tasks.mjs:
// put once, sample, partition into numReturns pieces, sort buckets, gather) against one thread's
// Float64Array.prototype.sort on the same seeded data (~1% NaN, ~1% ±0, a few ±Infinity and
// repeated values), in Node: one host, 2 workers (the machine has 2 cores: the driver's main
// thread shares them). Each run: a warm-up, then REPS turns of both; the medians are shown, with
// every stage's wall and CPU time. sample-sort-chromium.mjs runs the same in a tab.
// Usage: node packages/bench/src/sample-sort.mjs [--runs 10000000x2,10000000x4,...] [--reps N] [--out file.json]
import * as ray from 'webray';
import { measureSort } from './sample-sort-measure.mjs';
import { runSortBench, sortSettings, summarize } from './sample-sort-report.mjs';

const settings = sortSettings('sample-sort', '10000000x2,10000000x4,10000000x8,20000000x4');
const log = (...a) => console.error(...a);
/** CPU time of this process, all threads (the driver and its workers), in ms. */
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

await runSortBench({
  settings,
  title: `Sample sort on webray (${settings.workers} workers, one Node process) vs one thread's Float64Array.prototype.sort`,
  benchmark: 'webray sample sort vs Float64Array.prototype.sort, in Node',
  open: async () => { await ray.init({ numWorkers: settings.workers }); return () => ray.shutdown(); },
  measureAll: async (results) => {
    for (const run of settings.runs) results.push(summarize(await measureSort({ ...run, reps: settings.reps, samplesPerPart: settings.samplesPerPart, cpuMs, log })));
  },
});
