/**
 * Leaving a cluster gracefully (`ray.shutdown({ graceful: true })`: a volunteer pressing Leave),
 * so that nothing needs redoing once the host is gone. The host pauses (other hosts' work not yet
 * on a worker goes back to its owner, unrun); tasks running for other hosts finish, within the
 * timeout; then each owner pulls the results kept here for it. Only then does the host say goodbye.
 * Past the timeout it leaves anyway, and what is left is recovered as after a crash (tasks
 * retried, objects rebuilt). Actors here are restarted elsewhere by their owners (maxRestarts),
 * as on a host loss.
 */
import type { Timers } from '../platform/types.js';
import type { HostContext } from './host-context.js';
import type { HostPause } from './pause.js';
import { NORMAL } from './task-record.js';

/** How often the drain looks again at what is left (tasks end and pulls finish on other events). */
const LOOK_MS = 20;

export interface LeaveReport {
  /** Tasks of other hosts still running here at the timeout (their owners retry them). */
  unfinishedTasks: number;
  /** Objects kept for their owners that they had not taken at the timeout (rebuilt if needed). */
  unhandedObjects: number;
}

export async function drainForLeave(host: HostContext, pause: HostPause, timers: Timers, timeoutMs: number): Promise<LeaveReport> {
  const cluster = host.cluster;
  if (!cluster) return { unfinishedTasks: 0, unhandedObjects: 0 };
  const deadline = timers.now() + timeoutMs;
  pause.pause();
  const othersTasks = () => {
    let n = 0;
    // Not those pinned here waiting for a resume (PENDING_NODE_ASSIGNMENT while paused): they
    // can run nowhere else, and their owners hear of them as of any task of a host that left.
    for (const t of host.tasks.values()) if (t.type === NORMAL && t.remoteOwner !== undefined && t.state !== 'PENDING_NODE_ASSIGNMENT') n++;
    return n;
  };
  // On the platform's timers: a hidden tab's own are throttled to once a second (once a minute after five).
  const until = (done: () => boolean) => new Promise<void>((resolve) => {
    const over = () => done() || timers.now() >= deadline;
    if (over()) { resolve(); return; }
    const stop = timers.every(LOOK_MS, () => { if (over()) { stop(); resolve(); } });
  });
  await until(() => othersTasks() === 0);
  // Results of the tasks that just finished are kept here too: hand everything over at once.
  cluster.handOverKept();
  await until(() => cluster.keptCount === 0);
  return { unfinishedTasks: othersTasks(), unhandedObjects: cluster.keptCount };
}
