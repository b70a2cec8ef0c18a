/**
 * The one shared WebAssembly.Memory a host and its workers map. Reserving a large maximum can
 * fail (phones, 32-bit address spaces), so smaller maxima are tried in turn.
 */

export const PAGE = 65536;
/** A wasm32 memory stops at 4 GiB (65,536 pages). */
export const WASM32_MAX_PAGES = 65536;

/** Can this thread create shared memory? (Browsers need cross-origin isolation.) */
export function sharedMemoryAvailable(): boolean {
  if (typeof SharedArrayBuffer !== 'function' || typeof WebAssembly !== 'object') return false;
  return (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated !== false;
}

export interface ReservedMemory {
  memory: WebAssembly.Memory;
  maxPages: number;
}

/** A shared memory of `initialBytes`, growable to `maxBytes` or the largest maximum the engine grants. */
export function reserveSharedMemory(
  initialBytes: number,
  maxBytes: number,
  create = (d: WebAssembly.MemoryDescriptor) => new WebAssembly.Memory(d),
): ReservedMemory {
  const initial = Math.max(2, Math.ceil(initialBytes / PAGE));
  let maximum = Math.min(WASM32_MAX_PAGES, Math.max(initial, Math.ceil(maxBytes / PAGE)));
  for (;;) {
    try {
      return { memory: create({ initial, maximum, shared: true }), maxPages: maximum };
    } catch (e) {
      if (maximum <= initial) throw e;
      maximum = Math.max(initial, Math.floor(maximum / 2));
    }
  }
}
