#!/usr/bin/env node
// Throughput of CPU-bound tasks on 1, 2 and 3 tabs plus a Node host, beside a single tab that is
// in no cluster: a driver tab submits N tasks of a fixed amount of work with no placement rule and
// awaits them all. All four configurations run side by side (separate clusters on one local PeerJS
// server), taking turns in each repetition; the table shows medians.
// Usage: node packages/bench/src/cluster-throughput.mjs [--reps N (3 or more; default 5, fewer past 150 s)] [--tasks N] [--out file.json]
// Runs itself inside a loopback-only network namespace (`unshare -n`, as root), like mesh.mjs.
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { enterLoopbackNamespace, startBrowserCluster } from './browser-cluster.mjs';
import { median, round } from './harness.mjs';
import { treeCpuMs } from './process-cpu.mjs';
import { writeJson } from './report.mjs';

const { values: args } = parseArgs({
  options: { reps: { type: 'string' }, tasks: { type: 'string' }, out: { type: 'string' } },
});
const REPS = Math.max(3, Number(args.reps ?? 5));
const TASKS = Math.min(1000, Number(args.tasks ?? 160));
/** Square roots per task: ~15 ms of V8 on an idle core of this kind of machine. */
const STEPS = 1_000_000;
const WORKERS = 2;
/** Repetitions beyond the third start only before this; the watchdog ends a run that hangs. */
const BUDGET_MS = 150_000;
const DEADLINE_MS = 300_000;
/** How long a repetition waits for the head to see every CPU free again. */
const IDLE_MS = 5_000;
const outPath = args.out ?? fileURLToPath(new URL('../../../bench-results/cluster-throughput.json', import.meta.url));

/** `others`: tabs in the cluster beside the driver; `node`: a Node host too. */
const CONFIGS = [
  { id: 'single_tab', label: 'single tab, no cluster', others: 0, node: false },
  { id: 'tab_node', label: '1 tab + Node host', others: 0, node: true },
  { id: 'tabs2_node', label: '2 tabs + Node host', others: 1, node: true },
  { id: 'tabs3_node', label: '3 tabs + Node host', others: 2, node: true },
];

enterLoopbackNamespace(import.meta.url, 'cluster throughput bench');

const log = (...a) => console.error(...a);
const started = performance.now();
// Every wait below is bounded on its own; this bounds the whole run whatever hangs.
setTimeout(() => { log(`cluster throughput bench: over ${DEADLINE_MS / 1000} s, giving up`); process.exit(1); }, DEADLINE_MS).unref();
const bc = await startBrowserCluster('throughput', log);

/** Opens a configuration's hosts (tabs, then the Node host) and waits until the driver sees them all. */
async function build(c) {
  const init = { numWorkers: WORKERS };
  if (!c.node) {
    const driver = await bc.openTab(init);
    return { ...c, driver, hosts: 1, roles: { [await driver.evaluate(() => window.bench.hostId())]: 'driver' } };
  }
  const { member, driver: asDriver, operator } = bc.cluster(`tput-${c.id}`);
  const roles = {};
  for (let i = 1; i <= c.others; i++) {
    const t = await bc.openTab({ ...init, cluster: i === 1 ? operator : member });
    roles[await t.evaluate(() => window.bench.hostId())] = `tab-${i}`;
  }
  const driver = await bc.openTab({ ...init, cluster: asDriver });
  roles[await driver.evaluate(() => window.bench.hostId())] = 'driver';
  roles[await bc.startNodeHost({ ...init, cluster: member })] = 'node';
  const hosts = c.others + 2;
  await driver.waitForFunction((n) => window.bench.hosts().then((h) => h === n), hosts, { timeout: 60_000, polling: 100 });
  return { ...c, driver, hosts, roles };
}

/** One repetition: every host idle, then TASKS tasks at once: tasks/s, CPU used, tasks (and in-task ms) per role. */
async function measure(c) {
  // A view still counting CPUs busy is what this run gets placed by; it is recorded, not waited out.
  const stale = await c.driver.evaluate(([cpus, ms]) => window.bench.idle(cpus, ms), [c.hosts * WORKERS, IDLE_MS]);
  if (stale) log(`${c.label}: the head still saw ${JSON.stringify(stale)} free of ${c.hosts * WORKERS} CPUs after ${IDLE_MS / 1000} s idle; running anyway`);
  const cpu0 = treeCpuMs();
  const r = await c.driver.evaluate(([n, steps]) => window.bench.run(n, steps), [TASKS, STEPS]);
  const cpuMs = treeCpuMs() - cpu0;
  const perRole = {};
  for (const [host, v] of Object.entries(r.perHost)) perRole[c.roles[host] ?? `unknown ${host}`] = v;
  return { ms: r.ms, tasksPerSec: (TASKS / r.ms) * 1000, cpuMsPerTask: cpuMs / TASKS, perRole, results: r.results, staleFreeCpus: stale?.CPU };
}

const spreadPct = (xs) => round(((Math.max(...xs) - Math.min(...xs)) / median(xs)) * 100, 1);

function summarize(c, rs) {
  const roles = ['driver', ...Array.from({ length: c.others }, (_, i) => `tab-${i + 1}`), ...(c.node ? ['node'] : [])];
  const inTask = (role) => {
    const all = rs.map((m) => m.perRole[role]).filter(Boolean);
    return all.length ? round(all.reduce((s, v) => s + v.taskMs, 0) / all.reduce((s, v) => s + v.tasks, 0), 1) : null;
  };
  return {
    id: c.id, label: c.label, hosts: c.hosts, workers: c.hosts * WORKERS,
    tasksPerSec: round(median(rs.map((m) => m.tasksPerSec)), 1), spreadPct: spreadPct(rs.map((m) => m.tasksPerSec)),
    cpuMsPerTask: round(median(rs.map((m) => m.cpuMsPerTask)), 1),
    tasksPerHost: Object.fromEntries(roles.map((role) => [role, median(rs.map((m) => m.perRole[role]?.tasks ?? 0))])),
    inTaskMs: Object.fromEntries(roles.map((role) => [role, inTask(role)])),
    reps: rs.map((m) => ({ ms: round(m.ms, 1), tasksPerSec: round(m.tasksPerSec, 1), cpuMsPerTask: round(m.cpuMsPerTask, 2), perRole: m.perRole, staleFreeCpus: m.staleFreeCpus })),
    staleStarts: rs.filter((m) => m.staleFreeCpus !== undefined).length,
  };
}

function printTable(summary) {
  const rows = summary.map((s) => [
    s.label, String(s.hosts), String(s.workers), s.tasksPerSec.toFixed(1), `${s.ratioToSingleTab.toFixed(2)}x`, `${s.spreadPct}%`,
    s.cpuMsPerTask.toFixed(1), s.extraCpuMsPerTask.toFixed(1), Object.entries(s.tasksPerHost).map(([r, n]) => `${r} ${n}`).join(', '),
  ]);
  const header = ['configuration', 'hosts', 'workers', 'tasks/s', 'vs single', 'spread', 'CPU ms/task', 'extra CPU ms', 'tasks per host (median)'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r) => r.map((v, i) => (i === 0 || i === r.length - 1 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ').trimEnd();
  console.log([line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n'));
}

/** A line on repetitions that started while the head's load view still counted CPUs busy, if any. */
function staleNote(summary) {
  const stale = summary.filter((s) => s.staleStarts).map((s) => `${s.id} ${s.staleStarts} of ${s.reps.length}`);
  return stale.length ? `Repetitions started with the head's view of free CPUs not back to all (webray's load reports): ${stale.join(', ')}.\n` : '';
}

let exitCode = 0;
try {
  const configs = [];
  for (const c of CONFIGS) {
    configs.push(await build(c));
    log(`${c.label}: ready (${configs.at(-1).hosts} host(s)) at ${round((performance.now() - started) / 1000, 1)} s`);
  }
  // Warm-up, unrecorded: function shipping, JIT, the first connections between hosts.
  for (const c of configs) await measure(c);

  const loadAtStart = os.loadavg()[0];
  const reps = Object.fromEntries(configs.map((c) => [c.id, []]));
  const seen = new Set();
  let done = 0;
  // At least 3 repetitions; more while the time budget lasts.
  while (done < REPS && (done < 3 || performance.now() - started < BUDGET_MS)) {
    // Each configuration goes first in turn, so none always runs right after the same other.
    for (let k = 0; k < configs.length; k++) {
      const c = configs[(done + k) % configs.length];
      const m = await measure(c);
      m.results.forEach((x) => seen.add(x));
      reps[c.id].push(m);
    }
    done++;
    log(`rep ${done}/${REPS}: ${configs.map((c) => `${c.id} ${round(reps[c.id].at(-1).tasksPerSec, 1)}/s`).join(', ')}`);
  }
  // The same work everywhere gives the same number; anything else means a task did not do it.
  if (seen.size !== 1) throw new Error(`tasks disagree on their result: ${[...seen].join(', ')}`);

  const summary = configs.map((c) => summarize(c, reps[c.id]));
  for (const s of summary) {
    s.ratioToSingleTab = round(s.tasksPerSec / summary[0].tasksPerSec, 3);
    s.extraCpuMsPerTask = round(s.cpuMsPerTask - summary[0].cpuMsPerTask, 1);
  }
  printTable(summary);
  const cores = os.cpus().length;
  const load = [loadAtStart, os.loadavg()[0]].map((x) => x.toFixed(1));
  const totalS = round((performance.now() - started) / 1000, 1);
  console.log(`
${cores} CPU cores on this machine; every host has ${WORKERS} workers, so 2 to 8 workers share the same ${cores} cores:
more hosts add no CPU here, and a cluster configuration can at best match the single tab.
${TASKS} tasks per repetition, each ${STEPS.toLocaleString('en-US')} square roots, submitted at once by the driver tab with no placement rule.
CPU ms/task: CPU time used by all the bench's processes (Chromium, Node hosts) during a repetition, per task;
extra CPU ms: that beyond the single tab's, i.e. what spreading a task over the cluster (scheduling, WebRTC) costs.
Mean wall time inside a task (time-slicing stretches it): ${summary.map((s) => `${s.id} ${Object.entries(s.inTaskMs).map(([r, v]) => `${r} ${v ?? '-'}`).join(' ')}`).join('; ')}.
Load average ${load[0]} -> ${load[1]} on ${cores} cores.${Number(load[0]) > cores ? ` The machine was busy with other work: a configuration with more
worker threads gets a bigger share of the contested cores, so tasks/s above the single tab here measure that share, not webray.` : ''}
${staleNote(summary)}The other configurations' hosts stay open (idle) while one runs. ${done} interleaved reps, median shown, after one warm-up each;
Chromium via playwright-core, loopback-only namespace; ${totalS} s total.`);
  writeJson(outPath, {
    benchmark: 'webray cluster throughput (CPU-bound tasks)', date: new Date().toISOString(),
    machine: { cpus: cores, cpuModel: os.cpus()[0]?.model, node: process.version, loadAvg: { start: loadAtStart, end: os.loadavg()[0] } },
    config: { reps: done, tasks: TASKS, steps: STEPS, workersPerHost: WORKERS }, durationS: totalS, configurations: summary,
  });
  console.log(`JSON: ${outPath}`);
} catch (e) {
  log(e);
  exitCode = 1;
} finally {
  await bc.close();
}
process.exit(exitCode);
