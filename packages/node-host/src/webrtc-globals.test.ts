import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import './webrtc-globals.mjs';

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

describe('the WebSocket a Node host gives PeerJS', () => {
  it('reports a signalling server that is gone by closing (as PeerJS expects), not by an error that ends the process', async () => {
    const port = await closedPort();
    // As PeerJS uses it: handlers for open, message and close only.
    const socket = new WebSocket(`ws://127.0.0.1:${port}/peerjs?key=peerjs&id=x&token=t`);
    const code = await new Promise<number>((resolve, reject) => {
      socket.onopen = () => reject(new Error('opened a socket to a closed port'));
      socket.onclose = (e) => resolve(e.code);
    });
    expect(code).toBe(1006);
    expect(socket.readyState).toBe(WebSocket.CLOSED);
  });
});
