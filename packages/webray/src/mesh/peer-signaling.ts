/**
 * Signalling through a PeerJS server and links over WebRTC data channels (PeerJS `raw`
 * serialization: strings and ArrayBuffers pass through untouched). In Node, a WebRTC polyfill
 * must provide RTCPeerConnection & co. and `ws` the WebSocket global (see README).
 * PeerJS is loaded only when a cluster is joined.
 */
import type { DataConnection, Peer, PeerOptions } from 'peerjs';
import { Inbox, type Link, type LinkData } from './link.js';
import type { Claim, Signaling } from './signaling.js';

/** An ICE (STUN/TURN) server, as RTCPeerConnection takes it; declared here so users need no DOM typings. */
export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

export interface SignalServer {
  host: string;
  port: number;
  path?: string;
  secure?: boolean;
}

const OPEN_MS = 15_000;
/** A lane's connection attempts: together no longer than the other side keeps a link's first lanes (OPEN_MS). */
const LANE_OPEN_MS = 5_000;
const OPEN_ATTEMPTS = 3;
/** How long a host waits before claiming its id again on a signalling server it lost. */
const RECLAIM_MS = 1_000;
const LANES = ['main', 'beats', 'bulk'] as const;
type Lane = (typeof LANES)[number];

/**
 * PeerJS pings its server on a timer of its own. In Node a timer keeps the process alive, so a
 * script that joined a cluster could never end by itself: unref it (the host holds the process
 * while work is pending). Reaches into PeerJS 1.5's socket; if that changes, pings stay referenced.
 */
function unrefPing(peer: Peer): void {
  type PingSocket = { _scheduleHeartbeat?: () => void; _wsPingTimer?: { unref?: () => void } };
  const socket = (peer as unknown as { socket?: PingSocket }).socket;
  const schedule = socket?._scheduleHeartbeat;
  if (!socket || typeof schedule !== 'function') return;
  socket._scheduleHeartbeat = function (this: PingSocket) {
    schedule.call(this);
    this._wsPingTimer?.unref?.();
  };
}

export class PeerSignaling implements Signaling {
  /** The first peer claimed (the host's own id): links to others are opened from it. */
  private own: Peer | undefined;

  private constructor(private readonly PeerCtor: typeof Peer, private readonly options: PeerOptions) {}

  static async create(server: SignalServer, iceServers: IceServer[] = [], rtcConfig: Record<string, unknown> = {}): Promise<PeerSignaling> {
    // Bundlers see the ES module's named export; Node loads PeerJS's CommonJS build (exports under default).
    const mod = (await import('peerjs')) as unknown as { Peer?: typeof Peer; default?: { Peer: typeof Peer } };
    const PeerCtor = mod.Peer ?? mod.default!.Peer;
    return new PeerSignaling(PeerCtor, {
      host: server.host, port: server.port, path: server.path ?? '/', secure: server.secure ?? false,
      config: { ...rtcConfig, iceServers }, debug: 0,
    });
  }

  claim(peerId: string, accept: (link: Link) => void, onLost?: () => void): Promise<Claim | undefined> {
    const peer = new this.PeerCtor(peerId, this.options);
    unrefPing(peer);
    return new Promise((resolve, reject) => {
      let open = false;
      const timer = setTimeout(() => { if (!open) { peer.destroy(); reject(new Error(`the signalling server did not answer within ${OPEN_MS} ms`)); } }, OPEN_MS);
      // Once: PeerJS says 'open' again each time it claims the id back after losing its server, and
      // a second 'connection' listener would answer every link twice (two challenges on one handshake).
      peer.once('open', () => {
        open = true;
        clearTimeout(timer);
        this.own ??= peer;
        // A link is three connections (frames, heartbeats, object bytes), grouped by the id the opener gave them.
        const parts = new Map<string, Partial<Record<Lane, PeerLink>>>();
        peer.on('connection', (conn) => conn.on('open', () => {
          const meta = conn.metadata as { pair?: unknown; lane?: unknown } | undefined;
          if (typeof meta?.pair !== 'string' || !LANES.includes(meta.lane as Lane)) { conn.close(); return; }
          const key = meta.pair;
          const h = parts.get(key) ?? {};
          // Wrapped at once: the opener may speak on a lane before the other lanes are open here.
          h[meta.lane as Lane] = new PeerLink(conn);
          if (h.main && h.beats && h.bulk) { parts.delete(key); accept(h.main.withLanes(h.beats, h.bulk)); return; }
          if (!parts.has(key)) {
            // A link that is never completed is closed, so strangers cannot pile up parts of one.
            setTimeout(() => { const left = parts.get(key); if (!left) return; parts.delete(key); for (const c of Object.values(left)) c.close(); }, OPEN_MS);
          }
          parts.set(key, h);
        }));
        let retry: ReturnType<typeof setTimeout> | undefined;
        // A signalling server that went away (restarts, a network blip) forgot this id: claim it
        // again until it is back, so others can open links to it. Links already open stay open.
        peer.on('disconnected', () => {
          if (!peer.destroyed && !lost) retry = setTimeout(() => { if (!peer.destroyed && peer.disconnected) peer.reconnect(); }, RECLAIM_MS);
        });
        resolve({ release: () => { if (this.own === peer) this.own = undefined; peer.destroy(); clearTimeout(retry); } });
      });
      // Someone else took the id while the server had forgotten it: stop claiming it back.
      let lost = false;
      peer.on('error', (e: Error & { type?: string }) => {
        if (open) {
          if (e.type === 'unavailable-id' && !lost) { lost = true; onLost?.(); }
          return;
        }
        clearTimeout(timer);
        peer.destroy();
        if (e.type === 'unavailable-id') resolve(undefined);
        else reject(e);
      });
    });
  }

  /** A link to `peerId`: a connection for frames, one for heartbeats, one for object bytes. */
  async connect(peerId: string): Promise<Link> {
    const pair = crypto.randomUUID();
    const [main, beats, bulk] = await Promise.all(LANES.map((lane) => this.open(peerId, pair, lane)));
    return main!.withLanes(beats!, bulk!);
  }

  /**
   * One lane's connection. An attempt that does not open in time is closed and made again, up
   * to OPEN_ATTEMPTS in all: on loopback, node-datachannel now and then never opens a connection
   * that a fresh one opens at once (seen in about one e2e run in three; cause not found).
   */
  private open(peerId: string, pair: string, lane: Lane, attempt = 1): Promise<PeerLink> {
    const own = this.own;
    if (!own) return Promise.reject(new Error('claim this host\'s own peer id first'));
    if (own.disconnected) return Promise.reject(new Error(`cannot reach ${peerId}: this host lost its signalling server and is reconnecting`));
    return new Promise((resolve, reject) => {
      const conn = own.connect(peerId, { reliable: true, serialization: 'raw', metadata: { pair, lane } });
      const timer = setTimeout(() => {
        conn.close();
        own.off('error', unavailable);
        if (attempt < OPEN_ATTEMPTS) resolve(this.open(peerId, pair, lane, attempt + 1));
        else reject(new Error(`no connection to ${peerId} within ${OPEN_ATTEMPTS} attempts of ${LANE_OPEN_MS} ms`));
      }, LANE_OPEN_MS);
      const unavailable = (e: Error & { type?: string }) => {
        if (e.type === 'peer-unavailable' && e.message.includes(peerId)) { clearTimeout(timer); reject(new Error(`no peer holds the id ${peerId}`)); }
      };
      own.on('error', unavailable);
      conn.on('open', () => { clearTimeout(timer); own.off('error', unavailable); resolve(new PeerLink(conn)); });
      conn.on('error', (e) => { clearTimeout(timer); own.off('error', unavailable); reject(e); });
    });
  }
}

/** Messages a lane keeps until its link has a receiver; a peer that sends more before its link is whole is cut off. */
const MAX_EARLY = 64;

class PeerLink implements Link {
  private closedListeners: (() => void)[] = [];
  heartbeat?: PeerLink;
  bulk?: PeerLink;
  /** Keeps what arrives before anyone listens (PeerJS drops data events that have no listener). */
  private readonly inbox = new Inbox();

  constructor(private readonly conn: DataConnection) {
    conn.on('data', (d) => {
      if (this.inbox.deliver(typeof d === 'string' ? d : new Uint8Array(d as ArrayBuffer)) > MAX_EARLY) conn.close();
    });
    conn.on('close', () => {
      this.heartbeat?.close();
      this.bulk?.close();
      for (const l of this.closedListeners.splice(0)) l();
    });
  }

  /** This link (frames) with its heartbeat and object-bytes lanes: closing it closes them. */
  withLanes(heartbeat: PeerLink, bulk: PeerLink): PeerLink {
    this.heartbeat = heartbeat;
    this.bulk = bulk;
    return this;
  }

  send(data: LinkData): void {
    this.conn.send(data);
  }

  onData(receive: (data: LinkData) => void): void {
    this.inbox.listen(receive);
  }

  onClose(closed: () => void): void {
    this.closedListeners.push(closed);
  }

  close(): void {
    this.conn.close();
  }

  get buffered(): number {
    return this.conn.dataChannel?.bufferedAmount ?? 0;
  }

  drained(bytes: number): Promise<void> {
    const dc = this.conn.dataChannel;
    if (!dc || dc.bufferedAmount <= bytes || dc.readyState !== 'open') return Promise.resolve();
    dc.bufferedAmountLowThreshold = bytes;
    return new Promise((resolve) => {
      // Some WebRTC stacks for Node never fire 'bufferedamountlow': look at the queue now and then too.
      const poll = setInterval(() => { if (dc.bufferedAmount <= bytes || dc.readyState !== 'open') done(); }, 20);
      const done = () => {
        clearInterval(poll);
        dc.removeEventListener('bufferedamountlow', done);
        dc.removeEventListener('close', done);
        resolve();
      };
      dc.addEventListener('bufferedamountlow', done);
      dc.addEventListener('close', done);
    });
  }
}
