/**
 * Where a head (and its standby) keeps the cluster's tables across a restart: a file in Node (the
 * `stateDir` given), IndexedDB in a tab (idb-keyval, keyed by cluster and a per-tab id kept in
 * sessionStorage, which survives a reload of that tab only: host ids are new on every init).
 */
import { createStore, get, set } from 'idb-keyval';
import type { TablesStore } from './types.js';
import { randomHex } from '../shared/ids.js';

/** The tab's id: the same across reloads of this tab, another in any other tab. */
function tabId(): string {
  const key = 'webray-tab-id';
  let id = sessionStorage.getItem(key);
  if (id === null) {
    id = randomHex(8);
    sessionStorage.setItem(key, id);
  }
  return id;
}

export function idbTables(cluster: string): TablesStore {
  const db = createStore('webray-tables', 'tables');
  const key = `${cluster}/${tabId()}`;
  return {
    where: `IndexedDB webray-tables, key ${key}`,
    load: () => get(key, db),
    save: (tables) => set(key, tables, db),
  };
}
