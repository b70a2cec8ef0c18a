/**
 * The local scheduler: places ready tasks on this host's task nodes. Resources are leased per
 * node, as Ray leases workers: a node that took a task of one scheduling class (same demand)
 * may be sent more of that class while it works ("pipelining"), up to a depth that follows
 * how long such tasks take, so tiny tasks flow in batches and long ones spread out.
 */
import type { Resources, SchedulingStrategy } from '../shared/options.js';
import { ResourcePool } from './resources.js';

export interface Schedulable {
  demand: Resources;
  /** Scheduling class: tasks with the same demand may share a node's lease. */
  key: string;
  /** What the task runs: pipelining depth follows how long this function's tasks take. */
  fn: { id: string };
  strategy: SchedulingStrategy;
}

export interface SchedNode {
  readonly id: string;
  /** Tasks sent and not finished: queued at the node, running or blocked. */
  inflight: number;
  /** Tasks blocked in ray.get: they hold no resources. */
  blocked: number;
  lease: Resources | null;
  leaseKey: string | null;
  alive: boolean;
}

/** How much queued work, in milliseconds, a node may hold beyond what it runs. */
const PIPELINE_BUDGET_MS = 2;
const MAX_DEPTH = 64;
const LONG_TASK_MS = 1000;

export class LocalScheduler<T extends Schedulable> {
  readonly pool: ResourcePool;
  readonly nodes: SchedNode[] = [];
  private readonly queues = new Map<string, T[]>();
  private readonly heads = new Map<string, number>();
  private readonly durations = new Map<string, number>();
  private spreadNext = 0;
  private queued = 0;
  /** Told once per scheduling class that no node here can ever run it. */
  onInfeasible: ((task: T) => void) | undefined;
  private readonly warned = new Set<string>();

  constructor(total: Resources) {
    this.pool = new ResourcePool(total);
  }

  get queueLength(): number {
    return this.queued;
  }

  /** Would a task with this demand find resources free here, after the tasks already waiting? */
  hasRoom(demand: Resources): boolean {
    let slots = Infinity;
    for (const k in demand) if (demand[k]! > 0) slots = Math.min(slots, Math.floor((this.pool.available[k] ?? 0) / demand[k]! + 1e-9));
    return this.queued < slots;
  }

  addNode(n: SchedNode): void {
    this.nodes.push(n);
  }

  removeNode(n: SchedNode): void {
    n.alive = false;
    this.releaseLease(n);
    const i = this.nodes.indexOf(n);
    if (i >= 0) this.nodes.splice(i, 1);
  }

  enqueue(t: T): void {
    let q = this.queues.get(t.key);
    if (!q) { q = []; this.queues.set(t.key, q); this.heads.set(t.key, 0); }
    q.push(t);
    this.queued++;
    if (!this.pool.feasible(t.demand) && !this.warned.has(t.key)) {
      this.warned.add(t.key);
      this.onInfeasible?.(t);
    }
  }

  /** Removes a queued task (cancel). */
  remove(t: T): boolean {
    const q = this.queues.get(t.key);
    if (!q) return false;
    const i = q.indexOf(t, this.heads.get(t.key));
    if (i < 0) return false;
    q.splice(i, 1);
    this.queued--;
    return true;
  }

  /** Removes and returns the queued tasks no node here can ever run (another host may). */
  takeInfeasible(): T[] {
    const out: T[] = [];
    for (const [key, q] of this.queues) {
      const h = this.heads.get(key)!;
      if (q.length === h || this.pool.feasible(q[h]!.demand)) continue;
      out.push(...q.splice(h));
    }
    this.queued -= out.length;
    return out;
  }

  /** Removes and returns every queued task (a host that pauses places them again). */
  takeQueued(): T[] {
    const out: T[] = [];
    for (const [key, q] of this.queues) out.push(...q.slice(this.heads.get(key)));
    this.queues.clear();
    this.heads.clear();
    this.queued = 0;
    return out;
  }

  /** Places every task that can be placed now; `place` sends it. */
  dispatch(place: (t: T, n: SchedNode) => void): void {
    if (this.queued === 0) return;
    for (const [key, q] of this.queues) {
      let h = this.heads.get(key)!;
      while (h < q.length) {
        const t = q[h]!;
        const n = this.choose(t);
        if (!n) break;
        q[h++] = undefined as unknown as T;
        this.queued--;
        this.assign(t, n);
        place(t, n);
      }
      if (h === q.length) { this.queues.delete(key); this.heads.delete(key); }
      else if (h > 1024 && h * 2 > q.length) { q.splice(0, h); this.heads.set(key, 0); }
      else this.heads.set(key, h);
    }
  }

  /**
   * Tasks a node may hold at once: the one it runs plus enough queued to cover a round trip to
   * the host (a busy page's main thread can take milliseconds to answer), except for long tasks,
   * where a queued one could wait behind a slow one while another node idles.
   */
  private depth(fn: string): number {
    const d = this.durations.get(fn);
    if (d === undefined) return 2;
    if (d >= LONG_TASK_MS) return 1;
    return Math.min(MAX_DEPTH, 1 + Math.ceil(PIPELINE_BUDGET_MS / Math.max(d, 0.001)));
  }

  private canTake(n: SchedNode, t: T, depth: number): boolean {
    if (!n.alive) return false;
    if (n.lease === null) return this.pool.fits(t.demand);
    return n.leaseKey === t.key && n.inflight - n.blocked < depth;
  }

  private choose(t: T): SchedNode | undefined {
    const s = t.strategy;
    const depth = this.depth(t.fn.id);
    if (typeof s === 'object') {
      const n = this.nodes.find((x) => x.id === s.nodeId);
      if (n) return this.canTake(n, t, depth) ? n : undefined;
      if (!s.soft) return undefined;
    }
    const nodes = this.nodes;
    if (s === 'SPREAD') {
      for (let i = 0; i < nodes.length; i++) {
        const n = nodes[(this.spreadNext + i) % nodes.length]!;
        if (this.canTake(n, t, depth)) { this.spreadNext = (this.spreadNext + i + 1) % nodes.length; return n; }
      }
      return undefined;
    }
    let best: SchedNode | undefined;
    for (const n of nodes) {
      if (!n.alive) continue;
      if (n.lease === null) {
        if (this.pool.fits(t.demand)) return n;
        continue;
      }
      if (n.leaseKey === t.key && n.inflight - n.blocked < depth && (!best || n.inflight - n.blocked < best.inflight - best.blocked)) best = n;
    }
    return best;
  }

  private assign(t: T, n: SchedNode): void {
    if (n.lease === null) {
      this.pool.take(t.demand);
      n.lease = t.demand;
      n.leaseKey = t.key;
    }
    n.inflight++;
  }

  private releaseLease(n: SchedNode): void {
    if (n.lease) this.pool.release(n.lease);
    n.lease = null;
    n.leaseKey = null;
  }

  /** A task of function `fn` on `n` ended; `ms` is how long it ran. */
  finished(n: SchedNode, fn: string, ms: number, wasBlocked: boolean): void {
    n.inflight--;
    if (wasBlocked) n.blocked--;
    const d = this.durations.get(fn);
    this.durations.set(fn, d === undefined ? ms : d * 0.8 + ms * 0.2);
    if (n.inflight - n.blocked <= 0) this.releaseLease(n);
  }

  /** A task on `n` waits in ray.get: it gives its resources back so others can run (no deadlock). */
  blocked(n: SchedNode): void {
    n.blocked++;
    if (n.inflight - n.blocked <= 0) this.releaseLease(n);
  }

  unblocked(n: SchedNode, t: T): void {
    n.blocked--;
    if (n.lease === null) {
      this.pool.take(t.demand);
      n.lease = t.demand;
      n.leaseKey = t.key;
    }
  }
}
