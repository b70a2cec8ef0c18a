// The bench's sample sort must give exactly Float64Array.prototype.sort's order (−0 before +0,
// NaN last), whatever the data does to the buckets: the bench's speed figures mean nothing otherwise.
import * as ray from 'webray';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs module of the bench, without types.
import { sampleSort } from './sample-sort-tasks.mjs';

const sort = (data: Float64Array, parts: number): Promise<{ sorted: Float64Array }> => sampleSort(data, { parts, seed: 3 });
/** The first index where the two differ in bytes (−0 is not +0), or -1: a short failure message for long arrays. */
function firstDifference(a: Float64Array, b: Float64Array): number {
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length * 2);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length * 2);
  for (let i = 0; i < Math.max(x.length, y.length); i++) if (x[i] !== y[i]) return i >> 1;
  return -1;
}

/** Seeded values drawn from `pool`, or uniform doubles where the pool gives undefined. */
function values(n: number, pool: (r: number) => number): Float64Array {
  let s = 99;
  const rnd = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
  return Float64Array.from({ length: n }, () => pool(rnd()));
}

const cases: [string, Float64Array][] = [
  ['empty', new Float64Array(0)],
  ['one value', Float64Array.of(-0)],
  ['fewer values than parts', Float64Array.of(NaN, 0, -0)],
  ['all equal', new Float64Array(3000).fill(2.5)],
  ['all NaN', new Float64Array(3000).fill(NaN)],
  ['only zeros of both signs', values(3000, (r) => (r < 0.5 ? -0 : 0))],
  ['NaN, ±0, ±Infinity and duplicates among others', values(20_000, (r) =>
    (r < 0.05 ? NaN : r < 0.1 ? -0 : r < 0.15 ? 0 : r < 0.17 ? Infinity : r < 0.19 ? -Infinity : r < 0.5 ? Math.floor(r * 40) - 10 : (r - 0.7) * 1e9))],
  ['already sorted, descending', Float64Array.from({ length: 5000 }, (_, i) => 5000 - i)],
];

describe('sampleSort (packages/bench/src/sample-sort-tasks.mjs)', () => {
  beforeAll(() => ray.init({ numWorkers: 2 }));
  afterAll(() => ray.shutdown());

  it.each(cases)('%s: the same bytes as Float64Array.prototype.sort, in 2, 3 and 7 parts', async (_, data) => {
    const expected = data.slice().sort();
    for (const parts of [2, 3, 7]) {
      const { sorted } = await sort(data, parts);
      expect(sorted.length).toBe(expected.length);
      expect(firstDifference(sorted, expected)).toBe(-1);
    }
  });

  it('leaves its input as it was', async () => {
    const data = values(2000, (r) => (r < 0.1 ? NaN : r - 0.5));
    const before = data.slice();
    await sort(data, 4);
    expect(firstDifference(data, before)).toBe(-1);
  });

  it('refuses fewer than 2 parts, saying what it got', async () => {
    await expect(sort(Float64Array.of(1), 1)).rejects.toThrow('parts must be an integer from 2 to 65,536, got 1');
  });
});
