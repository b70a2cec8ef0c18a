/**
 * The Vite trap: webray as a dependency of a separate Vite app (installed from the packed
 * tarball, outside the workspace), under the dev server and in a production build, in Chromium.
 *
 * - A worker created with `new Worker(new URL('../node/entry.js', import.meta.url))` inside a
 *   dependency breaks if a bundler moves the module away from the worker file.
 * - A production build inlines `ray.get(...)` into a direct call of webray's (renamed, then
 *   minified) binding, and shipped function source refers to it. The app's main.ts has a remote
 *   function that calls ray.remote/ray.get inside (a nested task) to exercise that.
 *
 * The documented setup is the `webray/vite` plugin (README). Without it, the tests check what
 * the plugin's settings are for, one by one.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capturePageLog, launchChromium, newContext } from './support/chromium.js';
import { createConsumerApp, type ConsumerApp } from './support/consumer-app.js';
import { withTimeout } from './support/timeout.js';
import { ISOLATION_HEADERS, startDevServer, startPreviewServer, type RunningServer } from './support/vite-server.js';

/** What the app's main.ts computes when everything works. */
const EXPECTED = {
  squares: [1, 4, 9, 16], counts: [1, 3, 6], nested: 1 + 4 + 9 + 16, inTask: true,
  big: { shared: true, sum: 2 * 2 ** 18 }, crossOriginIsolated: true,
};

/** The app's vite.config.js as the README shows it (without `defineConfig`: vite is not installed in the app). */
const PLUGIN_CONFIG = (outDir: string) =>
  `import webray from 'webray/vite';\nexport default { plugins: [webray()], build: { outDir: ${JSON.stringify(outDir)} } };\n`;

/** By hand, what the plugin does except protecting API names from the minifier. */
const MANUAL_CONFIG = {
  server: { headers: ISOLATION_HEADERS },
  preview: { headers: ISOLATION_HEADERS },
  optimizeDeps: { exclude: ['webray'] },
  worker: { format: 'es' },
};

let app: ConsumerApp;
let browser: Browser;

beforeAll(async () => {
  app = createConsumerApp();
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  app?.remove();
});

interface Outcome {
  state: 'done' | 'error' | 'timeout';
  text: string;
  log: string;
}

/** Opens the app, waits (bounded) for main.ts to write its result or error into the page. */
async function openApp(server: RunningServer): Promise<Outcome> {
  const context = await newContext(browser, server.origin);
  try {
    const page = await context.newPage();
    const log = capturePageLog(page);
    await withTimeout('loading the app', 30_000, page.goto(server.url), () => log.text());
    try {
      await page.waitForSelector('#result[data-state]', { timeout: 45_000 });
    } catch {
      return { state: 'timeout', text: (await page.textContent('#result').catch(() => null)) ?? '', log: log.text() };
    }
    const state = (await page.getAttribute('#result', 'data-state')) as Outcome['state'];
    return { state, text: (await page.textContent('#result')) ?? '', log: log.text() };
  } finally {
    await context.close();
  }
}

function explain(o: Outcome): string {
  return `app state: ${o.state}\n${o.text}\n--- browser log ---\n${o.log}`;
}

function expectWorks(o: Outcome): void {
  expect(o.state, explain(o)).toBe('done');
  expect(JSON.parse(o.text)).toEqual(EXPECTED);
}

async function serve<T>(server: RunningServer, use: (s: RunningServer) => Promise<T>): Promise<T> {
  try {
    return await use(server);
  } finally {
    await server.close();
  }
}

describe('webray as a dependency of a separate Vite app', () => {
  it('is installed from the packed tarball, not linked to the workspace', () => {
    expect(app.dir).not.toContain('/packages/webray');
    expect(app.tarball).toMatch(/webray\.tgz$/);
  });

  it('imports as `webray` in a plain Node 20 script and runs tasks and actors on worker threads', () => {
    const script = [
      "import * as ray from 'webray';",
      'await ray.init({ numWorkers: 2 });',
      'const square = ray.remote((x) => x * x);',
      'class Counter { n = 0; inc(by) { return (this.n += by); } }',
      'const c = ray.remote(Counter).remote();',
      'const nested = ray.remote(async (x) => ray.get(ray.remote((y) => y + 1).remote(x)));',
      'const out = { squares: await ray.get([1, 2, 3].map((i) => square.remote(i))), counts: await ray.get([1, 2].map((i) => c.inc.remote(i))), nested: await ray.get(nested.remote(41)) };',
      'await ray.shutdown();',
      'console.log(JSON.stringify(out));',
    ].join('\n');
    writeFileSync(join(app.dir, 'node-check.mjs'), script);
    const stdout = execFileSync(process.execPath, ['node-check.mjs'], { cwd: app.dir, encoding: 'utf8', timeout: 30_000 });
    expect(JSON.parse(stdout.trim().split('\n').pop()!)).toEqual({ squares: [1, 4, 9], counts: [1, 3], nested: 42 });
  });

  describe('dev server', () => {
    it('works with the documented setup: the webray/vite plugin', async () => {
      const webray = await app.plugin();
      const o = await serve(await startDevServer({ root: app.dir, excludeWebray: false, isolationHeaders: false, config: { plugins: [webray()] } }), openApp);
      expectWorks(o);
    });

    it('works with optimizeDeps.exclude: [\'webray\'] set by hand', async () => {
      expectWorks(await serve(await startDevServer({ root: app.dir, excludeWebray: true }), openApp));
    });

    it('works even when Vite pre-bundles webray (no exclude)', async () => {
      const o = await serve(await startDevServer({ root: app.dir, excludeWebray: false }), openApp);
      expectWorks(o);
    });
  });

  describe('production build (vite build + vite preview)', () => {
    it('works with the documented setup: the webray/vite plugin, minified, nested tasks included', async () => {
      const configFile = await app.build(PLUGIN_CONFIG('dist-plugin'), 'vite.plugin.config.js');
      expectWorks(await serve(await startPreviewServer({ root: app.dir, outDir: 'dist-plugin', configFile }), openApp));
    });

    it('works unminified without the plugin (renamed imports such as get$1 are recognised)', async () => {
      await app.build({ ...MANUAL_CONFIG, build: { outDir: 'dist-unminified', minify: false } });
      expectWorks(await serve(await startPreviewServer({ root: app.dir, outDir: 'dist-unminified' }), openApp));
    });

    it('minified without the plugin: works, or refuses the function with a clear UnshippableFunctionError', async () => {
      await app.build({ ...MANUAL_CONFIG, build: { outDir: 'dist-minified' } });
      const o = await serve(await startPreviewServer({ root: app.dir, outDir: 'dist-minified' }), openApp);
      console.log(`[consumer-app] minified build without the webray/vite plugin: ${o.state}: ${o.text.split('\n')[0]}`);
      if (o.state === 'done') {
        expectWorks(o);
      } else {
        // The minifier renamed ray.remote/ray.get to short names webray cannot tell from closures:
        // it must say so at ray.remote time, naming the variables, not hang or fail on a worker.
        expect(o.state, explain(o)).toBe('error');
        expect(o.text).toMatch(/^UnshippableFunctionError: ray\.remote\(\w+\): the function uses '[\w$]+'/);
        expect(o.text).toMatch(/module/);
      }
    });
  });
});
