/**
 * webray on a page that is NOT cross-origin isolated (no COOP/COEP): no SharedArrayBuffer, so no
 * shared object store. It must still work, copying large values, and say so once.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capturePageLog, launchChromium, newContext } from './support/chromium.js';
import { withTimeout } from './support/timeout.js';
import { pageDir, startDevServer, type RunningServer } from './support/vite-server.js';

let server: RunningServer;
let browser: Browser;

beforeAll(async () => {
  server = await startDevServer({ root: pageDir('runtime'), isolationHeaders: false });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('webray on a page without cross-origin isolation', () => {
  it('runs tasks and moves a large typed array by copying, and tells the developer once', async () => {
    const context = await newContext(browser, server.origin);
    const page = await context.newPage();
    const log = capturePageLog(page);
    try {
      await withTimeout('loading the page', 30_000, page.goto(server.url), () => log.text());
      await withTimeout('ray.init', 30_000, page.waitForFunction(() => window.webrayStatus !== 'loading', undefined, { timeout: 30_000 }), () => log.text());
      expect(await page.evaluate(() => window.webrayStatus)).toBe('ready');
      expect(await page.evaluate(() => window.webrayTests.isolation())).toEqual({ crossOriginIsolated: false, sharedArrayBuffer: false });
      expect(await page.evaluate(() => window.webrayTests.squares())).toEqual([0, 1, 4, 9, 16, 25, 36, 49, 64, 81]);
      const big = await withTimeout('bigObject', 90_000, page.evaluate(() => window.webrayTests.bigObject()), () => log.text());
      expect(big.reader).toMatchObject({ length: 8 * 1024 * 1024, shared: false });
      expect(big.page).toMatchObject({ shared: false, length: 8 * 1024 * 1024 });
      expect(big.location).toBe('INLINE');
      const notes = log.text().split('\n').filter((l) => l.includes('not cross-origin isolated'));
      expect(notes).toHaveLength(1);
      expect(notes[0]).toMatch(/Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp/);
    } finally {
      await context.close();
    }
  });
});
