/**
 * A link between two hosts: one ordered, reliable channel carrying text (control frames, JSON)
 * and bytes (object chunks). An RTCDataChannel (through PeerJS) and an in-memory pair are
 * interchangeable behind it, so the mesh protocol is tested in one process.
 */

export type LinkData = string | Uint8Array;

export interface Link {
  send(data: LinkData): void;
  /** The single receiver of incoming data. */
  onData(receive: (data: LinkData) => void): void;
  /** Called once when either side closes. */
  onClose(closed: () => void): void;
  close(): void;
  /** Bytes queued and not yet sent (back-pressure for bulk transfers). */
  readonly buffered: number;
  /** Resolves once at most `bytes` are queued (or the link closed). */
  drained(bytes: number): Promise<void>;
  /** A second channel to the same host for heartbeats only, so a large transfer never delays them. */
  readonly heartbeat?: Link;
  /** A third for object bytes, so a large transfer never delays control frames either. */
  readonly bulk?: Link;
}

/**
 * What arrives for a link's single receiver, kept until it listens: the other side may speak as
 * soon as its end is open.
 */
export class Inbox {
  private receive: ((data: LinkData) => void) | undefined;
  private readonly early: LinkData[] = [];

  /** Hands `data` to the receiver, or keeps it; how many are kept. */
  deliver(data: LinkData): number {
    if (!this.receive) return this.early.push(data);
    this.receive(data);
    return 0;
  }

  listen(receive: (data: LinkData) => void): void {
    this.receive = receive;
    for (const d of this.early.splice(0)) receive(d);
  }
}

/**
 * Two connected in-memory links, each with its heartbeat channel. Delivery is asynchronous (a
 * macrotask later, in order), as on a network; bytes are copied, as a data channel would.
 */
export function memoryLinkPair(): [Link, Link] {
  const [a, b] = pair();
  [a.heartbeat, b.heartbeat] = pair();
  [a.bulk, b.bulk] = pair();
  // One connection: closing it closes its other channels too.
  for (const l of [a, b]) l.onClose(() => { l.heartbeat!.close(); l.bulk!.close(); });
  return [a, b];
}

function pair(): [MemoryLink, MemoryLink] {
  const a = new MemoryLink();
  const b = new MemoryLink();
  a.peer = b;
  b.peer = a;
  return [a, b];
}

class MemoryLink implements Link {
  peer: MemoryLink | undefined;
  heartbeat: MemoryLink | undefined;
  bulk: MemoryLink | undefined;
  private readonly inbox = new Inbox();
  private closedListeners: (() => void)[] = [];
  private closed = false;
  buffered = 0;
  private readonly drainWaiters: { bytes: number; resolve: () => void }[] = [];

  drained(bytes: number): Promise<void> {
    if (this.buffered <= bytes || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push({ bytes, resolve }));
  }

  private wakeDrained(): void {
    for (let i = this.drainWaiters.length - 1; i >= 0; i--) {
      const w = this.drainWaiters[i]!;
      if (this.buffered <= w.bytes || this.closed) { this.drainWaiters.splice(i, 1); w.resolve(); }
    }
  }

  send(data: LinkData): void {
    if (this.closed) throw new Error('link closed');
    const copy = typeof data === 'string' ? data : data.slice();
    const size = typeof copy === 'string' ? copy.length : copy.byteLength;
    this.buffered += size;
    const peer = this.peer!;
    setTimeout(() => {
      this.buffered -= size;
      if (!peer.closed) peer.inbox.deliver(copy);
      this.wakeDrained();
    }, 0);
  }

  onData(receive: (data: LinkData) => void): void {
    this.inbox.listen(receive);
  }

  onClose(closed: () => void): void {
    this.closedListeners.push(closed);
  }

  /** Closes gracefully, as a data channel does: what was sent before still arrives. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    setTimeout(() => {
      this.wakeDrained();
      for (const l of this.closedListeners.splice(0)) l();
      this.peer?.close();
    }, 0);
  }
}
