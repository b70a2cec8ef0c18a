import { afterEach, describe, expect, it } from 'vitest';
import * as ray from '../index.js';

const MiB = 1024 * 1024;

afterEach(() => ray.shutdown());

/** Tasks that make n-MiB arrays whose every element is their index k. */
const makeArrays = (count: number, mib: number) => {
  const make = ray.remote((k: number, n: number) => new Float64Array(n).fill(k));
  return Array.from({ length: count }, (_, k) => make.remote(k, (mib * MiB) / 8));
};

describe('a full object store', () => {
  it('spills objects nobody is reading (to files in Node) and brings them back on get', async () => {
    await ray.init({ numWorkers: 1, objectStoreMemory: 2 * MiB, objectStoreMaxMemory: 8 * MiB });
    // 12 MiB of results in an 8 MiB store: the refs are held, so they cannot be freed.
    const refs = makeArrays(6, 2);
    await ray.wait(refs, { numReturns: refs.length });
    const mid = await ray.state.objectStore();
    expect(mid.spilled).toBeGreaterThan(0);
    expect(mid.heapBytes).toBeLessThanOrEqual(8 * MiB);
    for (const [k, ref] of refs.entries()) {
      const a = await ray.get(ref);
      expect(a.length).toBe(MiB / 4);
      expect(a[0]).toBe(k);
      expect(a[a.length - 1]).toBe(k);
      ray.release(a);
    }
    expect((await ray.state.objectStore()).restored).toBeGreaterThan(0);
    expect((await ray.state.listObjects()).some((o) => o.location === 'SPILLED')).toBe(true);
  });

  it('lets a task put more than the store holds and read every object back (past the limit, puts travel inline while room is made)', async () => {
    await ray.init({ numWorkers: 1, objectStoreMemory: 2 * MiB, objectStoreMaxMemory: 8 * MiB });
    const putMany = ray.remote(async (count: number, n: number) => {
      // 12 MiB in an 8 MiB store, all refs held: a synchronous put cannot wait for a spill.
      const refs = Array.from({ length: count }, (_, k) => ray.put(new Float64Array(n).fill(k)));
      const firsts: number[] = [];
      for (const ref of refs) {
        const v = await ray.get(ref);
        firsts.push(v[0]!, v[n - 1]!);
        ray.release(v);
      }
      return firsts;
    });
    expect(await ray.get(putMany.remote(6, (2 * 1024 * 1024) / 8))).toEqual([0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
  });

  it('says so with ObjectStoreFullError when views pin everything and nothing can be spilled', async () => {
    await ray.init({ numWorkers: 1, objectStoreMemory: 2 * MiB, objectStoreMaxMemory: 8 * MiB });
    const refs = makeArrays(6, 2);
    await ray.wait(refs, { numReturns: refs.length });
    const views: Float64Array[] = [];
    const err = await (async () => {
      for (const ref of refs) views.push(await ray.get(ref));
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ray.ObjectStoreFullError);
    expect((err as Error).message).toMatch(/everything else in the store is being read/);
    expect((err as Error).message).toMatch(/ray\.release\(view\)/);
    // Releasing views makes room again.
    ray.release(views);
    const last = await ray.get(refs[refs.length - 1]!);
    expect(last[0]).toBe(refs.length - 1);
  });

  it('refuses an object larger than the store can ever hold, naming both sizes', async () => {
    await ray.init({ numWorkers: 1, objectStoreMemory: 1 * MiB, objectStoreMaxMemory: 4 * MiB });
    expect(() => ray.put(new Uint8Array(8 * MiB))).toThrow(ray.ObjectStoreFullError);
    expect(() => ray.put(new Uint8Array(8 * MiB))).toThrow(/8\.0 MiB cannot fit in a store whose maximum is 4\.0 MiB/);
    const big = ray.remote(() => new Uint8Array(8 * 1024 * 1024));
    const err = await ray.get(big.remote()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ray.RayTaskError);
    expect((err as Error).cause).toBeInstanceOf(ray.ObjectStoreFullError);
  });

  it('names the 4 GiB wasm32 limit when an object is bigger than any store can be', async () => {
    await ray.init({ numWorkers: 1, objectStoreMaxMemory: 8 * 1024 * MiB });
    expect((await ray.state.objectStore()).maxBytes).toBe(4 * 1024 * MiB);
    // 4 GiB of virtual memory, never touched: the refusal comes before any copy.
    const huge = new Uint8Array(4 * 1024 * MiB);
    expect(() => ray.put(huge)).toThrow(/4 GiB is the most a wasm32 memory can address; split the object/);
  });
});

describe('debug checks (objectStoreChecks)', () => {
  it('find a write into a sealed object: the next read fails with ObjectMutatedError', async () => {
    await ray.init({ numWorkers: 1, objectStoreChecks: true });
    const ref = ray.put(new Float64Array(64 * 1024).fill(1));
    const view = await ray.get(ref);
    view[5] = 99;
    await expect(ray.get(ref)).rejects.toBeInstanceOf(ray.ObjectMutatedError);
    await expect(ray.get(ref)).rejects.toThrow(/Copy the array \(\.slice\(\)\) before changing it/);
    const reader = ray.remote((a: Float64Array) => a[0]);
    const err = await ray.get(reader.remote(ref)).catch((e: unknown) => e);
    expect((err as Error).cause ?? err).toBeInstanceOf(ray.ObjectMutatedError);
    expect((await ray.state.objectStore()).mutations).toBeGreaterThan(0);
  });
});
