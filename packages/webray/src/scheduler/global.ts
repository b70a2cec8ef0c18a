/**
 * The global scheduler of Ray's bottom-up scheme: hosts run their tasks themselves while they
 * have free resources and send the rest here. A task goes to a host with free resources that
 * already holds the most of its argument bytes (locality), otherwise to the least loaded host
 * that can run it. The view of load comes from the hosts' reports (bounded in rate) plus what was
 * placed on each since its last report. Runs on the head; knows nothing of transport.
 */
import type { Resources } from '../shared/options.js';
import { covers } from './resources.js';

/** What a host says of itself: resources free now and tasks waiting in its queue. */
export interface LoadReport {
  free: Resources;
  queued: number;
}

/** How many of a task's argument bytes one host holds (one entry per host). */
export interface ArgBytes {
  host: string;
  bytes: number;
}

interface HostLoad {
  readonly id: string;
  readonly total: Resources;
  readonly cpus: number;
  free: Resources;
  queued: number;
  /** Bumped at each change: heap entries with an older version are stale. */
  version: number;
  gone: boolean;
  /** Paused (a volunteer's tab lending no more for now): gets no tasks, counts nothing free. */
  paused: boolean;
}

interface HeapEntry {
  load: number;
  host: HostLoad;
  version: number;
}

export class GlobalScheduler {
  private readonly hosts = new Map<string, HostLoad>();
  /** Min-heap by load with lazy deletion: a host's change pushes a new entry, stale ones are skipped. */
  private heap: HeapEntry[] = [];

  get size(): number {
    return this.hosts.size;
  }

  /** A host joined (or its resources changed): until it reports, all of it counts as free. */
  hostJoined(id: string, total: Resources): void {
    const old = this.hosts.get(id);
    if (old) old.gone = true;
    const h: HostLoad = { id, total: { ...total }, cpus: Math.max(total.CPU ?? 0, 1), free: { ...total }, queued: 0, version: 0, gone: false, paused: false };
    this.hosts.set(id, h);
    this.changed(h);
  }

  hostLeft(id: string): void {
    const h = this.hosts.get(id);
    if (!h) return;
    h.gone = true;
    this.hosts.delete(id);
  }

  /** A host's own view of its load replaces the estimate (what was placed there since included). */
  report(id: string, r: LoadReport): void {
    const h = this.hosts.get(id);
    if (!h) return;
    h.free = { ...r.free };
    h.queued = r.queued;
    this.changed(h);
  }

  /** A host paused (it takes no new work) or resumed. */
  hostPaused(id: string, paused: boolean): void {
    const h = this.hosts.get(id);
    if (!h || h.paused === paused) return;
    h.paused = paused;
    this.changed(h);
  }

  /** Resources free across the cluster, as far as reports and placements tell. */
  available(): Resources {
    const out: Resources = {};
    for (const h of this.hosts.values()) if (!h.paused) for (const k in h.free) out[k] = (out[k] ?? 0) + Math.max(0, h.free[k]!);
    return out;
  }

  /**
   * The host for a task: the one with free resources holding most of its argument bytes, else
   * the least loaded that can run it. Undefined when no host can. The choice counts against that
   * host's load until its next report.
   */
  place(demand: Resources, args: readonly ArgBytes[] = []): string | undefined {
    const h = this.local(demand, args) ?? this.leastLoaded(demand);
    if (!h) return undefined;
    if (covers(h.free, demand)) for (const k in demand) h.free[k] = (h.free[k] ?? 0) - demand[k]!;
    else h.queued++;
    this.changed(h);
    return h.id;
  }

  private local(demand: Resources, args: readonly ArgBytes[]): HostLoad | undefined {
    let best: HostLoad | undefined;
    let bestBytes = 0;
    for (const a of args) {
      const h = this.hosts.get(a.host);
      if (h && !h.paused && a.bytes > bestBytes && covers(h.free, demand)) { best = h; bestBytes = a.bytes; }
    }
    return best;
  }

  private leastLoaded(demand: Resources): HostLoad | undefined {
    const heap = this.heap;
    while (heap.length) {
      const top = heap[0]!;
      // A paused host's entry goes too: its resume pushes a new one.
      if (top.host.gone || top.version !== top.host.version || top.host.paused) { this.pop(); continue; }
      if (covers(top.host.total, demand)) return top.host;
      break;
    }
    // The least loaded host lacks a resource the task needs (a custom one): look at every host.
    let best: HostLoad | undefined;
    for (const h of this.hosts.values()) if (!h.paused && covers(h.total, demand) && (!best || loadOf(h) < loadOf(best))) best = h;
    return best;
  }

  private changed(h: HostLoad): void {
    h.version++;
    this.push({ load: loadOf(h), host: h, version: h.version });
    if (this.heap.length > 4 * this.hosts.size + 64) this.compact();
  }

  /** Drops stale entries (the heap would otherwise grow with every report). */
  private compact(): void {
    this.heap = [];
    for (const h of this.hosts.values()) this.push({ load: loadOf(h), host: h, version: h.version });
  }

  private push(e: HeapEntry): void {
    const heap = this.heap;
    let i = heap.push(e) - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (heap[p]!.load <= e.load) break;
      heap[i] = heap[p]!;
      i = p;
    }
    heap[i] = e;
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop()!;
    if (heap.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= heap.length) break;
      const c = l + 1 < heap.length && heap[l + 1]!.load < heap[l]!.load ? l + 1 : l;
      if (heap[c]!.load >= last.load) break;
      heap[i] = heap[c]!;
      i = c;
    }
    heap[i] = last;
  }
}

/** Busy CPUs plus queued tasks, per CPU: 0 idle, 1 every CPU busy, above 1 a backlog. */
function loadOf(h: HostLoad): number {
  return (h.cpus - (h.free.CPU ?? 0) + h.queued) / h.cpus;
}
