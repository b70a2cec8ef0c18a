// The sample-sort bench's medians, table and JSON, for the Node run and the Chromium run alike.
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { median, round } from './harness.mjs';
import { writeJson } from './report.mjs';
import { STAGES } from './sample-sort-measure.mjs';

/** Medians of a measureSort result, the speedup (native ms / webray ms) and the stage that took longest. */
export function summarize(m) {
  const med = (f) => (m.reps[0] && f(m.reps[0]) !== undefined ? round(median(m.reps.map(f)), 1) : null);
  const stages = Object.fromEntries(STAGES.map((k) => [k, { ms: med((r) => r.stagesMs[k]), cpuMs: med((r) => r.stagesCpuMs?.[k]) }]));
  const webrayMs = med((r) => r.webrayMs);
  const nativeMs = med((r) => r.nativeMs);
  const top = STAGES.reduce((a, k) => (stages[k].ms > stages[a].ms ? k : a));
  return {
    n: m.n, parts: m.parts, nativeMs, nativeCpuMs: med((r) => r.nativeCpuMs), webrayMs, webrayCpuMs: med((r) => r.webrayCpuMs),
    speedup: webrayMs > 0 ? round(nativeMs / webrayMs, 2) : null, stages, largestStage: top, largestShare: webrayMs > 0 ? round(stages[top].ms / webrayMs, 2) : null,
    coldMs: round(m.coldMs, 1), firstTouchMs: round(m.firstTouchMs, 1), touchAgainMs: round(m.touchAgainMs, 1), equal: m.reps.every((r) => r.equal), reps: m.reps,
  };
}

const fmt = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '-');

/** The table (one row per run) and a line per run on its CPU and what fresh memory costs. */
function printSortTable(title, results, log = console.log) {
  const header = ['values', 'P', 'native ms', 'webray ms', 'speedup', 'put', 'sample', 'partition', 'sort buckets', 'gather', 'CPU/wall', 'cold ms', 'equal'];
  const rows = results.map((r) => [fmt(r.n), r.parts, fmt(r.nativeMs), fmt(r.webrayMs), r.speedup === null ? '-' : `${r.speedup.toFixed(2)}x`, ...STAGES.map((k) => fmt(r.stages[k].ms)),
    r.webrayCpuMs === null ? '-' : (r.webrayCpuMs / r.webrayMs).toFixed(2), fmt(r.coldMs), r.equal ? 'yes' : 'NO']);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (r) => r.map((c, i) => String(c).padStart(widths[i])).join('  ');
  log(`\n${title}`);
  log([line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n'));
  for (const r of results) {
    const cpu = r.webrayCpuMs === null ? '' : `; CPU ${fmt(r.webrayCpuMs)} ms (${STAGES.map((k) => `${k} ${fmt(r.stages[k].cpuMs)}`).join(', ')}) against native ${fmt(r.nativeCpuMs)} ms`;
    log(`${fmt(r.n)} x ${r.parts}: largest stage ${r.largestStage} (${Math.round(r.largestShare * 100)}% of the wall time)${cpu};` +
      ` writing a fresh ${fmt(r.n)}-value array ${fmt(r.firstTouchMs)} ms, writing it again ${fmt(r.touchAgainMs)} ms`);
  }
  log('speedup: native ms / webray ms (> 1: webray faster). CPU/wall: CPU time of all threads over the wall time (2 = both cores busy). cold: the unrecorded first run.');
}

function writeSortJson(path, { benchmark, config, results, loadAvgAtStart }) {
  writeJson(path, {
    benchmark, date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, node: process.version, loadAvgAtStart, loadAvgAtEnd: os.loadavg() },
    config, results,
  });
}

/**
 * Both benches' settings: `--runs 10000000x4,...` (default `runs`), `--reps N` (3), `--out file`
 * (bench-results/<name>.json); 2 workers (this machine's cores), 64 samples per part.
 */
export function sortSettings(name, runs) {
  const { values: args } = parseArgs({ options: { runs: { type: 'string' }, reps: { type: 'string' }, out: { type: 'string' } } });
  return {
    runs: parseRuns(args.runs ?? runs),
    reps: Number(args.reps ?? 3),
    workers: 2,
    samplesPerPart: 64,
    outPath: args.out ?? fileURLToPath(new URL(`../../../bench-results/${name}.json`, import.meta.url)),
  };
}

/** `--runs 10000000x4,20000000x4`: n values × P parts per run. */
function parseRuns(text) {
  return text.split(',').map((r) => {
    const [n, parts] = r.split('x').map(Number);
    if (!Number.isInteger(n) || n < 0 || !Number.isInteger(parts) || parts < 2) throw new Error(`--runs: '${r}' is not nxP (e.g. 10000000x4)`);
    return { n, parts };
  });
}

/**
 * A whole sort bench: `open()` starts webray (resolving with how to stop it), `measureAll(results)`
 * pushes one summary per run; then the table, a line about the machine and the JSON. Exits 1 if a
 * run failed (after reporting what did run).
 */
export async function runSortBench({ settings, title, benchmark, open, measureAll }) {
  const { reps, runs, workers, samplesPerPart, outPath } = settings;
  const t0 = performance.now();
  const loadAvgAtStart = os.loadavg();
  const close = await open();
  const results = [];
  let exitCode = 0;
  try {
    await measureAll(results);
  } catch (e) {
    console.error(e);
    exitCode = 1;
  } finally {
    await close();
  }
  printSortTable(`${title}; median of ${reps}, ms`, results);
  console.log(`${os.cpus().length} CPUs, node ${process.version}, load avg ${round(loadAvgAtStart[0], 2)} -> ${round(os.loadavg()[0], 2)}; ${round((performance.now() - t0) / 1000, 1)} s total`);
  writeSortJson(outPath, { benchmark, config: { workers, reps, runs, samplesPerPart }, results, loadAvgAtStart });
  console.log(`JSON: ${outPath}`);
  process.exit(exitCode);
}
