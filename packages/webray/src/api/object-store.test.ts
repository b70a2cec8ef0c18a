import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ray from '../index.js';

const KiB = 1024;

beforeAll(() => ray.init({ numWorkers: 2 }));
afterAll(() => ray.shutdown());

/** Collects garbage until `done()` holds (FinalizationRegistry callbacks run after a collection), at most 50 rounds. */
async function collectUntil(done: () => Promise<boolean>): Promise<boolean> {
  for (let i = 0; i < 50; i++) {
    if (await done()) return true;
    (globalThis as { gc?: () => void }).gc?.();
    await new Promise((r) => setImmediate(r));
  }
  return done();
}

const storeObjects = async () => (await ray.state.objectStore()).objects;

/** Objects in the store once earlier tests' garbage is collected (the count holds still for 3 collections). */
async function settledObjects(): Promise<number> {
  let last = -1;
  for (let same = 0, i = 0; same < 3 && i < 50; i++) {
    (globalThis as { gc?: () => void }).gc?.();
    await new Promise((r) => setImmediate(r));
    const n = await storeObjects();
    same = n === last ? same + 1 : 0;
    last = n;
  }
  return last;
}

describe('the shared object store, through the API', () => {
  it('gives a large typed array returned by a task to get and to other tasks as a view of shared memory', async () => {
    const make = ray.remote((n: number) => Float64Array.from({ length: n }, (_, i) => i / 2));
    const inspect = ray.remote((a: Float64Array) => ({ shared: a.buffer instanceof SharedArrayBuffer, len: a.length, last: a[a.length - 1] }));
    const ref = make.remote(1 << 17); // 1 MiB
    const a = await ray.get(ref);
    expect(a).toBeInstanceOf(Float64Array);
    expect(a.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(a[12345]).toBe(12345 / 2);
    expect(await ray.get(inspect.remote(ref))).toEqual({ shared: true, len: 1 << 17, last: ((1 << 17) - 1) / 2 });
    expect((await ray.state.listObjects()).find((o) => o.objectId === ref.id)?.location).toBe('SHARED_MEMORY');
    // Two gets read the same bytes: no copy per read.
    const b = await ray.get(ref);
    expect(b.buffer).toBe(a.buffer);
    expect(b.byteOffset).toBe(a.byteOffset);
  });

  it('keeps small values inline and moves large arguments passed by value into the store', async () => {
    const where = ray.remote((a: Uint8Array) => a.buffer instanceof SharedArrayBuffer);
    expect(await ray.get(where.remote(new Uint8Array(16)))).toBe(false);
    expect(await ray.get(where.remote(new Uint8Array(512 * KiB)))).toBe(true);
    const small = ray.put({ x: 1 });
    expect((await ray.state.listObjects()).find((o) => o.objectId === small.id)?.location).toBe('INLINE');
  });

  it('lets a task read back, as a view, a large object it put itself', async () => {
    const roundTrip = ray.remote(async (n: number) => {
      const ref = ray.put(new Int16Array(n).fill(-3));
      const v = await ray.get(ref);
      return { shared: v.buffer instanceof SharedArrayBuffer, ok: v.length === n && v.every((x) => x === -3) };
    });
    expect(await ray.get(roundTrip.remote(256 * 1024))).toEqual({ shared: true, ok: true });
  });

  it('round-trips every structured-clone type through the store, with typed arrays as views', async () => {
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    const inner = ray.put(7);
    const value = {
      big: new Float64Array(20_000).fill(1.5),
      kinds: [
        new Int8Array([-1, 2]), new Uint8Array([1, 255]), new Uint8ClampedArray([3]), new Int16Array([-300]), new Uint16Array([60000]),
        new Int32Array([-1e9]), new Uint32Array([4e9]), new Float32Array([0.5]), new BigInt64Array([-5n]), new BigUint64Array([2n ** 63n]),
      ],
      view: new DataView(new ArrayBuffer(8)),
      map: new Map<unknown, unknown>([[1, 'one'], ['k', { deep: [1, 2] }]]),
      set: new Set(['a', 2]),
      date: new Date(1_700_000_000_000),
      big_int: 12345678901234567890n,
      nothing: undefined,
      cyclic,
      ref: inner,
    };
    const got = await ray.get(ray.put(value));
    expect(got.big.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(got.big.every((x: number) => x === 1.5)).toBe(true);
    got.kinds.forEach((k: ArrayBufferView, i: number) => {
      expect(k.constructor).toBe(value.kinds[i]!.constructor);
      expect(k.buffer).toBeInstanceOf(SharedArrayBuffer);
      expect([...(k as unknown as Iterable<unknown>)]).toEqual([...(value.kinds[i] as unknown as Iterable<unknown>)]);
    });
    expect(got.view).toBeInstanceOf(DataView);
    expect(got.map).toEqual(value.map);
    expect(got.set).toEqual(value.set);
    expect(got.date).toEqual(value.date);
    expect(got.big_int).toBe(value.big_int);
    expect('nothing' in got && got.nothing === undefined).toBe(true);
    expect(got.cyclic.self).toBe(got.cyclic);
    expect(got.ref).toBeInstanceOf(ray.ObjectRef);
    expect(await ray.get(got.ref)).toBe(7);
  });

  it('stores a snapshot: changing the array after put does not change the object', async () => {
    const a = new Float64Array(64 * KiB).fill(1);
    const ref = ray.put(a);
    a.fill(2);
    expect((await ray.get(ref))[0]).toBe(1);
  });

  it('keeps an object alive while a view of it is reachable, and frees it when the view is released', async () => {
    const make = ray.remote(() => new Float64Array(128 * 1024).fill(3));
    const before = await settledObjects();
    const ref = make.remote();
    const view = await ray.get(ref);
    expect(await storeObjects()).toBe(before + 1);
    ray.release(ref);
    // The ref is gone; the view still holds the bytes, through collections.
    expect(await settledObjects()).toBe(before + 1);
    expect(view[1000]).toBe(3);
    expect(ray.release(view)).toBe(1);
    expect(await storeObjects()).toBe(before);
  });

  it('frees an object once its refs and views are garbage-collected', async () => {
    const before = await settledObjects();
    await (async () => {
      const ref = ray.put(new Float32Array(256 * KiB));
      const view = await ray.get(ref);
      expect(view.length).toBe(256 * KiB);
    })();
    expect(await collectUntil(async () => (await storeObjects()) === before)).toBe(true);
  });

  it('lets `using` release a view at the end of its block', async () => {
    const before = await storeObjects();
    const ref = ray.put(new Uint8Array(300 * KiB));
    {
      using view = (await ray.get(ref)) as Uint8Array & Disposable;
      expect(view.length).toBe(300 * KiB);
    }
    ref.release();
    expect(await storeObjects()).toBe(before);
  });

  it("gives a retried task's put a new object, beside its failed attempt's", async () => {
    const flaky = ray.remote((n: number) => {
      const a = new Float64Array(n).fill(ray.getRuntimeContext().attempt + 1);
      const inner = ray.put(a);
      // Held, so the first attempt's object outlives that attempt.
      ((globalThis as Record<string, unknown>).keep ??= []) as unknown[];
      ((globalThis as Record<string, unknown>).keep as unknown[]).push(inner);
      if (ray.getRuntimeContext().attempt === 0) throw new Error('first attempt fails after its put');
      return inner;
    }).options({ maxRetries: 1, retryExceptions: true });
    const inner = await ray.get(flaky.remote(32 * KiB));
    // Child and put ids include the attempt (DESIGN.md): the retry reads its own put, not the first.
    expect((await ray.get(inner))[0]).toBe(2);
  });
});
