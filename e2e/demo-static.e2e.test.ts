/**
 * The demo as a static site: `vite build` with the workspace's config (what `pnpm build:demo`
 * runs) writes both pages and their chunks; a plain static file server that only adds the
 * COOP/COEP headers serves them, a local PeerJS server is the signalling server (as `pnpm demo`
 * starts one), and in Chromium the driver page trains CartPole to done and a volunteer tab joins
 * from its link. Then the walker: the driver tab pauses itself, so every rollout runs on a Node
 * host (`webray host`), whose workers import the built rollouts chunk and MuJoCo's WebAssembly
 * build from the site over http; then, the Node host gone, the tab's own worker runs them.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capturePageLog, launchChromium, newContext } from './support/chromium.js';
import { startHost, stopHost } from './support/node-host.js';
import { startPeerServer, type RunningPeerServer } from './support/peer-server.js';
import { withTimeout } from './support/timeout.js';
import { ISOLATION_HEADERS } from './support/vite-server.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const VITE = join(REPO, 'node_modules', 'vite', 'bin', 'vite.js');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm',
  '.json': 'application/json', '.svg': 'image/svg+xml', '.png': 'image/png',
};

/** A static file server for `dir` that adds only what cross-origin isolation needs: COOP and COEP. */
function serveStatic(dir: string): Promise<{ origin: string; server: Server }> {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    const file = join(dir, path.endsWith('/') ? `${path}index.html` : path);
    let body: Buffer;
    try {
      if (!file.startsWith(dir) || !statSync(file).isFile()) throw new Error('not a file');
      body = readFileSync(file);
    } catch {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, {
      'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
      ...ISOLATION_HEADERS,
    }).end(body);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    resolve({ origin: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server });
  }));
}

let out: string;
let site: { origin: string; server: Server };
let peer: RunningPeerServer;
let browser: Browser;
let host: ChildProcess | undefined;

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), 'webray-demo-site-'));
  // `vite build` at the workspace root, as `pnpm build:demo` runs it (into a temporary folder here).
  await withTimeout('vite build of the demo', 120_000, new Promise<void>((resolve, reject) => {
    execFile(process.execPath, [VITE, 'build', '--outDir', out, '--emptyOutDir', '--logLevel', 'warn'], { cwd: REPO }, (err, stdout, stderr) => {
      if (err) reject(new Error(`vite build failed: ${err.message}\n${stdout}\n${stderr}`));
      else resolve();
    });
  }));
  site = await serveStatic(out);
  peer = await startPeerServer();
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await stopHost(host);
  await browser?.close();
  await peer?.close();
  site?.server.closeAllConnections();
  await new Promise((r) => (site ? site.server.close(r) : r(undefined)));
  if (out) rmSync(out, { recursive: true, force: true });
});

describe('the demo built as a static site (vite build), served with COOP/COEP', () => {
  it('trains CartPole to done on the driver page, and a volunteer tab joins from its link', async () => {
    const context = await newContext(browser, site.origin);
    try {
      const driver = await context.newPage();
      const driverLog = capturePageLog(driver);
      // The driver link as `pnpm demo` prints it: the cluster in the fragment, no key.
      const cluster = { id: `static-${Date.now().toString(16)}`, token: crypto.randomUUID(), signal: peer.signal, iceServers: [] };
      await driver.goto(`${site.origin}/?workers=2#${encodeURIComponent(JSON.stringify({ cluster, role: 'driver' }))}`);
      await withTimeout('the first run (CartPole) on the built page', 120_000,
        driver.waitForFunction(() => document.body.dataset.demo === 'done', undefined, { timeout: 120_000 }), () => driverLog.text());
      const rl = await driver.evaluate(() => ({ state: document.getElementById('rl')!.dataset.state, evalMean: document.getElementById('eval-mean')!.dataset.value, isolated: document.body.dataset.crossOriginIsolated }));
      expect(rl.isolated).toBe('true');
      expect(rl.state, driverLog.text()).toBe('done');
      expect(Number(rl.evalMean)).toBeGreaterThanOrEqual(475);

      const volunteer = await context.newPage();
      const volunteerLog = capturePageLog(volunteer);
      await volunteer.goto((await driver.getAttribute('#join-link', 'href'))!);
      await withTimeout('the built volunteer page ready', 30_000,
        volunteer.waitForFunction(() => document.body.dataset.state === 'ready', undefined, { timeout: 30_000 }), () => volunteerLog.text());
      await volunteer.fill('#volunteer-name', 'static volunteer');
      await volunteer.selectOption('#worker-count', '1');
      await volunteer.click('#start');
      await withTimeout('the driver seeing the volunteer', 60_000, driver.waitForFunction(
        () => document.getElementById('host-log')!.textContent!.includes('static volunteer joined'), undefined, { timeout: 60_000 }), () => `${driverLog.text()}\n--- volunteer ---\n${volunteerLog.text()}`);
      expect(await volunteer.evaluate(() => document.body.dataset.state)).toBe('started');
    } finally {
      await context.close();
    }
  }, 240_000);

  it('trains the walker with every rollout on the Node host, which imports the built rollouts and MuJoCo over http; then in the tab\'s worker', async () => {
    const context = await newContext(browser, site.origin);
    try {
      const page = await context.newPage();
      const log = capturePageLog(page);
      const cluster = { id: 'demo-build-node', token: crypto.randomUUID(), signal: peer.signal, iceServers: [] };
      await page.goto(`${site.origin}/?autorun=0&workers=1#${encodeURIComponent(JSON.stringify({ cluster, role: 'driver' }))}`);
      await withTimeout('the page starting', 60_000, page.waitForFunction(() => document.body.dataset.demo === 'done', undefined, { timeout: 60_000 }), () => log.text());
      const member = await page.evaluate(() => (globalThis as unknown as { demo: { memberConfig(): object } }).demo.memberConfig());
      const started = startHost({ numWorkers: 1, hostName: 'e2e node host', cluster: { ...member, signal: peer.signal, iceServers: [] } as never });
      host = started.child;
      const line = await withTimeout('the Node host joining', 60_000, started.line);
      expect(line).toMatch(/^ready /);
      const nodeHost = line.slice(6);
      await withTimeout('the driver seeing the Node host', 30_000, page.waitForFunction((id) => (globalThis as unknown as { ray: typeof import('webray') }).ray.nodes().then((ns) => ns.some((n) => n.hostId === id)), nodeHost, { timeout: 30_000, polling: 100 }));

      const result = await withTimeout('two iterations of the walker', 240_000, page.evaluate(async () => {
        const { ray, demo } = globalThis as unknown as { ray: typeof import('webray'); demo: { train(env: string, size: object): Promise<{ episodes: number; meanReward: number; evalMean: number }> } };
        await ray.pause();
        const totals = await demo.train('walker', { iterations: 2, pairs: 4 });
        const rollouts = await ray.state.listTasks({ filters: { name: 'evaluatePairs' } });
        return { totals, hosts: [...new Set(rollouts.map((r) => r.nodeId?.split('.')[0]))], states: [...new Set(rollouts.map((r) => r.state))] };
      }), () => log.text());
      expect(result.hosts).toEqual([nodeHost]);
      expect(result.states).toEqual(['FINISHED']);
      expect(result.totals.episodes).toBe(2 * 2 * 4);
      // A walker that stands for a while earns +1 a step: any policy scores above 0.
      expect(result.totals.meanReward).toBeGreaterThan(0);
      expect(Number.isFinite(result.totals.evalMean)).toBe(true);

      // The same built chunks in the tab's own worker, once the Node host is gone.
      await stopHost(host);
      host = undefined;
      const here = await withTimeout('an iteration in the tab', 120_000, page.evaluate(async () => {
        const { ray, demo } = globalThis as unknown as { ray: typeof import('webray'); demo: { train(env: string, size: object): Promise<{ episodes: number }> } };
        for (let i = 0; i < 400 && (await ray.nodes()).some((n) => n.hostId !== ray.getRuntimeContext().hostId); i++) await new Promise((r) => setTimeout(r, 50));
        ray.resume();
        const since = Date.now();
        const totals = await demo.train('walker', { iterations: 1, pairs: 2 });
        const rollouts = (await ray.state.listTasks({ filters: { name: 'evaluatePairs' } })).filter((r) => r.submittedAt >= since);
        return { totals, hosts: [...new Set(rollouts.map((r) => r.nodeId?.split('.')[0]))], self: ray.getRuntimeContext().hostId };
      }), () => log.text());
      expect(here.totals.episodes).toBe(4);
      expect(here.hosts).toEqual([here.self]);
    } finally {
      await context.close();
    }
  });
});
