import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ray from '../index.js';

beforeAll(() => ray.init({ numWorkers: 3 }));
afterAll(() => ray.shutdown());

const where = ray.remote(async (ms: number) => {
  await new Promise((r) => setTimeout(r, ms));
  return ray.getRuntimeContext().nodeId;
});

describe('scheduling strategies', () => {
  it('SPREAD places tasks across every node', async () => {
    const nodes = await ray.get(Array.from({ length: 30 }, () => where.options({ schedulingStrategy: 'SPREAD' }).remote(1)));
    expect(new Set(nodes).size).toBe(3);
  });

  it('{ nodeId } runs every task on that node', async () => {
    const target = (await ray.nodes()).filter((n) => n.kind === 'task')[1]!.nodeId;
    const nodes = await ray.get(Array.from({ length: 10 }, () => where.options({ schedulingStrategy: { nodeId: target } }).remote(1)));
    expect(new Set(nodes)).toEqual(new Set([target]));
  });

  it('{ nodeId, soft } falls back to any node when that node does not exist; hard stays pending', async () => {
    expect(await ray.get(where.options({ schedulingStrategy: { nodeId: 'nowhere', soft: true } }).remote(1))).toMatch(/\.\d+$/);
    const hard = where.options({ schedulingStrategy: { nodeId: 'nowhere' } }).remote(1);
    const [ready] = await ray.wait([hard], { timeout: 100 });
    expect(ready).toEqual([]);
    await ray.cancel(hard);
  });

  it('numCpus limits how many tasks run at once', async () => {
    const Gauge = ray.remote(class Gauge {
      running = 0;
      peak = 0;
      enter() { this.peak = Math.max(this.peak, ++this.running); }
      exit() { this.running--; }
      max() { return this.peak; }
    });
    const gauge = Gauge.remote();
    const busy = ray.remote(async (g: ray.ActorHandle<{ enter(): void; exit(): void }>) => {
      g.enter.remote();
      await new Promise((r) => setTimeout(r, 20));
      g.exit.remote();
    });
    await ray.get([1, 2, 3].map(() => busy.options({ numCpus: 2 }).remote(gauge)));
    expect(await ray.get(gauge.max.remote())).toBe(1);
    await ray.get([1, 2, 3].map(() => busy.remote(gauge)));
    expect(await ray.get(gauge.max.remote())).toBeGreaterThan(1);
  });

  it('rejects unknown options and bad values with what is allowed', () => {
    expect(() => where.options({ numReturn: 2 } as never)).toThrow(/unknown option 'numReturn'/);
    expect(() => where.options({ maxRetries: 1.5 })).toThrow(/'maxRetries' must be an integer/);
    expect(() => where.options({ resources: { CPU: 1 } })).toThrow(/numCpus/);
    expect(() => where.options({ schedulingStrategy: 'RANDOM' as never })).toThrow(/schedulingStrategy/);
  });
});
