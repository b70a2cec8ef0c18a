// Spilling through IndexedDB (idb-keyval), as in a browser; Node has no IndexedDB, so this file
// installs fake-indexeddb (the real one is exercised by the Chromium e2e test).
import 'fake-indexeddb/auto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ray from '../index.js';

const MiB = 1024 * 1024;

beforeAll(() => ray.init({ numWorkers: 1, objectStoreMemory: 2 * MiB, objectStoreMaxMemory: 6 * MiB }));
afterAll(() => ray.shutdown());

describe('spilling to IndexedDB', () => {
  it('moves objects nobody reads into IndexedDB and restores them intact, then deletes its database at shutdown', async () => {
    const make = ray.remote((k: number) => Int32Array.from({ length: 256 * 1024 }, (_, i) => i * 7 + k));
    const refs = Array.from({ length: 8 }, (_, k) => make.remote(k)); // 8 MiB in a 6 MiB store
    await ray.wait(refs, { numReturns: refs.length });
    expect((await ray.state.objectStore()).spilled).toBeGreaterThan(0);
    const names = (await indexedDB.databases()).map((d) => d.name);
    expect(names.some((n) => n?.startsWith('webray-spill-'))).toBe(true);
    for (const [k, ref] of refs.entries()) {
      const a = await ray.get(ref);
      expect(a.every((x, i) => x === i * 7 + k)).toBe(true);
      ray.release(a);
    }
    expect((await ray.state.objectStore()).restored).toBeGreaterThan(0);
    await ray.shutdown();
    expect((await indexedDB.databases()).some((d) => d.name?.startsWith('webray-spill-'))).toBe(false);
    await ray.init({ numWorkers: 1 });
  });
});
