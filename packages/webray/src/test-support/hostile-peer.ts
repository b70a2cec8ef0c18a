/**
 * An attacker on the mesh: it opens links to a host as any peer can, speaks the handshake with
 * or without the join token, and then sends whatever it likes on each of the link's lanes.
 */
import { authenticateInitiator, type Credentials } from '../mesh/auth.js';
import { DropCounter, FrameChannel } from '../mesh/channel.js';
import type { Frame } from '../mesh/frames.js';
import type { Link } from '../mesh/link.js';
import type { Signaling } from '../mesh/signaling.js';
import type { Lane } from './hostile-frames.js';

export class HostilePeer {
  readonly channel: FrameChannel;
  /** Frames the host sent back, once authenticated. */
  readonly received: Frame[] = [];
  private readonly waiters = new Set<(f: Frame) => void>();
  /** How it answers what the host asks it, once a member. */
  private responder: ((f: Frame) => Frame | undefined) | undefined;
  /** Resolves when the host (or the attacker) closed the link. */
  readonly closed: Promise<void>;

  private constructor(readonly link: Link) {
    this.channel = new FrameChannel(link, new DropCounter());
    this.closed = new Promise((resolve) => link.onClose(resolve));
  }

  static async connect(signaling: Signaling, peerId: string): Promise<HostilePeer> {
    return new HostilePeer(await signaling.connect(peerId));
  }

  /** The honest handshake (with the token): the host then takes this peer for a member. */
  async join(c: Credentials): Promise<void> {
    await authenticateInitiator(this.channel, c);
    this.channel.onFrame((f) => {
      this.received.push(f);
      const answer = this.responder?.(f);
      if (answer) this.sendFrame(answer);
      for (const w of this.waiters) w(f);
    });
  }

  /** Sends raw text or bytes on a lane; a closed link swallows them, as a dropped connection would. */
  send(lane: Lane, data: string | Uint8Array): void {
    const link = lane === 'main' ? this.link : lane === 'heartbeat' ? this.link.heartbeat! : this.link.bulk!;
    try { link.send(data); } catch { /* the host closed the link */ }
  }

  sendFrame(f: Frame): void {
    this.send('main', JSON.stringify(f));
  }

  respond(answer: (f: Frame) => Frame | undefined): void {
    this.responder = answer;
  }

  /** The first frame the host sent back that matches. */
  waitFor<F extends Frame>(match: (f: Frame) => f is F): Promise<F>;
  waitFor(match: (f: Frame) => boolean): Promise<Frame>;
  waitFor(match: (f: Frame) => boolean): Promise<Frame> {
    const seen = this.received.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => {
      const check = (f: Frame) => {
        if (match(f)) { this.waiters.delete(check); resolve(f); }
      };
      this.waiters.add(check);
    });
  }

  close(): void {
    this.link.close();
  }
}
