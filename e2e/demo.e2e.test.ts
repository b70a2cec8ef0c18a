/**
 * The main job: `pnpm demo` (web-demo/scripts/demo.mjs) serves the demo and a local PeerJS server
 * and prints a driver link. The driver tab makes its own submitter key, trains CartPole by ES
 * across the cluster as its first run (rollouts are module tasks; an actor serves the policy to
 * the canvas) and shows the volunteer link. Two volunteer tabs open that link: nothing runs until
 * Start; then they take rollouts of a longer run, one leaves (Leave) and one is closed mid-run,
 * and the run goes on to the end, the same seeded run as without them. No link ever carries the
 * private key. The page's figures are read from their stable ids and data-* attributes; screenshots
 * go to test-results/screenshots/.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capturePageLog, launchChromium, newContext, type PageLog } from './support/chromium.js';
import { withTimeout } from './support/timeout.js';

const DEMO = fileURLToPath(new URL('../web-demo/scripts/demo.mjs', import.meta.url));
/** Kept after the run (the test runner's results folder, gitignored). */
const SCREENSHOTS = fileURLToPath(new URL('../test-results/screenshots/', import.meta.url));

let demo: ChildProcess;
let driverLink: string;
let browser: Browser;
/** What `pnpm demo` printed so far. */
let demoOut = '';

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  demo = spawn(process.execPath, [DEMO, '--no-build', '--port', '5273'], { stdio: ['ignore', 'pipe', 'inherit'] });
  driverLink = await withTimeout('the demo printing its driver link', 60_000, new Promise<string>((resolve, reject) => {
    demo.stdout!.on('data', (d) => {
      demoOut += String(d);
      const driver = /driver tab: (\S+)/.exec(demoOut)?.[1];
      if (driver) resolve(driver);
    });
    demo.once('exit', (code) => reject(new Error(`the demo exited with ${code}: ${demoOut}`)));
  }), () => demoOut);
  browser = await launchChromium();
}, 90_000);

afterAll(async () => {
  await browser?.close();
  demo?.kill('SIGINT');
});

/** Waits (bounded) until `fn(arg)` holds in the page; on a timeout the failure shows the page's log. */
function waitIn(page: Page, log: PageLog, what: string, ms: number, fn: (arg: string) => boolean, arg = ''): Promise<unknown> {
  return withTimeout(what, ms, page.waitForFunction(fn, arg, { timeout: ms, polling: 100 }), () => log.text());
}

/** The RL section's figures: state, rewards per iteration (data-*), and the counters by id. */
function figures(page: Page) {
  return page.evaluate(() => {
    const rl = document.getElementById('rl')!.dataset;
    const value = (id: string) => document.getElementById(id)!.dataset.value;
    const list = (s: string | undefined) => (s ? s.split(',').map(Number) : []);
    return {
      state: rl.state, means: list(rl.meanRewards), maxes: list(rl.maxRewards),
      iteration: value('iteration'), rewardMean: value('reward-mean'), rewardMax: value('reward-max'), evalMean: value('eval-mean'),
      episodesPerS: value('episodes-per-s'), stepsPerS: value('steps-per-s'), tasksPerS: value('tasks-per-s'),
      workers: value('rl-workers'), hosts: value('rl-hosts'), longestTask: value('longest-task'),
    };
  });
}

/** The dashboard's host table, as the driver shows it: the host's name and its running tasks. */
function hostTable(page: Page): Promise<{ host: string; running: number }[]> {
  return page.$$eval('#hosts tr[data-host-id]', (rows) => rows.map((r) => ({ host: (r as HTMLElement).dataset.host!, running: Number((r as HTMLElement).dataset.running) })));
}

const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;

describe('pnpm demo as a cluster: a driver tab and two volunteer tabs', () => {
  it('trains CartPole (seeded, the reward rises, solved), serves it; two volunteers join on Start, one leaves and one is closed mid-run, and the run goes on to the same result', async () => {
    const context = await newContext(browser, new URL(driverLink).origin);
    try {
      const driver = await context.newPage();
      const driverLog = capturePageLog(driver);
      // ?workers=2: the same two workers on every machine, so the seeded run splits the same way.
      await driver.goto(driverLink.replace('/#', '/?workers=2#'));
      await waitIn(driver, driverLog, 'the first run (CartPole)', 120_000, () => document.body.dataset.demo === 'done');
      const first = await figures(driver);
      expect(first.state, driverLog.text()).toBe('done');
      // Seed 1, 30 iterations: the reward rises (the last five iterations' mean above the first five's).
      expect(first.means).toHaveLength(30);
      expect(first.maxes).toHaveLength(30);
      expect(mean(first.means.slice(-5))).toBeGreaterThan(mean(first.means.slice(0, 5)));
      expect(Number(first.iteration)).toBe(30);
      expect(Number(first.rewardMean)).toBe(first.means.at(-1));
      expect(Number(first.rewardMax)).toBe(first.maxes.at(-1));
      expect(Number(first.evalMean)).toBeGreaterThanOrEqual(475); // solved: the mean over 100 evaluation episodes
      for (const k of ['episodesPerS', 'stepsPerS', 'tasksPerS'] as const) expect(Number(first[k]), k).toBeGreaterThan(0);
      expect(Number(first.workers)).toBe(2);
      expect(Number(first.hosts)).toBe(1);
      expect(Number(first.longestTask)).toBeGreaterThanOrEqual(0);
      // The serving actor drew frames: the canvas is not blank.
      expect(await driver.evaluate(() => {
        const c = document.getElementById('scene') as HTMLCanvasElement;
        const px = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        return px.some((v, i) => i % 4 === 3 && v !== 0);
      })).toBe(true);
      await driver.screenshot({ path: `${SCREENSHOTS}demo-driver-first-run.png`, fullPage: true });

      expect(driverLink).not.toMatch(/submitterKey|submitterPublicKey/);
      expect(await driver.evaluate(() => location.hash)).toBe('');
      const joinLink = (await driver.getAttribute('#join-link', 'href'))!;
      expect(new URL(joinLink).pathname).toBe('/volunteer.html');
      expect(joinLink.length).toBeLessThan(300);
      expect(decodeURIComponent(joinLink)).not.toMatch(/"d"|submitterKey|privateKey/);
      // The terminal shows it too.
      const printed = `volunteer link (from the driver tab): ${joinLink}`;
      await withTimeout('the demo printing the volunteer link', 30_000, new Promise<void>((resolve) => {
        const look = () => (demoOut.includes(printed) ? resolve() : demo.stdout!.once('data', () => setImmediate(look)));
        look();
      }), () => demoOut);

      // Two volunteers open the link: nothing runs before Start; then each lends one worker.
      const volunteers: { name: string; page: Page; log: PageLog }[] = [];
      for (const name of ['volunteer A', 'volunteer B']) {
        const page = await context.newPage();
        const log = capturePageLog(page);
        await page.goto(joinLink);
        await waitIn(page, log, `${name}'s page ready`, 30_000, () => document.body.dataset.state === 'ready');
        expect(await page.textContent('#fingerprint')).toMatch(/^[0-9a-f]{4}( [0-9a-f]{4}){3}$/);
        // The token leaves the address bar; a reload finds the link again.
        expect(await page.evaluate(() => location.hash)).toBe('');
        volunteers.push({ name, page, log });
      }
      await volunteers[0]!.page.reload();
      await waitIn(volunteers[0]!.page, volunteers[0]!.log, 'the reloaded volunteer page ready', 30_000, () => document.body.dataset.state === 'ready');
      expect(await volunteers[0]!.page.textContent('#fingerprint')).toMatch(/^[0-9a-f]{4}( [0-9a-f]{4}){3}$/);
      expect((await hostTable(driver)).map((r) => r.host)).toEqual(['this tab']);
      for (const v of volunteers) {
        expect(v.log.lines.filter((l) => l.startsWith('[worker] started')), `${v.name} started workers before Start`).toEqual([]);
        expect(await v.page.evaluate(() => document.body.dataset.state)).toBe('ready');
      }
      for (const v of volunteers) {
        await v.page.fill('#volunteer-name', v.name);
        await v.page.selectOption('#worker-count', '1');
        await v.page.click('#start');
        await waitIn(v.page, v.log, `${v.name} joining`, 60_000, () => document.body.dataset.state === 'started');
      }
      for (const v of volunteers) {
        await waitIn(driver, driverLog, `the driver's host log and host table showing ${v.name}`, 30_000, (name) =>
          document.getElementById('host-log')!.textContent!.includes(`${name} joined`) &&
          [...document.querySelectorAll<HTMLElement>('#hosts tr[data-host-id]')].some((r) => r.dataset.host === name), v.name);
      }
      await waitIn(driver, driverLog, 'the workers figure counting the volunteers\' workers', 30_000, () => document.getElementById('rl-workers')!.dataset.value === '4');

      // A longer run of the same seed over the three tabs (the first 30 iterations replay the first run). Its
      // iterations take ~70 ms over the mesh here and a few ms on one tab: 600 outlast the volunteers' going.
      const [a, b] = volunteers as [typeof volunteers[0], typeof volunteers[0]];
      await driver.evaluate(() => { void (globalThis as unknown as { demo: { train(env: string, size: object): Promise<unknown> } }).demo.train('cartpole', { iterations: 600 }); });
      await waitIn(driver, driverLog, 'the second run starting', 30_000, () => document.getElementById('rl')!.dataset.state === 'running');
      for (const v of volunteers) await waitIn(v.page, v.log, `rollouts on ${v.name}`, 60_000, () => Number(document.getElementById('tasks-done')!.dataset.value) > 0);
      // The dashboard counts other tabs' running tasks too (from the cluster's task list). Rollouts
      // take a millisecond, so a task held on A's worker is what it must see: the task runs until
      // the test lets it go, over a BroadcastChannel (it reaches the workers of this origin's tabs).
      await driver.evaluate(async () => {
        const { ray } = globalThis as unknown as { ray: typeof import('webray') };
        const node = (await ray.nodes()).find((n) => n.hostName === 'volunteer A' && n.kind === 'task')!.nodeId;
        const held = ray.remote(() => new Promise<string>((resolve) => {
          const channel = new BroadcastChannel('demo-e2e');
          channel.onmessage = () => { channel.close(); resolve('let go'); };
          channel.postMessage('started');
        }));
        const page = globalThis as unknown as { heldStarted?: boolean; held?: Promise<string> };
        const channel = new BroadcastChannel('demo-e2e');
        channel.onmessage = () => { page.heldStarted = true; channel.close(); };
        page.held = ray.get(held.options({ schedulingStrategy: { nodeId: node, soft: false } }).remote());
      });
      await waitIn(driver, driverLog, 'the held task starting on volunteer A', 30_000, () => (globalThis as unknown as { heldStarted?: boolean }).heldStarted === true);
      await waitIn(driver, driverLog, 'the host table showing volunteer A running a task', 30_000, () =>
        [...document.querySelectorAll<HTMLElement>('#hosts tr[data-host-id]')].some((r) => r.dataset.host === 'volunteer A' && Number(r.dataset.running) > 0));
      expect(await driver.evaluate(() => {
        new BroadcastChannel('demo-e2e').postMessage('go');
        return (globalThis as unknown as { held: Promise<string> }).held;
      })).toBe('let go');
      await a.page.screenshot({ path: `${SCREENSHOTS}demo-volunteer.png`, fullPage: true });

      // Mid-run, A leaves (gracefully: its running tasks finish) and B's tab is closed (a crash: its tasks run elsewhere).
      expect((await figures(driver)).state, 'the run ended before the volunteers went: make it longer').toBe('running');
      await a.page.click('#leave');
      await waitIn(a.page, a.log, 'volunteer A leaving', 60_000, () => document.body.dataset.state === 'left');
      const atCrash = (await figures(driver)).means.length;
      expect((await figures(driver)).state, 'the run ended before the tab was closed: make it longer').toBe('running');
      await b.page.close();
      await waitIn(driver, driverLog, 'the driver showing both volunteers gone', 60_000, () => {
        const log = document.getElementById('host-log')!.textContent!;
        return log.includes('volunteer A left') && log.includes('volunteer B left') &&
          [...document.querySelectorAll<HTMLElement>('#hosts tr[data-host-id]')].every((r) => r.dataset.host === 'this tab') &&
          document.getElementById('rl-workers')!.dataset.value === '2';
      });

      // The run goes on to its end: every iteration, the evaluation, the figures; and it is the same seeded run.
      await waitIn(driver, driverLog, 'the second run finishing', 120_000, () => document.getElementById('rl')!.dataset.state === 'done');
      const second = await figures(driver);
      expect(second.means.length).toBeGreaterThan(atCrash);
      expect(second.means).toHaveLength(600);
      expect(second.means.slice(0, 30)).toEqual(first.means);
      expect(second.maxes.slice(0, 30)).toEqual(first.maxes);
      expect(Number(second.iteration)).toBe(600);
      expect(Number(second.rewardMean)).toBe(second.means.at(-1));
      expect(Number(second.evalMean)).toBeGreaterThanOrEqual(475);
      expect(Number(second.hosts)).toBeGreaterThanOrEqual(1);
      await driver.screenshot({ path: `${SCREENSHOTS}demo-driver-after-volunteers.png`, fullPage: true });
    } finally {
      await context.close();
    }
  }, 240_000);

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
