/**
 * What both chaos runs (api/chaos.test.ts on Node hosts, e2e/chaos.e2e.test.ts in Chromium) share:
 * the job's functions — each run makes its tasks from them, and runs them here for the fault-free
 * result — and the actor class whose state is kept by checkpoints. Plain code only (types from
 * webray): the Chromium page imports it beside the packed package. The functions are shipped by
 * source, so each is self-contained (no module constants).
 */
import type { Checkpointable } from '../shared/options.js';

/** 16,384 doubles: 128 KiB. */
export const seedOf = (i: number) => { const a = new Float64Array(16_384); for (let k = 0; k < a.length; k++) a[k] = ((i * 31 + k) % 97) / 7; return a; };
export const scaleOf = (a: Float64Array, i: number) => a.map((x) => x * (1 + (i % 5)));
export const addOf = (a: Float64Array, b: Float64Array) => a.map((x, k) => x + b[k]!);
export const normOf = (a: Float64Array, j: number) => { let s = 0; for (let k = j % 7; k < a.length; k += 7) s += a[k]!; return s; };

/** A reduction tree over `leaves`, pairwise by levels: the values it made (`sums`) and its root. */
export function reduceTree<T>(leaves: T[], combine: (a: T, b: T) => T): { sums: T[]; root: T } {
  const sums: T[] = [];
  let level = leaves;
  while (level.length > 1) {
    const next: T[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(combine(level[i]!, level[i + 1]!));
    sums.push(...next);
    // An odd one out goes up a level as it is.
    if (level.length % 2) next.push(level.at(-1)!);
    level = next;
  }
  return { sums, root: level[0]! };
}

/** The reduction tree's fault-free total over `n` seeds. */
export function totalOf(n: number): Float64Array {
  return reduceTree<Float64Array>(Array.from({ length: n }, (_, i) => scaleOf(seedOf(i), i)), addOf).root;
}

/** State kept by checkpoints: the keys added (an idempotent add, so a retried call counts once), whichever instance ran them. */
export class KeySet implements Checkpointable<number[]> {
  keys = new Set<number>();
  add(k: number) { this.keys.add(k); return this.keys.size; }
  sorted() { return [...this.keys].sort((a, b) => a - b); }
  webrayCheckpoint() { return [...this.keys]; }
  webrayRestore(keys: number[]) { this.keys = new Set(keys); }
}
