// A simulated host: webray's real LocalScheduler over simulated task nodes (no workers, no
// store), wired the way host/runtime.ts and host/cluster-host.ts wire it. The spill rule and the
// load reports are webray's (scheduler/bottom-up.ts); the glue around them (one 'place' frame per
// turn, sending placed tasks) mirrors the runtime's private methods.
import { LocalScheduler } from '../../../webray/dist/scheduler/local.js';
import { LoadReporter, spills } from '../../../webray/dist/scheduler/bottom-up.js';
import { fromWire, toWire } from '../../../webray/dist/host/cluster-host.js';
import { demandKey } from './workload.mjs';

export class SimHost {
  #spilling = [];
  #asked = new Map();
  #nextReq = 1;
  #dispatchQueued = false;
  #reporter;
  #lastReport = -Infinity;

  /** `world`: { net, clock, meter, headId, taskTicks, reportTicks, stats }. */
  constructor(id, cpus, world) {
    this.id = id;
    this.cpus = cpus;
    this.world = world;
    this.scheduler = new LocalScheduler({ CPU: cpus });
    /** CPUs taken by tasks running now (the check that leases never oversubscribe a host). */
    this.runningCpus = 0;
    this.maxRunningCpus = 0;
    this.ran = 0;
    /** 'load' frames sent sooner than reportTicks after the one before (the rate bound broken). */
    this.reportsTooSoon = 0;
    for (let i = 0; i < cpus; i++) {
      this.scheduler.addNode({ id: `${id}-n${i}`, inflight: 0, blocked: 0, lease: null, leaseKey: null, alive: true, queue: [], current: null });
    }
    world.net.attach(id, 'host', (from, f) => this.#receive(from, f));
    const tickMs = world.tickMs;
    this.#reporter = new LoadReporter(() => world.clock.tick * tickMs, (load) => this.#sendLoad(load), world.reportTicks * tickMs);
    this.#reportTicks();
  }

  /** A task submitted on this host (its driver): here while there is room, else to the head. */
  submit(t) {
    if (spills(this.id, t.argBytes, this.scheduler.hasRoom(t.demand))) this.#spill(t);
    else this.#enqueueHere(t);
  }

  #spill(t) {
    if (this.#spilling.push(t) === 1) queueMicrotask(() => this.world.meter.time('spill', () => this.#sendSpilled()));
  }

  #sendSpilled() {
    const batch = this.#spilling;
    this.#spilling = [];
    const req = this.#nextReq++;
    this.#asked.set(req, batch);
    this.world.net.send(this.id, this.world.headId, { t: 'place', req, tasks: batch.map((t) => ({ demand: t.demand, args: t.argBytes })) });
  }

  #placed(req, hosts) {
    const batch = this.#asked.get(req);
    this.#asked.delete(req);
    batch.forEach((t, i) => {
      const host = hosts[i];
      if (host && host !== this.id) this.#sendRemote(t, host);
      else this.#enqueueHere(t);
    });
  }

  #sendRemote(t, host) {
    const f = { t: 'task', id: t.id, fn: t.fn.id, name: t.fn.id, args: toWire(t.wireArgs), nret: 1, attempt: 0, demand: t.demand };
    if (t.refs.length) f.refs = t.refs;
    this.world.net.send(this.id, host, f);
  }

  #enqueueHere(t) {
    this.scheduler.enqueue(t);
    this.#scheduleDispatch();
  }

  #scheduleDispatch() {
    if (this.#dispatchQueued) return;
    this.#dispatchQueued = true;
    queueMicrotask(() => this.world.meter.time('dispatch', () => this.#dispatch()));
  }

  #dispatch() {
    this.#dispatchQueued = false;
    this.scheduler.dispatch((t, n) => this.#run(t, n));
    this.#reporter.update({ free: this.scheduler.pool.available, queued: this.scheduler.queueLength });
  }

  /** As a host's timer does: the reporter sends held-back changes and the periodic refresh. */
  #reportTicks() {
    this.world.clock.after(this.world.reportTicks, () => {
      this.world.meter.time('report', () => this.#reporter.tick());
      this.#reportTicks();
    });
  }

  #sendLoad(load) {
    const tick = this.world.clock.tick;
    if (tick - this.#lastReport < this.world.reportTicks) this.reportsTooSoon++;
    this.#lastReport = tick;
    this.world.net.send(this.id, this.world.headId, { t: 'load', free: load.free, queued: load.queued });
  }

  /** The node "runs" its tasks one at a time, each for taskTicks of simulated time. */
  #run(t, n) {
    n.queue.push(t);
    if (!n.current) this.#start(n);
  }

  #start(n) {
    const t = n.queue.shift();
    n.current = t;
    this.world.meter.outside(() => {
      this.runningCpus += t.demand.CPU;
      this.maxRunningCpus = Math.max(this.maxRunningCpus, this.runningCpus);
      this.ran++;
      this.world.stats.started(t, this.id);
    });
    this.world.clock.after(this.world.taskTicks, () => this.world.meter.time('complete', () => this.#complete(n)));
  }

  #complete(n) {
    const t = n.current;
    n.current = null;
    this.runningCpus -= t.demand.CPU;
    this.scheduler.finished(n, t.fn.id, this.world.taskTicks * this.world.tickMs, false);
    if (t.owner === this.id) this.world.meter.outside(() => this.world.stats.done(t.id));
    else this.world.net.send(this.id, t.owner, { t: 'done', id: t.id, values: toWire([null]), start: 0, end: 0 });
    if (n.queue.length) this.#start(n);
    this.#scheduleDispatch();
  }

  /** A task another host placed here: it runs here (no second spill), its result goes back to `from`. */
  #accept(from, f) {
    return { id: f.id, owner: from, demand: f.demand, key: demandKey(f.demand), fn: { id: f.fn }, strategy: 'DEFAULT', argBytes: [], wireArgs: fromWire(f.args), refs: f.refs ?? [] };
  }

  #receive(from, f) {
    switch (f.t) {
      case 'placed': this.#placed(f.req, f.hosts); return;
      case 'task': this.#enqueueHere(this.#accept(from, f)); return;
      case 'done': this.world.meter.outside(() => this.world.stats.done(f.id)); return;
      default: this.world.net.drops.add(`'${f.t}' is not for a host in the sim`);
    }
  }
}
