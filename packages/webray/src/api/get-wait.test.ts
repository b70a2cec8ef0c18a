import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ray from '../index.js';

beforeAll(() => ray.init({ numWorkers: 2 }));
afterAll(() => ray.shutdown());

const sleep = ray.remote(async (ms: number, v: string) => { await new Promise((r) => setTimeout(r, ms)); return v; });

describe('ray.get', () => {
  it('returns one value for one ref and an array for an array', async () => {
    expect(await ray.get(ray.put('x'))).toBe('x');
    expect(await ray.get([ray.put(1), ray.put('a')])).toEqual([1, 'a']);
    expect(await ray.get([])).toEqual([]);
  });

  it('rejects with GetTimeoutError after its timeout, and the object still arrives later', async () => {
    const r = sleep.remote(300, 'late');
    const err = await ray.get(r, { timeout: 20 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ray.GetTimeoutError);
    expect((err as ray.GetTimeoutError).objectIds).toEqual([r.id]);
    expect(await ray.get(r)).toBe('late');
  });

  it('refuses what is not a ref, saying what it got', async () => {
    await expect(ray.get(42 as never)).rejects.toThrow(/expects an ObjectRef or an array of ObjectRefs, got 42 \(a number\)/);
    await expect(ray.get([ray.put(1), 'x'] as never)).rejects.toThrow(/element 1 is not an ObjectRef/);
  });
});

describe('ray.wait', () => {
  it('returns [ready, notReady] in input order, honouring numReturns', async () => {
    const refs = [sleep.remote(400, 'slow'), ray.put('a'), sleep.remote(1, 'fast'), ray.put('b')];
    const [ready, notReady] = await ray.wait(refs, { numReturns: 3 });
    expect(ready).toEqual([refs[1], refs[2], refs[3]]);
    expect(notReady).toEqual([refs[0]]);
  });

  it('returns at most numReturns ready refs even when more are ready', async () => {
    const refs = [ray.put(1), ray.put(2), ray.put(3)];
    const [ready, notReady] = await ray.wait(refs, { numReturns: 2 });
    expect(ready).toEqual([refs[0], refs[1]]);
    expect(notReady).toEqual([refs[2]]);
  });

  it('returns what is ready when the timeout passes', async () => {
    const refs = [sleep.remote(500, 'slow'), ray.put('now')];
    const [ready, notReady] = await ray.wait(refs, { numReturns: 2, timeout: 50 });
    expect(ready).toEqual([refs[1]]);
    expect(notReady).toEqual([refs[0]]);
  });

  it('counts a failed task as ready', async () => {
    const boom = ray.remote(() => { throw new Error('x'); });
    const r = boom.remote();
    const [ready] = await ray.wait([r]);
    expect(ready).toEqual([r]);
  });

  it('rejects numReturns larger than the list and duplicate refs', async () => {
    const r = ray.put(1);
    await expect(ray.wait([r], { numReturns: 2 })).rejects.toThrow(/numReturns must be an integer from 0 to the number of refs \(1\)/);
    await expect(ray.wait([r, r])).rejects.toThrow(/distinct/);
  });

  it('works inside a task', async () => {
    const inner = ray.remote(async () => {
      const s = ray.remote(async (ms: number) => { await new Promise((res) => setTimeout(res, ms)); return ms; });
      const refs = [s.remote(60_000), ray.put(1)];
      const [ready, notReady] = await ray.wait(refs, { numReturns: 1 });
      await ray.cancel(notReady[0]!);
      return ray.get(ready[0]!);
    });
    expect(await ray.get(inner.remote())).toBe(1);
  });
});
