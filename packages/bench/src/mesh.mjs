#!/usr/bin/env node
// Two tabs in headless Chromium as a webray cluster (local PeerJS server, loopback only):
// moving a 32 MiB object between them against a plain RTCDataChannel carrying the same bytes,
// and the round trip of a tiny task placed on the other tab against a plain ping-pong — the
// same browser, the same run, interleaved, median of the repetitions.
// Usage: node packages/bench/src/mesh.mjs [--reps N] [--pings N] [--out file.json]
// Runs itself inside a loopback-only network namespace (`unshare -n`, as root) so no packet
// leaves the machine; without it, it refuses to run.
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { enterLoopbackNamespace, startBrowserCluster } from './browser-cluster.mjs';
import { median, percentile, round } from './harness.mjs';
import { writeJson } from './report.mjs';

const { values: args } = parseArgs({
  options: { reps: { type: 'string' }, pings: { type: 'string' }, out: { type: 'string' } },
});
const REPS = Number(args.reps ?? 5);
const PINGS = Number(args.pings ?? 200);
const BYTES = 32 * 1024 * 1024;
const outPath = args.out ?? fileURLToPath(new URL('../../../bench-results/mesh.json', import.meta.url));

enterLoopbackNamespace(import.meta.url, 'mesh bench');

const log = (...a) => console.error(...a);
const bc = await startBrowserCluster('mesh', log);
const { signal, tabs } = bc;
const { member, driver } = bc.cluster('mesh-bench');
const tab = (config) => bc.openTab(config);

let exitCode = 0;
try {
  // The driver first: a host with only the join token waits for a head.
  const a = await tab({ init: { numWorkers: 1, cluster: driver }, rawId: 'raw-a', rawPeer: 'raw-b', signal });
  await tab({ init: { numWorkers: 1, resources: { remote: 1 }, cluster: member }, rawId: 'raw-b', rawPeer: 'raw-a', signal });
  await a.waitForFunction(async () => (await window.bench.hosts()) === 2, undefined, { timeout: 30_000, polling: 100 });
  await a.evaluate(() => window.bench.connectRaw());
  // Warm-up, unrecorded: code paths, function shipping, the first pull.
  await a.evaluate((b) => window.bench.rawTransfer(b), BYTES);
  await a.evaluate((b) => window.bench.webrayTransfer(b), BYTES);

  const mbps = (ms) => round(BYTES / 2 ** 20 / (ms / 1000), 1);
  const reps = { raw: [], webray: [] };
  for (let r = 0; r < REPS; r++) {
    const order = r % 2 ? ['webray', 'raw'] : ['raw', 'webray'];
    for (const who of order) {
      const ms = await a.evaluate(([w, b]) => (w === 'raw' ? window.bench.rawTransfer(b) : window.bench.webrayTransfer(b)), [who, BYTES]);
      reps[who].push(ms);
    }
    log(`32 MiB rep ${r + 1}/${REPS}: plain channel ${mbps(reps.raw.at(-1))} MiB/s, webray ${mbps(reps.webray.at(-1))} MiB/s`);
  }
  const rawPing = await a.evaluate((n) => window.bench.rawPing(n), PINGS);
  const rayPing = await a.evaluate((n) => window.bench.webrayPing(n), PINGS);
  const rawPing2 = await a.evaluate((n) => window.bench.rawPing(n), PINGS);
  const allRaw = [...rawPing, ...rawPing2];

  const transfer = {
    raw: { medianMs: round(median(reps.raw), 1), mibPerSec: mbps(median(reps.raw)), reps: reps.raw.map((x) => round(x, 1)) },
    webray: { medianMs: round(median(reps.webray), 1), mibPerSec: mbps(median(reps.webray)), reps: reps.webray.map((x) => round(x, 1)) },
  };
  const ratio = round(transfer.webray.mibPerSec / transfer.raw.mibPerSec, 3);
  const rtt = {
    raw: { p50Ms: round(percentile(allRaw, 50), 3), p99Ms: round(percentile(allRaw, 99), 3), n: allRaw.length },
    webray: { p50Ms: round(percentile(rayPing, 50), 3), p99Ms: round(percentile(rayPing, 99), 3), n: rayPing.length },
  };
  console.log('case                          system          median        p50 ms   p99 ms');
  console.log('----------------------------  --------------  ------------  -------  -------');
  console.log(`32 MiB between two tabs       plain channel   ${String(transfer.raw.mibPerSec).padStart(7)} MiB/s`);
  console.log(`32 MiB between two tabs       webray          ${String(transfer.webray.mibPerSec).padStart(7)} MiB/s`);
  console.log(`round trip to the other tab   plain ping      ${''.padStart(12)}  ${String(rtt.raw.p50Ms).padStart(7)}  ${String(rtt.raw.p99Ms).padStart(7)}`);
  console.log(`round trip to the other tab   webray task     ${''.padStart(12)}  ${String(rtt.webray.p50Ms).padStart(7)}  ${String(rtt.webray.p99Ms).padStart(7)}`);
  const pass = ratio >= 0.9;
  console.log(`\ntarget:\n  ${pass ? 'PASS' : 'FAIL'}  32 MiB between tabs: webray >= 0.9x a plain RTCDataChannel: measured ${ratio}x`);
  console.log(`\n${os.cpus().length} CPUs, Chromium via playwright-core, loopback-only namespace, ${REPS} interleaved reps, ${PINGS} pings`);
  writeJson(outPath, { benchmark: 'webray mesh (two tabs)', date: new Date().toISOString(), bytes: BYTES, reps: REPS, transfer, ratio, rtt, target: { text: 'webray >= 0.9x plain data channel (32 MiB)', pass } });
  console.log(`JSON: ${outPath}`);
} catch (e) {
  log(e);
  for (const [i, p] of tabs.entries()) log(`tab ${i}:`, JSON.stringify(await p.evaluate(() => window.bench.diag()).catch((x) => String(x))));
  exitCode = 1;
} finally {
  await bc.close();
}
process.exit(exitCode);
