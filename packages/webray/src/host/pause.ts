/**
 * Pausing a host (`ray.pause()`: a volunteer lends their tab no more for now). A paused host takes
 * no new work from the cluster: every member hears it and places nothing here, and the head counts
 * nothing free here. Tasks other hosts sent that have not reached a worker go back to their owners
 * unrun (they run elsewhere, no retry spent), as do those that arrive meanwhile; tasks on a worker
 * finish; actors here keep serving. This host's own tasks go to other hosts while any takes work.
 */
import type { HostContext } from './host-context.js';
import type { TaskManager, WorkGate } from './task-manager.js';
import type { TaskRecord } from './task-record.js';

export class HostPause implements WorkGate {
  private on = false;
  /** Tasks pinned to a node here ({ nodeId, soft: false }) that came while paused: they can run nowhere else, so they wait for resume. */
  private parked: TaskRecord[] = [];

  constructor(private readonly host: HostContext, private readonly tasks: TaskManager) {}

  get paused(): boolean {
    return this.on;
  }

  pause(): void {
    if (this.on) return;
    this.on = true;
    const { cluster } = this.host;
    if (!cluster) return;
    cluster.setPaused(true);
    // Queued work not yet on a worker: other hosts' goes back; this host's own is placed again.
    for (const t of this.host.scheduler.takeQueued()) this.tasks.enqueue(t);
  }

  resume(): void {
    if (!this.on) return;
    this.on = false;
    this.host.cluster?.setPaused(false);
    const parked = this.parked;
    this.parked = [];
    // Still waiting (not cancelled, its owner still in) — then it runs now.
    for (const t of parked) if (this.host.tasks.get(t.id) === t) this.tasks.enqueueHere(t);
    this.tasks.scheduleDispatch();
  }

  declines(t: TaskRecord): boolean {
    if (!this.on || !this.host.cluster) return false;
    const s = t.strategy;
    if (typeof s === 'object' && !s.soft) {
      t.state = 'PENDING_NODE_ASSIGNMENT';
      this.parked.push(t);
      return true;
    }
    this.host.cluster.handBack(t.remoteOwner!, t.id, t.attempt);
    this.tasks.forget(t);
    return true;
  }
}
