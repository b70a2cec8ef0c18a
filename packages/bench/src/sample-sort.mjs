#!/usr/bin/env node
// Sorting, the other classic app: a distributed sample sort on webray (sample-sort-tasks.mjs:
// put once, sample, partition into numReturns pieces, sort buckets, gather) against one thread's
// Float64Array.prototype.sort on the same seeded data (~1% NaN, ~1% ±0, a few ±Infinity and
// repeated values). Each run: one unrecorded warm-up (the object store grows, the JIT warms),
// then REPS repetitions, native and webray taking turns; the medians are shown. Every webray
// result is checked byte for byte against the native one. One host, 2 workers (the machine
// has 2 cores: the driver's main thread shares them).
// Usage: node packages/bench/src/sample-sort.mjs [--runs 10000000x2,10000000x4,...] [--reps N] [--out file.json]
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as ray from 'webray';
import { median, round } from './harness.mjs';
import { writeJson } from './report.mjs';
import { sampleSort } from './sample-sort-tasks.mjs';

const { values: args } = parseArgs({ options: { runs: { type: 'string' }, reps: { type: 'string' }, out: { type: 'string' } } });
/** n × P (values × chunks and buckets) per run. */
const RUNS = (args.runs ?? '10000000x2,10000000x4,10000000x8,20000000x4').split(',').map((r) => {
  const [n, parts] = r.split('x').map(Number);
  if (!Number.isInteger(n) || n < 0 || !Number.isInteger(parts) || parts < 2) throw new Error(`--runs: '${r}' is not nxP (e.g. 10000000x4)`);
  return { n, parts };
});
const REPS = Number(args.reps ?? 3);
const WORKERS = 2;
const SAMPLES_PER_PART = 64;
const STAGES = ['put', 'sample', 'partition', 'sortBuckets', 'gather'];
const outPath = args.out ?? fileURLToPath(new URL('../../../bench-results/sample-sort.json', import.meta.url));
const log = (...a) => console.error(...a);
/** CPU time of this process, all threads (the driver and its workers), in ms. */
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** n seeded doubles of mixed sign and size, with ~1% NaN, ~0.5% −0, ~0.5% +0, ±Infinity and repeats. */
function makeData(n, seed) {
  const out = new Float64Array(n);
  let s = seed >>> 0;
  const rnd = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  for (let i = 0; i < n; i++) {
    const r = rnd();
    out[i] = r < 0.01 ? NaN : r < 0.015 ? -0 : r < 0.02 ? 0 : r < 0.0201 ? (r < 0.02005 ? Infinity : -Infinity)
      : r < 0.03 ? Math.floor(rnd() * 100) - 50 : (rnd() - 0.5) * 2 ** Math.floor(rnd() * 60 - 30);
  }
  return out;
}

/**
 * ms to write every value of a fresh n-value Float64Array, then to write them again: the first
 * pass pays the page faults of new memory (costly in a VM), which every stage that makes a new
 * array pays and an in-place sort does not.
 */
function firstTouch(n) {
  const a = new Float64Array(n);
  const t0 = performance.now();
  a.fill(1);
  const t1 = performance.now();
  a.fill(2);
  return { firstMs: t1 - t0, againMs: performance.now() - t1 };
}

const sameBytes = (a, b) => a.length === b.length && Buffer.compare(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), new Uint8Array(b.buffer, b.byteOffset, b.byteLength)) === 0;

async function measure({ n, parts }) {
  const data = makeData(n, 12345);
  const webray = () => sampleSort(data, { parts, samplesPerPart: SAMPLES_PER_PART, seed: 7, cpuMs });
  const native = () => {
    const copy = data.slice(); // the copy is not timed: a user sorts in place
    const c0 = cpuMs();
    const t0 = performance.now();
    copy.sort();
    return { sorted: copy, ms: performance.now() - t0, cpu: cpuMs() - c0 };
  };
  const cold = await webray();
  const coldMs = STAGES.reduce((a, k) => a + cold.ms[k], 0);
  log(`${n} x ${parts}: warm-up ${round(coldMs, 0)} ms`);
  const reps = [];
  for (let r = 0; r < REPS; r++) {
    // Turns alternate, so neither always runs on a machine the other just warmed or dirtied.
    const first = r % 2 === 0 ? native() : await webray();
    const second = r % 2 === 0 ? await webray() : native();
    const [nat, w] = r % 2 === 0 ? [first, second] : [second, first];
    const equal = sameBytes(w.sorted, nat.sorted);
    if (!equal) throw new Error(`sample sort of ${n} values in ${parts} parts differs from Float64Array.prototype.sort`);
    const totalMs = STAGES.reduce((a, k) => a + w.ms[k], 0);
    const totalCpu = STAGES.reduce((a, k) => a + w.cpu[k], 0);
    reps.push({ nativeMs: nat.ms, nativeCpuMs: nat.cpu, webrayMs: totalMs, webrayCpuMs: totalCpu, stagesMs: w.ms, stagesCpuMs: w.cpu, equal });
    log(`${n} x ${parts}: native ${round(nat.ms, 0)} ms, webray ${round(totalMs, 0)} ms (${STAGES.map((k) => `${k} ${round(w.ms[k], 0)}`).join(', ')}), equal`);
  }
  const med = (f) => round(median(reps.map(f)), 1);
  const stages = Object.fromEntries(STAGES.map((k) => [k, { ms: med((r) => r.stagesMs[k]), cpuMs: med((r) => r.stagesCpuMs[k]) }]));
  const webrayMs = med((r) => r.webrayMs);
  const nativeMs = med((r) => r.nativeMs);
  const top = STAGES.reduce((a, k) => (stages[k].ms > stages[a].ms ? k : a));
  const touch = firstTouch(n);
  return {
    n, parts, firstTouchMs: round(touch.firstMs, 1), touchAgainMs: round(touch.againMs, 1), coldMs: round(coldMs, 1), nativeMs, nativeCpuMs: med((r) => r.nativeCpuMs), webrayMs, webrayCpuMs: med((r) => r.webrayCpuMs),
    speedup: round(nativeMs / webrayMs, 2), stages, largestStage: top, largestShare: round(stages[top].ms / webrayMs, 2), equal: reps.every((r) => r.equal), reps,
  };
}

const t0 = performance.now();
const loadAvgAtStart = os.loadavg();
await ray.init({ numWorkers: WORKERS });
const results = [];
let exitCode = 0;
try {
  for (const run of RUNS) results.push(await measure(run));
} catch (e) {
  log(e);
  exitCode = 1;
} finally {
  await ray.shutdown();
}

const fmt = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '-');
const header = ['values', 'P', 'native ms', 'webray ms', 'speedup', 'put', 'sample', 'partition', 'sort buckets', 'gather', 'CPU/wall', 'cold ms', 'equal'];
const rows = results.map((r) => [fmt(r.n), r.parts, fmt(r.nativeMs), fmt(r.webrayMs), `${r.speedup.toFixed(2)}x`, ...STAGES.map((k) => fmt(r.stages[k].ms)),
  (r.webrayCpuMs / r.webrayMs).toFixed(2), fmt(r.coldMs), r.equal ? 'yes' : 'NO']);
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
const line = (r) => r.map((c, i) => String(c).padStart(widths[i])).join('  ');
console.log(`\nSample sort on webray (${WORKERS} workers, one Node process) vs one thread's Float64Array.prototype.sort; median of ${REPS}, ms`);
console.log([line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n'));
for (const r of results) {
  const cpu = STAGES.map((k) => `${k} ${fmt(r.stages[k].cpuMs)}`).join(', ');
  console.log(`${fmt(r.n)} x ${r.parts}: largest stage ${r.largestStage} (${Math.round(r.largestShare * 100)}% of the wall time); CPU ${fmt(r.webrayCpuMs)} ms (${cpu}) against native ${fmt(r.nativeCpuMs)} ms;` +
    ` writing a fresh ${fmt(r.n)}-value array ${fmt(r.firstTouchMs)} ms, writing it again ${fmt(r.touchAgainMs)} ms`);
}
console.log(`speedup: native ms / webray ms (> 1: webray faster). CPU/wall: CPU time of all threads over the wall time (2 = both cores busy). cold: the unrecorded first run.`);
console.log(`${os.cpus().length} CPUs, node ${process.version}, load avg ${round(loadAvgAtStart[0], 2)} -> ${round(os.loadavg()[0], 2)}; ${round((performance.now() - t0) / 1000, 1)} s total`);
writeJson(outPath, {
  benchmark: 'webray sample sort vs Float64Array.prototype.sort', date: new Date().toISOString(),
  machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, node: process.version, loadAvgAtStart, loadAvgAtEnd: os.loadavg() },
  config: { workers: WORKERS, reps: REPS, runs: RUNS, samplesPerPart: SAMPLES_PER_PART }, results,
});
console.log(`JSON: ${outPath}`);
process.exit(exitCode);
