// A value crosses as it was when it was given, as in Ray (which serializes it then): the caller or
// the task may change the original right after, and the other side must not see that.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ray from '../index.js';

beforeAll(async () => {
  await ray.init({ numWorkers: 1 });
});

afterAll(async () => {
  await ray.shutdown();
});

const first = ray.remote((a: { k: number } | Float64Array | Map<string, number>) => (a instanceof Map ? a.get('k')! : a instanceof Float64Array ? a[0]! : a.k));
const busy = ray.remote((ms: number) => { const end = Date.now() + ms; while (Date.now() < end); return ms; });

describe('values are what they were when given', () => {
  it('a task\'s arguments are as they were at .remote(), even while it waits behind another task', async () => {
    const wait = busy.remote(100);
    const o = { k: 1 };
    const buf = new Float64Array(2).fill(1);
    const m = new Map([['k', 1]]);
    const refs = [first.remote(o), first.remote(buf), first.remote(m)];
    o.k = 2;
    buf.fill(2);
    m.set('k', 2);
    expect(await ray.get(refs)).toEqual([1, 1, 1]);
    await ray.get(wait);
  });

  it('an actor method\'s arguments too', async () => {
    const Keeper = ray.remote(class { v = 0; set(o: { v: number }) { this.v = o.v; return this.v; } });
    const k = Keeper.remote();
    const o = { v: 1 };
    const r = k.set.remote(o);
    o.v = 2;
    expect(await ray.get(r)).toBe(1);
  });

  it('a task\'s result is what it returned, even if later code changes that value (a buffer reused by the next task on the node)', async () => {
    const fill = ray.remote((k: number) => {
      const g = globalThis as { kept?: Float64Array };
      const a = (g.kept ??= new Float64Array(4));
      a.fill(k);
      return a;
    });
    const results = await ray.get(Array.from({ length: 20 }, (_, k) => fill.remote(k)));
    expect(results.map((a) => a[0])).toEqual(Array.from({ length: 20 }, (_, k) => k));
  });

  it('a task submitted by a task gets its arguments as they were at .remote()', async () => {
    const outer = ray.remote(async () => {
      const a = new Float64Array(1).fill(1);
      const r = first.remote(a);
      a.fill(2);
      return ray.get(r);
    }, { uses: () => [first] });
    expect(await ray.get(outer.remote())).toBe(1);
  });
});
