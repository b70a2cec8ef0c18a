import { describe, expect, it } from 'vitest';
import { PAGE, reserveSharedMemory, WASM32_MAX_PAGES } from './shared-memory.js';

describe('reserving the shared memory', () => {
  it('falls back to a smaller maximum when the engine refuses the reservation (as phones do)', () => {
    const asked: number[] = [];
    const { memory, maxPages } = reserveSharedMemory(1 << 20, 2 ** 31, (d) => {
      asked.push(d.maximum!);
      if (d.maximum! > 5000) throw new RangeError('WebAssembly.Memory(): could not allocate memory');
      return new WebAssembly.Memory(d);
    });
    expect(asked[0]).toBe(2 ** 31 / PAGE);
    expect(maxPages).toBeLessThanOrEqual(5000);
    expect(maxPages).toBeGreaterThanOrEqual(16);
    expect(memory.buffer).toBeInstanceOf(SharedArrayBuffer);
  });

  it('caps the maximum at 4 GiB, all a wasm32 memory can address', () => {
    const { maxPages } = reserveSharedMemory(1 << 20, 2 ** 40, (d) => new WebAssembly.Memory({ ...d, maximum: 16 }));
    expect(maxPages).toBe(WASM32_MAX_PAGES);
  });

  it('gives up only when even the initial size cannot be had', () => {
    expect(() => reserveSharedMemory(1 << 20, 1 << 30, () => { throw new RangeError('no memory'); })).toThrow(RangeError);
  });
});
