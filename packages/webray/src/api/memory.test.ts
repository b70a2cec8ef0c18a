/** A driver that runs a million tiny tasks ends where it started: nothing is kept per task. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as ray from '../index.js';
import { currentCore } from './core.js';
import type { HostRuntime } from '../host/runtime.js';

const gc = (globalThis as { gc?: () => void }).gc;

beforeAll(() => ray.init({ numWorkers: 2, taskLogSize: 1000 }));
afterAll(() => ray.shutdown());

async function settle(host: HostRuntime): Promise<void> {
  // Collect, then let finalizers (which release refs) run, until the object table stops shrinking.
  for (let i = 0, last = -1; i < 50 && host.objects.size !== last; i++) {
    last = host.objects.size;
    gc!();
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function workerHeaps(host: HostRuntime): Promise<number[]> {
  const nodes = [...host.nodes.values()];
  await Promise.all(nodes.map((n) => n.control.gc()));
  return Promise.all(nodes.map(async (n) => (await n.control.stats()).heapUsed));
}

async function run(f: ray.RemoteFunction<[number], number>, total: number, batch: number): Promise<void> {
  for (let done = 0; done < total; done += batch) {
    const refs = new Array<ray.ObjectRef<number>>(batch);
    for (let i = 0; i < batch; i++) refs[i] = f.remote(i);
    const values = await ray.get(refs);
    if (values[batch - 1] !== batch - 1) throw new Error('wrong result');
  }
}

it('keeps driver and worker memory flat over 1,000,000 tiny tasks', { timeout: 180_000 }, async () => {
  expect(gc, 'run with --expose-gc').toBeTypeOf('function');
  const host = currentCore() as HostRuntime;
  const f = ray.remote((x: number) => x);
  await run(f, 50_000, 10_000);
  await settle(host);
  const driverBefore = process.memoryUsage().heapUsed;
  const workersBefore = await workerHeaps(host);

  await run(f, 1_000_000, 10_000);
  await settle(host);

  expect(host.objects.size).toBe(0);
  expect(host.tasks.size).toBe(0);
  const driverGrowth = process.memoryUsage().heapUsed - driverBefore;
  const workersAfter = await workerHeaps(host);
  expect(driverGrowth, `driver heap grew ${(driverGrowth / 2 ** 20).toFixed(1)} MiB`).toBeLessThan(16 * 2 ** 20);
  workersAfter.forEach((h, i) => {
    const growth = h - workersBefore[i]!;
    expect(growth, `worker ${i} heap grew ${(growth / 2 ** 20).toFixed(1)} MiB`).toBeLessThan(8 * 2 ** 20);
  });
});
