/**
 * webray in real Chromium: a Vite dev server (cross-origin isolated) serves e2e/pages/runtime,
 * which imports webray and starts two Web Workers; each test calls one function the page exposes.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { capturePageLog, launchChromium, newContext, type PageLog } from './support/chromium.js';
import { withTimeout } from './support/timeout.js';
import { pageDir, startDevServer, type RunningServer } from './support/vite-server.js';

type Tests = Window['webrayTests'];
type TestName = keyof Tests;
type Result<K extends TestName> = Awaited<ReturnType<Tests[K]>>;

let server: RunningServer;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let log: PageLog;

beforeAll(async () => {
  server = await startDevServer({ root: pageDir('runtime') });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

beforeEach(async () => {
  context = await newContext(browser, server.origin);
  page = await context.newPage();
  log = capturePageLog(page);
  await withTimeout('loading the page', 30_000, page.goto(server.url), () => log.text());
  await withTimeout('ray.init in the page', 30_000, page.waitForFunction(() => window.webrayStatus !== 'loading', undefined, { timeout: 30_000 }), () => log.text());
  const status = await page.evaluate(() => ({ status: window.webrayStatus, error: window.webrayError }));
  if (status.status !== 'ready') throw new Error(`ray.init failed in Chromium: ${status.error}\n--- page log ---\n${log.text()}`);
});

afterEach(async () => {
  await context?.close();
});

/** Runs one of the page's checks, bounded, with the page log in the error if it fails. */
async function run<K extends TestName>(name: K, ms = 45_000): Promise<Result<K>> {
  try {
    return await withTimeout(`window.webrayTests.${name}()`, ms,
      page.evaluate((n) => (window.webrayTests[n] as () => unknown)(), name) as Promise<Result<K>>, () => log.text());
  } catch (e) {
    if (e instanceof Error && !e.message.includes('--- page log ---')) e.message += `\n--- page log ---\n${log.text()}`;
    throw e;
  }
}

describe('webray in Chromium (Vite dev server)', () => {
  it('is cross-origin isolated, so SharedArrayBuffer is available', async () => {
    expect(await run('isolation')).toEqual({ crossOriginIsolated: true, sharedArrayBuffer: true });
  });

  it('runs tasks on Web Workers and returns their values', async () => {
    expect(await run('squares')).toEqual([0, 1, 4, 9, 16, 25, 36, 49, 64, 81]);
  });

  it('round-trips Map, Set, Date, BigInt and typed arrays through a task', async () => {
    const { sent, received, kinds } = await run('roundTrip');
    expect(kinds).toEqual({ map: true, set: true, date: true, big: 'bigint', f64: true, u8: true, i32: true, big64: true });
    expect(received).toEqual(sent);
    // The picture is of the right things, not two equal empty objects.
    expect(sent).toMatchObject({
      map: { $: 'Map' },
      set: { $: 'Set' },
      date: { $: 'Date', v: 1_700_000_000_000 },
      big: { $: 'bigint', v: (2n ** 70n + 1n).toString() },
      f64: { $: 'Float64Array' },
      big64: { $: 'BigInt64Array' },
      undef: { $: 'undefined' },
    });
  });

  it('keeps actor state across calls and runs one caller\'s calls in order', async () => {
    const { values, more, history } = await run('actor');
    const expected = Array.from({ length: 25 }, (_, i) => i + 1);
    expect(values).toEqual(expected);
    expect(more).toBe(125);
    expect(history).toEqual([...expected, 125]);
  });

  it('rejects ray.get with a RayTaskError whose cause keeps the message', async () => {
    const r = await run('throwing');
    expect(r).toMatchObject({
      threw: true,
      name: 'RayTaskError',
      isRayTaskError: true,
      functionName: 'boom',
      causeName: 'TypeError',
      causeMessage: 'kaboom from a worker',
      causeIsTypeError: true,
    });
    expect(r.message).toContain('kaboom from a worker');
  });

  it('runs nested tasks (a task calling ray.remote and ray.get)', async () => {
    const r = await run('nested');
    expect(r.total).toBe(1 + 4 + 9 + 16 + 25 + 36);
    expect(r.nodeId).not.toBe('driver');
  });

  it('tells a task its node id, which differs from the driver\'s', async () => {
    const { driver, inTask } = await run('nodeIds');
    expect(inTask.nodeId).toBeTruthy();
    expect(inTask.nodeId).not.toBe(driver.nodeId);
    expect(inTask.jobId).toBe(driver.jobId);
    expect(inTask.taskId).toBeTruthy();
  });

  it('lets a task on one worker read a 64 MiB Float64Array made on another, zero-copy from the shared store', async () => {
    const r = await run('bigObject', 90_000);
    const n = 8 * 1024 * 1024;
    // Sum of i % 1000 over n elements.
    const full = Math.floor(n / 1000);
    const expected = full * (999 * 1000) / 2 + ((n % 1000) * ((n % 1000) - 1)) / 2;
    expect(r.reader).toMatchObject({ sum: expected, length: n, shared: true });
    expect(r.reader.nodeId).not.toBe(r.maker);
    expect(r.page).toEqual({ shared: true, length: n, sample: [0, 999, 0, (n - 1) % 1000] });
    expect(r.location).toBe('SHARED_MEMORY');
    expect(r.storeObjects).toBeGreaterThanOrEqual(1);
  });

  it('keeps Float16Array through the store', async () => {
    expect(await run('float16')).toEqual({ kind: 'Float16Array', shared: true, values: [0.5, -2, 0], length: 200 * 1024 });
  });

  it('spills to IndexedDB when the store is full and restores the objects intact', async () => {
    const r = await run('spill', 90_000);
    expect(r.spilled).toBeGreaterThan(0);
    expect(r.restored).toBeGreaterThan(0);
    expect(r.spillDatabase).toBe(true);
    expect(r.intact).toEqual(Array(12).fill(true));
  });

  it('detects a worker that closed itself (no event) and retries the task on a new worker', async () => {
    const r = await run('killedWorker', 60_000);
    expect(r.result.value).toBe(42);
    expect(r.result.attempt).toBe(1);
    // Death is noticed through the worker's life lock, not a long timeout.
    expect(r.ms).toBeLessThan(15_000);
    // The node that ran attempt 0 is gone and a new node replaced it: two task nodes again.
    const before = r.before.map((n) => n.nodeId);
    const after = r.after.filter((n) => n.alive).map((n) => n.nodeId);
    expect(before.filter((id) => !after.includes(id))).toHaveLength(1);
    expect(after.filter((id) => !before.includes(id))).toHaveLength(1);
    expect(after).toHaveLength(2);
    expect(r.afterwards).toEqual([9, 16]);
  });
});
