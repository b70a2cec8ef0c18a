// The sim's network: real in-memory links (webray's memoryLinkPair) carrying real frames
// through FrameChannel, so every frame is serialized, delivered a macrotask later and validated
// by parseFrame as in production. Links are made up front for the pairs that talk (each host and
// the head, each driver and each host), not as a full mesh, and before timing starts: in
// production the mesh exists before tasks come.
import { FrameChannel, DropCounter } from '../../../webray/dist/mesh/channel.js';
import { memoryLinkPair } from '../../../webray/dist/mesh/link.js';

export class SimNet {
  /** Frames sent, by type. */
  sent = Object.create(null);
  drops = new DropCounter();
  links = 0;
  #inFlight = 0;
  /** Per host, its channel to each host it talks to (like a member's links, by peer id). */
  #channels = new Map();
  #endpoints = new Map();

  constructor(meter) {
    this.meter = meter;
  }

  /** `receive(from, frame)` handles frames for `id`; the time it takes (parsing included) counts as `category`. */
  attach(id, category, receive) {
    this.#endpoints.set(id, { category, receive });
    this.#channels.set(id, new Map());
  }

  send(from, to, frame) {
    this.sent[frame.t] = (this.sent[frame.t] ?? 0) + 1;
    this.#inFlight++;
    this.#channel(from, to).send(frame);
  }

  /** Frames sent and not yet handled. */
  get inFlight() {
    return this.#inFlight;
  }

  get framesSent() {
    let n = 0;
    for (const k in this.sent) n += this.sent[k];
    return n;
  }

  #channel(from, to) {
    const ch = this.#channels.get(from).get(to);
    if (!ch) throw new Error(`no link ${from} -> ${to} in the sim`);
    return ch;
  }

  /** Links `a` and `b` (both attached), unless they are already. */
  connect(a, b) {
    if (a === b || this.#channels.get(a).has(b)) return;
    const [la, lb] = memoryLinkPair();
    this.#channels.get(a).set(b, this.#end(la, b, a));
    this.#channels.get(b).set(a, this.#end(lb, a, b));
    this.links++;
  }

  /** `self`'s end of its link to `peer`. */
  #end(link, peer, self) {
    const { category, receive } = this.#endpoints.get(self);
    const meter = this.meter;
    const onData = link.onData.bind(link);
    // Timed from the moment the text arrives: parsing and validation are part of the cost.
    link.onData = (handler) => onData((d) => meter.time(category, () => { this.#inFlight--; handler(d); }));
    const ch = new FrameChannel(link, this.drops);
    ch.onFrame((f) => receive(peer, f));
    return ch;
  }
}
