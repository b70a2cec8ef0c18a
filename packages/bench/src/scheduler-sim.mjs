#!/usr/bin/env node
// Scheduler scale (issue 5): webray's bottom-up scheduling simulated in one process on the
// in-memory transport, for 10, 100 and 1,000 hosts and 100,000 tasks; scheduling overhead per
// task and how it grows with hosts, as a table, JSON and an SVG chart.
// Usage: node packages/bench/src/scheduler-sim.mjs [--reps N] [--tasks N] [--hosts 10,100,1000] [--out file.json]
import os from 'node:os';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { median, round } from './harness.mjs';
import { writeJson } from './report.mjs';
import { lineChart } from './svg-chart.mjs';
import { simulate } from './sim/run.mjs';

const { values: args } = parseArgs({
  options: {
    reps: { type: 'string', default: '3' },
    tasks: { type: 'string', default: '100000' },
    hosts: { type: 'string', default: '10,100,1000' },
    out: { type: 'string' },
  },
});
const outPath = args.out ?? fileURLToPath(new URL('../../../bench-results/scheduler-sim.json', import.meta.url));
const svgPath = outPath.replace(/\.json$/, '') + '.svg';
const hostCounts = args.hosts.split(',').map(Number);
const reps = Number(args.reps);
const GOAL = 2;

const config = {
  tasks: Number(args.tasks),
  cpus: 4, // per host: 4 task nodes, CPU: 4
  tickMs: 10, // simulated time per tick; a frame sent in one tick arrives by the next
  taskTicks: 1, // every task runs 10 ms of simulated time
  reportTicks: 10, // LOAD_REPORT_MS = 100 ms: at most one load report per host per 10 ticks
  driverEvery: 10, // every 10th host submits tasks...
  maxDrivers: 10, // ...10 at most: 1, 10 and 10 drivers for 10, 100 and 1,000 hosts
  loadFactor: 1, // tasks arrive at about the cluster's capacity: hosts fill up, drivers spill
  maxTicks: 100_000,
};

const log = (...a) => console.error(...a);
const t0 = performance.now();
const loadAtStart = os.loadavg();
if (loadAtStart[0] > os.availableParallelism() / 2) log(`warning: load average ${loadAtStart.map((x) => x.toFixed(2)).join(' ')}: other processes are busy, expect noisy numbers`);

// One unrecorded run so the code is compiled before the first measured one.
await simulate({ ...config, hosts: 100, tasks: Math.min(config.tasks, 20_000), seed: 99 });

const runs = Object.fromEntries(hostCounts.map((n) => [n, []]));
for (let rep = 0; rep < reps; rep++) {
  // Each repetition starts at a different N, so drift in machine load spreads over all of them.
  for (let k = 0; k < hostCounts.length; k++) {
    const n = hostCounts[(rep + k) % hostCounts.length];
    const r = await simulate({ ...config, hosts: n, seed: rep + 1 });
    r.loadAvg = round(os.loadavg()[0], 2);
    runs[n].push(r);
    log(`${n} hosts, rep ${rep + 1}: ${r.processCpuUsPerTask} us/task CPU, ${r.schedUsPerTask} us/task in the scheduling code, ${(r.wallMs / 1000).toFixed(1)} s`);
  }
}

const med = (list, pick) => round(median(list.map(pick)), 3);
const rows = hostCounts.map((n) => {
  const rs = runs[n];
  return {
    hosts: n,
    drivers: rs[0].drivers,
    processCpuUsPerTask: med(rs, (r) => r.processCpuUsPerTask),
    schedUsPerTask: med(rs, (r) => r.schedUsPerTask),
    headUsPerTask: med(rs, (r) => r.byCategory.head ?? 0),
    gcUsPerTask: med(rs, (r) => r.gcUsPerTask),
    harnessUsPerTask: med(rs, (r) => r.harnessUsPerTask),
    framesPerTask: med(rs, (r) => r.framesPerTask),
    loadReportsPerHostPerS: med(rs, (r) => r.loadReportsPerHostPerS),
    spilledFraction: med(rs, (r) => r.spilledFraction),
    localityFraction: med(rs, (r) => r.localityFraction),
    missedLocalityFraction: med(rs, (r) => r.missedLocalityFraction),
    imbalance: med(rs, (r) => r.imbalance),
    simulatedS: med(rs, (r) => r.simulatedS),
    wallS: med(rs, (r) => r.wallMs / 1000),
    byCategory: Object.fromEntries(Object.keys(rs[0].byCategory).map((k) => [k, med(rs, (r) => r.byCategory[k] ?? 0)])),
    violations: rs.reduce((v, r) => v + r.checks.notExactlyOnce + r.checks.hostsOverCpus + r.checks.reportsTooSoon + r.checks.drops, 0),
  };
});

const first = rows[0];
const last = rows[rows.length - 1];
const ratio = (k) => round(last[k] / first[k], 2);
// The goal is judged on CPU time: wall time inside the scheduling code also counts the moments
// other processes on this machine take the CPU away, CPU time does not.
const goal = {
  text: `scheduling overhead per task: ${last.hosts.toLocaleString('en-US')} hosts within ${GOAL}x of ${first.hosts} hosts`,
  ratio: ratio('processCpuUsPerTask'),
  schedWallRatio: ratio('schedUsPerTask'),
  headRatio: ratio('headUsPerTask'),
};
goal.status = goal.ratio <= GOAL ? 'PASS' : 'FAIL';

const fmt = (x, d) => x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
const header = ['hosts', 'drivers', 'CPU us/task', 'sched code us/task', 'head us/task', 'GC us/task', 'msgs/task', 'load reports/host/s', 'spilled', 'by locality', 'data host free, sent elsewhere', 'imbalance max/mean', 'sim s', 'wall s', 'violations'];
const cells = rows.map((r) => [fmt(r.hosts, 0), r.drivers, fmt(r.processCpuUsPerTask, 1), fmt(r.schedUsPerTask, 1), fmt(r.headUsPerTask, 1), fmt(r.gcUsPerTask, 1), fmt(r.framesPerTask, 2),
  fmt(r.loadReportsPerHostPerS, 1), `${fmt(r.spilledFraction * 100, 1)}%`, `${fmt(r.localityFraction * 100, 1)}%`, `${fmt(r.missedLocalityFraction * 100, 1)}%`, fmt(r.imbalance, 2), fmt(r.simulatedS, 2), fmt(r.wallS, 1), r.violations]);
const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => String(c[i]).length)));
const line = (c) => c.map((x, i) => String(x).padStart(widths[i])).join('  ');
console.log([line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n'));
console.log(`\n  ${goal.status}  ${goal.text}: measured ${fmt(goal.ratio, 2)}x in CPU time (wall time in the scheduling code ${fmt(goal.schedWallRatio, 2)}x, the head's part ${fmt(goal.headRatio, 2)}x)`);

const violations = rows.reduce((n, r) => n + r.violations, 0);
writeJson(outPath, {
  date: new Date().toISOString(),
  machine: { cpus: os.availableParallelism(), cpuModel: os.cpus()[0]?.model, node: process.version, loadAvgAtStart: loadAtStart.map((x) => round(x, 2)), loadAvgAtEnd: os.loadavg().map((x) => round(x, 2)) },
  config: { ...config, hostCounts, reps },
  rows,
  goal,
  runs,
  durationMs: round(performance.now() - t0, 0),
});
const svg = lineChart({
  title: `Scheduling overhead per task, ${config.tasks.toLocaleString('en-US')} tasks (median of ${reps})`,
  xLabel: 'hosts (log scale)',
  yLabel: 'µs per task',
  series: [
    { name: 'CPU time (all hosts, the head, the links)', points: rows.map((r) => ({ x: r.hosts, y: r.processCpuUsPerTask })) },
    { name: 'wall time in the scheduling code', points: rows.map((r) => ({ x: r.hosts, y: r.schedUsPerTask })) },
    { name: 'of which the head (global scheduler, its frames)', points: rows.map((r) => ({ x: r.hosts, y: r.headUsPerTask })) },
    { name: 'garbage collection', points: rows.map((r) => ({ x: r.hosts, y: r.gcUsPerTask })) },
  ],
  guide: { y: GOAL * first.processCpuUsPerTask, label: `goal: ${GOAL}x the CPU time at ${first.hosts} hosts` },
});
writeFileSync(svgPath, svg);
console.log(`\n${fmt((performance.now() - t0) / 1000, 1)} s; load avg ${loadAtStart[0].toFixed(2)} -> ${os.loadavg()[0].toFixed(2)}; JSON: ${outPath}; chart: ${svgPath}`);
if (violations) {
  console.log(`${violations} violations (a task not run or completed exactly once, a host over its CPUs, a load report too soon, a dropped frame): see "checks" in the JSON`);
  process.exitCode = 1;
}
