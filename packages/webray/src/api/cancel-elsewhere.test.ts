// ray.cancel of a task its owner sent to another host: that host cancels it, as Ray's cancel does
// cluster-wide. Two hosts in one process over an in-memory network: the driver's host A and host B,
// the only one that offers the `far` resource, so tasks that need it run on B.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostRuntime } from '../host/runtime.js';
import { PartitionableNetwork, type HostSide } from '../test-support/partitionable-network.js';
import { taskOfObject } from '../shared/ids.js';
import * as ray from '../index.js';
import { currentCore } from './core.js';
import { startServingHost } from './index.js';
import { until } from '../test-support/until.js';

const net = new PartitionableNetwork();
let a: HostRuntime;
let b: HostRuntime;
let bSide: HostSide;

beforeAll(async () => {
  const keys = await ray.generateSubmitterKey();
  const base = { id: 'cancel-elsewhere', token: 'cancel-token', submitterPublicKey: keys.publicKey, heartbeatMs: 100, deadAfterMs: 1000 };
  await ray.init({ numWorkers: 1, cluster: { ...base, signaling: net.host(), submitterKey: keys.privateKey } });
  a = currentCore() as HostRuntime;
  bSide = net.host();
  b = await startServingHost({ numWorkers: 1, resources: { far: 1 }, cluster: { ...base, signaling: bSide } });
  await until(() => a.cluster!.member.linked(b.hostId), 20_000);
}, 60_000);

afterAll(async () => {
  await ray.shutdown();
  await b?.shutdown();
});

/** Waits for its cancellation signal (so it ends only when cancelled there). */
const waitsForCancel = ray.remote(async () => {
  const signal = ray.getRuntimeContext().signal!;
  await new Promise((resolve) => signal.addEventListener('abort', resolve));
  return 'ended after its abort';
}).options({ resources: { far: 1 } });

/** Never returns: only a stopped worker ends it. */
const spins = ray.remote(() => { for (;;); }).options({ resources: { far: 1 } });
const onB = ray.remote(() => ray.getRuntimeContext().hostId).options({ resources: { far: 1 } });

async function runningOnB(ref: ray.ObjectRef<unknown>): Promise<void> {
  await until(async () => {
    const [row] = await ray.state.listTasks({ filters: { taskId: taskOfObject(ref.id) } });
    return row?.state === 'RUNNING' && row.nodeId!.startsWith(`${b.hostId}.`);
  }, 20_000);
}

/** Cancels `ref`: its result fails cancelled, and B's worker then takes the next task. */
async function cancelThenBFree(ref: ray.ObjectRef<unknown>, options: { force?: boolean } = {}): Promise<void> {
  await ray.cancel(ref, options);
  await expect(ray.get(ref)).rejects.toBeInstanceOf(ray.TaskCancelledError);
  expect(await ray.get(onB.remote())).toBe(b.hostId);
}

describe('ray.cancel of a task running on another host', () => {
  it('aborts it there: its result fails cancelled, and that host\'s worker takes the next task', async () => {
    const ref = waitsForCancel.remote();
    await runningOnB(ref);
    await cancelThenBFree(ref);
    await until(() => a.tasks.size === 0 && b.tasks.size === 0);
  });

  it('with force stops the worker there', async () => {
    const ref = spins.remote();
    await runningOnB(ref);
    await cancelThenBFree(ref, { force: true });
  });

  it('reaches a task whose cancel overtakes it (its function is still being signed for that host)', async () => {
    // A function new to host B: its task waits for the signature while the cancel goes at once.
    const spinsToo = ray.remote(() => { for (;;); }).options({ resources: { far: 1 } });
    // It never ran there: B's worker takes the next task.
    await cancelThenBFree(spinsToo.remote(), { force: true });
    await until(() => a.tasks.size === 0 && b.tasks.size === 0);
  });

  it('a cancelled task whose host hands it back (it paused) is not placed again', async () => {
    const blocker = waitsForCancel.remote();
    await runningOnB(blocker);
    const queued = onB.remote();
    await until(() => b.tasks.has(taskOfObject(queued.id)));
    b.pause();
    await until(() => a.cluster!.isPaused(b.hostId));
    // The owner cancels it while B's hand-back of it is on its way (the frame's arrival, in the same turn).
    const cancelling = ray.cancel(queued);
    a.remoteTaskHandedBack(b.hostId, taskOfObject(queued.id), 0);
    await cancelling;
    await expect(ray.get(queued)).rejects.toBeInstanceOf(ray.TaskCancelledError);
    await ray.cancel(blocker);
    await until(() => a.tasks.size === 0);
    b.resume();
    await until(() => !a.cluster!.isPaused(b.hostId));
  });

  it('reaches an actor on another host: a queued call never runs, a running one is aborted there', async () => {
    class Waiter {
      ran: string[] = [];
      async waits(tag: string) {
        this.ran.push(tag);
        const signal = ray.getRuntimeContext().signal!;
        await new Promise((resolve) => signal.addEventListener('abort', resolve));
        this.ran.push(`${tag} aborted`);
        return tag;
      }
      log() { return this.ran; }
    }
    const w = ray.remote(Waiter).options({ resources: { far: 1 }, maxConcurrency: 1 }).remote();
    try {
      const running = w.waits.remote('first');
      const queued = w.waits.remote('second');
      await runningOnB(running);
      await ray.cancel(queued);
      await ray.cancel(running);
      await expect(ray.get(running)).rejects.toBeInstanceOf(ray.TaskCancelledError);
      await expect(ray.get(queued)).rejects.toBeInstanceOf(ray.TaskCancelledError);
      expect(await ray.get(w.log.remote())).toEqual(['first', 'first aborted']);
    } finally {
      await ray.kill(w);
    }
  });

  it('a cancelled task whose host is then lost ends cancelled, not retried', async () => {
    // Spinning, it cannot see its abort: it would run on until its host went.
    const ref = spins.options({ maxRetries: 3 }).remote();
    await runningOnB(ref);
    await ray.cancel(ref);
    await expect(ray.get(ref)).rejects.toBeInstanceOf(ray.TaskCancelledError);
    bSide.cutOff();
    await until(() => a.tasks.size === 0, 20_000);
    expect((await ray.state.listTasks({ filters: { taskId: taskOfObject(ref.id) } }))[0]!.state).toBe('FAILED');
  });
});
