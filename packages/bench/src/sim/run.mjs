// One sim run: a head and N hosts in this process, tasks submitted by every `driverEvery`-th host
// at about the cluster's capacity, until all have completed. Returns what it measured and checked.
import { PerformanceObserver } from 'node:perf_hooks';
import { round } from '../harness.mjs';
import { VirtualClock } from './clock.mjs';
import { SimHead } from './head.mjs';
import { SimHost } from './host.mjs';
import { Meter } from './meter.mjs';
import { SimNet } from './net.mjs';
import { SimStats } from './stats.mjs';
import { MEAN_CPUS, makeTask, random } from './workload.mjs';

const macrotask = () => new Promise((resolve) => setTimeout(resolve, 0));

/**
 * A tick is `tickMs` of simulated time and at least one macrotask of real time, so a frame sent
 * in one tick arrives by the next (the in-memory link delivers a macrotask later).
 */
export async function simulate(o) {
  const meter = new Meter();
  const net = new SimNet(meter);
  const clock = new VirtualClock();
  const stats = new SimStats(o.tasks);
  const world = { net, clock, meter, stats, headId: 'head', tickMs: o.tickMs, taskTicks: o.taskTicks, reportTicks: o.reportTicks };
  const hosts = Array.from({ length: o.hosts }, (_, i) => new SimHost(`h${i}`, o.cpus, world));
  const byId = new Map(hosts.map((h) => [h.id, h]));
  const hasRoom = (id, demand) => byId.get(id).scheduler.hasRoom(demand);
  new SimHead('head', hosts, world, (tasks, placed) => stats.placed(tasks, placed, hasRoom));
  // Every `driverEvery`-th host submits, `maxDrivers` at most: most tasks leave their driver at every N.
  const drivers = hosts.filter((_, i) => i % o.driverEvery === 0).slice(0, o.maxDrivers);
  for (const h of hosts) {
    net.connect(h.id, 'head');
    for (const d of drivers) net.connect(d.id, h.id);
  }
  const hostIds = hosts.map((h) => h.id);
  const perTick = Math.max(1, Math.round((o.loadFactor * o.hosts * o.cpus) / MEAN_CPUS / o.taskTicks));
  const rand = random(o.seed);

  // Garbage collection, wherever it fell: how much of the cost is memory, which grows with the sim's heap.
  let gcMs = 0;
  const gc = new PerformanceObserver((list) => { for (const e of list.getEntries()) gcMs += e.duration; });
  gc.observe({ entryTypes: ['gc'] });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let submitted = 0;
  while (stats.completed < o.tasks) {
    if (clock.tick > o.maxTicks) throw new Error(`${o.hosts} hosts: ${stats.completed} of ${o.tasks} tasks done after ${clock.tick} ticks`);
    clock.advance();
    for (const end = Math.min(o.tasks, submitted + perTick); submitted < end; submitted++) {
      const d = drivers[submitted % drivers.length];
      const t = meter.outside(() => {
        const task = makeTask(submitted, d.id, hostIds, rand);
        stats.submitted(task);
        return task;
      });
      meter.time('submit', () => d.submit(t));
    }
    await macrotask();
  }
  while (net.inFlight > 0) await macrotask();
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await macrotask();
  gc.disconnect();

  const perTask = (ms) => round((ms * 1000) / o.tasks, 3);
  const simulatedS = (clock.tick * o.tickMs) / 1000;
  const ran = hosts.map((h) => h.ran);
  const byCategory = {};
  for (const k of Object.keys(meter.ms).sort()) byCategory[k] = perTask(meter.ms[k]);
  return {
    hosts: o.hosts,
    tasks: o.tasks,
    drivers: drivers.length,
    ticks: clock.tick,
    simulatedS: round(simulatedS, 2),
    wallMs: round(wallMs, 1),
    schedUsPerTask: perTask(meter.totalMs),
    byCategory,
    processCpuUsPerTask: round((cpu.user + cpu.system) / o.tasks, 3),
    harnessUsPerTask: perTask(meter.outsideMs),
    gcUsPerTask: perTask(gcMs),
    framesPerTask: round(net.framesSent / o.tasks, 3),
    frames: { ...net.sent },
    loadReportsPerHostPerS: round((net.sent.load ?? 0) / o.hosts / simulatedS, 2),
    spilledFraction: round(stats.placedByHead / o.tasks, 4),
    localityFraction: round(stats.ranByData / stats.withData, 4),
    dataHadRoom: stats.dataHadRoom,
    missedLocality: stats.missedLocality,
    missedLocalityFraction: round(stats.missedLocality / stats.dataHadRoom, 4),
    imbalance: round(Math.max(...ran) / (ran.reduce((a, b) => a + b, 0) / ran.length), 3),
    links: net.links,
    checks: {
      notExactlyOnce: stats.notExactlyOnce(),
      hostsOverCpus: hosts.filter((h) => h.maxRunningCpus > h.cpus).length,
      reportsTooSoon: hosts.reduce((n, h) => n + h.reportsTooSoon, 0),
      maxRunningCpus: Math.max(...hosts.map((h) => h.maxRunningCpus)),
      drops: net.drops.count,
      dropReasons: net.drops.reasons,
    },
  };
}
