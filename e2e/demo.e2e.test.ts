/**
 * The main job: `pnpm demo` (web-demo/scripts/demo.mjs) serves the demo and a local PeerJS server
 * and prints a driver link and a join link. Two tabs from those links form a cluster: each runs
 * the demo (π tasks, the parameter-server actor) and the driver's π tasks run on both tabs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capturePageLog, launchChromium, newContext } from './support/chromium.js';
import { withTimeout } from './support/timeout.js';

const DEMO = fileURLToPath(new URL('../web-demo/scripts/demo.mjs', import.meta.url));

let demo: ChildProcess;
let links: { driver: string; join: string };
let browser: Browser;

beforeAll(async () => {
  demo = spawn(process.execPath, [DEMO, '--no-build', '--port', '5273'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  links = await withTimeout('the demo printing its links', 60_000, new Promise((resolve, reject) => {
    demo.stdout!.on('data', (d) => {
      out += String(d);
      const driver = /driver tab: (\S+)/.exec(out)?.[1];
      const join = /more tabs join with:\s+(\S+)/.exec(out)?.[1];
      if (driver && join) resolve({ driver, join });
    });
    demo.once('exit', (code) => reject(new Error(`the demo exited with ${code}: ${out}`)));
  }), () => out);
  browser = await launchChromium();
}, 90_000);

afterAll(async () => {
  await browser?.close();
  demo?.kill('SIGINT');
});

describe('pnpm demo as a cluster of two tabs', () => {
  it('runs the demo in both tabs and spreads the driver tab\'s π tasks over both', async () => {
    const context = await newContext(browser, new URL(links.driver).origin);
    try {
      const pages = [];
      for (const url of [links.join, links.driver]) {
        const page = await context.newPage();
        const log = capturePageLog(page);
        await page.goto(url);
        await withTimeout('the demo finishing', 120_000, page.waitForFunction(() => document.body.dataset.demo === 'done', undefined, { timeout: 120_000 }), () => log.text());
        pages.push(page);
      }
      const r = await pages[1]!.evaluate(async () => {
        const ray = (globalThis as unknown as { ray: typeof import('webray') }).ray;
        const hosts = [...new Set((await ray.nodes()).map((n) => n.hostId))];
        const pi = await ray.state.listTasks({ filters: { name: 'samplePi' }, limit: 1000 });
        return { hosts, piHosts: [...new Set(pi.map((t) => (t.nodeId ?? '').split('.')[0]))], result: document.getElementById('pi-result')?.textContent ?? '' };
      });
      expect(r.hosts).toHaveLength(2);
      expect(r.piHosts.sort()).toEqual([...r.hosts].sort());
      expect(r.result).toMatch(/π ≈ 3\.14/);
    } finally {
      await context.close();
    }
  });
});
