import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ray from '../index.js';
import { taskOfObject } from '../shared/ids.js';
import { until } from '../test-support/until.js';

beforeAll(() => ray.init({ numWorkers: 1 }));
afterAll(() => ray.shutdown());

/** Resolves once the task given `flags` says it runs (flags[1] leaves 0). */
const runs = (flags: Int32Array) => (Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number): { value: unknown } }).waitAsync(flags, 1, 0).value;

const spin = ray.remote((ms: number) => { const end = Date.now() + ms; while (Date.now() < end) { /* busy */ } return ms; });

describe('ray.cancel', () => {
  it('cancels a queued task before it runs', async () => {
    const busy = spin.remote(150);
    const queued = spin.remote(1);
    await ray.cancel(queued);
    await expect(ray.get(queued)).rejects.toBeInstanceOf(ray.TaskCancelledError);
    expect(await ray.get(busy)).toBe(150);
  });

  it('aborts a running async task through its signal', async () => {
    const cooperative = ray.remote(async () => {
      const signal = ray.getRuntimeContext().signal!;
      await new Promise((resolve) => signal.addEventListener('abort', resolve));
      return 'saw abort';
    });
    const r = cooperative.remote();
    const [ready] = await ray.wait([r], { timeout: 100 });
    expect(ready).toEqual([]);
    await ray.cancel(r);
    await expect(ray.get(r)).rejects.toBeInstanceOf(ray.TaskCancelledError);
  });

  it('aborts a running actor call through its own signal; a queued call never runs', async () => {
    class Waiter {
      ran: string[] = [];
      async waits(tag: string) {
        // Read before the first await: the call's own context (an actor's methods share one `ray`).
        const { signal, taskId } = ray.getRuntimeContext();
        this.ran.push(`${tag} ${taskId}`);
        await new Promise((resolve) => signal!.addEventListener('abort', resolve));
        this.ran.push(`${tag} aborted`);
        return tag;
      }
      log() { return this.ran; }
    }
    const w = ray.remote(Waiter).options({ maxConcurrency: 1 }).remote();
    try {
      const running = w.waits.remote('first');
      const queued = w.waits.remote('second');
      await until(async () => (await ray.state.listTasks({ filters: { taskId: taskOfObject(running.id) } }))[0]?.state === 'RUNNING');
      await ray.cancel(queued);
      await ray.cancel(running);
      await expect(ray.get(running)).rejects.toBeInstanceOf(ray.TaskCancelledError);
      await expect(ray.get(queued)).rejects.toBeInstanceOf(ray.TaskCancelledError);
      expect(await ray.get(w.log.remote())).toEqual([`first ${taskOfObject(running.id)}`, 'first aborted']);
    } finally {
      await ray.kill(w);
    }
  });

  it('fails a running CPU-bound task\'s result at once, and runs nothing beside it until it returns', async () => {
    // flags[0]: 1 lets the busy task return; flags[1]: 1 while it runs, 2 once it returned.
    const flags = new Int32Array(new SharedArrayBuffer(8));
    const busy = ray.remote((f: Int32Array) => {
      Atomics.store(f, 1, 1);
      Atomics.notify(f, 1);
      while (Atomics.load(f, 0) === 0) { /* CPU-bound: no await, nothing can interrupt it */ }
      Atomics.store(f, 1, 2);
      return 'ended';
    });
    const r = busy.remote(flags);
    let next: ray.ObjectRef<number>;
    try {
      await runs(flags);
      await ray.cancel(r);
      // Without the fix this waits for the task to end: the timeout turns that into another error.
      await expect(ray.get(r, { timeout: 10_000 })).rejects.toBeInstanceOf(ray.TaskCancelledError);
      expect(Atomics.load(flags, 1)).toBe(1);
      // The only worker's CPU is still the cancelled task's: a next task waits (here or queued on
      // the worker), and does not start beside it.
      next = ray.remote(function afterCancelled(f: Int32Array) { return Atomics.load(f, 1); }).remote(flags);
      expect((await ray.availableResources()).CPU ?? 0).toBe(0);
      const [row] = await ray.state.listTasks({ filters: { name: 'afterCancelled' } });
      expect(['PENDING_NODE_ASSIGNMENT', 'SUBMITTED_TO_WORKER']).toContain(row!.state);
    } finally {
      Atomics.store(flags, 0, 1);
    }
    expect(await ray.get(next)).toBe(2);
  });

  it('stops a running synchronous task with force, and the pool keeps its size', async () => {
    const r = spin.remote(60_000);
    await new Promise((res) => setTimeout(res, 50));
    await ray.cancel(r, { force: true });
    await expect(ray.get(r)).rejects.toBeInstanceOf(ray.TaskCancelledError);
    expect(await ray.get(spin.remote(1))).toBe(1);
    expect((await ray.nodes()).filter((n) => n.kind === 'task').length).toBe(1);
  });

  it('cancels the tasks a task submitted, with recursive', async () => {
    const parent = ray.remote(async () => {
      const child = ray.remote(async () => { await new Promise(() => undefined); });
      return ray.get(child.remote());
    });
    const r = parent.remote();
    const [ready] = await ray.wait([r], { timeout: 100 });
    expect(ready).toEqual([]);
    await ray.cancel(r, { recursive: true });
    await expect(ray.get(r)).rejects.toBeInstanceOf(ray.TaskCancelledError);
    // The results fail at once; the records end when the node says the tasks stopped.
    const children = () => ray.state.listTasks({ filters: { parentTaskId: r.id.slice(0, 24) } });
    for (let i = 0; i < 2000 && (await children()).some((t) => t.state !== 'FAILED'); i++) await new Promise((res) => setTimeout(res, 1));
    expect((await children()).map((t) => t.state)).toEqual(['FAILED']);
    expect((await children())[0]!.errorType).toBe('TaskCancelledError');
  });

  it('is a no-op for a finished task', async () => {
    const r = spin.remote(1);
    expect(await ray.get(r)).toBe(1);
    await ray.cancel(r);
    expect(await ray.get(r)).toBe(1);
  });
});
