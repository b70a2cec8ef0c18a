/** Spilling to IndexedDB through idb-keyval, one database per host (same-origin tabs share IndexedDB). */
import { createStore, del, get, set, type UseStore } from 'idb-keyval';
import type { SpillTarget } from './types.js';

export function idbSpill(hostId: string): SpillTarget {
  let db: UseStore | undefined;
  const store = () => (db ??= createStore(`webray-spill-${hostId}`, 'objects'));
  return {
    kind: 'IndexedDB',
    write: (id, bytes) => set(id, bytes, store()),
    read: async (id) => {
      const v = await get<Uint8Array>(id, store());
      return v === undefined ? undefined : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
    },
    remove: (id) => del(id, store()),
    clear: async () => {
      if (!db) return;
      // The database itself goes, so hosts do not leave one each behind; idb-keyval keeps its
      // connection open, which would block the deletion: close it first.
      await db('readonly', (s) => s.transaction.db.close());
      db = undefined;
      await new Promise<void>((resolve) => {
        const r = indexedDB.deleteDatabase(`webray-spill-${hostId}`);
        r.onsuccess = r.onerror = () => resolve();
      });
    },
  };
}
