/**
 * What PeerJS needs in Node and Node lacks: WebRTC (from the optional peer dependency
 * `node-datachannel`, its W3C polyfill) and, on Node 20, a WebSocket (from `ws`). Installed as
 * globals when a Node host joins a cluster; loaded only by the Node platform, so neither package
 * enters a browser bundle. Globals the program already set (another polyfill) are kept.
 */
import { networkInterfaces } from 'node:os';
import { RayUsageError } from '../shared/errors.js';

/** The package that provides WebRTC in Node; users install it to join clusters from Node. */
const WEBRTC_PACKAGE = 'node-datachannel';

interface WebRtcPolyfill {
  RTCPeerConnection: unknown;
  RTCSessionDescription: unknown;
  RTCIceCandidate: unknown;
}

interface EmitterSocket {
  on(event: 'error', listener: (e: unknown) => void): unknown;
  on(event: 'open', listener: () => void): unknown;
}

type SocketClass = new (url: string, protocols?: string | string[]) => EmitterSocket;

// Computed specifiers: type checkers and bundlers leave these imports alone.
const polyfillSpecifier = `${WEBRTC_PACKAGE}/polyfill`;
const wsSpecifier = 'ws';

type Importer = (specifier: string) => Promise<unknown>;
const importModule: Importer = (specifier) => import(specifier);

let installing: Promise<void> | undefined;

/**
 * Sets `RTCPeerConnection`, `RTCSessionDescription`, `RTCIceCandidate` and `WebSocket` where
 * missing; answers the RTCPeerConnection settings to use.
 */
export async function prepareWebRtc(): Promise<Record<string, unknown>> {
  await installWebRtcGlobals();
  return rtcSettings();
}

function installWebRtcGlobals(): Promise<void> {
  return (installing ??= install(globalThis as Record<string, unknown>, importModule).catch((e: unknown) => {
    installing = undefined;
    throw e;
  }));
}

/** Fills in `g`'s missing WebRTC and WebSocket globals with modules `load` imports. */
export async function install(g: Record<string, unknown>, load: Importer): Promise<void> {
  if (g.RTCPeerConnection === undefined) {
    let rtc: WebRtcPolyfill;
    try {
      rtc = (await load(polyfillSpecifier)) as WebRtcPolyfill;
    } catch (e) {
      throw new RayUsageError(
        `init: joining a cluster from Node needs WebRTC, which Node lacks, and the package that provides it ` +
        `('${WEBRTC_PACKAGE}') could not be loaded (${e instanceof Error ? e.message : String(e)}). ` +
        `Install it next to webray: npm install ${WEBRTC_PACKAGE}.`,
      );
    }
    g.RTCPeerConnection = guardedHandlers(rtc.RTCPeerConnection as PeerConnectionClass);
    g.RTCSessionDescription = rtc.RTCSessionDescription;
    g.RTCIceCandidate = rtc.RTCIceCandidate;
  }
  if (g.WebSocket === undefined) {
    const { WebSocket } = (await load(wsSpecifier)) as { WebSocket: SocketClass };
    g.WebSocket = signallingSocket(WebSocket);
  }
}

type PeerConnectionClass = new (...args: unknown[]) => object;

/** The event handler properties PeerJS sets on a peer connection. */
const HANDLERS = ['ondatachannel', 'onicecandidate', 'oniceconnectionstatechange', 'onconnectionstatechange', 'onsignalingstatechange', 'onicegatheringstatechange', 'ontrack'];

/**
 * PeerJS's handlers can throw for a connection it already dropped (a data channel that arrives
 * after PeerJS closed its connection reads `null._initializeDataChannel`). In a browser that is a
 * console error; node-datachannel calls the handlers from an EventTarget listener, and Node ends
 * the process on an error thrown there: a host would die of a race in a connection it no longer
 * uses. Here such an error ends with the handler.
 */
function guardedHandlers(Base: PeerConnectionClass): PeerConnectionClass {
  return class GuardedPeerConnection extends Base {
    constructor(...args: unknown[]) {
      super(...args);
      for (const name of HANDLERS) {
        let handler: ((e: unknown) => unknown) | null = (this as Record<string, never>)[name] ?? null;
        Object.defineProperty(this, name, {
          configurable: true,
          get: () => handler,
          set: (h: unknown) => {
            handler = typeof h === 'function' ? (e: unknown) => { try { return h.call(this, e); } catch { return undefined; } } : null;
          },
        });
      }
    }
  };
}

/**
 * RTCPeerConnection settings for node-datachannel here. It leaves loopback addresses out of its
 * ICE candidates unless bound to one: where no other interface is up (an offline machine, a
 * test's network namespace), hosts on this machine could not connect at all.
 */
function rtcSettings(): Record<string, unknown> {
  const onlyLoopback = Object.values(networkInterfaces()).every((addrs) => addrs?.every((a) => a.internal) ?? true);
  return onlyLoopback ? { bindAddress: '127.0.0.1' } : {};
}

/**
 * PeerJS learns that its signalling server is gone from the socket's close and sets no error
 * handler; `ws` emits an 'error' nobody listens for, which would end the process (a server that
 * is down, or a host taking over as head while it is). The close that follows reports it.
 * Once open, the socket is unref'd: it must not keep a script alive whose work is done (the
 * host holds the process while work is pending).
 */
function signallingSocket(Base: SocketClass): SocketClass {
  return class SignallingSocket extends Base {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols);
      this.on('error', () => {});
      this.on('open', () => (this as unknown as { _socket?: { unref?: () => void } })._socket?.unref?.());
    }
  };
}
