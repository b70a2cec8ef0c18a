/** Wall-clock milliseconds with sub-millisecond precision, as task events record them on every thread. */

// `performance.timeOrigin` is a getter (Node checks its receiver on each read): read it once.
const origin = performance.timeOrigin;

export function now(): number {
  return origin + performance.now();
}
