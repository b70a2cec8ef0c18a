/** A local PeerJS server (the `peer` package) on 127.0.0.1 and a free port, for mesh tests. */
import type { Server } from 'node:http';
import { createServer, type Socket } from 'node:net';
import { PeerServer } from 'peer';

export interface RunningPeerServer {
  port: number;
  signal: { host: string; port: number; path: string; secure: boolean };
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** A PeerJS server on `port` (a free one by default; the same one again to restart a server). */
export async function startPeerServer(port?: number): Promise<RunningPeerServer> {
  port ??= await freePort();
  // The callback gets the http server (what can be closed); PeerServer returns the express app.
  const http = await new Promise<Server>((resolve) => {
    PeerServer({ host: '127.0.0.1', port, path: '/' }, (s) => resolve(s as Server));
  });
  // Hosts' signalling sockets are upgraded connections, which closing the server waits for: end them.
  const sockets = new Set<Socket>();
  http.on('connection', (s: Socket) => { sockets.add(s); s.once('close', () => sockets.delete(s)); });
  return {
    port,
    signal: { host: '127.0.0.1', port, path: '/', secure: false },
    close: () => new Promise((resolve) => {
      http.close(() => resolve());
      for (const s of sockets) s.destroy();
    }),
  };
}
