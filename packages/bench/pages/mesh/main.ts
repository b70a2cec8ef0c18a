/**
 * One tab of the mesh benchmark (run by src/mesh.mjs). Each tab is a webray host; beside the
 * cluster, the two tabs also open a plain data channel (PeerJS `raw`: an RTCDataChannel as is)
 * so webray's transfers and round trips are compared with the bare channel in the same browser.
 */
import { Peer, type DataConnection } from 'peerjs';
import * as ray from 'webray';

interface Config {
  init: ray.InitOptions;
  /** This tab's and the other tab's ids for the plain channel. */
  rawId: string;
  rawPeer: string;
  signal: { host: string; port: number; path: string };
}

const cfg = JSON.parse(decodeURIComponent(location.hash.slice(1))) as Config;
const CHUNK = 64 * 1024;
const MAX_QUEUED = 4 * 1024 * 1024;

let raw: DataConnection | undefined;
const rawPeer = new Peer(cfg.rawId, { ...cfg.signal, secure: false, config: { iceServers: [] }, debug: 0 });
/** The receiving side of a plain transfer: bytes still expected; 'ack' goes back once all arrived. */
let rawExpected = 0;
/** The sending side waits for 'ack' or 'pong'. */
let replyWaiter: (() => void) | undefined;

function adoptRaw(c: DataConnection): void {
  raw = c;
  c.on('data', (d) => {
    if (typeof d === 'string') {
      if (d === 'ping') c.send('pong');
      else if (d.startsWith('expect:')) rawExpected = Number(d.slice(7));
      else { const w = replyWaiter; replyWaiter = undefined; w?.(); }
      return;
    }
    rawExpected -= (d as ArrayBuffer).byteLength;
    if (rawExpected === 0) c.send('ack');
  });
}
rawPeer.on('connection', (c) => c.on('open', () => adoptRaw(c)));
const reply = (send: () => void) => new Promise<void>((r) => { replyWaiter = r; send(); });

async function drained(c: DataConnection): Promise<void> {
  const dc = c.dataChannel;
  if (dc.bufferedAmount <= MAX_QUEUED) return;
  dc.bufferedAmountLowThreshold = MAX_QUEUED;
  await new Promise<void>((r) => dc.addEventListener('bufferedamountlow', () => r(), { once: true }));
}

const bench = {
  hostId: () => ray.getRuntimeContext().hostId,
  hosts: async () => [...new Set((await ray.nodes()).map((n) => n.hostId))].length,

  async connectRaw() {
    if (raw) return;
    await new Promise<void>((resolve, reject) => {
      const c = rawPeer.connect(cfg.rawPeer, { reliable: true, serialization: 'raw' });
      c.on('open', () => { adoptRaw(c); resolve(); });
      c.on('error', reject);
    });
  },

  /**
   * Sends `bytes` over the plain channel in 64 KiB chunks (the same chunking and back-pressure as
   * webray's pulls) and waits for the other tab's acknowledgement: milliseconds.
   */
  async rawTransfer(bytes: number) {
    const c = raw!;
    const chunk = new Uint8Array(CHUNK);
    const t0 = performance.now();
    c.send(`expect:${bytes}`);
    const acked = reply(() => undefined);
    for (let sent = 0; sent < bytes; sent += CHUNK) {
      await drained(c);
      c.send(chunk.subarray(0, Math.min(CHUNK, bytes - sent)).slice());
    }
    await acked;
    return performance.now() - t0;
  },

  async rawPing(n: number) {
    const lat: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await reply(() => raw!.send('ping'));
      lat.push(performance.now() - t0);
    }
    return lat;
  },

  /** A 32 MiB array made on the other tab (resource `remote`), then the timed part: get here (the pull). */
  async webrayTransfer(bytes: number) {
    const make = ray.remote((n: number) => new Float64Array(n).fill(1)).options({ resources: { remote: 1 } });
    const ref = make.remote(bytes / 8);
    await ray.wait([ref], { timeout: 60_000 });
    const t0 = performance.now();
    const a = await ray.get(ref, { timeout: 60_000 });
    const ms = performance.now() - t0;
    if (a.length !== bytes / 8 || a[a.length - 1] !== 1) throw new Error('wrong transfer');
    ray.release(a, ref);
    return ms;
  },

  /** What this host's cluster side dropped and moved (for failure reports). */
  diag() {
    const h = (globalThis as Record<symbol, any>)[Symbol.for('webray.core')];
    return { drops: h?.cluster?.member.drops.reasons, bytesIn: h?.cluster?.pulls?.bytesIn, bytesOut: h?.cluster?.pulls?.bytesOut };
  },

  async webrayPing(n: number) {
    const noop = ray.remote(() => 0).options({ resources: { remote: 1 } });
    await ray.get(noop.remote());
    const lat: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await ray.get(noop.remote(), { timeout: 30_000 });
      lat.push(performance.now() - t0);
    }
    return lat;
  },
};

declare global {
  interface Window { bench: typeof bench; benchStatus: string }
}
window.bench = bench;
window.benchStatus = 'loading';
await new Promise<void>((resolve, reject) => { rawPeer.on('open', () => resolve()); rawPeer.on('error', reject); });
ray.init(cfg.init).then(() => { window.benchStatus = 'ready'; }, (e: Error) => { window.benchStatus = `failed: ${e.name}: ${e.message}`; });
