/** Agreement of two results within a tolerance (verify.tolerance), for tasks whose floats may differ in their last bits. */
import type { Tolerance } from './options.js';

/**
 * Do `a` and `b` agree? Numbers within |a − b| ≤ absolute + relative · max(|a|, |b|) (NaN agrees
 * with NaN, an infinity only with itself), element by element through arrays, float typed arrays,
 * plain objects and Maps of the same shape; everything else (strings, bigints, integer arrays,
 * other objects' bytes) must be equal.
 */
export function withinTolerance(a: unknown, b: unknown, tol: Tolerance): boolean {
  const rel = tol.relative ?? 0;
  const abs = tol.absolute ?? 0;
  const near = (x: number, y: number): boolean =>
    x === y || (Number.isNaN(x) && Number.isNaN(y)) ||
    (Number.isFinite(x) && Number.isFinite(y) && Math.abs(x - y) <= abs + rel * Math.max(Math.abs(x), Math.abs(y)));
  const agree = (x: unknown, y: unknown): boolean => {
    if (typeof x === 'number' && typeof y === 'number') return near(x, y);
    if (typeof x !== 'object' || typeof y !== 'object' || x === null || y === null) return Object.is(x, y);
    if (Object.getPrototypeOf(x) !== Object.getPrototypeOf(y)) return false;
    if (x instanceof Float64Array || x instanceof Float32Array) {
      const u = y as Float64Array | Float32Array;
      if (x.length !== u.length) return false;
      for (let i = 0; i < x.length; i++) if (!near(x[i]!, u[i]!)) return false;
      return true;
    }
    if (ArrayBuffer.isView(x)) return sameBytes(x, y as ArrayBufferView);
    if (x instanceof ArrayBuffer) return sameBytes(new Uint8Array(x), new Uint8Array(y as ArrayBuffer));
    if (Array.isArray(x)) {
      const u = y as unknown[];
      return x.length === u.length && x.every((e, i) => agree(e, u[i]));
    }
    if (x instanceof Map) {
      const u = y as Map<unknown, unknown>;
      if (x.size !== u.size) return false;
      for (const [k, v] of x) if (!u.has(k) || !agree(v, u.get(k))) return false;
      return true;
    }
    if (x instanceof Set) {
      const u = y as Set<unknown>;
      return x.size === u.size && [...x].every((e) => u.has(e));
    }
    if (x instanceof Date) return Object.is(x.getTime(), (y as Date).getTime());
    if (Object.getPrototypeOf(x) !== Object.prototype && Object.getPrototypeOf(x) !== null) return false;
    const kx = Object.keys(x);
    const ky = Object.keys(y);
    return kx.length === ky.length && kx.every((k) => Object.hasOwn(y, k) && agree((x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k]));
  };
  return agree(a, b);
}

function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  if (a.byteLength !== b.byteLength) return false;
  const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}
