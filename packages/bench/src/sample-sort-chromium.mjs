#!/usr/bin/env node
// The sample-sort bench (sample-sort.mjs) in one tab of headless Chromium: the page
// pages/sort/ runs the same measurement (sample-sort-measure.mjs) with 2 workers, its main thread
// the driver. Wall times only (a page has no CPU clock for its workers).
// Usage: node packages/bench/src/sample-sort-chromium.mjs [--runs 10000000x4] [--reps N] [--out file.json]
// Runs itself inside a loopback-only network namespace (`unshare -n`, as root), like mesh.mjs.
import { enterLoopbackNamespace, startBrowserCluster } from './browser-cluster.mjs';
import { withTimeout } from './harness.mjs';
import { runSortBench, sortSettings, summarize } from './sample-sort-report.mjs';

const settings = sortSettings('sample-sort-chromium', '10000000x4');
const RUN_MS = 300_000;

enterLoopbackNamespace(import.meta.url, 'sample sort bench (Chromium)');
const log = (...a) => console.error(...a);
setTimeout(() => { log(`sample sort bench (Chromium): over ${(RUN_MS * settings.runs.length + 60_000) / 1000} s, giving up`); process.exit(1); }, RUN_MS * settings.runs.length + 60_000).unref();

let bc;
await runSortBench({
  settings,
  title: `Sample sort on webray (${settings.workers} workers, one Chromium tab) vs the tab's Float64Array.prototype.sort`,
  benchmark: 'webray sample sort vs Float64Array.prototype.sort, in a Chromium tab',
  open: async () => { bc = await startBrowserCluster('sort', log); return () => bc.close(); },
  measureAll: async (results) => {
    const tab = await bc.openTab({ numWorkers: settings.workers });
    for (const run of settings.runs) {
      const m = await withTimeout(tab.evaluate((o) => window.bench.measure(o), { ...run, reps: settings.reps, samplesPerPart: settings.samplesPerPart }), RUN_MS, `${run.n} x ${run.parts} in Chromium`);
      for (const r of m.reps) log(`${run.n} x ${run.parts} in Chromium: native ${Math.round(r.nativeMs)} ms, webray ${Math.round(r.webrayMs)} ms, equal`);
      results.push(summarize(m));
    }
  },
});
