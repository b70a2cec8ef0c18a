// webray's object store: an allocator and an object table laid out in one shared memory that the
// host and every worker instantiate. All state lives in that memory (module globals are per
// thread, and AS rewrites data segments on each instantiation), under one lock. No managed
// objects: no AS runtime is thread-safe.
//
// Layout, from `base` (chosen by the client, past AS's static data):
//   header (64 B) · heap [start, end) holding the table block and object blocks · end = memory end
// Object keys are object ids of ≤ 32 ASCII bytes, passed as eight u32 words (no scratch memory).

// ---- header fields (byte offsets from base) ----
const LOCK: u32 = 0;
const MAGIC: u32 = 4;
const TABLE_CAP: u32 = 8;
const TABLE_OFF: u32 = 12;
const HEAP_START: u32 = 16;
const HEAP_END: u32 = 20;
const FREE_HEAD: u32 = 24;
const COUNT: u32 = 28;
const TOMBSTONES: u32 = 32;
const USED: u32 = 36;
const TICK: u32 = 40;
const SEAL_SEQ: u32 = 44;
const MAX_PAGES: u32 = 48;
const OBJECT_BYTES: u32 = 52;
const HEADER_SIZE: u32 = 64;
const MAGIC_VALUE: u32 = 0x57524f53; // "WROS"

// ---- table entries (64 B each) ----
const E_KEY: u32 = 0; // 32 bytes
const E_STATE: u32 = 32;
const E_REFS: u32 = 36;
const E_FLAGS: u32 = 40;
const E_DATA: u32 = 44;
const E_SIZE: u32 = 48;
const E_TICK: u32 = 56;
const ENTRY_SIZE: u32 = 64;

const EMPTY: u32 = 0;
const CREATED: u32 = 1;
const SEALED: u32 = 2;
const TOMBSTONE: u32 = 3;

const PINNED: u32 = 1;
const DELETE_PENDING: u32 = 2;

// ---- heap blocks: header 16 B [size, used, next free, prev free], footer 16 B [size, ...] ----
// An object's block also carries what readers need, so they never read a table entry after the
// lock is released (a rehash by another thread moves entries; object blocks never move):
// header [size, used, object size, meta], footer [size, checksum].
const B_SIZE: u32 = 0;
const B_USED: u32 = 4;
const B_NEXT: u32 = 8;
const B_PREV: u32 = 12;
const B_OBJECT_SIZE: u32 = 8;
const B_META: u32 = 12;
const F_SUM: u32 = 4;
const OVERHEAD: u32 = 32;
const MIN_BLOCK: u32 = 64;

// Per-thread: where this instance's header is (set by init or attach).
let base: u32 = 0;

@external("env", "wait")
declare function hostWait(addr: u32, expected: i32): void;

@inline function hdr(field: u32): u32 { return load<u32>(base + field); }
@inline function setHdr(field: u32, v: u32): void { store<u32>(base + field, v); }
@inline function align16(n: u32): u32 { return (n + 15) & ~15; }

// ---- lock: a futex-style mutex (0 free, 1 held, 2 held with waiters) ----
// Waiting goes through a JS import: Node 20's Liftoff miscompiles memory.atomic.wait32.

function lock(): void {
  const addr = base + LOCK;
  let c = atomic.cmpxchg<i32>(addr, 0, 1);
  if (c == 0) return;
  for (let spin = 0; spin < 100 && c != 0; spin++) {
    c = atomic.cmpxchg<i32>(addr, 0, 1);
    if (c == 0) return;
  }
  if (c != 2) c = atomic.xchg<i32>(addr, 2);
  while (c != 0) {
    hostWait(addr, 2);
    c = atomic.xchg<i32>(addr, 2);
  }
}

function unlock(): void {
  const addr = base + LOCK;
  if (atomic.sub<i32>(addr, 1) != 1) {
    atomic.store<i32>(addr, 0);
    atomic.notify(addr, 1);
  }
}

// ---- allocator ----

function listRemove(b: u32): void {
  const next = load<u32>(b + B_NEXT);
  const prev = load<u32>(b + B_PREV);
  if (prev) store<u32>(prev + B_NEXT, next); else setHdr(FREE_HEAD, next);
  if (next) store<u32>(next + B_PREV, prev);
}

function listPush(b: u32): void {
  const head = hdr(FREE_HEAD);
  store<u32>(b + B_NEXT, head);
  store<u32>(b + B_PREV, 0);
  if (head) store<u32>(head + B_PREV, b);
  setHdr(FREE_HEAD, b);
}

@inline function blockFooter(payload: u32): u32 {
  const b = payload - 16;
  return b + load<u32>(b + B_SIZE) - 16;
}

@inline function setBlock(b: u32, size: u32, used: u32): void {
  store<u32>(b + B_SIZE, size);
  store<u32>(b + B_USED, used);
  store<u32>(b + size - 16, size);
}

/** A block of at least `n` payload bytes; its payload address, or 0. */
function alloc(n: u32): u32 {
  if (n > 0xffffffff - OVERHEAD - 15) return 0;
  const need = max<u32>(align16(n) + OVERHEAD, MIN_BLOCK);
  let b = hdr(FREE_HEAD);
  while (b) {
    const size = load<u32>(b + B_SIZE);
    if (size >= need) {
      listRemove(b);
      if (size - need >= MIN_BLOCK) {
        const rest = b + need;
        setBlock(rest, size - need, 0);
        listPush(rest);
        setBlock(b, need, 1);
      } else {
        setBlock(b, size, 1);
      }
      setHdr(USED, hdr(USED) + load<u32>(b + B_SIZE));
      return b + 16;
    }
    b = load<u32>(b + B_NEXT);
  }
  return 0;
}

function free(payload: u32): void {
  let b = payload - 16;
  let size = load<u32>(b + B_SIZE);
  setHdr(USED, hdr(USED) - size);
  const next = b + size;
  if (load<u32>(next + B_USED) == 0) {
    listRemove(next);
    size += load<u32>(next + B_SIZE);
  }
  const prevSize = load<u32>(b - 16);
  const prev = b - prevSize;
  if (load<u32>(prev + B_USED) == 0) {
    listRemove(prev);
    size += prevSize;
    b = prev;
  }
  setBlock(b, size, 0);
  listPush(b);
}

/** Turns memory past the heap's end (after a grow) into a free block before a new end marker. */
function extendHeap(): void {
  const end = hdr(HEAP_END);
  const newEnd = (<u32>memory.size()) << 16;
  if (newEnd <= end) return;
  // The old end marker (a used 16-byte header at end - 16) becomes the new block's header.
  const b = end - 16;
  setBlock(b, newEnd - 16 - b, 1);
  store<u32>(newEnd - 16 + B_SIZE, 0);
  store<u32>(newEnd - 16 + B_USED, 1);
  setHdr(HEAP_END, newEnd);
  setHdr(USED, hdr(USED) + load<u32>(b + B_SIZE));
  free(b + 16);
}

/** Grows the memory by `pages` within the maximum (under the lock) and adds them to the heap. */
function growPages(pages: u32): bool {
  const ok = <u32>memory.size() + pages <= hdr(MAX_PAGES) && memory.grow(pages) >= 0;
  // Another thread may have grown the memory: adopt whatever lies past the heap's end.
  extendHeap();
  return ok;
}

// ---- table ----

@inline function keyHash(k0: u32, k1: u32, k2: u32, k3: u32, k4: u32, k5: u32, k6: u32, k7: u32): u32 {
  let h: u32 = 0x811c9dc5;
  h = (h ^ k0) * 0x01000193; h = (h ^ k1) * 0x01000193; h = (h ^ k2) * 0x01000193; h = (h ^ k3) * 0x01000193;
  h = (h ^ k4) * 0x01000193; h = (h ^ k5) * 0x01000193; h = (h ^ k6) * 0x01000193; h = (h ^ k7) * 0x01000193;
  h ^= h >> 15; h *= 0x2c1b3c6d; h ^= h >> 12;
  return h;
}

@inline function keyIs(e: u32, k0: u32, k1: u32, k2: u32, k3: u32, k4: u32, k5: u32, k6: u32, k7: u32): bool {
  return load<u32>(e) == k0 && load<u32>(e, 4) == k1 && load<u32>(e, 8) == k2 && load<u32>(e, 12) == k3 &&
    load<u32>(e, 16) == k4 && load<u32>(e, 20) == k5 && load<u32>(e, 24) == k6 && load<u32>(e, 28) == k7;
}

/** The live entry for a key, or 0. */
function find(k0: u32, k1: u32, k2: u32, k3: u32, k4: u32, k5: u32, k6: u32, k7: u32): u32 {
  const cap = hdr(TABLE_CAP);
  const table = hdr(TABLE_OFF);
  let i = keyHash(k0, k1, k2, k3, k4, k5, k6, k7) & (cap - 1);
  for (let n: u32 = 0; n < cap; n++) {
    const e = table + i * ENTRY_SIZE;
    const s = load<u32>(e + E_STATE);
    if (s == EMPTY) return 0;
    if (s != TOMBSTONE && keyIs(e, k0, k1, k2, k3, k4, k5, k6, k7)) return e;
    i = (i + 1) & (cap - 1);
  }
  return 0;
}

/** A free slot for a key known to be absent (the first tombstone or empty slot on its probe). */
function slotFor(table: u32, cap: u32, h: u32): u32 {
  let i = h & (cap - 1);
  while (true) {
    const e = table + i * ENTRY_SIZE;
    const s = load<u32>(e + E_STATE);
    if (s == EMPTY || s == TOMBSTONE) return e;
    i = (i + 1) & (cap - 1);
  }
  return 0;
}

/** Rebuilds the table at `cap` slots in a new heap block (entries move; object data never does). */
function rehash(cap: u32): bool {
  const oldTable = hdr(TABLE_OFF);
  const oldCap = hdr(TABLE_CAP);
  const table = alloc(cap * ENTRY_SIZE);
  if (!table) return false;
  memory.fill(table, 0, cap * ENTRY_SIZE);
  for (let i: u32 = 0; i < oldCap; i++) {
    const e = oldTable + i * ENTRY_SIZE;
    const s = load<u32>(e + E_STATE);
    if (s == EMPTY || s == TOMBSTONE) continue;
    const h = keyHash(load<u32>(e), load<u32>(e, 4), load<u32>(e, 8), load<u32>(e, 12), load<u32>(e, 16), load<u32>(e, 20), load<u32>(e, 24), load<u32>(e, 28));
    memory.copy(slotFor(table, cap, h), e, ENTRY_SIZE);
  }
  setHdr(TABLE_OFF, table);
  setHdr(TABLE_CAP, cap);
  setHdr(TOMBSTONES, 0);
  free(oldTable);
  return true;
}

function removeEntry(e: u32): void {
  free(load<u32>(e + E_DATA));
  setHdr(OBJECT_BYTES, hdr(OBJECT_BYTES) - load<u32>(e + E_SIZE));
  atomic.store<u32>(e + E_STATE, TOMBSTONE);
  setHdr(COUNT, hdr(COUNT) - 1);
  setHdr(TOMBSTONES, hdr(TOMBSTONES) + 1);
}

// ---- exports ----

/** Lays out an empty store at `at` (once, by the host). `tableCap` is a power of two. */
export function init(at: u32, tableCap: u32, maxPages: u32): u32 {
  base = at;
  memory.fill(base, 0, HEADER_SIZE);
  const start = align16(base + HEADER_SIZE);
  const end = (<u32>memory.size()) << 16;
  setHdr(HEAP_START, start);
  setHdr(HEAP_END, end);
  setHdr(MAX_PAGES, maxPages);
  // Prologue (used, 32 B) and end marker stop coalescing at both ends; one free block between.
  setBlock(start, 32, 1);
  store<u32>(end - 16 + B_SIZE, 0);
  store<u32>(end - 16 + B_USED, 1);
  const first = start + 32;
  setBlock(first, end - 16 - first, 0);
  setHdr(FREE_HEAD, 0);
  listPush(first);
  const table = alloc(tableCap * ENTRY_SIZE);
  if (!table) return 0;
  memory.fill(table, 0, tableCap * ENTRY_SIZE);
  setHdr(TABLE_OFF, table);
  setHdr(TABLE_CAP, tableCap);
  setHdr(MAGIC, MAGIC_VALUE);
  return 1;
}

/** Joins a store another thread laid out at `at`. */
export function attach(at: u32): u32 {
  base = at;
  return u32(hdr(MAGIC) == MAGIC_VALUE);
}

/**
 * Creates an object of `size` bytes, held once by its creator until `seal`. Returns the address
 * of its bytes, 0 when there is no room (evict, grow or spill, then retry), or -1 when the id
 * exists (sealed or being written): creating it again is a no-op.
 */
export function create(k0: u32, k1: u32, k2: u32, k3: u32, k4: u32, k5: u32, k6: u32, k7: u32, size: u32, meta: u32, flags: u32): i32 {
  lock();
  const found = find(k0, k1, k2, k3, k4, k5, k6, k7);
  if (found) {
    // Deleted but still held (a reader whose thread died never releases): an id names one object,
    // so writing it again makes it readable again instead of leaving it lost.
    const f = load<u32>(found + E_FLAGS);
    if ((f & DELETE_PENDING) && load<u32>(found + E_STATE) == SEALED) store<u32>(found + E_FLAGS, (f & ~DELETE_PENDING) | (flags & PINNED));
    unlock();
    return -1;
  }
  let cap = hdr(TABLE_CAP);
  if ((hdr(COUNT) + hdr(TOMBSTONES) + 1) * 4 > cap * 3) {
    // Mostly tombstones: rebuild at the same size; otherwise double. The new table needs one
    // block, which a fragmented heap may lack though the object fits: grow for it (callers make
    // room for their object, not for the table), and while a slot is free, rebuild later.
    const want = hdr(COUNT) * 2 + 2 > cap ? cap * 2 : cap;
    if (!rehash(want) && !(growPages((want * ENTRY_SIZE + OVERHEAD + 0xffff) >> 16) && rehash(want)) && hdr(COUNT) + 1 >= cap) {
      unlock();
      return 0;
    }
    cap = hdr(TABLE_CAP);
  }
  const data = alloc(size);
  if (!data) { unlock(); return 0; }
  const table = hdr(TABLE_OFF);
  const e = slotFor(table, cap, keyHash(k0, k1, k2, k3, k4, k5, k6, k7));
  if (load<u32>(e + E_STATE) == TOMBSTONE) setHdr(TOMBSTONES, hdr(TOMBSTONES) - 1);
  store<u32>(e, k0); store<u32>(e, k1, 4); store<u32>(e, k2, 8); store<u32>(e, k3, 12);
  store<u32>(e, k4, 16); store<u32>(e, k5, 20); store<u32>(e, k6, 24); store<u32>(e, k7, 28);
  store<u32>(e + E_REFS, 1);
  store<u32>(e + E_FLAGS, flags & PINNED);
  store<u32>(e + E_DATA, data);
  store<u32>(e + E_SIZE, size);
  store<u32>(e + E_TICK, 0);
  store<u32>(data - 16 + B_OBJECT_SIZE, size);
  store<u32>(data - 16 + B_META, meta);
  store<u32>(blockFooter(data) + F_SUM, 0);
  atomic.store<u32>(e + E_STATE, CREATED);
  setHdr(COUNT, hdr(COUNT) + 1);
  setHdr(OBJECT_BYTES, hdr(OBJECT_BYTES) + size);
  unlock();
  return <i32>data;
}

/** Seals an object (immutable from now on) and drops its creator's hold; wakes readers waiting for it. */
export function seal(k0: u32, k1: u32, k2: u32, k3: u32, k4: u32, k5: u32, k6: u32, k7: u32, sum: u32): u32 {
  lock();
  const e = find(k0, k1, k2, k3, k4, k5, k6, k7);
  if (!e || load<u32>(e + E_STATE) != CREATED) { unlock(); return 0; }
  store<u32>(blockFooter(load<u32>(e + E_DATA)) + F_SUM, sum);
  atomic.store<u32>(e + E_STATE, SEALED);
  releaseEntry(e);
  atomic.add<u32>(base + SEAL_SEQ, 1);
  unlock();
  atomic.notify(base + SEAL_SEQ);
  return 1;
}

/** Drops an object that was created but will not be sealed (its write failed). */
export function abort(k0: u32, k1: u32, k2: u32, k3: u32, k4: u32, k5: u32, k6: u32, k7: u32): u32 {
  lock();
  const e = find(k0, k1, k2, k3, k4, k5, k6, k7);
  if (!e || load<u32>(e + E_STATE) != CREATED) { unlock(); return 0; }
  removeEntry(e);
  unlock();
  return 1;
}

/**
 * Takes a reference to a sealed object. Returns the address of its bytes (its size, meta and
 * checksum are in its block's header and footer), 0 if absent, -2 if it is still being written.
 */
export function get(k0: u32, k1: u32, k2: u32, k3: u32, k4: u32, k5: u32, k6: u32, k7: u32): i32 {
  lock();
  const e = find(k0, k1, k2, k3, k4, k5, k6, k7);
  // A deleted object that readers still hold is gone for new readers.
  if (!e || (load<u32>(e + E_FLAGS) & DELETE_PENDING)) { unlock(); return 0; }
  if (load<u32>(e + E_STATE) != SEALED) { unlock(); return -2; }
  store<u32>(e + E_REFS, load<u32>(e + E_REFS) + 1);
  // Read under the lock: once it is released a rehash may move the entry and reuse its block.
  const data = load<u32>(e + E_DATA);
  unlock();
  return <i32>data;
}

function releaseEntry(e: u32): void {
  const refs = load<u32>(e + E_REFS) - 1;
  store<u32>(e + E_REFS, refs);
  if (refs) return;
  if (load<u32>(e + E_FLAGS) & DELETE_PENDING) { removeEntry(e); return; }
  const t = hdr(TICK) + 1;
  setHdr(TICK, t);
  store<u32>(e + E_TICK, t);
}

/** Drops one reference taken by `get`. Returns 0 if the object or the reference was not there. */
export function release(k0: u32, k1: u32, k2: u32, k3: u32, k4: u32, k5: u32, k6: u32, k7: u32): u32 {
  lock();
  const e = find(k0, k1, k2, k3, k4, k5, k6, k7);
  if (!e || load<u32>(e + E_STATE) != SEALED || load<u32>(e + E_REFS) == 0) { unlock(); return 0; }
  releaseEntry(e);
  unlock();
  return 1;
}

/** Deletes an object now, or when its last reference is released. Returns 1 if it was there. */
export function del(k0: u32, k1: u32, k2: u32, k3: u32, k4: u32, k5: u32, k6: u32, k7: u32): u32 {
  lock();
  const e = find(k0, k1, k2, k3, k4, k5, k6, k7);
  if (!e) { unlock(); return 0; }
  if (load<u32>(e + E_REFS) == 0) removeEntry(e);
  else store<u32>(e + E_FLAGS, (load<u32>(e + E_FLAGS) & ~PINNED) | DELETE_PENDING);
  unlock();
  return 1;
}

/** Deletes an object only if nothing references it (a spill's last step). Returns 1 if removed. */
export function removeIfUnreferenced(k0: u32, k1: u32, k2: u32, k3: u32, k4: u32, k5: u32, k6: u32, k7: u32): u32 {
  lock();
  const e = find(k0, k1, k2, k3, k4, k5, k6, k7);
  const ok = e != 0 && load<u32>(e + E_STATE) == SEALED && load<u32>(e + E_REFS) == 0;
  if (ok) removeEntry(e);
  unlock();
  return u32(ok);
}

/** The least recently released sealed object with no references and no pin, or 0. */
function lru(): u32 {
  const cap = hdr(TABLE_CAP);
  const table = hdr(TABLE_OFF);
  let best: u32 = 0;
  let bestTick: u32 = 0xffffffff;
  for (let i: u32 = 0; i < cap; i++) {
    const e = table + i * ENTRY_SIZE;
    if (load<u32>(e + E_STATE) != SEALED || load<u32>(e + E_REFS) != 0) continue;
    if (load<u32>(e + E_FLAGS) & PINNED) continue;
    const t = load<u32>(e + E_TICK);
    if (t < bestTick) { best = e; bestTick = t; }
  }
  return best;
}

/** Evicts unreferenced, unpinned objects (least recently used first) until `bytes` are freed. Returns bytes freed. */
export function evict(bytes: u32): u32 {
  lock();
  let freed: u32 = 0;
  while (freed < bytes) {
    const e = lru();
    if (!e) break;
    freed += load<u32>(load<u32>(e + E_DATA) - 16 + B_SIZE);
    removeEntry(e);
  }
  unlock();
  return freed;
}

/** Grows the memory by `pages` (64 KiB each) within the maximum and adds them to the heap. Returns 1 on success. */
export function grow(pages: u32): u32 {
  lock();
  const ok = growPages(pages);
  unlock();
  return u32(ok);
}

/** Largest free block's payload, for error messages and growth decisions. */
export function largestFree(): u32 {
  lock();
  let best: u32 = 0;
  let b = hdr(FREE_HEAD);
  while (b) {
    best = max(best, load<u32>(b + B_SIZE));
    b = load<u32>(b + B_NEXT);
  }
  unlock();
  return best > OVERHEAD ? best - OVERHEAD : 0;
}

/** Pages of memory now. Calling into wasm also lets this thread take in another thread's growth. */
export function pages(): u32 {
  return <u32>memory.size();
}

/** Bytes in free blocks (with their headers): heap = used + free + fixed markers, or blocks leaked. */
export function freeBytes(): u32 {
  lock();
  let sum: u32 = 0;
  let b = hdr(FREE_HEAD);
  while (b) {
    sum += load<u32>(b + B_SIZE);
    b = load<u32>(b + B_NEXT);
  }
  unlock();
  return sum;
}

/** A checksum of an object's bytes (debug mode: a write into a sealed object changes it). */
export function checksum(data: u32, size: u32): u32 {
  let h: u32 = 0x811c9dc5;
  const words = size >> 2;
  for (let i: u32 = 0; i < words; i++) h = (h ^ load<u32>(data + (i << 2))) * 0x01000193;
  for (let i: u32 = words << 2; i < size; i++) h = (h ^ load<u8>(data + i)) * 0x01000193;
  return h;
}
