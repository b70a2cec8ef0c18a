/**
 * Moving objects between hosts: a host pulls an object's encoded bytes from the host that has
 * it, in chunks on the link, and writes them straight into its own store; the sender waits
 * for the link to drain (Chromium refuses sends past a 16 MiB queue) and copies each chunk out
 * of shared memory (data channels refuse shared views). Concurrent pulls of one object share
 * one transfer.
 */
import { ObjectLostError, ObjectStoreFullError } from '../shared/errors.js';
import type { BulkSender, ClusterMember } from '../mesh/cluster.js';
import { CHUNK_HEADER, MAX_CHUNK, type Frame } from '../mesh/frames.js';
import type { ObjectStore } from '../store/object-store.js';

/**
 * Bytes a sender lets queue on a link before waiting: the chunks sent in one main-thread turn.
 * 4 MiB made turns of 150–300 ms on a page sending the demo's noise table while its workers ran
 * rollouts (2 cores); 512 KiB keeps them near 50 ms at the same transfer rate (mesh bench).
 */
const MAX_QUEUED = 512 * 1024;
/** A transfer that makes no progress for this long fails (the get then says so instead of hanging). */
const STALL_MS = 30_000;
/** Binary frames of a transfer, on the bulk channel in order: one START [2][req][size][0], then CHUNKs [1][req][offset][0] + bytes. */
const CHUNK = 1;
const START = 2;

interface Incoming {
  host: string;
  id: string;
  size: number;
  address: number;
  received: number;
  /** Set once `pulled` said the size and the write began. */
  writing: boolean;
  /** A primary copy (never evicted); a borrower's copy is not. */
  pinned: boolean;
  /** When the last sign of progress came. */
  lastProgress: number;
  resolve(): void;
  reject(e: Error): void;
}

export class ObjectPulls {
  private readonly incoming = new Map<number, Incoming>();
  private readonly inFlight = new Map<string, Promise<void>>();
  private nextReq = 1;
  /** Bytes moved each way, by the other host (the state API's `transfers`). */
  readonly byHost = new Map<string, { bytesIn: number; bytesOut: number }>();

  /** Bytes moved each way, with every host. */
  get bytesIn(): number {
    return [...this.byHost.values()].reduce((a, c) => a + c.bytesIn, 0);
  }

  get bytesOut(): number {
    return [...this.byHost.values()].reduce((a, c) => a + c.bytesOut, 0);
  }

  constructor(private readonly store: ObjectStore, private readonly member: ClusterMember) {}

  /**
   * Fetches object `id` from `host` into this host's store: as a primary copy, or (`pinned` false)
   * as a borrower's copy, which the store may evict when it is short of room and nobody reads it.
   */
  pull(host: string, id: string, pinned = true): Promise<void> {
    let p = this.inFlight.get(id);
    if (p) return p;
    p = new Promise<void>((resolve, reject) => {
      const req = this.nextReq++;
      this.incoming.set(req, { host, id, size: 0, address: 0, received: 0, writing: false, pinned, lastProgress: performance.now(), resolve, reject });
      this.watch();
      try {
        this.member.send(host, { t: 'pull', req, id });
      } catch {
        // No link to it (it left, or its link dropped): fail now, so the owner can make the object again.
        this.fail(req, new ObjectLostError(id, `host ${host}, which had it, is not linked to this host (it left the cluster or its link dropped)`));
      }
    }).finally(() => this.inFlight.delete(id));
    this.inFlight.set(id, p);
    return p;
  }

  /** The other host cannot send an object we asked for. */
  pulled(from: string, f: Extract<Frame, { t: 'pulled' }>): void {
    const inc = this.incoming.get(f.req);
    if (!inc || inc.host !== from || inc.writing) { this.member.drops.add(`'pulled' for no pull of ours from ${from}`); return; }
    this.fail(f.req, new ObjectLostError(inc.id, `host ${from} could not send it: ${f.error ?? 'no reason given'}`));
  }

  /** A transfer's start (its size) or one of its chunks, in order on the bulk channel. */
  chunk(from: string, b: Uint8Array): void {
    if (b.byteLength < CHUNK_HEADER) { this.member.drops.add(`short chunk from ${from}`); return; }
    const h = new DataView(b.buffer, b.byteOffset, CHUNK_HEADER);
    const kind = h.getUint32(0, true);
    const req = h.getUint32(4, true);
    const offset = h.getUint32(8, true);
    const inc = this.incoming.get(req);
    if (kind === START && inc && inc.host === from && !inc.writing) { this.start(req, inc, offset); return; }
    if (kind !== CHUNK || !inc || inc.host !== from || !inc.writing) { this.member.drops.add(`chunk for no transfer from ${from}`); return; }
    const body = b.subarray(CHUNK_HEADER);
    if (offset !== inc.received || offset + body.byteLength > inc.size) {
      this.member.drops.add(`chunk out of order or past the end from ${from}`);
      this.fail(req, new ObjectLostError(inc.id, `host ${from} sent a malformed transfer`));
      return;
    }
    this.store.writeAt(inc.address + offset, body);
    inc.received += body.byteLength;
    inc.lastProgress = performance.now();
    this.countFor(from).bytesIn += body.byteLength;
    if (inc.received === inc.size) this.complete(req, inc);
  }

  /** The sender said how big the object is: make room for it here. */
  private start(req: number, inc: Incoming, size: number): void {
    const at = this.store.beginWrite(inc.id, size, inc.pinned);
    if (at === 'full') { this.fail(req, new ObjectStoreFullError(`no room for ${size} bytes of object ${inc.id} pulled from host ${inc.host}`)); return; }
    if (at === 'exists') {
      // Already here (another path brought it): the chunks that follow are dropped.
      this.incoming.delete(req);
      inc.resolve();
      return;
    }
    Object.assign(inc, { size, address: at, writing: true, lastProgress: performance.now() });
    if (size === 0) this.complete(req, inc);
  }

  private complete(req: number, inc: Incoming): void {
    this.incoming.delete(req);
    this.store.seal(inc.id, inc.address, inc.size);
    inc.resolve();
  }

  private fail(req: number, e: Error): void {
    const inc = this.incoming.get(req);
    if (!inc) return;
    this.incoming.delete(req);
    if (inc.writing) this.store.abort(inc.id);
    inc.reject(e);
  }

  private countFor(host: string): { bytesIn: number; bytesOut: number } {
    let c = this.byHost.get(host);
    if (!c) this.byHost.set(host, c = { bytesIn: 0, bytesOut: 0 });
    return c;
  }

  /** Another host pulls an object this host has. */
  async serve(from: string, f: Extract<Frame, { t: 'pull' }>): Promise<void> {
    const held = this.store.holdBytes(f.id);
    if (!held) { this.member.send(from, { t: 'pulled', req: f.req, error: 'it is not in this host\'s store' }); return; }
    let link: BulkSender | undefined;
    try {
      const { bytes } = held;
      // One link for the whole transfer: its chunks arrive in order even if a newer link replaces it.
      link = this.member.bulkTo(from);
      link.send(header(START, f.req, bytes.byteLength, 0));
      for (let offset = 0; offset < bytes.byteLength; offset += MAX_CHUNK) {
        await link.drained(MAX_QUEUED);
        const body = bytes.subarray(offset, Math.min(bytes.byteLength, offset + MAX_CHUNK));
        // A fresh, unshared buffer: header then a copy of the bytes out of shared memory.
        const frame = header(CHUNK, f.req, offset, body.byteLength);
        frame.set(body, CHUNK_HEADER);
        link.send(frame);
        this.countFor(from).bytesOut += body.byteLength;
      }
    } catch {
      // The link closed mid-transfer: the puller sees its host leave and fails the pull.
    } finally {
      link?.done();
      held.done();
    }
  }

  private watchdog: ReturnType<typeof setInterval> | undefined;

  /** While transfers run, fails those that stopped making progress. */
  private watch(): void {
    if (this.watchdog) return;
    this.watchdog = setInterval(() => {
      const now = performance.now();
      for (const [req, inc] of this.incoming) {
        if (now - inc.lastProgress > STALL_MS) this.fail(req, new ObjectLostError(inc.id, `its transfer from host ${inc.host} stalled (${inc.received} of ${inc.size || '?'} bytes after ${STALL_MS / 1000} s without progress)`));
      }
      if (this.incoming.size === 0) { clearInterval(this.watchdog); this.watchdog = undefined; }
    }, STALL_MS / 4);
  }

  /** A host left: its transfers to us fail. */
  hostLost(host: string): void {
    for (const [req, inc] of this.incoming) if (inc.host === host) this.fail(req, new ObjectLostError(inc.id, `host ${host} left the cluster during the transfer`));
  }

  /** Links changed: transfers from a host no longer linked fail now (their chunks went with the link), not after the stall timer. */
  linksChanged(): void {
    for (const [req, inc] of this.incoming) {
      if (!this.member.linked(inc.host)) this.fail(req, new ObjectLostError(inc.id, `the link to host ${inc.host} dropped during the transfer`));
    }
  }
}

/** A binary frame of a transfer with room for `body` bytes after its header. */
function header(kind: number, req: number, value: number, body: number): Uint8Array {
  const frame = new Uint8Array(CHUNK_HEADER + body);
  const h = new DataView(frame.buffer);
  h.setUint32(0, kind, true);
  h.setUint32(4, req, true);
  h.setUint32(8, value, true);
  return frame;
}
