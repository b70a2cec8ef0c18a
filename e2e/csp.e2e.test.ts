/**
 * The Content Security Policy the README documents for pages that use webray, served on every
 * response (page, webray's worker scripts, modules): webray starts, shipped functions run on its
 * workers, large objects go through the WebAssembly store. Without 'unsafe-eval' shipped
 * functions cannot be rebuilt in the workers: the task fails with an error that names the policy.
 */
import { readFileSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capturePageLog, launchChromium, newContext } from './support/chromium.js';
import { withTimeout } from './support/timeout.js';
import { ISOLATION_HEADERS, pageDir, startDevServer, type RunningServer } from './support/vite-server.js';

/** The policy the README's "Content Security Policy" shows (connect-src adds the PeerJS server for a cluster). */
const DOCUMENTED = /^\s*Content-Security-Policy: (.+)$/m.exec(readFileSync(new URL('../README.md', import.meta.url), 'utf8'))![1]!;
const WITHOUT_EVAL = DOCUMENTED.replace(" 'unsafe-eval'", '');

let browser: Browser;
const servers: RunningServer[] = [];

beforeAll(async () => {
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  for (const s of servers) await s.close();
});

async function openRuntimePage(policy: string) {
  const server = await startDevServer({ root: pageDir('runtime'), config: { server: { headers: { ...ISOLATION_HEADERS, 'Content-Security-Policy': policy } } } });
  servers.push(server);
  const context = await newContext(browser, server.origin);
  const page = await context.newPage();
  const log = capturePageLog(page);
  await withTimeout('loading the page', 30_000, page.goto(server.url), () => log.text());
  await withTimeout('ray.init in the page', 30_000, page.waitForFunction(() => window.webrayStatus !== 'loading', undefined, { timeout: 30_000 }), () => log.text());
  return { page, log };
}

describe('webray under a Content Security Policy', () => {
  it('works under the documented policy: tasks run on workers, large objects go through the WebAssembly store', async () => {
    const { page, log } = await openRuntimePage(DOCUMENTED);
    expect(await page.evaluate(() => window.webrayStatus), log.text()).toBe('ready');
    expect(await withTimeout('squares', 30_000, page.evaluate(() => window.webrayTests.squares()), () => log.text())).toEqual([0, 1, 4, 9, 16, 25, 36, 49, 64, 81]);
    const big = await withTimeout('bigObject', 30_000, page.evaluate(() => window.webrayTests.bigObject()), () => log.text());
    expect(big).toMatchObject({ reader: { shared: true, length: 8 * 1024 * 1024 }, location: 'SHARED_MEMORY' });
  });

  it('without unsafe-eval, a task fails with an error that says which policy blocks it and what to allow', async () => {
    const { page, log } = await openRuntimePage(WITHOUT_EVAL);
    expect(await page.evaluate(() => window.webrayStatus), log.text()).toBe('ready');
    const message = await withTimeout('squares', 30_000, page.evaluate(() => window.webrayTests.squares().then(() => 'ran', (e: Error) => `${e.name}: ${e.message}`)), () => log.text());
    // Chromium's own EvalError names the directive; webray's error says what to do.
    expect(message).toMatch(/threw RayUsageError: .*Content Security Policy.*Add 'unsafe-eval'.*\{ module, exportName \}/s);
  });
});
