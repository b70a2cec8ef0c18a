#!/usr/bin/env node
// The analogue of the Ray paper's Figure 11a: tasks/s over time while hosts are killed and others
// join, during a job with dependencies (chains of tasks, each taking the previous one's result).
// Each task holds its worker for TASK_MS in a timed wait, not burning CPU: on 2 cores CPU-bound
// tasks could not show capacity lost and regained. A driver (this process) and Node hosts (the
// `webray host` bin), over WebRTC with a local PeerJS server; hosts are SIGKILLed (a crash: no
// goodbye) after a set number of completions, so a run replays.
// Usage: node packages/bench/src/recovery.mjs [--chains N] [--levels N] [--out file.json]
// Runs itself inside a loopback-only network namespace (`unshare -n`, as root).
import os from 'node:os';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { enterLoopbackNamespace } from './browser-cluster.mjs';
import { round, withTimeout } from './harness.mjs';
import { startNodeHost, startPeerServer } from './local-cluster.mjs';
import { writeJson } from './report.mjs';
import { lineChart } from './svg-chart.mjs';

const { values: args } = parseArgs({ options: { chains: { type: 'string' }, levels: { type: 'string' }, out: { type: 'string' } } });
const CHAINS = Number(args.chains ?? 48);
const LEVELS = Number(args.levels ?? 25);
const TASKS = CHAINS * LEVELS;
const TASK_MS = 100;
const WORKERS = 2;
const BUCKET_MS = 500;
const DEADLINE_MS = 240_000;
/** What happens after how many completions (fractions of the job). */
const PLAN = [
  { at: 0.25, what: 'kill', host: 'h2' },
  { at: 0.4, what: 'kill', host: 'h3' },
  { at: 0.6, what: 'add', host: 'h4' },
  { at: 0.7, what: 'add', host: 'h5' },
];
const outPath = args.out ?? fileURLToPath(new URL('../../../bench-results/recovery.json', import.meta.url));
const svgPath = outPath.replace(/\.json$/, '.svg');

enterLoopbackNamespace(import.meta.url, 'recovery bench');
const log = (...a) => console.error(...a);
setTimeout(() => { log(`recovery bench: over ${DEADLINE_MS / 1000} s, giving up`); process.exit(1); }, DEADLINE_MS).unref();

const ray = await import('webray');
const peer = await startPeerServer();
const keys = await ray.generateSubmitterKey();
const operator = await ray.generateSubmitterKey();
const member = { id: 'recovery', token: 'recovery-token', submitterPublicKey: keys.publicKey, operatorPublicKey: operator.publicKey, signal: peer.signal, iceServers: [] };
const hosts = {};
let exitCode = 0;
try {
  // h1 starts first and holds the head (it has the operator key); h2 and h3 are the ones killed.
  for (const name of ['h1', 'h2', 'h3']) hosts[name] = await startNodeHost({ numWorkers: WORKERS, cluster: name === 'h1' ? { ...member, operatorKey: operator.privateKey } : member });
  await ray.init({ numWorkers: WORKERS, cluster: { ...member, submitterKey: keys.privateKey } });
  const until = async (cond, what) => {
    const stop = performance.now() + 60_000;
    while (!(await cond())) {
      if (performance.now() > stop) throw new Error(`recovery bench: ${what} within 60 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const taskHosts = async () => new Set((await ray.nodes()).filter((n) => n.kind === 'task').map((n) => n.hostId)).size;
  await until(async () => (await taskHosts()) === 4, 'four hosts');

  const step = ray.remote(async (prev, ms) => {
    await new Promise((r) => setTimeout(r, ms));
    return prev + 1;
  }).options({ maxRetries: 5 });
  // Warm-up: function shipping and the first links.
  await ray.get(Array.from({ length: 16 }, () => step.remote(0, 1)));

  const t0 = performance.now();
  const done = [];
  const events = [];
  const plan = PLAN.map((p) => ({ ...p, after: Math.round(p.at * TASKS) }));
  let acting = Promise.resolve();
  const onDone = () => {
    done.push(performance.now() - t0);
    while (plan.length && done.length >= plan[0].after) {
      const p = plan.shift();
      const t = performance.now() - t0;
      acting = acting.then(async () => {
        if (p.what === 'kill') await hosts[p.host].kill();
        else hosts[p.host] = await startNodeHost({ numWorkers: WORKERS, cluster: member });
        // `t`: when it was decided (after `after` completions); `ready`: when the kill returned or the new host had joined.
        events.push({ t: round(t / 1000, 2), ready: round((performance.now() - t0) / 1000, 2), what: p.what, host: p.host, after: p.after });
        log(`${p.what} ${p.host} after ${p.after} completions at ${round(t / 1000, 1)} s`);
      });
    }
  };
  const finals = [];
  for (let c = 0; c < CHAINS; c++) {
    let ref = step.remote(0, TASK_MS);
    const refs = [ref];
    for (let l = 1; l < LEVELS; l++) refs.push(ref = step.remote(ref, TASK_MS));
    for (const r of refs) void ray.get(r).then(onDone, () => undefined);
    finals.push(ref);
  }
  const results = await withTimeout(ray.get(finals), DEADLINE_MS - 30_000, 'the job');
  const wallS = (performance.now() - t0) / 1000;
  await acting;
  if (!results.every((x) => x === LEVELS)) throw new Error(`wrong results: ${JSON.stringify(results.slice(0, 5))}`);

  const buckets = Array.from({ length: Math.max(1, Math.ceil((wallS * 1000) / BUCKET_MS)) }, (_, i) => ({ t: round(((i + 0.5) * BUCKET_MS) / 1000, 2), tasksPerSec: 0 }));
  for (const t of done) buckets[Math.min(buckets.length - 1, Math.floor(t / BUCKET_MS))].tasksPerSec += 1000 / BUCKET_MS;
  const capacity = (n) => (n * WORKERS * 1000) / TASK_MS;
  const tasks = await ray.state.listTasks({ limit: 100_000 });
  const retried = tasks.filter((t) => t.attempt > 0).length;
  console.log(`${TASKS} tasks (${CHAINS} chains of ${LEVELS}), each a ${TASK_MS} ms timed wait, ${WORKERS} workers per host; ${wallS.toFixed(1)} s`);
  console.log(`capacity: ${capacity(4)} tasks/s with 4 hosts, ${capacity(2)} with 2; ${retried} task attempts after the first (retries of tasks on killed hosts)`);
  console.log('events:', events.map((e) => `${e.what} ${e.host} after ${e.after} completions at ${e.t} s${e.what === 'add' ? `, joined at ${e.ready} s` : ''}`).join('; '));
  console.log('tasks/s per 0.5 s:', buckets.map((b) => Math.round(b.tasksPerSec)).join(' '));
  writeJson(outPath, {
    benchmark: 'webray recovery: tasks/s while hosts are killed and added', date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, node: process.version, loadAvg: os.loadavg()[0] },
    config: { chains: CHAINS, levels: LEVELS, taskMs: TASK_MS, workersPerHost: WORKERS, bucketMs: BUCKET_MS },
    wallS: round(wallS, 2), retried, events, series: buckets,
  });
  writeFileSync(svgPath, lineChart({
    title: `tasks/s while hosts are killed and added (${TASKS} dependent ${TASK_MS} ms tasks)`,
    xLabel: 'time (s)', yLabel: 'tasks/s', xScale: 'linear',
    series: [{ name: `completions per ${BUCKET_MS} ms`, points: buckets.map((b) => ({ x: b.t, y: b.tasksPerSec })) }],
    markers: events.flatMap((e) => (e.what === 'kill' ? [{ x: e.t, label: `${e.host} killed` }] : [{ x: e.t, label: `${e.host} starts` }, { x: e.ready, label: `${e.host} joined` }])),
    guide: { y: capacity(4), label: 'capacity with 4 hosts' },
  }));
  console.log(`JSON: ${outPath}; chart: ${svgPath}`);
} catch (e) {
  log(e);
  exitCode = 1;
} finally {
  await ray.shutdown().catch(() => undefined);
  await Promise.all(Object.values(hosts).map((h) => h.stop()));
  peer.close();
}
process.exit(exitCode);
