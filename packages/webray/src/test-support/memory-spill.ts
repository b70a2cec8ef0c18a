import type { SpillTarget } from '../platform/types.js';

/** A spill target in memory whose copies a test can lose (`copies.clear()`): a disk that forgot. */
export function memorySpill(): SpillTarget & { readonly copies: Map<string, Uint8Array> } {
  const copies = new Map<string, Uint8Array>();
  return {
    kind: 'a test spill target',
    copies,
    write: async (id, bytes) => { copies.set(id, bytes.slice()); },
    read: async (id) => copies.get(id),
    remove: async (id) => { copies.delete(id); },
    clear: async () => copies.clear(),
  };
}
