/**
 * Binary encoding of values for the shared-memory object store. Typed arrays, DataViews and
 * ArrayBuffers go "out of band": their raw bytes sit at 16-aligned addresses, so readers get
 * typed arrays back as views of the shared memory (zero copy). Everything else (the skeleton)
 * is a compact pre-order byte stream.
 *
 * Layout (header words are little-endian u32; the region starts 16-aligned, so every offset
 * that is 16-aligned relative to it is 16-aligned absolutely):
 *   binary value (a typed array, DataView or ArrayBuffer):
 *     [MAGIC_BINARY][kind][byteLength][0] then the bytes at +16
 *   any other value:
 *     [MAGIC_GRAPH][skeletonLength][dataLength][0] [skeleton][pad to 16] [data]
 *     The data section holds each out-of-band buffer at the next 16-aligned offset, in the
 *     order the skeleton meets them, so the skeleton stores only kind and length per buffer.
 *
 * Skeleton: one tag byte per value, then its payload; counts and lengths are unsigned LEB128
 * varints. Objects get ids in pre-order (id assigned before children), and a repeat is `REF id`,
 * which keeps shared references and cycles. Strings are UTF-8 (`STR`), or UTF-16 code units
 * (`STR16`) when they hold lone surrogates, which UTF-8 cannot carry. Padding is not written.
 *
 * Only out-of-band bytes are read from the source in `writeTo`; the skeleton is a snapshot
 * taken by `encodeValue`.
 */

export interface EncodedValue {
  /** Bytes needed in the store, including padding for alignment. */
  readonly byteLength: number;
  /** Writes the value at `offset` of `bytes` (a Uint8Array over the WHOLE memory; offset is a multiple of 16). */
  writeTo(bytes: Uint8Array, offset: number): void;
}

const HEADER = 16;
const MAGIC_BINARY = 0x31425257; // "WRB1"
const MAGIC_GRAPH = 0x31475257; // "WRG1"

// Skeleton tags.
const UNDEFINED = 0;
const NULL = 1;
const FALSE = 2;
const TRUE = 3;
const INT = 4; // zigzag varint int32
const FLOAT = 5; // float64
const BIGINT = 6; // sign byte, varint byte count, big-endian magnitude
const STR = 7; // varint byte count, UTF-8
const STR16 = 8; // varint unit count, UTF-16LE
const ARRAY = 9; // varint length, elements (HOLES n stands for n missing elements)
const HOLES = 10;
const OBJECT = 11; // varint count, (string key, value)*
const MAP = 12; // varint count, (key, value)*
const SET = 13; // varint count, member*
const DATE = 14; // float64 time
const REGEXP = 15; // source string, flags string
const ERROR = 16; // name, message, has-stack/has-cause bits, [stack], [cause]
const BOXED = 17; // the wrapped primitive
const BINARY = 18; // kind byte, varint byteLength
const REF = 19; // varint object id

/** Out-of-band kinds: index = kind number. `bytes` is the element size (1 for DataView). */
const KINDS: readonly { name: string; bytes: number }[] = [
  { name: 'Int8Array', bytes: 1 }, { name: 'Uint8Array', bytes: 1 }, { name: 'Uint8ClampedArray', bytes: 1 },
  { name: 'Int16Array', bytes: 2 }, { name: 'Uint16Array', bytes: 2 }, { name: 'Int32Array', bytes: 4 },
  { name: 'Uint32Array', bytes: 4 }, { name: 'Float32Array', bytes: 4 }, { name: 'Float64Array', bytes: 8 },
  { name: 'BigInt64Array', bytes: 8 }, { name: 'BigUint64Array', bytes: 8 }, { name: 'Float16Array', bytes: 2 },
  { name: 'DataView', bytes: 1 }, { name: 'ArrayBuffer', bytes: 1 }, { name: 'SharedArrayBuffer', bytes: 1 },
];
const KIND_OF = new Map(KINDS.map((k, i) => [k.name, i]));
const K_ARRAY_BUFFER = KIND_OF.get('ArrayBuffer')!;
const K_SHARED = KIND_OF.get('SharedArrayBuffer')!;

/** Strings shorter than this (in UTF-16 units to encode, UTF-8 bytes to decode) are converted by hand. */
const SHORT = 64;
const LONE_SURROGATE = /\p{Cs}/u;
const ERRORS: Record<string, ErrorConstructor> = {
  Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError,
};

const encoder = new TextEncoder();
// ignoreBOM: a string that starts with U+FEFF must keep it.
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });

const align16 = (n: number): number => (n + 15) & ~15;

function isSharedBuffer(v: unknown): v is SharedArrayBuffer {
  return typeof SharedArrayBuffer !== 'undefined' && v instanceof SharedArrayBuffer;
}

function refused(what: string, hint = 'pass plain data, or an ObjectRef'): TypeError {
  return new TypeError(`webray cannot store ${what} (${hint})`);
}

function corrupt(why: string): RangeError {
  return new RangeError(`webray object store: stored value is corrupt (${why})`);
}

interface Binary {
  kind: number;
  /** The source's own bytes (a view, not a copy). */
  bytes: Uint8Array;
}

/** The out-of-band kind and bytes of a typed array, DataView or (Shared)ArrayBuffer; else undefined. */
function binaryOf(o: object): Binary | undefined {
  let b: Binary;
  if (ArrayBuffer.isView(o)) {
    // Typed arrays (subclasses and Node Buffers too) and DataView all report their kind here.
    const kind = KIND_OF.get((o as { [Symbol.toStringTag]?: string })[Symbol.toStringTag] ?? '');
    if (kind === undefined) throw refused(`a ${o.constructor.name}`, 'pass a standard typed array');
    b = { kind, bytes: new Uint8Array(o.buffer, o.byteOffset, o.byteLength) };
  } else if (o instanceof ArrayBuffer) {
    b = { kind: K_ARRAY_BUFFER, bytes: new Uint8Array(o) };
  } else if (isSharedBuffer(o)) {
    b = { kind: K_SHARED, bytes: new Uint8Array(o) };
  } else {
    return undefined;
  }
  if (b.bytes.length > 0xffffffff) throw refused('a buffer over 4 GiB', 'split it');
  return b;
}

function writeHeader(bytes: Uint8Array, offset: number, magic: number, a: number, b: number): void {
  const head = new DataView(bytes.buffer, bytes.byteOffset + offset, HEADER);
  head.setUint32(0, magic, true);
  head.setUint32(4, a, true);
  head.setUint32(8, b, true);
  head.setUint32(12, 0, true);
}

/** Encodes a value; throws a TypeError naming what cannot be stored (functions, symbols, promises, weak collections, host objects). */
export function encodeValue(value: unknown): EncodedValue {
  const bin = typeof value === 'object' && value !== null ? binaryOf(value) : undefined;
  if (bin) {
    // Fast path: a 16-byte header, then the raw bytes.
    const { kind, bytes: src } = bin;
    return {
      byteLength: HEADER + src.length,
      writeTo(bytes, offset) {
        writeHeader(bytes, offset, MAGIC_BINARY, kind, src.length);
        bytes.set(src, offset + HEADER);
      },
    };
  }
  const enc = new Encoder();
  enc.value(value);
  const skeleton = enc.buf.subarray(0, enc.pos);
  const dataStart = HEADER + align16(skeleton.length);
  const { binaries, dataLength } = enc;
  return {
    byteLength: dataStart + dataLength,
    writeTo(bytes, offset) {
      writeHeader(bytes, offset, MAGIC_GRAPH, skeleton.length, dataLength);
      bytes.set(skeleton, offset + HEADER);
      let at = offset + dataStart;
      for (const b of binaries) {
        at = align16(at);
        bytes.set(b, at);
        at += b.length;
      }
    },
  };
}

/** Builds the skeleton in an ordinary (non-shared) growable buffer: browsers may refuse `encodeInto` on shared views. */
class Encoder {
  buf = new Uint8Array(64);
  view = new DataView(this.buf.buffer);
  pos = 0;
  readonly ids = new Map<object, number>();
  /** Out-of-band buffers in skeleton order. */
  readonly binaries: Uint8Array[] = [];
  dataLength = 0;

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  private byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }

  private varint(v: number): void {
    this.ensure(5);
    while (v > 0x7f) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[this.pos++] = v;
  }

  private float(x: number): void {
    this.ensure(8);
    this.view.setFloat64(this.pos, x, true);
    this.pos += 8;
  }

  value(v: unknown): void {
    switch (typeof v) {
      case 'undefined': return this.byte(UNDEFINED);
      case 'boolean': return this.byte(v ? TRUE : FALSE);
      case 'number':
        if ((v | 0) === v && (v !== 0 || 1 / v > 0)) {
          this.byte(INT);
          return this.varint(((v << 1) ^ (v >> 31)) >>> 0);
        }
        this.byte(FLOAT);
        return this.float(v);
      case 'string': return this.string(v);
      case 'bigint': return this.bigint(v);
      case 'object': return v === null ? this.byte(NULL) : this.object(v);
      case 'function': throw refused(`a function (${v.name || 'anonymous'})`, 'pass data, or an ObjectRef');
      case 'symbol': throw refused(`a symbol (${String(v)})`, 'pass a string instead');
    }
  }

  string(s: string): void {
    const n = s.length;
    if (n < SHORT) {
      // ASCII fast path: byte count = n, which fits one varint byte.
      this.ensure(2 + n);
      const start = this.pos;
      this.buf[this.pos++] = STR;
      this.buf[this.pos++] = n;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        this.buf[this.pos + i] = c;
      }
      if (i === n) { this.pos += n; return; }
      this.pos = start;
    }
    if (LONE_SURROGATE.test(s)) {
      this.byte(STR16);
      this.varint(n);
      this.ensure(2 * n);
      for (let i = 0; i < n; i++) {
        const c = s.charCodeAt(i);
        this.buf[this.pos++] = c & 0xff;
        this.buf[this.pos++] = c >>> 8;
      }
      return;
    }
    // UTF-8 is at most 3 bytes per UTF-16 unit: encode after room for that length's varint,
    // then slide the bytes back if the real length's varint is shorter.
    const max = 3 * n;
    const reserve = varintSize(max);
    this.ensure(1 + reserve + max);
    this.buf[this.pos++] = STR;
    const start = this.pos + reserve;
    const written = encoder.encodeInto(s, this.buf.subarray(start, start + max)).written ?? 0;
    const size = varintSize(written);
    if (size < reserve) this.buf.copyWithin(this.pos + size, start, start + written);
    this.varint(written);
    this.pos += written;
  }

  private bigint(v: bigint): void {
    let hex = (v < 0n ? -v : v).toString(16);
    if (hex.length & 1) hex = '0' + hex;
    const n = hex.length >> 1;
    this.byte(BIGINT);
    this.byte(v < 0n ? 1 : 0);
    this.varint(n);
    this.ensure(n);
    for (let i = 0; i < n; i++) this.buf[this.pos++] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  }

  private object(o: object): void {
    const id = this.ids.get(o);
    if (id !== undefined) {
      this.byte(REF);
      return this.varint(id);
    }
    this.ids.set(o, this.ids.size);
    if (Array.isArray(o)) return this.array(o);
    const bin = binaryOf(o);
    if (bin) {
      this.binaries.push(bin.bytes);
      this.dataLength = align16(this.dataLength) + bin.bytes.length;
      this.byte(BINARY);
      this.byte(bin.kind);
      return this.varint(bin.bytes.length);
    }
    if (o instanceof Map) {
      this.byte(MAP);
      this.varint(o.size);
      for (const [k, x] of o) { this.value(k); this.value(x); }
      return;
    }
    if (o instanceof Set) {
      this.byte(SET);
      this.varint(o.size);
      for (const x of o) this.value(x);
      return;
    }
    if (o instanceof Date) {
      this.byte(DATE);
      return this.float(Date.prototype.getTime.call(o));
    }
    if (o instanceof RegExp) {
      this.byte(REGEXP);
      this.string(o.source);
      return this.string(o.flags);
    }
    if (o instanceof Error) return this.error(o);
    if (o instanceof Boolean || o instanceof Number || o instanceof String || o instanceof BigInt) {
      this.byte(BOXED);
      return this.value(o.valueOf());
    }
    if (o instanceof Promise) throw refused('a Promise', 'await it first, or pass an ObjectRef');
    if (o instanceof WeakMap || o instanceof WeakSet || o instanceof WeakRef || o instanceof FinalizationRegistry) {
      throw refused(`a ${o.constructor.name}`, 'weak references cannot be copied; pass a Map, a Set or the value itself');
    }
    // Built-in and host objects (Blob, DOM nodes, generators...) carry a tag; plain objects and
    // class instances do not. Copying the former's own properties would silently lose them.
    const tag = (o as { [Symbol.toStringTag]?: unknown })[Symbol.toStringTag];
    if (tag !== undefined) throw refused(`a ${String(tag)}`, 'convert it to plain data first');
    const keys = Object.keys(o);
    this.byte(OBJECT);
    this.varint(keys.length);
    for (const k of keys) {
      this.string(k);
      this.value((o as Record<string, unknown>)[k]);
    }
  }

  private array(a: unknown[]): void {
    const n = a.length;
    this.byte(ARRAY);
    this.varint(n);
    let present: number[] | undefined; // a sparse array's indices, listed at its first hole
    let p = 0;
    for (let i = 0; i < n;) {
      const x = a[i];
      if (x !== undefined || i in a) {
        this.value(x);
        i++;
        continue;
      }
      present ??= indicesOf(a);
      while (p < present.length && present[p]! <= i) p++;
      const next = p < present.length ? present[p]! : n;
      this.byte(HOLES);
      this.varint(next - i);
      i = next;
    }
  }

  private error(e: Error): void {
    const hasStack = typeof e.stack === 'string';
    const hasCause = Object.hasOwn(e, 'cause');
    this.byte(ERROR);
    this.string(String(e.name));
    this.string(String(e.message));
    this.byte((hasStack ? 1 : 0) | (hasCause ? 2 : 0));
    if (hasStack) this.string(e.stack!);
    if (hasCause) this.value(e.cause);
  }
}

function varintSize(v: number): number {
  let n = 1;
  while (v > 0x7f) { v >>>= 7; n++; }
  return n;
}

/** Own index properties of an array, ascending (own keys list indices first, in order). */
function indicesOf(a: unknown[]): number[] {
  const out: number[] = [];
  for (const k of Object.keys(a)) {
    const i = Number(k);
    if (!(i < a.length) || String(i) !== k) break;
    out.push(i);
  }
  return out;
}

/**
 * Reads a value written at [offset, offset+byteLength) of `buffer` (offset a multiple of 16).
 * Typed arrays and DataViews come back as views of `buffer` unless `copy` is true (then they are
 * fresh, unshared copies). ArrayBuffers always come back as copies.
 */
export function decodeValue(buffer: ArrayBufferLike, offset: number, byteLength: number, copy = false): unknown {
  if (byteLength < HEADER) throw corrupt(`region of ${byteLength} bytes is shorter than its header`);
  const head = new DataView(buffer, offset, HEADER);
  const magic = head.getUint32(0, true);
  const a = head.getUint32(4, true);
  const b = head.getUint32(8, true);
  if (magic === MAGIC_BINARY) {
    if (HEADER + b > byteLength) throw corrupt('buffer runs past the region');
    return binary(buffer, a, offset + HEADER, b, copy);
  }
  if (magic !== MAGIC_GRAPH) throw corrupt(`bad magic 0x${magic.toString(16)}`);
  const dataStart = HEADER + align16(a);
  if (dataStart + b > byteLength) throw corrupt('data runs past the region');
  const r = new Reader(buffer, offset + HEADER, a, offset + dataStart, b, copy);
  const v = r.value();
  if (r.pos !== a) throw corrupt('skeleton length mismatch');
  return v;
}

/** Scratch for hand-decoded short strings: a short string has at most SHORT UTF-16 units. */
const units = new Uint16Array(SHORT);

class Reader {
  private readonly u8: Uint8Array;
  private readonly view: DataView;
  private readonly shared: boolean;
  private readonly objects: unknown[] = [];
  pos = 0;
  /** End of the last out-of-band buffer read, relative to the data section. */
  private dataPos = 0;

  constructor(
    private readonly buffer: ArrayBufferLike,
    skeletonStart: number,
    skeletonLength: number,
    private readonly dataStart: number,
    private readonly dataLength: number,
    private readonly copy: boolean,
  ) {
    this.u8 = new Uint8Array(buffer, skeletonStart, skeletonLength);
    this.view = new DataView(buffer, skeletonStart, skeletonLength);
    this.shared = isSharedBuffer(buffer);
  }

  private varint(): number {
    let v = 0;
    let shift = 0;
    let b: number;
    do {
      b = this.u8[this.pos++]!;
      v |= (b & 0x7f) << shift;
      shift += 7;
    } while (b & 0x80);
    return v >>> 0;
  }

  private float(): number {
    const x = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return x;
  }

  private add<T>(o: T): T {
    this.objects.push(o);
    return o;
  }

  value(): unknown {
    const tag = this.u8[this.pos++];
    switch (tag) {
      case UNDEFINED: return undefined;
      case NULL: return null;
      case FALSE: return false;
      case TRUE: return true;
      case INT: {
        const z = this.varint();
        return (z >>> 1) ^ -(z & 1);
      }
      case FLOAT: return this.float();
      case BIGINT: return this.bigint();
      case STR: case STR16: return this.string(tag);
      case ARRAY: {
        const n = this.varint();
        const a = this.add(new Array<unknown>(n));
        for (let i = 0; i < n;) {
          if (this.u8[this.pos] === HOLES) {
            this.pos++;
            i += this.varint();
          } else {
            a[i++] = this.value();
          }
        }
        return a;
      }
      case OBJECT: {
        const o = this.add<Record<string, unknown>>({});
        for (let n = this.varint(); n > 0; n--) {
          const k = this.key();
          const x = this.value();
          // Assigning "__proto__" would set the prototype instead of making a key.
          if (k === '__proto__') Object.defineProperty(o, k, { value: x, writable: true, enumerable: true, configurable: true });
          else o[k] = x;
        }
        return o;
      }
      case MAP: {
        const m = this.add(new Map<unknown, unknown>());
        for (let n = this.varint(); n > 0; n--) {
          const k = this.value();
          m.set(k, this.value());
        }
        return m;
      }
      case SET: {
        const s = this.add(new Set<unknown>());
        for (let n = this.varint(); n > 0; n--) s.add(this.value());
        return s;
      }
      case DATE: return this.add(new Date(this.float()));
      case REGEXP: {
        const source = this.key();
        return this.add(new RegExp(source, this.key()));
      }
      case ERROR: return this.error();
      case BOXED: return this.add(Object(this.value()));
      case BINARY: {
        const kind = this.u8[this.pos++]!;
        const len = this.varint();
        const at = align16(this.dataPos);
        this.dataPos = at + len;
        if (this.dataPos > this.dataLength) throw corrupt('buffer runs past the data section');
        return this.add(binary(this.buffer, kind, this.dataStart + at, len, this.copy));
      }
      case REF: {
        const id = this.varint();
        if (id >= this.objects.length) throw corrupt(`reference to unknown object ${id}`);
        return this.objects[id];
      }
      default: throw corrupt(`unknown tag ${tag}`);
    }
  }

  /** A string that must be one (object keys, RegExp and Error fields). */
  private key(): string {
    const tag = this.u8[this.pos++]!;
    if (tag !== STR && tag !== STR16) throw corrupt(`expected a string, found tag ${tag}`);
    return this.string(tag);
  }

  private string(tag: number): string {
    const n = this.varint();
    const start = this.pos;
    if (tag === STR16) {
      this.pos += 2 * n;
      const codes = new Uint16Array(n);
      for (let i = 0; i < n; i++) codes[i] = this.u8[start + 2 * i]! | (this.u8[start + 2 * i + 1]! << 8);
      return fromUnits(codes);
    }
    this.pos += n;
    if (n < SHORT) return utf8Short(this.u8, start, start + n);
    const bytes = this.u8.subarray(start, start + n);
    // Chromium's TextDecoder refuses views of shared memory: decode a private copy.
    return decoder.decode(this.shared ? bytes.slice() : bytes);
  }

  private bigint(): bigint {
    const negative = this.u8[this.pos++] === 1;
    const n = this.varint();
    let hex = '0x';
    for (let i = 0; i < n; i++) hex += HEX[this.u8[this.pos++]!];
    const v = BigInt(hex);
    return negative ? -v : v;
  }

  private error(): Error {
    const name = this.key();
    const message = this.key();
    const flags = this.u8[this.pos++]!;
    const stack = flags & 1 ? this.key() : undefined;
    const Ctor = Object.hasOwn(ERRORS, name) ? ERRORS[name]! : Error;
    const e = this.add(new Ctor(message));
    // Unknown names come back as Error, keeping their name.
    if (e.name !== name) Object.defineProperty(e, 'name', { value: name, writable: true, configurable: true });
    if (stack !== undefined) Object.defineProperty(e, 'stack', { value: stack, writable: true, configurable: true });
    if (flags & 2) Object.defineProperty(e, 'cause', { value: this.value(), writable: true, configurable: true });
    return e;
  }
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Decodes well-formed UTF-8 (as TextEncoder wrote it) of fewer than SHORT bytes, without TextDecoder. */
function utf8Short(u8: Uint8Array, i: number, end: number): string {
  let n = 0;
  while (i < end) {
    const b = u8[i++]!;
    if (b < 0x80) {
      units[n++] = b;
    } else if (b < 0xe0) {
      units[n++] = ((b & 0x1f) << 6) | (u8[i++]! & 0x3f);
    } else if (b < 0xf0) {
      units[n++] = ((b & 0x0f) << 12) | ((u8[i++]! & 0x3f) << 6) | (u8[i++]! & 0x3f);
    } else {
      const cp = (((b & 0x07) << 18) | ((u8[i++]! & 0x3f) << 12) | ((u8[i++]! & 0x3f) << 6) | (u8[i++]! & 0x3f)) - 0x10000;
      units[n++] = 0xd800 | (cp >> 10);
      units[n++] = 0xdc00 | (cp & 0x3ff);
    }
  }
  return fromUnits(units.subarray(0, n));
}

/** String.fromCharCode over UTF-16 units, in chunks that stay under engines' argument limits. */
function fromUnits(codes: Uint16Array): string {
  const CHUNK = 8192;
  if (codes.length <= CHUNK) return String.fromCharCode.apply(null, codes as unknown as number[]);
  let s = '';
  for (let i = 0; i < codes.length; i += CHUNK) {
    s += String.fromCharCode.apply(null, codes.subarray(i, i + CHUNK) as unknown as number[]);
  }
  return s;
}

type ViewCtor = new (buffer: ArrayBufferLike, byteOffset?: number, length?: number) => ArrayBufferView;
/** Constructors by kind, looked up once (Float16Array may be missing). */
const CTORS = KINDS.map((k) => (globalThis as Record<string, unknown>)[k.name] as ViewCtor | undefined);

function binary(buffer: ArrayBufferLike, kind: number, at: number, len: number, copy: boolean): unknown {
  const k = KINDS[kind];
  if (!k) throw corrupt(`unknown buffer kind ${kind}`);
  if (kind === K_SHARED) {
    const sab = new SharedArrayBuffer(len);
    new Uint8Array(sab).set(new Uint8Array(buffer, at, len));
    return sab;
  }
  // An ArrayBuffer cannot be a view, so it is always a copy (slice() gives a non-shared one).
  if (kind === K_ARRAY_BUFFER) return new Uint8Array(buffer, at, len).slice().buffer;
  const Ctor = CTORS[kind];
  if (!Ctor) throw new TypeError(`webray cannot read a ${k.name}: this runtime has none`);
  if (copy) return new Ctor(new Uint8Array(buffer, at, len).slice().buffer);
  return new Ctor(buffer, at, len / k.bytes);
}

/**
 * Total byteLength of typed arrays, DataViews and ArrayBuffers reachable in the value, plus the
 * length of its strings (values and keys). Stops once `limit` is reached, so the result is then
 * some number >= limit. Walks with an explicit stack and a seen set: no deep recursion, no cycles.
 */
export function payloadBytes(value: unknown, limit: number): number {
  // The common cases without a walk: a primitive, or one typed array.
  if (typeof value !== 'object' || value === null) return typeof value === 'string' ? value.length : 0;
  if (ArrayBuffer.isView(value)) return value.byteLength;
  let total = 0;
  const stack: object[] = [];
  const seen = new Set<object>();
  const visit = (x: unknown): void => {
    if (typeof x === 'string') total += x.length;
    else if (typeof x === 'object' && x !== null && !seen.has(x)) { seen.add(x); stack.push(x); }
  };
  visit(value);
  while (stack.length > 0 && total < limit) {
    const o = stack.pop()!;
    if (ArrayBuffer.isView(o) || o instanceof ArrayBuffer || isSharedBuffer(o)) {
      total += o.byteLength;
    } else if (Array.isArray(o)) {
      for (let i = 0; i < o.length && total < limit; i++) visit(o[i]);
    } else if (o instanceof Map) {
      for (const [k, x] of o) { visit(k); visit(x); }
    } else if (o instanceof Set) {
      for (const x of o) visit(x);
    } else if (o instanceof Error) {
      visit(o.message);
      visit(o.stack);
      visit(o.cause);
    } else if (!(o instanceof Date || o instanceof RegExp)) {
      for (const k of Object.keys(o)) {
        total += k.length;
        visit((o as Record<string, unknown>)[k]);
      }
    }
  }
  return total;
}
