/**
 * The main job: `pnpm demo` (web-demo/scripts/demo.mjs) serves the demo and a local PeerJS server
 * and prints a driver link. The driver tab makes its own submitter key, trains CartPole by ES
 * across the cluster as its first run (rollouts are module tasks; an actor serves the policy to
 * the canvas) and shows the volunteer link. A second tab opens that link: nothing runs until Start;
 * then it takes rollouts of the next run, and Leave takes it out (the driver's log says so). No
 * link ever carries the private key.
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

describe('pnpm demo as a cluster: a driver tab and a volunteer tab', () => {
  it('trains CartPole to solved, serves it to the canvas, and lets a volunteer tab join on Start, take rollouts and leave; no link holds the private key', async () => {
    const context = await newContext(browser, new URL(driverLink).origin);
    try {
      const driver = await context.newPage();
      const driverLog = capturePageLog(driver);
      await driver.goto(driverLink);
      await withTimeout('the first run (CartPole)', 180_000, driver.waitForFunction(() => document.body.dataset.demo === 'done', undefined, { timeout: 180_000 }), () => driverLog.text());
      const first = await driver.evaluate(() => ({ ...document.getElementById('rl')!.dataset }));
      expect(first.state, driverLog.text()).toBe('done');
      expect(Number(first.evalMean)).toBeGreaterThanOrEqual(475); // solved: the mean over 100 evaluation episodes
      // The serving actor drew frames: the canvas is not blank.
      expect(await driver.evaluate(() => {
        const c = document.getElementById('scene') as HTMLCanvasElement;
        const px = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        return px.some((v, i) => i % 4 === 3 && v !== 0);
      })).toBe(true);

      expect(driverLink).not.toMatch(/submitterKey|submitterPublicKey/);
      expect(await driver.evaluate(() => location.hash)).toBe('');
      const joinLink = (await driver.getAttribute('#join-link', 'href'))!;
      expect(new URL(joinLink).pathname).toBe('/volunteer.html');
      expect(joinLink.length).toBeLessThan(300);
      expect(decodeURIComponent(joinLink)).not.toMatch(/"d"|submitterKey|privateKey/);

      const volunteer = await context.newPage();
      const volunteerLog = capturePageLog(volunteer);
      await volunteer.goto(joinLink);
      await volunteer.waitForFunction(() => document.body.dataset.state === 'ready');
      // Nothing runs before Start: the page says whose code would run, and no webray host exists yet.
      expect(await volunteer.textContent('#fingerprint')).toMatch(/^[0-9a-f]{4}( [0-9a-f]{4}){3}$/);
      expect(volunteerLog.lines.filter((l) => l.startsWith('[worker] started'))).toEqual([]);
      await volunteer.fill('#volunteer-name', 'e2e volunteer');
      await volunteer.click('#start');
      await withTimeout('the volunteer joining', 60_000, volunteer.waitForFunction(() => document.body.dataset.state === 'started', undefined, { timeout: 60_000 }), () => volunteerLog.text());
      await withTimeout('the driver seeing the volunteer', 30_000, driver.waitForFunction(() => document.getElementById('host-log')!.textContent!.includes('e2e volunteer joined'), undefined, { timeout: 30_000 }), () => driverLog.text());

      // The next run spreads its rollouts over both tabs.
      await driver.click('#train-cartpole');
      await withTimeout('the second run', 180_000, driver.waitForFunction(() => document.getElementById('rl')!.dataset.state === 'done' && !(document.getElementById('train-cartpole') as HTMLButtonElement).disabled, undefined, { timeout: 180_000 }), () => driverLog.text());
      await withTimeout('rollouts on the volunteer', 30_000, volunteer.waitForFunction(() => Number(document.body.dataset.tasksDone) > 0, undefined, { timeout: 30_000 }), () => volunteerLog.text());

      await volunteer.click('#leave');
      await withTimeout('the volunteer leaving', 60_000, volunteer.waitForFunction(() => document.body.dataset.state === 'left', undefined, { timeout: 60_000 }), () => volunteerLog.text());
      await withTimeout('the driver seeing it leave', 30_000, driver.waitForFunction(() => document.getElementById('host-log')!.textContent!.includes('e2e volunteer left'), undefined, { timeout: 30_000 }), () => driverLog.text());
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
