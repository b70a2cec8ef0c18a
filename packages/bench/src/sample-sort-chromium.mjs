#!/usr/bin/env node
// The sample-sort bench (sample-sort.mjs) in one tab of headless Chromium: the page
// pages/sort/ runs the same measurement (sample-sort-measure.mjs) with 2 workers, its main thread
// the driver. Wall times only (a page has no CPU clock for its workers).
// Usage: node packages/bench/src/sample-sort-chromium.mjs [--runs 10000000x4] [--reps N] [--out file.json]
// Runs itself inside a loopback-only network namespace (`unshare -n`, as root), like mesh.mjs.
import os from 'node:os';
import { enterLoopbackNamespace, startBrowserCluster } from './browser-cluster.mjs';
import { round, withTimeout } from './harness.mjs';
import { printSortTable, sortSettings, summarize, writeSortJson } from './sample-sort-report.mjs';

const { runs: RUNS, reps: REPS, workers: WORKERS, samplesPerPart: SAMPLES_PER_PART, outPath } = sortSettings('sample-sort-chromium', '10000000x4');
const RUN_MS = 300_000;

enterLoopbackNamespace(import.meta.url, 'sample sort bench (Chromium)');
const log = (...a) => console.error(...a);
setTimeout(() => { log(`sample sort bench (Chromium): over ${(RUN_MS * RUNS.length + 60_000) / 1000} s, giving up`); process.exit(1); }, RUN_MS * RUNS.length + 60_000).unref();

const t0 = performance.now();
const loadAvgAtStart = os.loadavg();
const bc = await startBrowserCluster('sort', log);
const results = [];
let exitCode = 0;
try {
  const tab = await bc.openTab({ numWorkers: WORKERS });
  for (const run of RUNS) {
    const m = await withTimeout(tab.evaluate((o) => window.bench.measure(o), { ...run, reps: REPS, samplesPerPart: SAMPLES_PER_PART }), RUN_MS, `${run.n} x ${run.parts} in Chromium`);
    for (const r of m.reps) log(`${run.n} x ${run.parts} in Chromium: native ${Math.round(r.nativeMs)} ms, webray ${Math.round(r.webrayMs)} ms, equal`);
    results.push(summarize(m));
  }
} catch (e) {
  log(e);
  exitCode = 1;
} finally {
  await bc.close();
}
printSortTable(`Sample sort on webray (${WORKERS} workers, one Chromium tab) vs the tab's Float64Array.prototype.sort; median of ${REPS}, ms`, results);
console.log(`${os.cpus().length} CPUs, load avg ${round(loadAvgAtStart[0], 2)} -> ${round(os.loadavg()[0], 2)}; ${round((performance.now() - t0) / 1000, 1)} s total`);
writeSortJson(outPath, { benchmark: 'webray sample sort vs Float64Array.prototype.sort, in a Chromium tab', config: { workers: WORKERS, reps: REPS, runs: RUNS, samplesPerPart: SAMPLES_PER_PART }, results, loadAvgAtStart });
console.log(`JSON: ${outPath}`);
process.exit(exitCode);
