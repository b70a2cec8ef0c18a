#!/usr/bin/env node
// The pause a driver sees when the head goes, over real WebRTC: Node processes (the `webray host`
// bin) and a local PeerJS server. Per repetition a fresh cluster: H (operator key, started first:
// the head), S (operator key: the head's standby), W (join token only, holds a detached named
// actor) and the driver (this process, submitter key). The driver asks back to back, each ask
// bounded, `ray.getActor(name)` (answered by the head's table: the driver asks the head every time)
// and calls to the named actor on W (straight to W), while H is taken away three ways: stop()
// (says bye), SIGKILL (the kernel closes its sockets), SIGSTOP (silent: its links stay open and the
// PeerJS server keeps its id; SIGKILLed once listJobs is whole again, or at the end). Figures: the
// longest lookup (the pause), the longest actor call, and the time until `ray.state.listJobs()`
// answers with the job of every live process.
// Usage: node packages/bench/src/head-failover-webrtc.mjs [--reps N] [--ways stop,kill,sigstop] [--out file.json]
// Runs itself inside a loopback-only network namespace (`unshare -n`, as root).
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { enterLoopbackNamespace } from './browser-cluster.mjs';
import { median, round, withTimeout } from './harness.mjs';
import { startNodeHost, startPeerServer } from './local-cluster.mjs';
import { writeJson } from './report.mjs';

const { values: args } = parseArgs({ options: { reps: { type: 'string' }, ways: { type: 'string' }, out: { type: 'string' } } });
const REPS = Number(args.reps ?? 3);
const HEARTBEAT_MS = 200;
const DEAD_AFTER_MS = 2000;
/** Bound of one ask (lookup, call, listJobs); an ask that hits it counts as this long and is reported. */
const ASK_MS = 30_000;
/** Asks before the head goes (the baseline), and after listJobs is whole again. */
const SETTLE_MS = 500;
/** How long listJobs is polled for every live job before the repetition records that it never was. */
const JOBS_MS = 45_000;
const DEADLINE_MS = 30_000 + REPS * 150_000;
const WAYS = {
  // take() resolves once H can no longer answer (it exited, or it is frozen): listJobs is polled from then on.
  stop: { what: 'stop(): closes stdin, the host says bye', take: (h) => h.stop() },
  kill: { what: 'SIGKILL: the kernel closes its sockets', take: (h) => h.kill() },
  sigstop: { what: 'SIGSTOP: silent, links stay open (SIGKILLed once listJobs is whole, or at the end)', take: async (h) => h.freeze() },
};
const ways = args.ways ? args.ways.split(',') : Object.keys(WAYS);
const outPath = args.out ?? fileURLToPath(new URL('../../../bench-results/head-failover-webrtc.json', import.meta.url));

enterLoopbackNamespace(import.meta.url, 'head failover (WebRTC) bench');
const log = (...a) => console.error(...a);
setTimeout(() => { log(`head failover bench: over ${DEADLINE_MS / 1000} s, giving up`); process.exit(1); }, DEADLINE_MS).unref();

const ray = await import('webray');
const keys = await ray.generateSubmitterKey();
const operator = await ray.generateSubmitterKey();
class Named { ping() { return 1; } }

/** The first 20 and the last of a long list (a head that never comes back fails thousands of asks). */
const few = (xs) => (xs.length > 21 ? [...xs.slice(0, 20), xs.at(-1)] : xs);

/** Asks `op` back to back until stop() (each bounded); records every ask's start and wait. */
function askLoop(op, what) {
  const asks = [];
  let running = true;
  const done = (async () => {
    while (running) {
      const start = performance.now();
      let failed;
      try { await withTimeout(op(), ASK_MS, what); } catch (e) { failed = String(e?.message ?? e); }
      asks.push({ start, end: performance.now(), failed });
      // An ask answered in microtasks (by this process, if it is the head) or failing at once must
      // not starve the timers (and the deadline); a failing one is not retried in a tight loop.
      await new Promise((r) => (failed ? setTimeout(r, 10) : setImmediate(r)));
    }
  })();
  return { asks, stop() { running = false; return done; } };
}

/** One repetition: a fresh cluster, H taken away `way`; returns the figures (ms from the moment H was taken). */
async function once(way, rep) {
  const peer = await startPeerServer();
  const member = { id: `hpause-${way}-${rep}`, token: 'hpause-token', submitterPublicKey: keys.publicKey, operatorPublicKey: operator.publicKey, signal: peer.signal, iceServers: [], heartbeatMs: HEARTBEAT_MS, deadAfterMs: DEAD_AFTER_MS };
  const asOperator = { ...member, operatorKey: operator.privateKey };
  const procs = [];
  const loops = [];
  try {
    const h = await startNodeHost({ numWorkers: 1, cluster: asOperator });
    procs.push(h);
    const s = await startNodeHost({ numWorkers: 1, cluster: asOperator });
    procs.push(s);
    const w = await startNodeHost({ numWorkers: 1, resources: { w: 1 }, cluster: member });
    procs.push(w);
    log(`${way} rep ${rep + 1}: H, S and W joined; the driver joins`);
    await withTimeout(ray.init({ numWorkers: 1, cluster: { ...member, submitterKey: keys.privateKey } }), 30_000, 'the driver joining');
    // As recovery.mjs: the driver's view of the cluster includes W (and its resource) before the actor is made.
    const stopAt = performance.now() + 30_000;
    while (!(await ray.nodes()).some((n) => n.hostId === w.hostId)) {
      if (performance.now() > stopAt) throw new Error('the driver does not see W in ray.nodes() within 30 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    const named = ray.remote(Named).options({ name: 'on-w', resources: { w: 1 }, lifetime: 'detached' }).remote();
    await withTimeout(ray.get(named.ping.remote()), 30_000, 'the named actor on W');
    await withTimeout(ray.getActor('on-w'), 10_000, 'the first lookup');
    const live = [ray.getRuntimeContext().hostId, s.hostId, w.hostId];
    const jobsBefore = await withTimeout(ray.state.listJobs(), ASK_MS, 'listJobs before');
    const whole = (jobs) => live.every((id) => jobs.some((j) => j.hostId === id && j.state === 'RUNNING'));
    if (!whole(jobsBefore)) throw new Error(`listJobs before the head went lacks a live process's job: ${JSON.stringify(jobsBefore)}`);

    const lookups = askLoop(() => ray.getActor('on-w'), 'a lookup');
    const calls = askLoop(() => ray.get(named.ping.remote()), 'an actor call');
    loops.push(lookups, calls);
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const t0 = performance.now();
    log(`${way} rep ${rep + 1}: the head is taken away`);
    await WAYS[way].take(h);
    const goneMs = performance.now() - t0;
    let jobsMs = null;
    let polls = 0;
    // What listJobs answered (changes only), to tell a missing job from no answer.
    const answers = [];
    while (jobsMs === null && performance.now() - t0 < JOBS_MS) {
      polls++;
      const jobs = await withTimeout(ray.state.listJobs(), ASK_MS, 'listJobs').catch((e) => String(e?.message ?? e));
      const seen = typeof jobs === 'string' ? jobs : jobs.map((j) => `${j.hostId}:${j.state}`).sort().join(' ');
      if (answers.at(-1)?.seen !== seen) answers.push({ atMs: round(performance.now() - t0), seen });
      if (typeof jobs !== 'string' && whole(jobs)) jobsMs = performance.now() - t0;
      else await new Promise((r) => setTimeout(r, 20));
    }
    if (jobsMs === null) log(`${way} rep ${rep + 1}: listJobs did not list every live job (${live.join(', ')}) within ${JOBS_MS / 1000} s; it answered: ${JSON.stringify(answers)}`);
    if (way === 'sigstop') await h.kill();
    // A few more asks after the new head answers: the pause ends with the first lookup it answers.
    const afterJobs = performance.now();
    while (performance.now() - afterJobs < SETTLE_MS || !lookups.asks.some((a) => a.start > afterJobs)) {
      if (performance.now() - afterJobs > ASK_MS) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await Promise.all([lookups.stop(), calls.stop()]);
    const figures = (asks) => {
      const during = asks.filter((a) => a.end >= t0);
      const before = asks.filter((a) => a.end < t0).map((a) => a.end - a.start);
      return {
        afterMedianMs: median(asks.filter((a) => a.start > afterJobs).map((a) => a.end - a.start)),
        longestMs: Math.max(0, ...during.map((a) => a.end - a.start)),
        baselineMedianMs: median(before),
        asks: during.length,
        failed: [...new Set(during.filter((a) => a.failed).map((a) => a.failed))],
        failedCount: during.filter((a) => a.failed).length,
        // The slow or failed asks, in ms from the moment H was taken away.
        notable: few(during.filter((a) => a.failed || a.end - a.start > 1000).map((a) => ({ startMs: round(a.start - t0), endMs: round(a.end - t0), ...(a.failed ? { failed: a.failed } : {}) }))),
        notableCount: during.filter((a) => a.failed || a.end - a.start > 1000).length,
      };
    };
    return { lookup: figures(lookups.asks), call: figures(calls.asks), listJobsMs: jobsMs, listJobsPolls: polls, listJobsAnswers: answers, live: { driver: live[0], standby: live[1], serving: live[2], head: h.hostId }, headGoneMs: goneMs };
  } finally {
    await Promise.all(loops.map((l) => l.stop()));
    await withTimeout(ray.shutdown(), 10_000, 'ray.shutdown').catch((e) => log(e));
    await Promise.all(procs.map((p) => p.kill()));
    peer.close();
  }
}

const results = Object.fromEntries(Object.keys(WAYS).map((w) => [w, []]));
const errors = [];
let exitCode = 0;
try {
  // The ways take turns, so a slow moment of the machine does not land on one way only.
  for (let r = 0; r < REPS; r++) {
    for (const way of ways) {
      let x;
      try {
        x = await once(way, r);
      } catch (e) {
        // A repetition whose cluster did not come up (or broke) is reported; the others still run.
        log(`${way} rep ${r + 1} failed: ${e?.stack ?? e}`);
        errors.push({ way, rep: r + 1, error: String(e?.message ?? e) });
        exitCode = 1;
        continue;
      }
      results[way].push(x);
      const fails = [...new Set([...x.lookup.failed, ...x.call.failed])];
      log(`${way} rep ${r + 1}: longest lookup ${round(x.lookup.longestMs)} ms, longest call ${round(x.call.longestMs)} ms, listJobs whole after ${round(x.listJobsMs)} ms (H gone after ${round(x.headGoneMs)} ms); median lookup after: ${round(x.lookup.afterMedianMs, 3)} ms${fails.length ? `; failed asks: ${fails.join(' | ')}` : ''}`);
      for (const [kind, f] of [['lookup', x.lookup], ['call', x.call]]) {
        for (const n of f.notable.slice(0, 3)) log(`  ${kind} from ${n.startMs} to ${n.endMs} ms${n.failed ? `: ${n.failed}` : ''}`);
        if (f.notableCount > 3) log(`  … ${f.notableCount - 3} more slow or failed ${kind}s, the last from ${f.notable.at(-1).startMs} to ${f.notable.at(-1).endMs} ms`);
      }
    }
  }
} catch (e) {
  log(e);
  exitCode = 1;
}

// A repetition where listJobs never listed every live job counts as null (and is not in median or max).
const stat = (xs) => {
  const got = xs.filter((x) => x !== null);
  return { median: round(median(got)), max: got.length ? round(Math.max(...got)) : null, all: xs.map((x) => (x === null ? null : round(x))) };
};
const summary = Object.fromEntries(Object.entries(results).filter(([, xs]) => xs.length).map(([way, xs]) => [way, {
  what: WAYS[way].what,
  reps: xs.length,
  lookupPauseMs: stat(xs.map((x) => x.lookup.longestMs)),
  actorCallLongestMs: stat(xs.map((x) => x.call.longestMs)),
  listJobsWholeMs: stat(xs.map((x) => x.listJobsMs)),
  lookupBaselineMs: round(median(xs.map((x) => x.lookup.baselineMedianMs)), 2),
  callBaselineMs: round(median(xs.map((x) => x.call.baselineMedianMs)), 2),
  lookupAfterMs: round(median(xs.map((x) => x.lookup.afterMedianMs)), 3),
  failedAsks: [...new Set(xs.flatMap((x) => [...x.lookup.failed, ...x.call.failed]))],
  failedAskCount: xs.reduce((n, x) => n + x.lookup.failedCount + x.call.failedCount, 0),
}]));
console.log(`head failover over WebRTC: H (head) taken away while the driver asks; heartbeatMs ${HEARTBEAT_MS}, deadAfterMs ${DEAD_AFTER_MS}; median (max) in ms over reps`);
const pad = (s, n) => String(s).padEnd(n);
console.log(`${pad('way', 9)}${pad('reps', 6)}${pad('lookup pause', 18)}${pad('longest actor call', 20)}${pad('listJobs whole', 28)}baseline lookup/call`);
for (const [way, s] of Object.entries(summary)) {
  const never = (x) => x.all.filter((v) => v === null).length;
  const c = (x) => `${x.median} (${x.max})${never(x) ? ` +${never(x)} never` : ''}`;
  console.log(`${pad(way, 9)}${pad(s.reps, 6)}${pad(c(s.lookupPauseMs), 18)}${pad(c(s.actorCallLongestMs), 20)}${pad(c(s.listJobsWholeMs), 28)}${s.lookupBaselineMs} / ${s.callBaselineMs}`);
  if (s.failedAskCount) console.log(`  ${way}: ${s.failedAskCount} asks failed or timed out: ${s.failedAsks.join(' | ')}`);
}
writeJson(outPath, {
  benchmark: 'webray head failover over WebRTC: the driver\'s pause when the head goes', date: new Date().toISOString(),
  machine: { cpus: os.cpus().length, node: process.version, loadAvg: os.loadavg()[0] },
  config: { heartbeatMs: HEARTBEAT_MS, deadAfterMs: DEAD_AFTER_MS, askBoundMs: ASK_MS, repsPerWay: REPS, workersPerHost: 1 },
  summary, reps: results, errors,
});
for (const e of errors) console.log(`${e.way} rep ${e.rep} failed: ${e.error}`);
console.log(`JSON: ${outPath}`);
process.exit(exitCode);
