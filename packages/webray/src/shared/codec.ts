/**
 * Values crossing threads go by structured clone, which keeps Map, Set, Date, BigInt, undefined,
 * typed arrays and cycles. Two things it cannot do are done here: webray objects (ObjectRef,
 * actor handles, remote functions, actor classes) are swapped for plain markers and revived on the other side,
 * and values structured clone would reject or silently break (functions, symbols, promises)
 * are refused up front with a `NonSerializableError` naming where they are.
 */
import { NonSerializableError } from './errors.js';

/** Objects that travel as a marker implement this (keyed by a symbol, as comlink does). */
export const toMarker = Symbol.for('webray.toMarker');

export interface Markable {
  [toMarker](): Marker;
}

const KEY = '\u0000webray';

export type Marker =
  | { [KEY]: 'ref'; id: string; owner: string }
  | { [KEY]: 'actor'; id: string; cls: string; methods: string[]; asyncMethods: string[] }
  | { [KEY]: 'fn'; fn: unknown; options: unknown }
  /** An actor class (`ray.remote(Class)`): its spec (descriptor, class name, methods) and options. */
  | { [KEY]: 'cls'; spec: unknown; options: unknown }
  /** A value in the host's object store, read there as views of shared memory; `refs`: ObjectRefs inside it. */
  | { [KEY]: 'stored'; id: string; size: number; refs?: string[] };

export type MarkerKind = Marker[typeof KEY];

export function markerKind(m: Marker): MarkerKind {
  return m[KEY];
}

export function makeMarker<K extends MarkerKind>(kind: K, fields: Omit<Extract<Marker, { [KEY]: K }>, typeof KEY>): Marker {
  return { [KEY]: kind, ...fields } as unknown as Marker;
}

function isMarkable(v: object): v is Markable {
  return typeof (v as Partial<Markable>)[toMarker] === 'function';
}

function isMarker(v: object): v is Marker {
  return Object.prototype.hasOwnProperty.call(v, KEY);
}

/** Thrown inside `scan` when a value cannot cross; each enclosing container adds its step to the path. */
class Unsendable {
  readonly steps: string[] = [];
  constructor(readonly what: string) {}
}

function step(seg: string, run: () => void): void {
  try {
    run();
  } catch (e) {
    if (e instanceof Unsendable) e.steps.unshift(seg);
    throw e;
  }
}

/**
 * Does the value need marker handling? Throws `Unsendable` for what cannot cross. Paths are
 * built only on that error: a tiny task's argument costs no string work.
 */
function scan(v: unknown, seen: Set<object>, found: { markable: boolean }): void {
  switch (typeof v) {
    case 'function':
      if (isMarkable(v)) { found.markable = true; return; }
      throw new Unsendable(`a function (${v.name || 'anonymous'})`);
    case 'symbol':
      throw new Unsendable(`a symbol (${String(v)})`);
    case 'object':
      break;
    default:
      return;
  }
  if (v === null || seen.has(v)) return;
  seen.add(v);
  if (isMarkable(v)) { found.markable = true; return; }
  if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer || v instanceof Date || v instanceof RegExp) return;
  if (v instanceof Promise) throw new Unsendable('a Promise (await it first, or pass an ObjectRef)');
  // A generator's values would need streaming results, which webray does not have yet.
  if (typeof (v as { next?: unknown }).next === 'function' && (Symbol.iterator in v || Symbol.asyncIterator in v)) {
    throw new Unsendable('a generator or iterator object (webray cannot stream values yet: collect them into an array, e.g. Array.from(it), and return that)');
  }
  if (v instanceof WeakMap || v instanceof WeakSet || v instanceof WeakRef) throw new Unsendable(`a ${v.constructor.name}`);
  const DomNode = (globalThis as { Node?: new () => unknown }).Node;
  if (DomNode && v instanceof DomNode) throw new Unsendable('a DOM node');
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      if (typeof x === 'object' || typeof x === 'function' || typeof x === 'symbol') step(`[${i}]`, () => scan(x, seen, found));
    }
  } else if (v instanceof Map) {
    for (const [k, x] of v) { step('.<key>', () => scan(k, seen, found)); step(`.get(${String(k)})`, () => scan(x, seen, found)); }
  } else if (v instanceof Set) {
    for (const x of v) step('.<member>', () => scan(x, seen, found));
  } else if (v instanceof Error) {
    if (v.cause !== undefined) step('.cause', () => scan(v.cause, seen, found));
  } else {
    for (const k of Object.keys(v)) {
      const x = (v as Record<string, unknown>)[k];
      if (typeof x === 'object' || typeof x === 'function' || typeof x === 'symbol') step(`.${k}`, () => scan(x, seen, found));
    }
  }
}

/** Copies containers on the way to every object `swap` replaces; everything else is shared. */
function rebuild(v: unknown, swap: (o: object) => unknown | undefined, memo: Map<object, unknown>): unknown {
  if ((typeof v !== 'object' && typeof v !== 'function') || v === null) return v;
  const swapped = swap(v);
  if (swapped !== undefined) return swapped;
  if (typeof v === 'function') return v;
  if (memo.has(v)) return memo.get(v);
  if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer || v instanceof Date || v instanceof RegExp || v instanceof Error) return v;
  if (Array.isArray(v)) {
    const out: unknown[] = new Array(v.length);
    memo.set(v, out);
    for (let i = 0; i < v.length; i++) out[i] = rebuild(v[i], swap, memo);
    return out;
  }
  if (v instanceof Map) {
    const out = new Map();
    memo.set(v, out);
    for (const [k, x] of v) out.set(rebuild(k, swap, memo), rebuild(x, swap, memo));
    return out;
  }
  if (v instanceof Set) {
    const out = new Set();
    memo.set(v, out);
    for (const x of v) out.add(rebuild(x, swap, memo));
    return out;
  }
  const out: Record<string, unknown> = {};
  memo.set(v, out);
  for (const k of Object.keys(v)) out[k] = rebuild((v as Record<string, unknown>)[k], swap, memo);
  return out;
}

export interface Encoded {
  v: unknown;
  /** True when markers are inside: the receiver must revive them. */
  nested: boolean;
  /** ObjectRefs found inside (the caller counts them as borrowed by the receiver). */
  refs: string[];
}

/** Numbers, strings, booleans, bigints, null and undefined cross as they are: callers skip `encode`. */
export function isPrimitive(v: unknown): boolean {
  const t = typeof v;
  return v === null || (t !== 'object' && t !== 'function' && t !== 'symbol');
}

/**
 * Prepares a value to cross a thread. `where()` names it in errors (e.g. `square(args[0])`) and
 * is called only then. Plain data is returned as is (structured clone copies it on send).
 */
export function encode(value: unknown, where: () => string): Encoded {
  if ((typeof value !== 'object' && typeof value !== 'function' && typeof value !== 'symbol') || value === null) {
    return { v: value, nested: false, refs: noRefs };
  }
  const found = { markable: false };
  try {
    scan(value, new Set(), found);
  } catch (e) {
    if (e instanceof Unsendable) throw new NonSerializableError(where() + e.steps.join(''), e.what);
    throw e;
  }
  if (!found.markable) return { v: value, nested: false, refs: noRefs };
  const refs: string[] = [];
  const v = rebuild(value, (o) => {
    if (!isMarkable(o)) return undefined;
    const m = o[toMarker]();
    if (m[KEY] === 'ref') refs.push(m.id);
    return m;
  }, new Map());
  return { v, nested: true, refs };
}

/**
 * A copy of an encoded value to keep until it is sent: its sender may change the original right
 * after (`f.remote(buf); buf.fill(0)`), and a value crosses as it was when given, as in Ray.
 */
export function snapshot(v: unknown, where: () => string): unknown {
  try {
    return structuredClone(v);
  } catch (e) {
    throw new NonSerializableError(where(), `a value structured clone refuses (${e instanceof Error ? e.message : String(e)})`);
  }
}

/** The common result for primitives: no allocation. */
const noRefs: string[] = [];

/** Revives markers inside a received value. Containers with markers are copied, not mutated. */
export function decode(v: unknown, revive: (m: Marker) => unknown): unknown {
  return rebuild(v, (o) => (isMarker(o) ? revive(o) : undefined), new Map());
}

/** Object ids of every ref marker inside an encoded value (and inside the stored values it names). */
export function refsInside(v: unknown): string[] {
  const ids: string[] = [];
  rebuild(v, (o) => {
    if (!isMarker(o)) return undefined;
    if (o[KEY] === 'ref') ids.push(o.id);
    else if (o[KEY] === 'stored' && o.refs) ids.push(...o.refs);
    return o;
  }, new Map());
  return ids;
}

/** Does an encoded value hold any marker (a ref, an actor handle, a remote function, a stored value)? */
export function hasMarkers(v: unknown): boolean {
  if (isPrimitive(v)) return false;
  let found = false;
  rebuild(v, (o) => (isMarker(o) ? ((found = true), o) : undefined), new Map());
  return found;
}

export function isStoredMarker(v: unknown): boolean {
  return typeof v === 'object' && v !== null && isMarker(v) && v[KEY] === 'stored';
}

/** The marker that stands for object `id` in the shared store; `refs`: ObjectRefs inside its value. */
export function makeStoredMarker(id: string, size: number, refs: string[]): Marker {
  return refs.length ? makeMarker('stored', { id, size, refs }) : makeMarker('stored', { id, size });
}

/**
 * Is this plain data that JSON carries without loss (finite numbers other than -0, strings,
 * booleans, null, and small plain arrays/objects of them)? Bounded: big values go by structured clone.
 */
export function isJsonSafe(v: unknown, budget = 64): boolean {
  return jsonCost(v, budget) >= 0;
}

function jsonCost(v: unknown, budget: number): number {
  if (--budget < 0) return -1;
  switch (typeof v) {
    case 'string': case 'boolean': return budget;
    case 'number': return Number.isFinite(v) && !Object.is(v, -0) ? budget : -1;
    case 'object': break;
    default: return -1;
  }
  if (v === null) return budget;
  const proto = Object.getPrototypeOf(v);
  if (proto === Array.prototype) {
    const a = v as unknown[];
    for (let i = 0; i < a.length && budget >= 0; i++) budget = i in a ? jsonCost(a[i], budget) : -1;
    return budget;
  }
  if (proto !== Object.prototype && proto !== null) return -1;
  for (const k in v as object) {
    if (k === '__proto__' || !Object.prototype.hasOwnProperty.call(v, k)) return -1;
    budget = jsonCost((v as Record<string, unknown>)[k], budget);
    if (budget < 0) return -1;
  }
  return budget;
}
