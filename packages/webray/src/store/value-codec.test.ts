import { describe, expect, it } from 'vitest';
import { prng } from '../shared/prng.js';
import { decodeValue, encodeValue, payloadBytes } from './value-codec.js';

const sab = new SharedArrayBuffer(4 << 20);
const mem = new Uint8Array(sab);
const AT = 48; // non-zero, 16-aligned

/** Encodes into the shared memory over garbage, checks nothing outside the region was touched, decodes. */
function roundTrip(v: unknown, copy = false, at = AT): unknown {
  const e = encodeValue(v);
  const end = at + e.byteLength;
  mem.fill(0xab, at - 16, end + 16);
  e.writeTo(mem, at);
  const outside = [...mem.subarray(at - 16, at), ...mem.subarray(end, end + 16)];
  if (outside.some((b) => b !== 0xab)) expect.fail('writeTo wrote outside its region');
  return decodeValue(sab, at, e.byteLength, copy);
}

/** Why `a` and `b` differ (types, identity structure, holes, -0, NaN), or undefined if they match. */
function diff(a: unknown, b: unknown, path = '$', pairs = new Map<object, unknown>(), back = new Map<unknown, object>()): string | undefined {
  if (typeof a !== typeof b) return `${path}: ${typeof a} vs ${typeof b}`;
  if (typeof a !== 'object' || a === null || b === null) return Object.is(a, b) ? undefined : `${path}: ${String(a)} vs ${String(b)}`;
  const o = b as object;
  if (pairs.has(a) || back.has(o)) return pairs.get(a) === o && back.get(o) === a ? undefined : `${path}: reference structure differs`;
  pairs.set(a, o);
  back.set(o, a);
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(o)) return `${path}: prototype ${a.constructor?.name} vs ${o.constructor?.name}`;
  const sameBytes = (x: Uint8Array, y: Uint8Array): string | undefined =>
    x.length === y.length && x.every((v, i) => v === y[i]) ? undefined : `${path}: bytes differ`;
  if (ArrayBuffer.isView(a)) {
    const x = a as ArrayBufferView;
    const y = o as ArrayBufferView;
    return sameBytes(new Uint8Array(x.buffer, x.byteOffset, x.byteLength), new Uint8Array(y.buffer, y.byteOffset, y.byteLength));
  }
  if (a instanceof ArrayBuffer || a instanceof SharedArrayBuffer) {
    return sameBytes(new Uint8Array(a), new Uint8Array(o as ArrayBuffer));
  }
  if (Array.isArray(a)) {
    const y = o as unknown[];
    if (a.length !== y.length) return `${path}: length ${a.length} vs ${y.length}`;
    for (let i = 0; i < a.length; i++) {
      if (i in a !== i in y) return `${path}[${i}]: hole vs element`;
      const d = diff(a[i], y[i], `${path}[${i}]`, pairs, back);
      if (d) return d;
    }
    return undefined;
  }
  if (a instanceof Map || a instanceof Set) {
    const xs = [...(a as Map<unknown, unknown>).entries()];
    const ys = [...(o as Map<unknown, unknown>).entries()];
    if (xs.length !== ys.length) return `${path}: size ${xs.length} vs ${ys.length}`;
    for (let i = 0; i < xs.length; i++) {
      const d = diff(xs[i]![0], ys[i]![0], `${path}<key ${i}>`, pairs, back) ?? diff(xs[i]![1], ys[i]![1], `${path}<${i}>`, pairs, back);
      if (d) return d;
    }
    return undefined;
  }
  if (a instanceof Date) return Object.is(a.getTime(), (o as Date).getTime()) ? undefined : `${path}: date`;
  if (a instanceof RegExp) return `${a}` === `${o}` ? undefined : `${path}: ${a} vs ${o}`;
  if (a instanceof Error) {
    const y = o as Error;
    for (const k of ['name', 'message', 'stack'] as const) if (a[k] !== y[k]) return `${path}.${k}: ${a[k]} vs ${y[k]}`;
    if (Object.hasOwn(a, 'cause') !== Object.hasOwn(y, 'cause')) return `${path}.cause: presence`;
    return diff(a.cause, y.cause, `${path}.cause`, pairs, back);
  }
  if (a instanceof Boolean || a instanceof Number || a instanceof String || a instanceof BigInt) {
    return Object.is(a.valueOf(), (o as Number).valueOf()) ? undefined : `${path}: boxed value`;
  }
  const ka = Object.keys(a);
  const kb = Object.keys(o);
  if (ka.join('\u0001') !== kb.join('\u0001')) return `${path}: keys [${ka}] vs [${kb}]`;
  for (const k of ka) {
    const d = diff((a as Record<string, unknown>)[k], (o as Record<string, unknown>)[k], `${path}.${JSON.stringify(k)}`, pairs, back);
    if (d) return d;
  }
  return undefined;
}

function expectSame(a: unknown, b: unknown): void {
  expect(diff(a, b)).toBeUndefined();
}

/** Every typed array / DataView reachable in `v`. */
function viewsIn(v: unknown, out: ArrayBufferView[] = [], seen = new Set<object>()): ArrayBufferView[] {
  if (typeof v !== 'object' || v === null || seen.has(v)) return out;
  seen.add(v);
  if (ArrayBuffer.isView(v)) out.push(v);
  else if (v instanceof Map) for (const [k, x] of v) { viewsIn(k, out, seen); viewsIn(x, out, seen); }
  else if (v instanceof Set) for (const x of v) viewsIn(x, out, seen);
  else if (v instanceof Error) viewsIn(v.cause, out, seen);
  else for (const x of Object.values(v)) viewsIn(x, out, seen);
  return out;
}

function expectSharedViews(v: unknown): void {
  for (const view of viewsIn(v)) {
    expect(view.buffer).toBe(sab);
    expect(view.byteOffset % 16).toBe(0);
  }
}

const typedKinds = [
  Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
  Float32Array, Float64Array, BigInt64Array, BigUint64Array,
] as const;

function filled(Ctor: (typeof typedKinds)[number], n: number, seed = 1): ArrayBufferView<ArrayBuffer> {
  const bytes = new Uint8Array(n * Ctor.BYTES_PER_ELEMENT);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 37 + seed) & 0xff;
  return new Ctor(bytes.buffer);
}

describe('encodeValue/decodeValue round trip', () => {
  it('keeps primitives with their type', () => {
    const values = [
      undefined, null, true, false, 0, -0, 1, -1, 42, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, 2 ** 53, -(2 ** 53) - 2,
      1.5, Math.PI, NaN, Infinity, -Infinity, Number.MIN_VALUE, Number.MAX_VALUE,
      0n, 1n, -1n, 255n, 256n, -(2n ** 64n), 2n ** 1000n + 12345n, -(3n ** 500n),
      '', 'a', 'hello', 'é', '日本語', '😀', 'a😀b', 'x'.repeat(63), 'x'.repeat(64), 'é'.repeat(40), '😀'.repeat(100),
      '\uFEFFbom', '\uFEFF' + 'long'.repeat(20), '\u0000nul', 'lone \uD800 high', 'lone \uDC00 low', '\uDC00\uD800', 'z'.repeat(70) + '\uD83D',
    ];
    for (const v of values) expect(Object.is(roundTrip(v), v), String(v)).toBe(true);
  });

  it('keeps arrays, holes, plain objects and key order', () => {
    const sparse: unknown[] = [1, , 3]; // eslint-disable-line no-sparse-arrays
    const big: unknown[] = new Array(100_000);
    big[5] = 'five';
    big[99_999] = { last: true };
    const trailing = [1, 2];
    trailing.length = 10;
    const allHoles = new Array(100);
    const obj = { z: 1, a: [1, 'two', null, undefined], m: { n: { o: {} } }, 10: 'ten', 2: 'two', '': 'empty' };
    for (const v of [[], [undefined], sparse, big, trailing, allHoles, obj]) expectSame(v, roundTrip(v));
    // Like structured clone, a null-prototype object comes back as a plain object.
    expect(roundTrip(Object.assign(Object.create(null), { k: 1 }))).toStrictEqual({ k: 1 });
    const r = roundTrip(sparse) as unknown[];
    expect(1 in r).toBe(false);
    expect(Object.keys(roundTrip(obj) as object)).toEqual(Object.keys(obj));
    // A big sparse array stays small.
    expect(encodeValue(big).byteLength).toBeLessThan(100);
  });

  it('keeps objects with "\\u0000" keys (webray markers) and a "__proto__" key as plain objects', () => {
    const marker = { '\u0000webray': 'ref', id: 'abc', owner: 'w1' };
    const r = roundTrip({ m: marker, list: [marker] }) as { m: Record<string, unknown>; list: unknown[] };
    expect(Object.getPrototypeOf(r.m)).toBe(Object.prototype);
    expect(r.m).toStrictEqual(marker);
    expect(r.list[0]).toBe(r.m);
    const proto = JSON.parse('{"__proto__": {"x": 1}, "y": 2}') as object;
    const p = roundTrip(proto) as Record<string, unknown>;
    expect(Object.getPrototypeOf(p)).toBe(Object.prototype);
    expect(Object.keys(p)).toEqual(['__proto__', 'y']);
    expectSame(proto, p);
  });

  it('keeps Map (object keys too) and Set', () => {
    const k = { key: 1 };
    const m = new Map<unknown, unknown>([[k, 'obj'], [1, 'one'], ['1', 'str'], [NaN, 'nan'], [null, [k]], [2n, new Set([1, 'a', k])]]);
    const r = roundTrip(m) as Map<unknown, unknown>;
    expectSame(m, r);
    const rk = [...r.keys()][0];
    expect((r.get(null) as unknown[])[0]).toBe(rk);
    expect([...(r.get(2n) as Set<unknown>)][2]).toBe(rk);
  });

  it('keeps Date, RegExp and boxed primitives', () => {
    const values = [
      new Date(0), new Date(1_700_000_000_123), new Date(NaN), /a+b/gimsuy, new RegExp('\\d{2}\u00e9😀', 'u'), /x/d,
      Object(true), Object(false), Object(-0), Object(1.5), Object('str😀'), Object(-(2n ** 70n)),
    ];
    for (const v of values) expectSame(v, roundTrip(v));
  });

  it('keeps errors: class, name, message, stack and cause', () => {
    const inner = new RangeError('inner');
    const e = new TypeError('outer', { cause: inner });
    const r = roundTrip(e) as TypeError;
    expect(r).toBeInstanceOf(TypeError);
    expect(r.cause).toBeInstanceOf(RangeError);
    expectSame(e, r);
    for (const C of [Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError]) {
      const d = roundTrip(new C('m')) as Error;
      expect(d.constructor).toBe(C);
      expect(d.name).toBe(C.name);
    }
    class MyError extends Error { override name = 'MyError'; }
    const mine = roundTrip(new MyError('custom')) as Error;
    expect(Object.getPrototypeOf(mine)).toBe(Error.prototype);
    expect(mine.name).toBe('MyError');
    expect(mine.message).toBe('custom');
    const noCause = roundTrip(new Error('x')) as Error;
    expect(Object.hasOwn(noCause, 'cause')).toBe(false);
    const undefinedCause = roundTrip(new Error('x', { cause: undefined })) as Error;
    expect(Object.hasOwn(undefinedCause, 'cause')).toBe(true);
  });

  it('keeps every typed array kind and DataView as 16-aligned views of the shared memory', () => {
    for (const Ctor of typedKinds) {
      for (const n of [0, 1, 7, 100]) {
        const v = filled(Ctor, n);
        const r = roundTrip(v) as ArrayBufferView;
        expect(r).toBeInstanceOf(Ctor);
        expectSame(v, r);
        expectSharedViews(r);
        // Nested in a graph too.
        const g = roundTrip({ x: [v, 'y'] }) as { x: [ArrayBufferView, string] };
        expect(g.x[0]).toBeInstanceOf(Ctor);
        expectSame({ x: [v, 'y'] }, g);
        expectSharedViews(g);
      }
    }
    const dv = new DataView(new Uint8Array([1, 2, 3, 4, 5]).buffer, 1, 3);
    const rdv = roundTrip(dv) as DataView;
    expect(rdv).toBeInstanceOf(DataView);
    expect(rdv.byteLength).toBe(3);
    expect(rdv.getUint8(0)).toBe(2);
    expectSharedViews(rdv);
    // Node's Buffer is a Uint8Array subclass: it comes back as a Uint8Array.
    const buf = roundTrip(Buffer.from('hi')) as Uint8Array;
    expect(Object.getPrototypeOf(buf)).toBe(Uint8Array.prototype);
    expect([...buf]).toEqual([104, 105]);
  });

  it('stores only the own bytes of a subarray', () => {
    const big = new Float64Array(1000).map((_, i) => i);
    const sub = big.subarray(10, 20);
    const e = encodeValue(sub);
    expect(e.byteLength).toBe(16 + 80);
    const r = roundTrip(sub) as Float64Array;
    expect([...r]).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    const odd = new Int16Array(big.buffer, 6, 5); // not 16-aligned in its source
    const r2 = roundTrip({ odd }) as { odd: Int16Array };
    expectSame({ odd }, r2);
    expectSharedViews(r2);
  });

  it('the fast path is a 16-byte header plus the raw bytes, read from the source only in writeTo', () => {
    const v = new Float64Array([1, 2, 3]);
    const e = encodeValue(v);
    expect(e.byteLength).toBe(16 + 24);
    v[0] = 99; // encode took no copy: the write sees this
    e.writeTo(mem, AT);
    v[1] = 77; // the write took one: the stored value does not see this
    const r = decodeValue(sab, AT, e.byteLength) as Float64Array;
    expect([...r]).toEqual([99, 2, 3]);
    expect(r.buffer).toBe(sab);
    expect(r.byteOffset).toBe(AT + 16);
  });

  it('the decoded value does not change when the source is mutated after encode + write', () => {
    const src = { a: new Float64Array([1, 2]), s: 'x', list: [1] };
    const e = encodeValue(src);
    e.writeTo(mem, AT);
    src.a[0] = 5;
    src.s = 'y';
    src.list.push(2);
    expectSame({ a: new Float64Array([1, 2]), s: 'x', list: [1] }, decodeValue(sab, AT, e.byteLength));
  });

  it('copy=true gives fresh, unshared typed arrays and DataViews', () => {
    const v = { a: new Float64Array([1, 2, 3]), d: new DataView(new ArrayBuffer(4)), top: new Int32Array([7]) };
    const r = roundTrip(v, true) as typeof v;
    expectSame(v, r);
    for (const x of [r.a, r.d, r.top]) {
      expect(x.buffer).not.toBe(sab);
      expect(x.buffer).toBeInstanceOf(ArrayBuffer);
      expect(x.byteOffset).toBe(0);
    }
    const top = roundTrip(new Uint16Array([1, 2]), true) as Uint16Array;
    expect(top.buffer).toBeInstanceOf(ArrayBuffer);
    expect([...top]).toEqual([1, 2]);
  });

  it('ArrayBuffers come back as fresh ArrayBuffer copies; SharedArrayBuffers as fresh shared copies', () => {
    const ab = new Uint8Array([1, 2, 3]).buffer;
    for (const r of [roundTrip(ab), (roundTrip({ ab }) as { ab: unknown }).ab]) {
      expect(r).toBeInstanceOf(ArrayBuffer);
      expect(r).not.toBe(sab);
      expect([...new Uint8Array(r as ArrayBuffer)]).toEqual([1, 2, 3]);
    }
    const s = new SharedArrayBuffer(2);
    new Uint8Array(s).set([9, 8]);
    const rs = roundTrip(s) as SharedArrayBuffer;
    expect(rs).toBeInstanceOf(SharedArrayBuffer);
    expect(rs).not.toBe(sab);
    expect([...new Uint8Array(rs)]).toEqual([9, 8]);
  });

  it('keeps nested typed arrays in arbitrary positions', () => {
    const v = { a: new Float64Array(3).fill(1.5), b: [new Int32Array(2).fill(-3), 'x'], c: new Map([['k', new Uint8Array(17)]]) };
    const r = roundTrip(v) as typeof v;
    expectSame(v, r);
    expectSharedViews(r);
    expect(r.b[0]).toBeInstanceOf(Int32Array);
  });

  it('keeps shared references and cycles', () => {
    const shared = { s: 1 };
    const arr = new Float32Array(4);
    const a: Record<string, unknown> = { x: shared, y: shared, t1: arr, t2: arr };
    const b: Record<string, unknown> = { a };
    a.b = b;
    a.self = a;
    const list: unknown[] = [];
    list.push(list, a);
    const m = new Map<unknown, unknown>();
    m.set(m, m);
    const e = new Error('loop');
    e.cause = e;
    const r = roundTrip({ a, list, m, e }) as { a: Record<string, unknown>; list: unknown[]; m: Map<unknown, unknown>; e: Error };
    expect(r.a.x).toBe(r.a.y);
    expect(r.a.t1).toBe(r.a.t2);
    expect((r.a.b as Record<string, unknown>).a).toBe(r.a);
    expect(r.a.self).toBe(r.a);
    expect(r.list[0]).toBe(r.list);
    expect(r.list[1]).toBe(r.a);
    expect(r.m.get(r.m)).toBe(r.m);
    expect(r.e.cause).toBe(r.e);
  });

  it('decodes from a non-shared buffer and from a buffer longer than the region', () => {
    const ab = new ArrayBuffer(1024);
    const bytes = new Uint8Array(ab);
    bytes.fill(0xff);
    const v = { s: 'long '.repeat(40), t: new Uint8Array([1, 2]), n: -0 };
    const e = encodeValue(v);
    e.writeTo(bytes, 160);
    const r = decodeValue(ab, 160, e.byteLength) as typeof v;
    expectSame(v, r);
    expect(r.t.buffer).toBe(ab);
  });

  it('encodes interleaved values independently', () => {
    const e1 = encodeValue({ one: 'é'.repeat(100), t: new Int8Array([1]) });
    const e2 = encodeValue(['two', new Int8Array([2])]);
    e2.writeTo(mem, 1024);
    e1.writeTo(mem, 64);
    expectSame(['two', new Int8Array([2])], decodeValue(sab, 1024, e2.byteLength));
    expectSame({ one: 'é'.repeat(100), t: new Int8Array([1]) }, decodeValue(sab, 64, e1.byteLength));
  });

  it('rejects a region that is not an encoded value', () => {
    expect(() => decodeValue(sab, 0, 8)).toThrow(RangeError);
    mem.fill(0, 0, 32);
    expect(() => decodeValue(sab, 0, 32)).toThrow(/magic/);
  });
});

describe('strings from shared memory never reach TextDecoder as shared views', () => {
  it('decodes strings of every length with a TextDecoder and encoder that refuse shared views', () => {
    const proto = TextDecoder.prototype;
    const decode = proto.decode;
    const encodeInto = TextEncoder.prototype.encodeInto;
    const isShared = (x: unknown): boolean => ArrayBuffer.isView(x) && x.buffer instanceof SharedArrayBuffer;
    let calls = 0;
    proto.decode = function (this: TextDecoder, input?: AllowSharedBufferSource, options?: TextDecodeOptions) {
      if (isShared(input)) throw new TypeError('shared view refused (as Chromium does)');
      calls++;
      return decode.call(this, input, options);
    };
    TextEncoder.prototype.encodeInto = function (this: TextEncoder, s: string, dest: Uint8Array) {
      if (isShared(dest)) throw new TypeError('shared view refused');
      return encodeInto.call(this, s, dest);
    };
    try {
      const units = ['a', 'é', '日', '😀', 'a\u00e9\u65e5\uD83D\uDE00'];
      const check = (s: string): void => {
        expect(roundTrip(s)).toBe(s);
        expectSame({ [s]: s }, roundTrip({ [s]: s }));
      };
      // Under 64 UTF-8 bytes: decoded by hand, never by TextDecoder.
      for (const unit of units) for (const n of [0, 1, 3, 5, 6]) check(unit.repeat(n));
      expect(calls).toBe(0);
      for (const unit of units) for (const n of [7, 10, 15, 16, 21, 31, 32, 63, 64, 65, 200, 5000, 40_000]) check(unit.repeat(n));
      expect(calls).toBeGreaterThan(0); // long strings do go through TextDecoder, on a copy
    } finally {
      proto.decode = decode;
      TextEncoder.prototype.encodeInto = encodeInto;
    }
  });
});

describe('refusals', () => {
  it.each([
    ['a function', function namedFn() {}, /cannot store a function \(namedFn\)/],
    ['an arrow', () => 1, /cannot store a function/],
    ['a class', class Foo {}, /cannot store a function \(Foo\)/],
    ['a symbol', Symbol('s'), /cannot store a symbol \(Symbol\(s\)\)/],
    ['a Promise', Promise.resolve(1), /cannot store a Promise \(await it first/],
    ['a WeakMap', new WeakMap(), /cannot store a WeakMap/],
    ['a WeakSet', new WeakSet(), /cannot store a WeakSet/],
    ['a WeakRef', new WeakRef({}), /cannot store a WeakRef/],
    ['a Blob', new Blob(['x']), /cannot store a Blob/],
    ['a generator', (function* gen() {})(), /cannot store a Generator/],
  ])('refuses %s, alone or nested, with a TypeError naming it', (_, v, message) => {
    expect(() => encodeValue(v)).toThrow(TypeError);
    expect(() => encodeValue(v)).toThrow(message);
    expect(() => encodeValue({ deep: [new Map([['k', v]])] })).toThrow(message);
  });

  it('keeps class instances as plain objects of their own enumerable properties', () => {
    class Point { constructor(public x: number, public y: number) {} }
    const r = roundTrip(new Point(1, 2));
    expect(Object.getPrototypeOf(r)).toBe(Object.prototype);
    expect(r).toStrictEqual({ x: 1, y: 2 });
  });
});

describe('payloadBytes', () => {
  it('counts typed arrays, DataViews, ArrayBuffers, strings and keys', () => {
    expect(payloadBytes(new Float64Array(10), Infinity)).toBe(80);
    expect(payloadBytes(new Float64Array(100).subarray(0, 10), Infinity)).toBe(80);
    expect(payloadBytes(42, Infinity)).toBe(0);
    expect(payloadBytes('hello', Infinity)).toBe(5);
    const t = new Uint8Array(5);
    const v = { a: new Float64Array(10), b: [t, 'abc', t], c: new Map([['k', new DataView(new ArrayBuffer(7))]]), d: new Set([new ArrayBuffer(3)]) };
    // 80 + 5 (t once) + 3 + 1 (map key) + 7 + 3 + keys a, b, c, d
    expect(payloadBytes(v, Infinity)).toBe(80 + 5 + 3 + 1 + 7 + 3 + 4);
  });

  it('stops at the limit and survives cycles', () => {
    const many = Array.from({ length: 1000 }, () => new Float64Array(100));
    const n = payloadBytes(many, 1600);
    expect(n).toBeGreaterThanOrEqual(1600);
    expect(n).toBeLessThan(800 * 1000);
    const a: Record<string, unknown> = { t: new Uint8Array(10) };
    a.self = a;
    a.list = [a, a];
    expect(payloadBytes(a, Infinity)).toBe(10 + 't'.length + 'self'.length + 'list'.length);
  });
});

describe('fuzz', () => {

  function generator(rand: () => number): () => unknown {
    const int = (n: number): number => Math.floor(rand() * n);
    const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
    const pieces = ['a', 'Z', ' ', '\u0000', 'é', 'ß', '日本', '😀', '\uFEFF', '\uD800', '\uDFFF', 'webray', '\u0000webray'];
    const str = (): string => {
      const n = pick([0, 1, 3, 8, 30, 70, 200]);
      let s = '';
      while (s.length < n) s += pick(pieces);
      return s;
    };
    const prim = (): unknown => pick([
      () => undefined, () => null, () => rand() < 0.5,
      () => int(1000) - 500, () => (rand() - 0.5) * 1e10, () => pick([NaN, -0, 0, Infinity, -Infinity, 2 ** 31, -(2 ** 31) - 1, 2 ** 53 + 2]),
      () => BigInt(int(1e9)) * pick([1n, -1n, 2n ** 64n, -(10n ** 40n)]),
      str, str,
    ])();
    const pool: object[] = [];
    const kinds = [...typedKinds];
    const value = (depth: number): unknown => {
      if (pool.length > 0 && rand() < 0.04) return pick(pool); // shared reference, or a cycle to an ancestor
      if (depth >= 4 || rand() < 0.45) return prim();
      const k = int(12);
      const reg = <T extends object>(o: T): T => { pool.push(o); return o; };
      switch (k) {
        case 0: case 1: {
          const a = reg(new Array<unknown>(int(6)));
          for (let i = 0; i < a.length; i++) if (rand() < 0.85) a[i] = value(depth + 1);
          return a;
        }
        case 2: case 3: {
          const o = reg<Record<string, unknown>>({});
          for (let i = int(6); i > 0; i--) o[rand() < 0.2 ? String(int(20)) : str()] = value(depth + 1);
          return o;
        }
        case 4: {
          const m = reg(new Map<unknown, unknown>());
          for (let i = int(4); i > 0; i--) m.set(value(depth + 1), value(depth + 1));
          return m;
        }
        case 5: {
          const s = reg(new Set<unknown>());
          for (let i = int(4); i > 0; i--) s.add(value(depth + 1));
          return s;
        }
        case 6: {
          const Ctor = pick(kinds);
          const t = filled(Ctor, int(40) + 4, int(256));
          return reg(rand() < 0.3 ? new Ctor(t.buffer, Ctor.BYTES_PER_ELEMENT, 2) : t);
        }
        case 7: return reg(rand() < 0.5 ? new DataView(new ArrayBuffer(int(20))) : new Uint8Array(int(20)).buffer);
        case 8: return reg(pick([new Date(int(2e12)), new Date(NaN), /ab?c/g, new RegExp(str().replace(/[\\^$.*+?()[\]{}|/]/g, ''), 'i')]));
        case 9: {
          const C = pick([Error, TypeError, RangeError, SyntaxError]);
          return reg(rand() < 0.5 ? new C(str(), { cause: value(depth + 1) }) : new C(str()));
        }
        case 10: return reg(Object(pick([true, 3.25, -0, 'boxed', 12n])) as object);
        default: return prim();
      }
    };
    return () => { pool.length = 0; return value(0); };
  }

  it('round-trips a few thousand random values exactly', () => {
    const next = generator(prng(0xc0ffee));
    for (let i = 0; i < 3000; i++) {
      const v = next();
      const copy = i % 5 === 0;
      const r = roundTrip(v, copy, 16 * (1 + (i % 7)));
      const d = diff(v, r);
      if (d) expect.fail(`value #${i}: ${d}`);
      if (copy) for (const view of viewsIn(r)) expect(view.buffer).not.toBe(sab);
      else expectSharedViews(r);
    }
  });
});
