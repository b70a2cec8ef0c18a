// A head tab's tables in IndexedDB (fake-indexeddb in Node), keyed by cluster and the tab's id in
// sessionStorage: a reload of the tab finds them, another tab does not.
import 'fake-indexeddb/auto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { idbTables } from './tables-store.js';

/** One tab's sessionStorage: it survives a reload of that tab, not into another tab. */
class TabSession {
  private readonly items = new Map<string, string>();
  getItem(k: string) { return this.items.get(k) ?? null; }
  setItem(k: string, v: string) { this.items.set(k, v); }
}
const g = globalThis as { sessionStorage?: unknown };
beforeEach(() => { g.sessionStorage = new TabSession(); });
afterEach(() => { delete g.sessionStorage; });

describe('tables in IndexedDB', () => {
  it('are found again by the same tab after a reload, not by another tab or another cluster', async () => {
    const tables = { epoch: 3, changes: [{ k: 'job', job: { jobId: 'j1', hostId: 'h1', state: 'FINISHED', startedAt: 1, endedAt: 2 } }] };
    await idbTables('c1').save(tables);
    expect(await idbTables('c1').load()).toEqual(tables);
    expect(await idbTables('c2').load()).toBeUndefined();
    g.sessionStorage = new TabSession();
    expect(await idbTables('c1').load()).toBeUndefined();
  });
});
