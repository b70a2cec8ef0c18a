import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { RayUsageError } from '../shared/errors.js';
import { install } from './node-webrtc.js';

/** The parts of a WebSocket PeerJS uses. */
interface Socket {
  onopen: (() => void) | null;
  onclose: ((e: { code: number }) => void) | null;
  readonly readyState: number;
}
type SocketClass = (new (url: string) => Socket) & { CLOSED: number };

/** What `install` sets as the WebSocket global (on a Node without one). */
async function nodeGlobals(): Promise<Record<string, unknown>> {
  const g: Record<string, unknown> = {};
  await install(g, (s) => import(s));
  return g;
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

describe('what a Node host gives PeerJS', () => {
  it('a WebSocket that reports a signalling server that is gone by closing, not by an error that ends the process', async () => {
    const port = await closedPort();
    const Socket = (await nodeGlobals()).WebSocket as SocketClass;
    // As PeerJS uses it: handlers for open, message and close only.
    const socket = new Socket(`ws://127.0.0.1:${port}/peerjs?key=peerjs&id=x&token=t`);
    const code = await new Promise<number>((resolve, reject) => {
      socket.onopen = () => reject(new Error('opened a socket to a closed port'));
      socket.onclose = (e) => resolve(e.code);
    });
    expect(code).toBe(1006);
    expect(socket.readyState).toBe(Socket.CLOSED);
  });

  it('WebRTC and WebSocket globals from node-datachannel and ws', async () => {
    const g = await nodeGlobals();
    const ws = (await import('ws' as string)) as { WebSocket: unknown };
    expect(typeof g.RTCPeerConnection).toBe('function');
    expect(typeof g.RTCSessionDescription).toBe('function');
    expect(typeof g.RTCIceCandidate).toBe('function');
    expect(Object.getPrototypeOf(g.WebSocket)).toBe(ws.WebSocket);
  });

  it('a peer connection whose handler throws (PeerJS on a connection it already dropped) does not end the process', async () => {
    const Pc = (await nodeGlobals()).RTCPeerConnection as new () => EventTarget & { ondatachannel: ((e: Event) => void) | null; close(): void };
    const pc = new Pc();
    let called = 0;
    const uncaught: unknown[] = [];
    const record = (e: unknown) => uncaught.push(e);
    process.on('uncaughtException', record);
    try {
      pc.ondatachannel = () => { called++; throw new TypeError("Cannot read properties of null (reading '_initializeDataChannel')"); };
      pc.dispatchEvent(new Event('datachannel'));
      // Node rethrows a listener's error on the next tick.
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('uncaughtException', record);
      pc.close();
    }
    expect(called).toBe(1);
    expect(uncaught).toEqual([]);
  });

  it('keeps globals the program set', async () => {
    const mine = class {};
    const g: Record<string, unknown> = { RTCPeerConnection: mine, WebSocket: mine };
    await install(g, () => Promise.reject(new Error('nothing should be loaded')));
    expect(g).toEqual({ RTCPeerConnection: mine, WebSocket: mine });
  });

  it('says which package to install when the WebRTC one is missing', async () => {
    const missing = (s: string) => Promise.reject(new Error(`Cannot find package '${s}'`));
    const err = await install({}, missing).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RayUsageError);
    expect((err as Error).message).toMatch(/joining a cluster from Node needs WebRTC.*npm install node-datachannel/s);
  });
});
