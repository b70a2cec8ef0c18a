/**
 * Signalling and links in one process whose hosts can be cut off — every link of theirs closed,
 * none opened to or from them — and later healed, keeping their identity: a laptop that leaves
 * the Wi-Fi and comes back, a tab frozen long enough to be declared dead. One `host()` per host.
 */
import type { Link } from '../mesh/link.js';
import { MemorySignaling, type Claim, type Signaling } from '../mesh/signaling.js';

export class PartitionableNetwork {
  private readonly inner = new MemorySignaling();
  /** Who holds each peer id, to refuse connections to a host that is cut off. */
  private readonly holders = new Map<string, HostSide>();

  host(): HostSide {
    return new HostSide(this.inner, this.holders);
  }
}

export class HostSide implements Signaling {
  private readonly links = new Set<Link>();
  private down = false;

  constructor(private readonly inner: MemorySignaling, private readonly holders: Map<string, HostSide>) {}

  async claim(peerId: string, accept: (link: Link) => void): Promise<Claim | undefined> {
    const claim = await this.inner.claim(peerId, (l) => {
      if (this.down) { l.close(); return; }
      this.track(l);
      accept(l);
    });
    if (!claim) return undefined;
    this.holders.set(peerId, this);
    return { release: () => { claim.release(); if (this.holders.get(peerId) === this) this.holders.delete(peerId); } };
  }

  async connect(peerId: string): Promise<Link> {
    if (this.down || this.holders.get(peerId)?.down) throw new Error(`no connection to ${peerId} (the network is cut)`);
    const l = await this.inner.connect(peerId);
    this.track(l);
    return l;
  }

  /** Closes every link of this host and refuses new ones until `heal`. */
  cutOff(): void {
    this.down = true;
    for (const l of this.links) l.close();
  }

  heal(): void {
    this.down = false;
  }

  private track(l: Link): void {
    this.links.add(l);
    l.onClose(() => this.links.delete(l));
  }
}
