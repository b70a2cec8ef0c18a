// What every cluster benchmark needs, browser or not: a local PeerJS server on loopback, and webray
// hosts in Node processes (the package's `webray host` bin) that can be started, stopped as their
// user would (stdin closed), killed (SIGKILL) or frozen (SIGSTOP).
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { PeerServer } from 'peer';
import { withTimeout } from './harness.mjs';

/** The package's `webray host` bin (built by `pnpm bench`). */
const HOST_BIN = fileURLToPath(new URL('../../webray/dist/bin/webray.js', import.meta.url));

export const freePort = () => new Promise((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
});

/** A PeerJS server on a free loopback port: the `signal` option for init, and close(). */
export async function startPeerServer() {
  const port = await freePort();
  const http = await new Promise((resolve) => { PeerServer({ host: '127.0.0.1', port, path: '/' }, resolve); });
  return {
    signal: { host: '127.0.0.1', port, path: '/' },
    close() { http.closeAllConnections?.(); http.close(); },
  };
}

/**
 * A webray host in a Node process (in this namespace); resolves once it joined, with its host id.
 * `nodeArgs` go to Node before the bin (its worker threads inherit them: e.g. an `--import` that
 * patches the task code a bench's lying host runs), `env` adds to the process's environment.
 */
export async function startNodeHost(init, { nodeArgs = [], env = {} } = {}) {
  // The token goes in the environment, never on the bin's command line.
  const { token, ...cluster } = init.cluster;
  const child = spawn(process.execPath, [...nodeArgs, HOST_BIN, 'host', '--control-stdin', '--config', JSON.stringify({ ...init, cluster })], {
    stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, ...env, WEBRAY_TOKEN: token },
  });
  const line = new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => { out += String(d); if (out.includes('\n')) resolve(out.split('\n')[0]); });
    child.once('exit', (code) => reject(new Error(`Node host exited with ${code}: ${out}`)));
  });
  const first = await withTimeout(line, 60_000, 'Node host joining');
  if (!first.startsWith('ready ')) throw new Error(`Node host did not start: ${first}`);
  const exited = new Promise((r) => { if (child.exitCode !== null) r(); else child.once('exit', () => r()); });
  return {
    hostId: first.slice(6),
    /** A crash: no goodbye, sockets closed by the kernel. */
    kill() { child.kill('SIGKILL'); return exited; },
    /** Silent: the process stops running but its sockets stay open (SIGSTOP; kill() still ends it). */
    freeze() { child.kill('SIGSTOP'); },
    /** As its user would stop it (bounded; killed if it does not exit). */
    stop() {
      if (child.exitCode === null) child.stdin.end();
      return withTimeout(exited, 10_000, 'Node host exit').catch(() => { child.kill(); return exited; });
    },
  };
}
