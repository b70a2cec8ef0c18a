#!/usr/bin/env node
// The demo's ES training, measured in real tabs: the page web-demo/index.html (the learner and the
// serving actor; `demo.train()` runs an ES training and answers its totals), volunteer tabs from its
// volunteer link (web-demo/volunteer.html, Start pressed as a person would), and a Node host (the
// `webray host` bin), over WebRTC with a local PeerJS server, served by Vite with the repo's config.
// Two questions:
//  1. Wall time, episodes and simulation steps/s of one walker training to its goal on 1 tab, and on 3 tabs + a
//     Node host (more workers than this machine's 2 cores: the figure says what the mesh costs and
//     hides nothing), with the longest main-thread task of the learner tab (target ≤ 100 ms).
//  2. Efficiency: the same 2 rollout workers spread over 1, 2 and 3 hosts (1 tab with 2 workers;
//     2 tabs with 1 each; 2 volunteer tabs with 1 each and the learner tab paused, so it runs none),
//     simulation steps/s against the single host: the cost of the mesh.
// Usage: node packages/bench/src/rl-es.mjs [--env walker|cartpole] [--iterations N] [--pairs N] [--out file.json]
// Runs itself inside a loopback-only network namespace (`unshare -n`, as root).
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { createServer as createVite } from 'vite';
import { enterLoopbackNamespace } from './browser-cluster.mjs';
import { round, withTimeout } from './harness.mjs';
import { startNodeHost, startPeerServer } from './local-cluster.mjs';
import { writeJson } from './report.mjs';

const { values: args } = parseArgs({ options: { env: { type: 'string' }, iterations: { type: 'string' }, pairs: { type: 'string' }, out: { type: 'string' } } });
const ENV = args.env ?? 'walker';
/** The headline runs train to the walker's goal (a mean of 1,000 over 10 evaluation episodes: 30 iterations of 50 pairs, seed 1). */
const ITERATIONS = Number(args.iterations ?? 30);
/** The efficiency runs compare rates: fewer iterations do. */
const SPREAD_ITERATIONS = Math.min(ITERATIONS, 8);
const PAIRS = args.pairs === undefined ? undefined : Number(args.pairs);
const RUN_MS = 600_000;
const DEADLINE_MS = 1_800_000;
const outPath = args.out ?? fileURLToPath(new URL('../../../bench-results/rl-es.json', import.meta.url));
const repo = fileURLToPath(new URL('../../../', import.meta.url));

enterLoopbackNamespace(import.meta.url, 'RL (ES) bench');
const log = (...a) => console.error(...a);
setTimeout(() => { log(`RL bench: over ${DEADLINE_MS / 1000} s, giving up`); process.exit(1); }, DEADLINE_MS).unref();

const peer = await startPeerServer();
const vite = await createVite({ configFile: `${repo}vite.config.ts`, root: `${repo}web-demo`, logLevel: 'warn', server: { host: '127.0.0.1', port: 0, hmr: false } });
await vite.listen();
const origin = new URL(vite.resolvedUrls.local[0]).origin;
const browser = await chromium.launch({
  executablePath: process.env.WEBRAY_CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--allow-loopback-in-peer-connection'],
});

/** One cluster: the learner tab (`workers` workers, paused if asked), volunteer tabs, Node hosts; `demo.train` on the learner. */
async function measure(name, { workers, volunteers = [], nodeHosts = 0, pauseLearner = false, iterations = ITERATIONS }) {
  const context = await browser.newContext();
  await context.grantPermissions(['microphone'], { origin });
  const hosts = [];
  try {
    const cluster = { id: `rl-${Math.random().toString(16).slice(2, 8)}`, token: crypto.randomUUID(), signal: peer.signal, iceServers: [] };
    const learner = await context.newPage();
    learner.on('pageerror', (e) => log(`${name} learner page error:`, e.message));
    await learner.goto(`${origin}/?autorun=0&workers=${workers}#${encodeURIComponent(JSON.stringify({ cluster, role: 'driver' }))}`);
    await learner.waitForFunction(() => document.body.dataset.demo === 'done', undefined, { timeout: 120_000 });
    const join = await learner.getAttribute('#join-link', 'href');
    for (const n of volunteers) {
      const v = await context.newPage();
      v.on('pageerror', (e) => log(`${name} volunteer page error:`, e.message));
      await v.goto(join);
      await v.waitForFunction(() => document.body.dataset.state === 'ready', undefined, { timeout: 60_000 });
      await v.selectOption('#worker-count', String(n));
      await v.click('#start');
      await v.waitForFunction(() => document.body.dataset.state === 'started', undefined, { timeout: 60_000 });
    }
    if (nodeHosts > 0) {
      const member = await learner.evaluate(() => globalThis.demo.memberConfig());
      for (let i = 0; i < nodeHosts; i++) hosts.push(await startNodeHost({ numWorkers: 1, cluster: { ...member, signal: peer.signal, iceServers: [] } }));
    }
    // The learner is the tab a person watches: in front. Chromium lowers the main thread of a tab
    // in the background to nice 5 while its workers stay at 0, which starves it on 2 cores.
    await learner.bringToFront();
    const expected = 1 + volunteers.length + nodeHosts;
    await learner.waitForFunction((n) => globalThis.ray.nodes().then((ns) => new Set(ns.map((x) => x.hostId)).size === n), expected, { timeout: 60_000, polling: 200 });
    if (pauseLearner) await learner.evaluate(() => globalThis.ray.pause());
    log(`${name}: ${expected} host(s) in; training ${ENV} for ${iterations} iterations`);
    const r = await withTimeout(learner.evaluate(([env, n, pairs]) => globalThis.demo.train(env, { iterations: n, ...(pairs ? { pairs } : {}) }), [ENV, iterations, PAIRS]), RUN_MS, `${name} training`);
    // Rates over the iterations' own time: loading MuJoCo in each worker, the noise table and the evaluation are left out.
    const row = { name, ...r, hostsInCluster: expected, workers: workers * (pauseLearner ? 0 : 1) + volunteers.reduce((a, b) => a + b, 0) + nodeHosts,
      episodesPerS: round(r.episodes / r.trainSeconds, 1), stepsPerS: round(r.steps / r.trainSeconds, 0) };
    log(`${name}: ${round(r.seconds, 1)} s (iterations ${round(r.trainSeconds, 1)} s), ${r.episodes} episodes, ${row.stepsPerS} steps/s, mean reward ${round(r.meanReward, 1)}, longest main-thread task ${round(r.longestTaskMs, 0)} ms`);
    return row;
  } finally {
    await Promise.all(hosts.map((h) => h.stop()));
    await context.close();
  }
}

const runs = [];
runs.push(await measure('1 tab', { workers: 2 }));
runs.push(await measure('3 tabs + a Node host', { workers: 2, volunteers: [1, 1], nodeHosts: 1 }));
const spread = [
  await measure('2 workers on 1 host', { workers: 2, iterations: SPREAD_ITERATIONS }),
  await measure('2 workers on 2 hosts', { workers: 1, volunteers: [1], iterations: SPREAD_ITERATIONS }),
  await measure('2 workers on 3 hosts', { workers: 1, volunteers: [1, 1], pauseLearner: true, iterations: SPREAD_ITERATIONS }),
];
for (const s of spread) s.efficiency = round(s.stepsPerS / spread[0].stepsPerS, 2);

console.log(`\nES (${ENV}; ${ITERATIONS} iterations, ${SPREAD_ITERATIONS} for the efficiency runs) in Chromium tabs and a Node host, over WebRTC on this machine (2 cores)`);
console.log('run                        hosts workers  wall s  train s  episodes  episodes/s  steps/s   eval reward  longest task ms  efficiency');
for (const r of [...runs, ...spread]) {
  console.log(`${r.name.padEnd(27)}${String(r.hostsInCluster).padEnd(6)}${String(r.workers).padEnd(9)}${String(round(r.seconds, 1)).padEnd(8)}${String(round(r.trainSeconds, 1)).padEnd(9)}${String(r.episodes).padEnd(10)}` +
    `${String(r.episodesPerS).padEnd(12)}${String(r.stepsPerS).padEnd(10)}${String(round(r.evalMean, 1)).padEnd(13)}${(r.longestTaskMs ? String(round(r.longestTaskMs, 0)) : '< 50').padEnd(17)}${r.efficiency ?? ''}`);
}
writeJson(outPath, { env: ENV, iterations: ITERATIONS, spreadIterations: SPREAD_ITERATIONS, goal: 1000, runs, spread });
console.log(`JSON: ${outPath}`);
await browser.close();
await vite.close();
peer.close();
process.exit(0);
