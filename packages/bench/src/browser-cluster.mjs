// What the browser benchmarks share: a loopback-only network namespace, a local PeerJS server, a
// Vite dev server for one page under pages/ (cross-origin isolated), headless Chromium with the
// flags and permission WebRTC on loopback needs, tabs of that page, and Node hosts (`pnpm host`).
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { PeerServer } from 'peer';
import { chromium } from 'playwright-core';
import { createServer as createVite } from 'vite';
import { withTimeout } from './harness.mjs';

/** The package's `webray host` bin (built by `pnpm bench`). */
const HOST_BIN = fileURLToPath(new URL('../../webray/dist/bin/webray.js', import.meta.url));

/**
 * Re-runs this script inside a loopback-only network namespace (`unshare -n`, needs root) so no
 * packet leaves the machine, and exits with its status; returns only when already inside one.
 */
export function enterLoopbackNamespace(script, name) {
  if (process.env.WEBRAY_NETNS === '1') return;
  const r = spawnSync('unshare', ['-n', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh', process.execPath, fileURLToPath(script), ...process.argv.slice(2)], {
    stdio: 'inherit', env: { ...process.env, WEBRAY_NETNS: '1' },
  });
  if (r.error || r.status === null) {
    console.error(`${name}: could not enter a loopback-only network namespace (unshare -n needs root); not running WebRTC outside one.`);
    process.exit(1);
  }
  process.exit(r.status);
}

const freePort = () => new Promise((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
});

/**
 * Starts the servers and the browser for pages/<page>. Tabs of that page read their config from
 * the URL fragment and set `window.benchStatus` to 'ready' (or 'failed: …') once webray started.
 */
export async function startBrowserCluster(page, log = (...a) => console.error(...a)) {
  const peerPort = await freePort();
  const peerHttp = await new Promise((resolve) => { PeerServer({ host: '127.0.0.1', port: peerPort, path: '/' }, resolve); });
  const signal = { host: '127.0.0.1', port: peerPort, path: '/' };
  const vite = await createVite({
    configFile: false,
    root: fileURLToPath(new URL(`../pages/${page}/`, import.meta.url)),
    logLevel: 'warn',
    server: {
      host: '127.0.0.1', port: 0, hmr: false,
      headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' },
    },
    optimizeDeps: { exclude: ['webray'] },
  });
  await vite.listen();
  const url = vite.resolvedUrls.local[0];
  const browser = await chromium.launch({
    executablePath: process.env.WEBRAY_CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--allow-loopback-in-peer-connection'],
  });
  const context = await browser.newContext();
  await context.grantPermissions(['microphone'], { origin: new URL(url).origin });

  const ray = await import('webray');
  const keys = await ray.generateSubmitterKey();
  const tabs = [];
  const hosts = [];

  return {
    signal,
    tabs,

    /** Init options' `cluster` for a member (join token only) and for a driver (may submit work). */
    cluster(id) {
      const member = { id, token: `${id}-token`, submitterPublicKey: keys.publicKey, signal, iceServers: [] };
      return { member, driver: { ...member, submitterKey: keys.privateKey } };
    },

    async openTab(config) {
      const p = await context.newPage();
      p.on('pageerror', (e) => log('page error:', e.message));
      await p.goto(`${url}#${encodeURIComponent(JSON.stringify(config))}`);
      await p.waitForFunction(() => window.benchStatus !== 'loading', undefined, { timeout: 60_000 });
      const status = await p.evaluate(() => window.benchStatus);
      if (status !== 'ready') throw new Error(`tab did not start: ${status}`);
      tabs.push(p);
      return p;
    },

    /** A webray host in a Node process (in this namespace); resolves with its host id once joined. */
    async startNodeHost(init) {
      // The token goes in the environment, never on the bin's command line.
      const { token, ...cluster } = init.cluster;
      const child = spawn(process.execPath, [HOST_BIN, 'host', '--control-stdin', '--config', JSON.stringify({ ...init, cluster })], {
        stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, WEBRAY_TOKEN: token },
      });
      hosts.push(child);
      const line = new Promise((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d) => { out += String(d); if (out.includes('\n')) resolve(out.split('\n')[0]); });
        child.once('exit', (code) => reject(new Error(`Node host exited with ${code}: ${out}`)));
      });
      const first = await withTimeout(line, 60_000, 'Node host joining');
      if (!first.startsWith('ready ')) throw new Error(`Node host did not start: ${first}`);
      return first.slice(6);
    },

    /** Ends the Node hosts as their user would (stdin closed; bounded), then the browser and servers. */
    async close() {
      await Promise.all(hosts.map((c) => withTimeout(new Promise((r) => {
        if (c.exitCode !== null) { r(); return; }
        c.once('exit', r);
        c.stdin.end();
      }), 10_000, 'Node host exit').catch(() => c.kill())));
      await context.close();
      await browser.close();
      await vite.close();
      peerHttp.closeAllConnections?.();
      peerHttp.close();
    },
  };
}
