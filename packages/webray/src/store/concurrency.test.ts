import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { WasmStore } from './wasm-store.js';

interface WorkerStats { creates: number; reads: number; misses: number; deletes: number; corrupt: number }

describe('the object store under concurrent threads', () => {
  it('keeps every object intact while four threads create, read and delete thousands at once, and leaves nothing behind', async () => {
    const store = await WasmStore.create(1024 * 1024, 256 * 1024 * 1024, 64);
    const workers = 4;
    const count = 2500;
    const results = await Promise.all(Array.from({ length: workers }, (_, worker) => new Promise<WorkerStats>((resolve, reject) => {
      const w = new Worker(new URL('../../test-support/fixtures/store-worker.mjs', import.meta.url), {
        workerData: { handle: store.handle, worker, workers, count, seed: 1 + worker },
      });
      w.once('message', resolve);
      w.once('error', reject);
      w.once('exit', (code) => { if (code !== 0) reject(new Error(`worker exited with ${code}`)); });
    })));
    const total = results.reduce((a, r) => ({
      creates: a.creates + r.creates, reads: a.reads + r.reads, misses: a.misses + r.misses, deletes: a.deletes + r.deletes, corrupt: a.corrupt + r.corrupt,
    }));
    expect(total.corrupt).toBe(0);
    expect(total.creates).toBe(workers * count);
    expect(total.deletes).toBe(workers * count);
    // Reads of other threads' live objects happened (not only misses).
    expect(total.reads).toBeGreaterThan(1000);
    const end = store.stats();
    expect(end.objects).toBe(0);
    expect(end.objectBytes).toBe(0);
    expect(end.usedBytes + end.freeBytes + 64 + 32 + 16).toBe(end.heapBytes);
  });
});
