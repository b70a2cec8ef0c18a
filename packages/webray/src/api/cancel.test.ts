import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ray from '../index.js';

beforeAll(() => ray.init({ numWorkers: 1 }));
afterAll(() => ray.shutdown());

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
    const children = await ray.state.listTasks({ filters: { parentTaskId: r.id.slice(0, 24) } });
    expect(children.map((t) => t.state)).toEqual(['FAILED']);
    expect(children[0]!.errorType).toBe('TaskCancelledError');
  });

  it('is a no-op for a finished task', async () => {
    const r = spin.remote(1);
    expect(await ray.get(r)).toBe(1);
    await ray.cancel(r);
    expect(await ray.get(r)).toBe(1);
  });
});
