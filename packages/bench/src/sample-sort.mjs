#!/usr/bin/env node
// Sorting, the other classic app: a distributed sample sort on webray (sample-sort-tasks.mjs:
// put once, sample, partition into numReturns pieces, sort buckets, gather) against one thread's
// Float64Array.prototype.sort on the same seeded data (~1% NaN, ~1% ±0, a few ±Infinity and
// repeated values), in Node: one host, 2 workers (the machine has 2 cores: the driver's main
// thread shares them). Each run: a warm-up, then REPS turns of both; the medians are shown, with
// every stage's wall and CPU time. sample-sort-chromium.mjs runs the same in a tab.
// Usage: node packages/bench/src/sample-sort.mjs [--runs 10000000x2,10000000x4,...] [--reps N] [--out file.json]
import os from 'node:os';
import * as ray from 'webray';
import { round } from './harness.mjs';
import { measureSort } from './sample-sort-measure.mjs';
import { printSortTable, sortSettings, summarize, writeSortJson } from './sample-sort-report.mjs';

const { runs: RUNS, reps: REPS, workers: WORKERS, samplesPerPart: SAMPLES_PER_PART, outPath } = sortSettings('sample-sort', '10000000x2,10000000x4,10000000x8,20000000x4');
const log = (...a) => console.error(...a);
/** CPU time of this process, all threads (the driver and its workers), in ms. */
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

const t0 = performance.now();
const loadAvgAtStart = os.loadavg();
await ray.init({ numWorkers: WORKERS });
const results = [];
let exitCode = 0;
try {
  for (const run of RUNS) results.push(summarize(await measureSort({ ...run, reps: REPS, samplesPerPart: SAMPLES_PER_PART, cpuMs, log })));
} catch (e) {
  log(e);
  exitCode = 1;
} finally {
  await ray.shutdown();
}
printSortTable(`Sample sort on webray (${WORKERS} workers, one Node process) vs one thread's Float64Array.prototype.sort; median of ${REPS}, ms`, results);
console.log(`${os.cpus().length} CPUs, node ${process.version}, load avg ${round(loadAvgAtStart[0], 2)} -> ${round(os.loadavg()[0], 2)}; ${round((performance.now() - t0) / 1000, 1)} s total`);
writeSortJson(outPath, { benchmark: 'webray sample sort vs Float64Array.prototype.sort, in Node', config: { workers: WORKERS, reps: REPS, runs: RUNS, samplesPerPart: SAMPLES_PER_PART }, results, loadAvgAtStart });
console.log(`JSON: ${outPath}`);
process.exit(exitCode);
