#!/usr/bin/env node
// The pause a driver sees when the head leaves: four hosts in this process over the in-memory
// transport (the head H with the operator key, two serving hosts, the driver with the
// submitter key; each new serving host has the operator key too, so it may become the next head). The driver keeps asking the head for a named actor that lives on S1 while H
// shuts down (its links close, as when a process is killed): the figure is the longest lookup
// (the pause), and the time from the start of H's shutdown until listJobs lists every live job again. A head that goes silent instead adds the heartbeat timeout (`deadAfterMs`) to this.
// Usage: pnpm --filter webray build && node packages/bench/src/head-failover.mjs [--reps N]
import { parseArgs } from 'node:util';
import * as ray from '../../webray/dist/index.js';
import { startServingHost } from '../../webray/dist/api/index.js';
import { MemorySignaling } from '../../webray/dist/mesh/signaling.js';
import { median, round } from './harness.mjs';

const { values: args } = parseArgs({ options: { reps: { type: 'string' } } });
const REPS = Number(args.reps ?? 5);
const keys = await ray.generateSubmitterKey();
const operator = await ray.generateSubmitterKey();
const signaling = new MemorySignaling();
const config = (id) => ({ id, token: 'bench-secret', submitterPublicKey: keys.publicKey, operatorPublicKey: operator.publicKey, signaling, heartbeatMs: 100, deadAfterMs: 2000 });

class Named { ping() { return 1; } }
const lookups = [];
const jobs = [];
// Each repetition: a new serving host joins, and the head is shut down (until the driver or S1 is elected).
const asOperator = () => ({ ...config('bench-head'), operatorKey: operator.privateKey });
const hosts = [await startServingHost({ numWorkers: 1, cluster: asOperator() })];
const s1 = await startServingHost({ numWorkers: 1, resources: { s1: 1 }, cluster: config('bench-head') });
await ray.init({ numWorkers: 1, cluster: { ...config('bench-head'), submitterKey: keys.privateKey } });
const named = ray.remote(Named).options({ name: 'on-s1', resources: { s1: 1 }, lifetime: 'detached' }).remote();
await ray.get(named.ping.remote());
await ray.getActor('on-s1');
for (let r = 0; r < REPS; r++) {
  hosts.push(await startServingHost({ numWorkers: 1, cluster: asOperator() }));
  const head = hosts.find((h) => h.cluster.member.isHead);
  if (!head) break; // the driver or S1 became the head: shutting it down would end the run
  const before = (await ray.state.listJobs()).length;
  // Lookups back to back while the head shuts down: the pause is the longest wait for one.
  let done = false;
  let longest = 0;
  const asking = (async () => {
    while (!done) {
      const t = performance.now();
      await ray.getActor('on-s1');
      longest = Math.max(longest, performance.now() - t);
    }
  })();
  const t0 = performance.now();
  hosts.splice(hosts.indexOf(head), 1);
  await head.shutdown();
  while ((await ray.state.listJobs()).length < before - 1) await new Promise((res) => setTimeout(res, 1));
  jobs.push(performance.now() - t0);
  done = true;
  await asking;
  lookups.push(longest);
  console.error(`rep ${r + 1}: longest lookup ${round(lookups.at(-1), 1)} ms; jobs listed again ${round(jobs.at(-1), 1)} ms after the head began to shut down`);
}
console.log(JSON.stringify({ reps: lookups.length, lookupMs: { median: round(median(lookups), 1), all: lookups.map((x) => round(x, 1)) }, listJobsMs: { median: round(median(jobs), 1), all: jobs.map((x) => round(x, 1)) } }));
await ray.shutdown();
for (const h of [...hosts, s1]) await h.shutdown();
