/** Helpers for usage errors: show what was given (with its type) and suggest what was meant. */
import { RayUsageError } from './errors.js';

/** A value as an error message shows it: `'2' (a string)`, `2 (a number)`, `null`, `an array of 3`. */
export function describeValue(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  switch (typeof v) {
    case 'string': return `'${v.length > 60 ? v.slice(0, 57) + '…' : v}' (a string)`;
    case 'number': case 'boolean': return `${String(v)} (a ${typeof v})`;
    case 'bigint': return `${v}n (a bigint)`;
    case 'symbol': return `${String(v)} (a symbol)`;
    case 'function': return `a function${v.name ? ` (${v.name})` : ''}`;
  }
  if (Array.isArray(v)) return `an array of ${v.length}`;
  const name = (v as object).constructor?.name;
  return name && name !== 'Object' ? `a ${name}` : 'an object';
}

/** The key of `valid` closest to `key` (case and `_`/`-` ignored, then edit distance ≤ 2), if any. */
function closestKey(key: string, valid: Iterable<string>): string | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/[_-]/g, '');
  let best: string | undefined;
  let bestD = 3;
  for (const k of valid) {
    const d = norm(k) === norm(key) ? 0 : editDistance(norm(k), norm(key));
    if (d < bestD) { best = k; bestD = d; }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * Refuses keys `o` does not allow, naming the closest valid one. `o` must be a plain object
 * (or undefined: no options). `internal` keys are allowed but not offered.
 */
export function checkKeys(what: string, o: unknown, allowed: ReadonlySet<string> | readonly string[], internal: readonly string[] = []): void {
  if (o === undefined) return;
  if (typeof o !== 'object' || o === null || Array.isArray(o)) {
    throw new RayUsageError(`${what}: options must be an object like { ${[...allowed][0]}: … }, got ${describeValue(o)}.`);
  }
  // On every get/wait with options: no copy of `allowed` unless a key is wrong.
  const has = (k: string) => ('has' in allowed ? allowed.has(k) : allowed.includes(k));
  for (const k of Object.keys(o)) {
    if (has(k) || internal.includes(k)) continue;
    const valid = [...allowed];
    const near = closestKey(k, valid);
    throw new RayUsageError(
      `${what}: unknown option '${k}'.${near ? ` Did you mean '${near}'?` : ''} Options here are: ${valid.join(', ')}.`,
    );
  }
}

/** `item` (a ref or handle) was made by a webray session that has been shut down since. */
export function endedSessionError(what: string, item: string, fix: string): RayUsageError {
  return new RayUsageError(
    `${what}: ${item} belongs to a webray session that was shut down (ray.shutdown()), and everything it held went with it. ${fix}`,
  );
}
