// Timing primitives. Every loop here is bounded both by a count and by a deadline.
import { setImmediate as yieldMacrotask } from 'node:timers/promises';

export const now = () => performance.now();
export { yieldMacrotask };

/** Nearest-rank percentile of an unsorted array (p in [0, 100]). */
export function percentile(values, p) {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

export function median(values) {
  const v = values.filter((x) => Number.isFinite(x));
  if (v.length === 0) return NaN;
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function result(ops, elapsedMs, latenciesMs) {
  const r = { ops, elapsedMs: round(elapsedMs, 3), opsPerSec: round((ops / elapsedMs) * 1000, 1) };
  if (latenciesMs && latenciesMs.length > 0) {
    r.p50Us = round(percentile(latenciesMs, 50) * 1000, 1);
    r.p99Us = round(percentile(latenciesMs, 99) * 1000, 1);
  }
  return r;
}

export const round = (x, d = 1) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : x);

/**
 * One operation at a time: `await op(i)`, until budgetMs has passed or maxOps ran.
 * With `latency`, records each round trip and reports p50/p99 in microseconds.
 */
export async function loopSequential(op, { budgetMs, maxOps, latency = false }) {
  const lat = latency ? new Float64Array(maxOps) : null;
  const t0 = now();
  const deadline = t0 + budgetMs;
  let n = 0;
  let t = t0;
  while (n < maxOps && t < deadline) {
    const s = t;
    await op(n);
    t = now();
    if (lat) lat[n] = t - s;
    n++;
  }
  return result(n, t - t0, lat ? lat.subarray(0, n) : null);
}

/** Whole batches: `await batch(b)` (each `batchSize` ops), until budgetMs has passed or maxBatches ran (≥ 1). */
export async function loopBatches(batch, { budgetMs, maxBatches, batchSize }) {
  const t0 = now();
  const deadline = t0 + budgetMs;
  let b = 0;
  let t = t0;
  while (b < maxBatches && t < deadline) {
    await batch(b);
    t = now();
    b++;
  }
  return result(b * batchSize, t - t0, null);
}

export class TimeoutError extends Error {
  name = 'TimeoutError';
}

/** Rejects with TimeoutError after ms; the underlying work is not cancelled (it cannot be). */
export function withTimeout(promise, ms, what) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`${what}: no result after ${ms} ms`)), ms);
  });
  return Promise.race([Promise.resolve(promise), t]).finally(() => clearTimeout(timer));
}

/** A 0..n-1 argument array, built once outside the timed region. */
export const range = (n) => Array.from({ length: n }, (_, i) => i);

export function expectEqual(actual, expected, what) {
  if (actual !== expected) throw new Error(`${what}: wrong result ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
}

export function expectArray(values, xs, what) {
  if (!Array.isArray(values) || values.length !== xs.length) {
    throw new Error(`${what}: expected ${xs.length} results, got ${Array.isArray(values) ? values.length : typeof values}`);
  }
  for (let i = 0; i < xs.length; i++) if (values[i] !== xs[i]) expectEqual(values[i], xs[i], `${what}[${i}]`);
}
