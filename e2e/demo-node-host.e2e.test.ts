/**
 * The demo's production build with a Node host: `vite build` of web-demo (the repo's config, the
 * webray plugin), served by `vite preview` with COOP/COEP, a local PeerJS server. The driver tab
 * pauses itself, so the walker's rollouts all run on a Node host (`webray host`), whose workers
 * import the built rollouts chunk and MuJoCo's WebAssembly build from the preview server over http;
 * then, the Node host gone, the tab's own worker runs them.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capturePageLog, launchChromium, newContext } from './support/chromium.js';
import { startHost, stopHost } from './support/node-host.js';
import { startPeerServer, type RunningPeerServer } from './support/peer-server.js';
import { withTimeout } from './support/timeout.js';
import { startPreviewServer, type RunningServer } from './support/vite-server.js';

const repo = fileURLToPath(new URL('..', import.meta.url));

let outDir: string;
let site: RunningServer;
let peers: RunningPeerServer;
let browser: Browser;
let host: ChildProcess | undefined;

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), 'webray-demo-build-'));
  await build({ configFile: join(repo, 'vite.config.ts'), root: join(repo, 'web-demo'), logLevel: 'warn', build: { outDir, emptyOutDir: true } });
  site = await startPreviewServer({ root: join(repo, 'web-demo'), outDir });
  peers = await startPeerServer();
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await stopHost(host);
  await browser?.close();
  await site?.close();
  await peers?.close();
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

describe('the demo built for production, with a Node host', () => {
  it('trains the walker with every rollout on the Node host, which imports the built rollouts and MuJoCo over http; then in the tab\'s worker', async () => {
    const context = await newContext(browser, site.origin);
    try {
      const page = await context.newPage();
      const log = capturePageLog(page);
      const cluster = { id: 'demo-build-node', token: crypto.randomUUID(), signal: peers.signal, iceServers: [] };
      await page.goto(`${site.origin}/?autorun=0&workers=1#${encodeURIComponent(JSON.stringify({ cluster, role: 'driver' }))}`);
      await withTimeout('the page starting', 60_000, page.waitForFunction(() => document.body.dataset.demo === 'done', undefined, { timeout: 60_000 }), () => log.text());
      const member = await page.evaluate(() => (globalThis as unknown as { demo: { memberConfig(): object } }).demo.memberConfig());
      const started = startHost({ numWorkers: 1, hostName: 'e2e node host', cluster: { ...member, signal: peers.signal, iceServers: [] } as never });
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
