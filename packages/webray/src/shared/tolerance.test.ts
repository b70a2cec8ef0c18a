import { describe, expect, it } from 'vitest';
import { withinTolerance } from './tolerance.js';

const tol = { relative: 1e-9, absolute: 1e-12 };

describe('withinTolerance', () => {
  it('numbers agree within absolute + relative of the larger magnitude', () => {
    expect(withinTolerance(1, 1 + 5e-10, tol)).toBe(true);
    expect(withinTolerance(1, 1 + 5e-9, tol)).toBe(false);
    expect(withinTolerance(0, 5e-13, tol)).toBe(true);
    expect(withinTolerance(0, 5e-12, tol)).toBe(false);
    expect(withinTolerance(0, -0, {})).toBe(true);
    expect(withinTolerance(NaN, NaN, {})).toBe(true);
    expect(withinTolerance(Infinity, Infinity, tol)).toBe(true);
    expect(withinTolerance(Infinity, -Infinity, { relative: 1 })).toBe(false);
    expect(withinTolerance(1, NaN, { absolute: 1 })).toBe(false);
  });

  it('goes element by element through float arrays, arrays, objects and Maps of the same shape', () => {
    const a = { score: 1.0, path: new Float64Array([0.1, 0.2]), steps: [3, { x: 2.5 }], m: new Map([['k', 1]]) };
    const b = { score: 1.0 + 1e-10, path: new Float64Array([0.1, 0.2 + 1e-11]), steps: [3, { x: 2.5 }], m: new Map([['k', 1 + 1e-10]]) };
    expect(withinTolerance(a, b, tol)).toBe(true);
    expect(withinTolerance(a, { ...b, path: new Float64Array([0.1, 0.3]) }, tol)).toBe(false);
    expect(withinTolerance(a, { ...b, extra: 1 }, tol)).toBe(false);
    expect(withinTolerance([1, 2], [1, 2, 3], tol)).toBe(false);
    expect(withinTolerance(new Float32Array([1]), new Float64Array([1]), tol)).toBe(false);
  });

  it('everything else must be equal', () => {
    expect(withinTolerance('a', 'a', tol)).toBe(true);
    expect(withinTolerance('a', 'b', tol)).toBe(false);
    expect(withinTolerance(new Int32Array([1, 2]), new Int32Array([1, 2]), tol)).toBe(true);
    expect(withinTolerance(new Int32Array([1, 2]), new Int32Array([1, 3]), { absolute: 5 })).toBe(false);
    expect(withinTolerance(10n, 11n, { absolute: 5 })).toBe(false);
    expect(withinTolerance(new Set([1, 2]), new Set([2, 1]), tol)).toBe(true);
    expect(withinTolerance(null, undefined, tol)).toBe(false);
  });
});
