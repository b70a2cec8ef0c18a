// A distributed sample sort on webray's public API, in the order Float64Array.prototype.sort gives
// (−0 before +0, NaN last): the input is put once and every task reads it as a view of shared
// memory, by offset and length. Stages: each of P chunks draws a seeded sample; the driver picks
// P − 1 splitters from the sorted samples; each chunk is cut into P pieces (`numReturns: P`, so
// every piece is an object of its own); task b concatenates piece b of every chunk and sorts it
// natively; the driver concatenates the sorted buckets.
import * as ray from 'webray';

/** Task: `count` values of data[offset, offset + length), at seeded random positions (with repeats). */
export const sampleChunk = ray.remote((data, offset, length, count, seed) => {
  const out = new Float64Array(length === 0 ? 0 : count);
  let s = seed >>> 0;
  for (let i = 0; i < out.length; i++) {
    // mulberry32: a small seeded generator, so a run replays.
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    out[i] = data[offset + Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * length)];
  }
  return out;
});

/**
 * Task: data[offset, offset + length) cut into splitters.length + 1 pieces, piece b holding the
 * values v with exactly b splitters at or before v in the sort's own order (NaN after everything,
 * −0 before +0): a plain `s <= v` would put NaN in the first bucket. Equal values land in one
 * bucket, and bucket b's values all sort before bucket b + 1's. Called with
 * `numReturns: splitters.length + 1`.
 */
export const partitionChunk = ray.remote((data, offset, length, splitters) => {
  const k = splitters.length;
  // s at or before v in Float64Array.prototype.sort's order.
  const atOrBefore = (s, v) => {
    if (v !== v) return true;
    if (s !== s) return false;
    if (s !== v) return s < v;
    return s !== 0 || 1 / s < 0 || 1 / v > 0;
  };
  const bucket = new Uint16Array(length);
  const counts = new Int32Array(k + 1);
  for (let i = 0; i < length; i++) {
    const v = data[offset + i];
    let lo = 0;
    let hi = k;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (atOrBefore(splitters[mid], v)) lo = mid + 1;
      else hi = mid;
    }
    bucket[i] = lo;
    counts[lo]++;
  }
  const pieces = Array.from(counts, (c) => new Float64Array(c));
  const fill = new Int32Array(k + 1);
  for (let i = 0; i < length; i++) pieces[bucket[i]][fill[bucket[i]]++] = data[offset + i];
  return pieces;
});

/** Task: its arguments (piece b of every chunk) concatenated and sorted natively. */
export const sortBucket = ray.remote((...pieces) => {
  const out = new Float64Array(pieces.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of pieces) {
    out.set(p, at);
    at += p.length;
  }
  return out.sort();
});

/** P − 1 splitters evenly spaced in the sorted samples (any P − 1 when there are none: no data). */
export function chooseSplitters(samples, parts) {
  const all = new Float64Array(samples.reduce((n, s) => n + s.length, 0));
  let at = 0;
  for (const s of samples) {
    all.set(s, at);
    at += s.length;
  }
  all.sort();
  if (all.length === 0) return new Float64Array(parts - 1);
  return Float64Array.from({ length: parts - 1 }, (_, i) => all[Math.floor(((i + 1) * all.length) / parts)]);
}

/**
 * Sorts `data` (a Float64Array) on the cluster of an initialized webray in `parts` chunks and
 * buckets (2 to 65,536); resolves with the sorted copy, each stage's wall time in ms (`ms`) and,
 * given `cpuMs` (CPU time used so far, in ms), each stage's CPU time (`cpu`).
 */
export async function sampleSort(data, { parts, samplesPerPart = 64, seed = 1, cpuMs }) {
  if (!Number.isInteger(parts) || parts < 2 || parts > 65_536) throw new RangeError(`sampleSort: parts must be an integer from 2 to 65,536, got ${parts}`);
  const ms = {};
  const cpu = {};
  let t = performance.now();
  let used = cpuMs?.();
  const lap = (stage) => {
    const t1 = performance.now();
    ms[stage] = t1 - t;
    t = t1;
    if (cpuMs) {
      const used1 = cpuMs();
      cpu[stage] = used1 - used;
      used = used1;
    }
  };
  const input = ray.put(data);
  lap('put');
  const n = data.length;
  const start = (c) => Math.floor((c * n) / parts);
  const chunks = Array.from({ length: parts }, (_, c) => [start(c), start(c + 1) - start(c)]);
  const samples = await ray.get(chunks.map(([off, len], c) => sampleChunk.remote(input, off, len, samplesPerPart, seed + c)));
  const splitters = chooseSplitters(samples, parts);
  lap('sample');
  const partition = partitionChunk.options({ numReturns: parts });
  const pieces = chunks.map(([off, len]) => partition.remote(input, off, len, splitters));
  const allPieces = pieces.flat();
  await ray.wait(allPieces, { numReturns: allPieces.length });
  input.release();
  lap('partition');
  const buckets = pieces[0].map((_, b) => sortBucket.remote(...pieces.map((p) => p[b])));
  await ray.wait(buckets, { numReturns: buckets.length });
  for (const p of allPieces) p.release();
  lap('sortBuckets');
  const sorted = new Float64Array(n);
  let at = 0;
  for (const ref of buckets) {
    const view = await ray.get(ref);
    sorted.set(view, at);
    at += view.length;
    ray.release(view, ref);
  }
  lap('gather');
  return { sorted, ms, cpu };
}
