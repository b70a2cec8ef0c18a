// One sample-sort measurement, the same in Node and in a tab (no Node APIs here): seeded data, one
// unrecorded warm-up (the object store grows, the JIT warms), then repetitions in which webray's
// sample sort and one thread's Float64Array.prototype.sort take turns on the same data, each
// webray result checked byte for byte against the native one.
import { sampleSort } from './sample-sort-tasks.mjs';

export const STAGES = ['put', 'sample', 'partition', 'sortBuckets', 'gather'];

/** n seeded doubles of mixed sign and size, with ~1% NaN, ~0.5% −0, ~0.5% +0, ±Infinity and repeats. */
export function makeData(n, seed) {
  const out = new Float64Array(n);
  let s = seed >>> 0;
  const rnd = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  for (let i = 0; i < n; i++) {
    const r = rnd();
    out[i] = r < 0.01 ? NaN : r < 0.015 ? -0 : r < 0.02 ? 0 : r < 0.0201 ? (r < 0.02005 ? Infinity : -Infinity)
      : r < 0.03 ? Math.floor(rnd() * 100) - 50 : (rnd() - 0.5) * 2 ** Math.floor(rnd() * 60 - 30);
  }
  return out;
}

/** Same length and the same bytes (so −0 differs from +0, and NaN equals NaN). */
export function sameBytes(a, b) {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length * 2);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length * 2);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/**
 * ms to write every value of a fresh n-value Float64Array, then to write them again: the first
 * pass pays the page faults of new memory (costly in a VM), which every stage that makes a new
 * array pays and an in-place sort does not.
 */
function firstTouch(n) {
  const a = new Float64Array(n);
  const t0 = performance.now();
  a.fill(1);
  const t1 = performance.now();
  a.fill(2);
  return { firstTouchMs: t1 - t0, touchAgainMs: performance.now() - t1 };
}

const sum = (o) => STAGES.reduce((a, k) => a + o[k], 0);

/**
 * `reps` turns of both sorts of n values in `parts` parts on an initialized webray. `cpuMs` (CPU
 * time used so far, in ms, all threads) adds CPU figures where there is one. Throws if a result
 * differs from the native sort's.
 */
export async function measureSort({ n, parts, reps, samplesPerPart, cpuMs, log = () => undefined }) {
  const data = makeData(n, 12345);
  const webray = () => sampleSort(data, { parts, samplesPerPart, seed: 7, cpuMs });
  const native = () => {
    const copy = data.slice(); // the copy is not timed: a user sorts in place
    const c0 = cpuMs?.();
    const t0 = performance.now();
    copy.sort();
    return { sorted: copy, ms: performance.now() - t0, cpu: cpuMs ? cpuMs() - c0 : undefined };
  };
  const coldMs = sum((await webray()).ms);
  log(`${n} x ${parts}: warm-up ${Math.round(coldMs)} ms`);
  const out = [];
  for (let r = 0; r < reps; r++) {
    // Turns alternate, so neither always runs on a machine the other just warmed or dirtied.
    const first = r % 2 === 0 ? native() : await webray();
    const second = r % 2 === 0 ? await webray() : native();
    const [nat, w] = r % 2 === 0 ? [first, second] : [second, first];
    if (!sameBytes(w.sorted, nat.sorted)) throw new Error(`sample sort of ${n} values in ${parts} parts differs from Float64Array.prototype.sort`);
    out.push({ nativeMs: nat.ms, nativeCpuMs: nat.cpu, webrayMs: sum(w.ms), webrayCpuMs: cpuMs ? sum(w.cpu) : undefined, stagesMs: w.ms, stagesCpuMs: cpuMs ? w.cpu : undefined, equal: true });
    log(`${n} x ${parts}: native ${Math.round(nat.ms)} ms, webray ${Math.round(sum(w.ms))} ms (${STAGES.map((k) => `${k} ${Math.round(w.ms[k])}`).join(', ')}), equal`);
  }
  return { n, parts, coldMs, ...firstTouch(n), reps: out };
}
