// What the browser benchmarks share: a loopback-only network namespace, a local PeerJS server, a
// Vite dev server for one page under pages/ (cross-origin isolated), headless Chromium with the
// flags and permission WebRTC on loopback needs, tabs of that page, and Node hosts (`pnpm host`).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { createServer as createVite } from 'vite';
import { startNodeHost, startPeerServer } from './local-cluster.mjs';

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

/**
 * Starts the servers and the browser for pages/<page>. Tabs of that page read their config from
 * the URL fragment and set `window.benchStatus` to 'ready' (or 'failed: …') once webray started.
 */
export async function startBrowserCluster(page, log = (...a) => console.error(...a)) {
  const peer = await startPeerServer();
  const { signal } = peer;
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
  const operator = await ray.generateSubmitterKey();
  const tabs = [];
  const hosts = [];

  return {
    signal,
    tabs,

    /**
     * Init options' `cluster` for a member (join token only), for a driver (may submit work) and for
     * a host that may be head without signing code (the operator key): a cluster's first host must
     * be a driver or an operator (a host with only the join token waits for a head).
     */
    cluster(id) {
      const member = { id, token: `${id}-token`, submitterPublicKey: keys.publicKey, operatorPublicKey: operator.publicKey, signal, iceServers: [] };
      return { member, driver: { ...member, submitterKey: keys.privateKey }, operator: { ...member, operatorKey: operator.privateKey } };
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
      const h = await startNodeHost(init);
      hosts.push(h);
      return h.hostId;
    },

    /** Ends the Node hosts as their user would (stdin closed; bounded), then the browser and servers. */
    async close() {
      await Promise.all(hosts.map((h) => h.stop()));
      await context.close();
      await browser.close();
      await vite.close();
      peer.close();
    },
  };
}
