/**
 * Task modules (`ray.remote(fn, { module, exportName })`) in a separate Vite app that installs
 * webray from the packed tarball, in Chromium: under the dev server and in a production build
 * (vite build + vite preview) with the webray/vite plugin, for .ts and .js modules in each
 * documented form (fixtures/module-tasks/src, written over the consumer app's src).
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capturePageLog, launchChromium, newContext } from './support/chromium.js';
import { installConsumerApp, packWebray, type ConsumerApp } from './support/consumer-app.js';
import { startLocalRegistry, type LocalRegistry } from './support/local-registry.js';
import { withTimeout } from './support/timeout.js';
import { startDevServer, startPreviewServer, type RunningServer } from './support/vite-server.js';

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'module-tasks');
const EXPECTED = { double: 42, shiftTwice: 201, negate: -5, triple: 9, local: 100 };

const PLUGIN_CONFIG = (outDir: string) =>
  `import webray from 'webray/vite';\nexport default { plugins: [webray()], build: { outDir: ${JSON.stringify(outDir)} } };\n`;

let tarballDir: string;
let registry: LocalRegistry;
let app: ConsumerApp;
let browser: Browser;

beforeAll(async () => {
  tarballDir = mkdtempSync(join(tmpdir(), 'webray-module-tasks-pack-'));
  registry = await startLocalRegistry(fileURLToPath(new URL('../node_modules', import.meta.url)));
  app = await installConsumerApp({ vite: 8, manager: 'npm', tarball: packWebray(tarballDir), registry: registry.url });
  cpSync(FIXTURE, app.dir, { recursive: true });
  browser = await launchChromium();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await registry?.close();
  app?.remove();
  if (tarballDir) rmSync(tarballDir, { recursive: true, force: true });
});

/** Opens the app and waits (bounded) for main.ts to write its result or error into the page. */
async function run(server: RunningServer): Promise<{ state: string; text: string; log: string }> {
  try {
    const context = await newContext(browser, server.origin);
    const page = await context.newPage();
    const log = capturePageLog(page);
    await withTimeout('loading the app', 30_000, page.goto(server.url), () => log.text());
    await page.waitForSelector('#result[data-state]', { timeout: 45_000 }).catch(() => undefined);
    const out = { state: (await page.getAttribute('#result', 'data-state')) ?? 'timeout', text: (await page.textContent('#result')) ?? '', log: log.text() };
    await context.close();
    return out;
  } finally {
    await server.close();
  }
}

function expectResult(o: { state: string; text: string; log: string }, expected: unknown): void {
  expect(o.state, `${o.text}\n--- browser log ---\n${o.log}`).toBe('done');
  expect(JSON.parse(o.text)).toEqual(expected);
}

describe('task modules in an app that installs webray', () => {
  it('run under the dev server with the webray/vite plugin', async () => {
    const webray = await app.plugin();
    expectResult(await run(await startDevServer({ root: app.dir, excludeWebray: false, isolationHeaders: false, config: { plugins: [webray()] } })), EXPECTED);
  });

  it('run from a production build with the webray/vite plugin (vite build + vite preview)', async () => {
    const configFile = await app.build(PLUGIN_CONFIG('dist-plugin'), 'vite.plugin.config.js');
    expectResult(await run(await startPreviewServer({ root: app.dir, outDir: 'dist-plugin', configFile })), EXPECTED);
  });
});
