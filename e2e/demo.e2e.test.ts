/**
 * The main job: `pnpm demo` (web-demo/scripts/demo.mjs) serves the demo and a local PeerJS server
 * and prints a driver link. The driver tab makes its own submitter key and shows the join link;
 * a second tab from that link joins: each runs the demo (π tasks, the parameter-server actor) and
 * the driver's π tasks run on both tabs. No link ever carries the private key.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capturePageLog, launchChromium, newContext } from './support/chromium.js';
import { withTimeout } from './support/timeout.js';

const DEMO = fileURLToPath(new URL('../web-demo/scripts/demo.mjs', import.meta.url));

let demo: ChildProcess;
let driverLink: string;
let browser: Browser;

beforeAll(async () => {
  demo = spawn(process.execPath, [DEMO, '--no-build', '--port', '5273'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  driverLink = await withTimeout('the demo printing its driver link', 60_000, new Promise<string>((resolve, reject) => {
    demo.stdout!.on('data', (d) => {
      out += String(d);
      const driver = /driver tab: (\S+)/.exec(out)?.[1];
      if (driver) resolve(driver);
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
  it('runs the demo in both tabs and spreads the driver tab\'s π tasks over both; no link holds the private key', async () => {
    const context = await newContext(browser, new URL(driverLink).origin);
    try {
      const open = async (url: string) => {
        const page = await context.newPage();
        const log = capturePageLog(page);
        await page.goto(url);
        await withTimeout('the demo finishing', 120_000, page.waitForFunction(() => document.body.dataset.demo === 'done', undefined, { timeout: 120_000 }), () => log.text());
        return page;
      };
      const driver = await open(driverLink);
      expect(driverLink).not.toMatch(/submitterKey|submitterPublicKey/);
      // The credentials left the address bar once read.
      expect(await driver.evaluate(() => location.hash)).toBe('');
      const joinLink = (await driver.getAttribute('#join-link', 'href'))!;
      const joinData = JSON.parse(decodeURIComponent(new URL(joinLink).hash.slice(1))) as { cluster: Record<string, unknown> };
      expect(joinData.cluster.submitterKey).toBeUndefined();
      expect(JSON.parse(joinData.cluster.submitterPublicKey as string)).not.toHaveProperty('d'); // a JWK's private part
      await open(joinLink);

      // The driver runs π again now that the other tab is in.
      await driver.click('#pi-run');
      await driver.waitForFunction(() => document.getElementById('pi')?.dataset.state === 'done' && !(document.getElementById('pi-run') as HTMLButtonElement).disabled);
      const r = await driver.evaluate(async () => {
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

  it('refuses a link that carries a private submitter key, and says why', async () => {
    const context = await newContext(browser, new URL(driverLink).origin);
    try {
      const page = await context.newPage();
      const data = JSON.parse(decodeURIComponent(new URL(driverLink).hash.slice(1))) as { cluster: Record<string, unknown> };
      const leaked = { cluster: { ...data.cluster, submitterKey: '{"kty":"EC","d":"…"}' } };
      await page.goto(`${new URL(driverLink).origin}/#${encodeURIComponent(JSON.stringify(leaked))}`);
      await page.waitForSelector('#error:not([hidden])');
      expect(await page.textContent('#error')).toMatch(/private submitter key.*never put it in a link/);
      expect(await page.evaluate(() => location.hash)).toBe('');
    } finally {
      await context.close();
    }
  });
});
