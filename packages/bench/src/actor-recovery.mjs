#!/usr/bin/env node
// The analogue of the Ray paper's Figure 11b: how long an actor takes to recover after its worker
// dies, against the number of calls since its last checkpoint and the size of its state, with
// checkpoints (webrayCheckpoint/webrayRestore every CHECKPOINT_EVERY calls) and without (no
// checkpoint taken: every call since creation is replayed). Recovery time: from the kill
// (ray.kill with noRestart: false) to the answer of the first call made after it, which runs once
// the state is restored and the calls since the checkpoint are replayed. One host, 2 workers.
// Usage: node packages/bench/src/actor-recovery.mjs [--out file.json]
import os from 'node:os';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { median, round } from './harness.mjs';
import { writeJson } from './report.mjs';
import { lineChart } from './svg-chart.mjs';

const { values: args } = parseArgs({ options: { out: { type: 'string' }, reps: { type: 'string' } } });
const REPS = Number(args.reps ?? 3);
const CHECKPOINT_EVERY = 1000;
/** Calls since the last checkpoint when the worker dies (the "with checkpoints" runs make 2,000 + this many calls). */
const SINCE = [10, 100, 300, 1000];
/** State sizes, in Float64 elements (8 bytes each). */
const STATES = [{ label: '8 KiB', n: 1024 }, { label: '8 MiB', n: 1024 * 1024 }];
const outPath = args.out ?? fileURLToPath(new URL('../../../bench-results/actor-recovery.json', import.meta.url));
const svgPath = outPath.replace(/\.json$/, '.svg');

const ray = await import('webray');
await ray.init({ numWorkers: 2 });

// Each call changes the whole state a little (so a replay costs what the call cost).
class Model {
  constructor(n) { this.w = new Float64Array(n); this.calls = 0; }
  step(i) { const w = this.w; for (let k = i % 8; k < w.length; k += 64) w[k] += 1; return ++this.calls; }
  calls_() { return this.calls; }
  webrayCheckpoint() { return { w: this.w, calls: this.calls }; }
  webrayRestore(s) { this.w = s.w; this.calls = s.calls; }
}
const Actor = ray.remote(Model);

/** One run: `made` calls in all, then the worker dies; ms until a new call is answered. */
async function recover(n, made, every) {
  const a = Actor.options({ maxRestarts: 1, checkpointEvery: every }).remote(n);
  const refs = [];
  for (let i = 0; i < made; i++) refs.push(a.step.remote(i));
  await ray.get(refs.at(-1));
  const t0 = performance.now();
  await ray.kill(a, { noRestart: false });
  const calls = await ray.get(a.calls_.remote());
  const ms = performance.now() - t0;
  if (calls !== made) throw new Error(`actor recovered with ${calls} calls, not ${made}`);
  await ray.kill(a);
  return ms;
}

const series = [];
const rows = [];
try {
  for (const s of STATES) {
    for (const mode of ['checkpoints', 'no checkpoint']) {
      const points = [];
      for (const since of SINCE) {
        // With checkpoints: two checkpoints taken, then `since` calls. Without: `since` calls in all, all replayed.
        const made = mode === 'checkpoints' ? 2 * CHECKPOINT_EVERY + since : since;
        const every = mode === 'checkpoints' ? CHECKPOINT_EVERY : 1e9;
        const ms = [];
        for (let r = 0; r < REPS; r++) ms.push(await recover(s.n, made, every));
        const m = round(median(ms), 1);
        points.push({ x: since, y: m });
        rows.push({ state: s.label, mode, callsMade: made, replayed: since, recoveryMs: m, reps: ms.map((x) => round(x, 1)) });
        console.error(`${s.label} ${mode}: ${since} calls to replay, ${m} ms`);
      }
      series.push({ name: `${s.label} state, ${mode}`, points });
    }
  }
  const w = [12, 16, 12, 10, 12];
  const line = (c) => c.map((v, i) => String(v).padEnd(w[i])).join('  ');
  console.log(line(['state', 'mode', 'calls made', 'replayed', 'recovery ms']));
  for (const r of rows) console.log(line([r.state, r.mode, r.callsMade, r.replayed, r.recoveryMs]));
  console.log(`\nrecovery: from ray.kill({ noRestart: false }) of the actor's worker to the answer of the next call (restore + replay); median of ${REPS}; checkpoint every ${CHECKPOINT_EVERY} calls.`);
  writeJson(outPath, {
    benchmark: 'webray actor recovery time', date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, node: process.version, loadAvg: os.loadavg()[0] },
    config: { reps: REPS, checkpointEvery: CHECKPOINT_EVERY, since: SINCE, states: STATES }, rows,
  });
  writeFileSync(svgPath, lineChart({
    title: 'actor recovery time after its worker dies', xLabel: 'calls to replay (log scale)', yLabel: 'ms', series,
  }));
  console.log(`JSON: ${outPath}; chart: ${svgPath}`);
} finally {
  await ray.shutdown();
}
