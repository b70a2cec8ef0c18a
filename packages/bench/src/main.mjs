#!/usr/bin/env node
// webray microbenchmarks against worker-pool peers, modelled on `ray microbenchmark`.
// Usage: node packages/bench/src/main.mjs [--quick] [--reps N] [--budget-ms MS] [--batch N]
//        [--cases id,id] [--systems name,name] [--out file.json] [--rep-timeout-ms MS]
import os from 'node:os';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { now, round, withTimeout, TimeoutError } from './harness.mjs';
import { summarize, evaluateTargets, printReport, writeJson } from './report.mjs';
import tinyTasks from './cases/tiny-tasks.mjs';
import actors from './cases/actors.mjs';
import objectStore from './cases/object-store.mjs';
import wait from './cases/wait.mjs';
import bigObjects from './cases/big-objects.mjs';

const CASES = [...tinyTasks, ...actors, ...objectStore, ...wait, ...bigObjects];
const SYSTEMS = {
  webray: () => import('./webray.mjs'),
  piscina: () => import('./peers/piscina.mjs'),
  tinypool: () => import('./peers/tinypool.mjs'),
  workerpool: () => import('./peers/workerpool.mjs'),
  comlink: () => import('./peers/comlink.mjs'),
  // Baselines for large objects: what moving or copying the bytes costs without webray.
  postMessage: () => import('./peers/post-message.mjs'),
  'TypedArray.set': () => import('./peers/typed-array-set.mjs'),
};
const WORKERS = 2;

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    reps: { type: 'string' },
    'budget-ms': { type: 'string' },
    batch: { type: 'string' },
    cases: { type: 'string' },
    systems: { type: 'string' },
    out: { type: 'string' },
    'rep-timeout-ms': { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (args.help) {
  console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1, 4).join('\n'));
  process.exit(0);
}

const cfg = {
  mode: args.quick ? 'quick' : 'full',
  reps: Number(args.reps ?? (args.quick ? 3 : 5)),
  budgetMs: Number(args['budget-ms'] ?? (args.quick ? 150 : 1000)), // wall time of one repetition
  warmupMs: args.quick ? 50 : 200, // one unrecorded repetition per system per case
  batchSize: Number(args.batch ?? (args.quick ? 1000 : 10_000)), // async / pipelined N
  waitRefs: 1000,
  maxOps: 200_000, // cap on operations of one sequential repetition
  maxBatches: 1000, // cap on batches of one batched repetition
  repTimeoutMs: Number(args['rep-timeout-ms'] ?? (args.quick ? 15_000 : 30_000)), // a repetition (or setup/teardown) slower than this is a hang
  totalBudgetMs: args.quick ? 120_000 : 420_000, // past this, remaining repetitions are skipped
  workers: WORKERS,
};
const outPath = args.out ?? fileURLToPath(new URL('../../../bench-results/micro.json', import.meta.url));
const pick = (list, all) => (list ? all.filter((x) => list.split(',').some((s) => x.includes(s.trim()))) : all);
const caseList = CASES.filter((c) => pick(args.cases, [c.id]).length);
const systemNames = pick(args.systems, Object.keys(SYSTEMS));

const log = (...a) => console.error(...a); // progress on stderr, the table on stdout
const t0 = now();
const loadAtStart = os.loadavg();
if (loadAtStart[0] > os.availableParallelism() / 2) {
  log(`warning: load average ${loadAtStart.map((x) => x.toFixed(2)).join(' ')} on ${os.availableParallelism()} CPUs: other processes are busy, expect noisy numbers`);
}
const overBudget = () => now() - t0 > cfg.totalBudgetMs;
const errMsg = (e) => (e instanceof Error ? `${e.name}: ${e.message}` : String(e));

// ---- start every system once; they stay up so repetitions can interleave ----
const systems = [];
const startup = {};
for (const name of systemNames) {
  const s0 = now();
  try {
    const mod = await SYSTEMS[name]();
    systems.push(await withTimeout(mod.start({ workers: WORKERS }), 60_000, `${name} start`));
    startup[name] = { ms: round(now() - s0, 1) };
  } catch (e) {
    startup[name] = { error: errMsg(e) };
  }
  log(`started ${name}: ${startup[name].error ?? `${startup[name].ms} ms`}`);
}

/** A case runs on the systems that have what it `needs` (a method or member, e.g. `task`, `ray`, `bigGet`). */
const supports = (c, s) => !!s[c.needs];
const hung = new Set(); // systems that timed out once are skipped afterwards

// ---- cases: round-robin over systems within each repetition ----
const results = [];
for (const c of caseList) {
  const cr = { id: c.id, title: c.title, latency: !!c.latency, systems: {} };
  results.push(cr);
  const active = [];
  for (const s of systems.filter((s) => supports(c, s))) {
    const entry = (cr.systems[s.name] = { reps: [] });
    if (hung.has(s.name)) {
      entry.error = 'skipped: this system hung in an earlier case';
      continue;
    }
    try {
      const state = c.setup ? await withTimeout(c.setup(s, cfg), cfg.repTimeoutMs, `${c.id} setup`) : undefined;
      await withTimeout(c.rep(s, state, { ...cfg, budgetMs: cfg.warmupMs }), cfg.repTimeoutMs, `${c.id} warm-up`);
      active.push({ s, state, entry });
    } catch (e) {
      fail(s, entry, e);
    }
  }
  for (let r = 0; r < cfg.reps && active.some((a) => !a.entry.error) && !overBudget(); r++) {
    const order = active.map((_, i) => active[(i + r) % active.length]); // rotate who goes first
    const line = [];
    for (const a of order) {
      if (a.entry.error) continue;
      try {
        const m = await withTimeout(c.rep(a.s, a.state, cfg), cfg.repTimeoutMs, `${c.id} rep ${r + 1}`);
        m.load1 = round(os.loadavg()[0], 2); // machine load when this repetition ended
        a.entry.reps.push(m);
        line.push(`${a.s.name} ${Math.round(m.opsPerSec).toLocaleString('en-US')}`);
      } catch (e) {
        fail(a.s, a.entry, e);
        line.push(`${a.s.name} ERROR`);
      }
    }
    log(`${c.id} rep ${r + 1}/${cfg.reps}: ${line.join(', ')} ops/s`);
  }
  if (overBudget()) cr.truncated = `total budget of ${cfg.totalBudgetMs} ms exceeded: repetitions skipped`;
  for (const a of active) {
    if (!c.teardown || hung.has(a.s.name)) continue;
    try {
      await withTimeout(c.teardown(a.s, a.state), cfg.repTimeoutMs, `${c.id} teardown`);
    } catch (e) {
      fail(a.s, a.entry, e);
    }
  }
  summarize(cr);
}

function fail(s, entry, e) {
  entry.error = entry.error ? `${entry.error}; ${errMsg(e)}` : errMsg(e);
  if (e instanceof TimeoutError) hung.add(s.name);
  log(`  ${s.name}: ${errMsg(e)}`);
}

// ---- stop systems, report ----
const shutdown = {};
for (const s of systems) {
  const s0 = now();
  try {
    await withTimeout(s.stop(), 10_000, `${s.name} stop`);
    shutdown[s.name] = { ms: round(now() - s0, 1) };
  } catch (e) {
    shutdown[s.name] = { error: errMsg(e) };
    log(`stop ${s.name}: ${errMsg(e)}`);
  }
}

const version = (pkg) => {
  try {
    return JSON.parse(readFileSync(new URL(`../node_modules/${pkg}/package.json`, import.meta.url), 'utf8')).version;
  } catch {
    return null;
  }
};
const cpus = os.cpus();
const result = {
  benchmark: 'webray microbenchmark',
  date: new Date().toISOString(),
  durationMs: round(now() - t0, 0),
  machine: {
    cpus: cpus.length,
    availableParallelism: os.availableParallelism?.() ?? null,
    cpuModel: cpus[0]?.model ?? 'unknown',
    totalMemMiB: Math.round(os.totalmem() / 2 ** 20),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version,
    loadAvgAtStart: loadAtStart.map((x) => round(x, 2)),
    loadAvgAtEnd: os.loadavg().map((x) => round(x, 2)),
    v8: process.versions.v8,
  },
  versions: Object.fromEntries(['webray', 'piscina', 'tinypool', 'workerpool', 'comlink'].map((p) => [p, version(p)])),
  config: cfg,
  startup,
  shutdown,
  cases: results,
  targets: evaluateTargets(results),
};
printReport(result);
writeJson(outPath, result);
console.log(`\nJSON: ${outPath}`);

const failed = results.some((c) => Object.values(c.systems).some((s) => s.error)) || Object.values(startup).some((s) => s.error);
// Exit explicitly: a hung system may still hold handles; the report is already written.
const leftovers = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap');
if (leftovers.length) log(`note: active handles after stop: ${leftovers.join(', ')}`);
process.exit(failed ? 1 : 0);
