/**
 * How hosts find each other: a peer id per host, claimed on a signalling service, and links
 * opened to a peer id. PeerJS (a PeerServer) is the real one; the in-memory registry here runs
 * the same protocol in one process.
 */
import { memoryLinkPair, type Link } from './link.js';

export interface Claim {
  release(): void;
}

export interface Signaling {
  /**
   * Claims `peerId`; links others open to it arrive at `accept`. Undefined if someone holds it.
   * `lost` runs if the claim is lost later (another took the id while the service had forgotten it).
   */
  claim(peerId: string, accept: (link: Link) => void, lost?: () => void): Promise<Claim | undefined>;
  /** Opens a link to whoever holds `peerId`; rejects if nobody does. */
  connect(peerId: string): Promise<Link>;
}

/** Peer ids in one process: first claim wins, as on a PeerServer. */
export class MemorySignaling implements Signaling {
  private readonly holders = new Map<string, (link: Link) => void>();

  async claim(peerId: string, accept: (link: Link) => void): Promise<Claim | undefined> {
    if (this.holders.has(peerId)) return undefined;
    this.holders.set(peerId, accept);
    return { release: () => { if (this.holders.get(peerId) === accept) this.holders.delete(peerId); } };
  }

  async connect(peerId: string): Promise<Link> {
    const accept = this.holders.get(peerId);
    if (!accept) throw new Error(`no peer holds the id ${peerId}`);
    const [mine, theirs] = memoryLinkPair();
    accept(theirs);
    return mine;
  }
}
