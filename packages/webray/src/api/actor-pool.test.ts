import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import * as ray from '../index.js';

beforeAll(() => ray.init({ numWorkers: 2 }));
afterAll(() => ray.shutdown());

class Doubler {
  calls = 0;
  double(v: number) { this.calls++; return 2 * v; }
  count() { return this.calls; }
  /** Returns `v` once flags[0] is set (Atomics: no timers). */
  async gated(flags: Int32Array, v: number) {
    while (Atomics.load(flags, 0) === 0) await (Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number): { value: Promise<unknown> | string } }).waitAsync(flags, 0, 0).value;
    return v;
  }
}
const DoublerActor = ray.remote(Doubler);
const gate = () => new Int32Array(new SharedArrayBuffer(4));
const open = (flags: Int32Array) => { Atomics.store(flags, 0, 1); Atomics.notify(flags, 0); };

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('ActorPool (Ray\'s ray.util.ActorPool)', () => {
  it('maps values over its actors (all submitted at once), results in order', async () => {
    const actors = [DoublerActor.remote(), DoublerActor.remote()];
    const pool = new ray.ActorPool(actors);
    const doubled = pool.map((a, v: number) => a.double.remote(v), [1, 2, 3, 4, 5, 6, 7]);
    expectTypeOf(doubled).toEqualTypeOf<AsyncGenerator<number>>();
    expect(await collect(doubled)).toEqual([2, 4, 6, 8, 10, 12, 14]);
    // Both actors worked, the calls spread over them.
    const counts = await ray.get(actors.map((a) => a.count.remote()));
    expect(counts[0]! + counts[1]!).toBe(7);
    expect(counts.every((c) => c > 0)).toBe(true);
    expect(pool.hasNext()).toBe(false);
  });

  it('mapUnordered gives results as they come', async () => {
    const pool = new ray.ActorPool([DoublerActor.remote(), DoublerActor.remote()]);
    const flags = gate();
    const results: number[] = [];
    for await (const v of pool.mapUnordered((a, v: number) => (v === 1 ? a.gated.remote(flags, 1) : a.double.remote(v)), [1, 2, 3])) {
      results.push(v);
      // 1 waits for its gate: 4 and 6 (from the other actor) come first.
      if (results.length === 2) open(flags);
    }
    expect(results).toEqual([4, 6, 1]);
  });

  it('submit / getNext / getNextUnordered, with a timeout', async () => {
    const pool = new ray.ActorPool([DoublerActor.remote()]);
    const flags = gate();
    pool.submit((a, v: number) => a.gated.remote(flags, v), 5);
    pool.submit((a, v: number) => a.double.remote(v), 6);
    expect(pool.hasFree()).toBe(false);
    await expect(pool.getNext({ timeout: 20 })).rejects.toBeInstanceOf(ray.GetTimeoutError);
    open(flags);
    expect(await pool.getNext<number>()).toBe(5);
    expect(await pool.getNextUnordered<number>()).toBe(12);
    expect(pool.hasNext()).toBe(false);
    await expect(pool.getNext()).rejects.toThrow(/no more results to get/);
  });

  it('ignoreIfTimedOut drops the late call and frees its actor', async () => {
    const pool = new ray.ActorPool([DoublerActor.remote()]);
    const flags = gate();
    pool.submit((a, v: number) => a.gated.remote(flags, v), 1);
    await expect(pool.getNext({ timeout: 20, ignoreIfTimedOut: true })).rejects.toBeInstanceOf(ray.GetTimeoutError);
    expect(pool.hasNext()).toBe(false);
    expect(pool.hasFree()).toBe(true);
    open(flags);
    pool.submit((a, v: number) => a.double.remote(v), 21);
    expect(await pool.getNext()).toBe(42);
  });

  it('popIdle and push take actors out and put them back; getNext cannot follow getNextUnordered', async () => {
    const a = DoublerActor.remote();
    const b = DoublerActor.remote();
    const pool = new ray.ActorPool([a, b]);
    const taken = pool.popIdle()!;
    expect([a, b]).toContain(taken);
    expect(() => pool.push(taken === a ? b : a)).toThrow(/already belongs to this pool/);
    const flags = gate();
    pool.submit((x, v: number) => x.gated.remote(flags, v), 1);
    expect(pool.popIdle()).toBeNull();
    pool.submit((x, v: number) => x.double.remote(v), 2); // queued: the pool has one actor left
    pool.push(taken); // takes the queued call at once
    expect(pool.hasFree()).toBe(false);
    // The later call's result comes first; the earlier one is still out, but the order is gone.
    expect(await pool.getNextUnordered<number>()).toBe(4);
    await expect(pool.getNext()).rejects.toThrow(/getNext cannot follow getNextUnordered/);
    open(flags);
    expect(await pool.getNextUnordered<number>()).toBe(1);
  });

  it('takes each result once when several callers wait at the same time', async () => {
    const pool = new ray.ActorPool([DoublerActor.remote(), DoublerActor.remote()]);
    for (const v of [1, 2, 3, 4]) pool.submit((a, x: number) => a.double.remote(x), v);
    const got = await Promise.all([1, 2, 3, 4].map(() => pool.getNextUnordered<number>()));
    expect(got.sort((x, y) => x - y)).toEqual([2, 4, 6, 8]);
    expect(pool.hasNext()).toBe(false);
  });

  it('keeps an actor whose call could not be made, and drops one that died', async () => {
    const alive = DoublerActor.remote();
    const dead = DoublerActor.remote();
    await ray.get(dead.count.remote());
    await ray.kill(dead);
    const pool = new ray.ActorPool([dead, alive]);
    expect(() => pool.submit(() => { throw new TypeError('no such method'); }, 1)).toThrow('no such method');
    expect(pool.hasFree()).toBe(true);
    pool.submit((a, v: number) => a.double.remote(v), 1); // to `alive` (the last idle one)
    pool.submit((a, v: number) => a.double.remote(v), 2); // to `dead`
    expect(await pool.getNext()).toBe(2);
    await expect(pool.getNext()).rejects.toBeInstanceOf(ray.RayActorError);
    // Only the live actor is left to give out.
    expect(pool.popIdle()).toBe(alive);
    expect(pool.popIdle()).toBeNull();
  });

  it('refuses what is not a pool of calls, saying what is expected', () => {
    expect(() => new ray.ActorPool(5 as never)).toThrow(/actors must be an array of actor handles, got 5/);
    const pool = new ray.ActorPool([DoublerActor.remote()]);
    expect(() => pool.submit((() => 3) as never, 1)).toThrow(/fn must return the ObjectRef of one actor call/);
    expect(pool.hasFree()).toBe(true);
  });
});
