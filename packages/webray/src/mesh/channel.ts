/**
 * Frames over a link: parses and validates what arrives, drops (and counts) what is malformed,
 * and hands good frames and byte chunks to their receivers. A bad frame never throws past here.
 */
import { frameText, parseFrame, type Frame } from './frames.js';
import type { Link } from './link.js';

/** What a host dropped from the mesh, and why (the first reasons, for diagnosis). */
export class DropCounter {
  count = 0;
  readonly reasons: string[] = [];

  add(why: string): void {
    this.count++;
    if (this.reasons.length < 20) this.reasons.push(why);
  }
}

/**
 * Frames a channel keeps while nobody reads them (during the handshake, a peer has no reason to
 * send more than one or two): a peer that sends more is cut off.
 */
const MAX_UNREAD = 64;

export class FrameChannel {
  private frameReceiver: ((f: Frame) => void) | undefined = undefined;
  private bytesReceiver: ((b: Uint8Array) => void) | undefined;
  private readonly queued: Frame[] = [];

  constructor(readonly link: Link, readonly drops: DropCounter) {
    link.onData((d) => {
      if (typeof d !== 'string') {
        if (this.bytesReceiver) this.bytesReceiver(d);
        else drops.add('bytes before any transfer was asked for');
        return;
      }
      const p = parseFrame(d);
      if (!p.ok) { drops.add(p.why); return; }
      if (this.frameReceiver) this.deliver(p.frame);
      else if (this.queued.push(p.frame) > MAX_UNREAD) {
        drops.add(`more than ${MAX_UNREAD} frames before this host read any: link closed`);
        this.queued.length = 0;
        link.close();
      }
    });
  }

  private deliver(f: Frame): void {
    try {
      this.frameReceiver!(f);
    } catch (e) {
      // A frame that passed validation but could not be handled is dropped, never fatal.
      this.drops.add(`'${f.t}' frame failed: ${(e as Error)?.message ?? e}`);
    }
  }

  send(f: Frame): void {
    this.link.send(frameText(f));
  }

  sendBytes(b: Uint8Array): void {
    this.link.send(b);
  }

  onFrame(receive: (f: Frame) => void): void {
    this.frameReceiver = receive;
    // A one-shot receiver (next) unsets itself: later frames wait for the next receiver.
    while (this.frameReceiver !== undefined && this.queued.length) this.deliver(this.queued.shift()!);
  }

  onBytes(receive: (b: Uint8Array) => void): void {
    this.bytesReceiver = receive;
  }

  /** The next frame, or a rejection after `ms` or when the link closes. */
  next(ms: number): Promise<Frame> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
      this.link.onClose(() => { clearTimeout(timer); reject(new Error('the link closed')); });
      this.onFrame((f) => { clearTimeout(timer); this.frameReceiver = undefined; resolve(f); });
    });
  }
}
