/** Spilling to IndexedDB through idb-keyval, one database per host (same-origin tabs share IndexedDB). */
import { clear, createStore, del, get, set, type UseStore } from 'idb-keyval';
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
      await clear(db);
      // The database itself goes too: a closed tab must not leave a store per host behind.
      await new Promise<void>((resolve) => {
        const r = indexedDB.deleteDatabase(`webray-spill-${hostId}`);
        r.onsuccess = r.onerror = r.onblocked = () => resolve();
      });
    },
  };
}
