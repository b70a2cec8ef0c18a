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
 * - The app is installed by a real package manager (npm or pnpm, each Vite version with one and
 *   an install-only check with the other) from a local registry, so peer ranges are enforced.
 * - Under the dev server webray is kept out of pre-bundling, so its CommonJS dependencies (PeerJS
 *   -> webrtc-adapter -> sdp) must be pre-bundled through it: two tabs form a cluster.
 *
 * The documented setup is the `webray/vite` plugin (README), checked with a Vite 8 app and a Vite 7
 * app (Rollup, esbuild minification). Without the plugin (Vite 8 app), the tests check what the
 * plugin's settings are for, one by one.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capturePageLog, launchChromium, newContext } from './support/chromium.js';
import * as ray from 'webray';
import { installConsumerApp, packWebray, type ConsumerApp, type PackageManager, type ViteMajor } from './support/consumer-app.js';
import { startLocalRegistry, type LocalRegistry } from './support/local-registry.js';
import { startPeerServer } from './support/peer-server.js';
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

/** Which package manager installs each Vite version's app (the other one gets an install-only check). */
const MANAGER: Record<ViteMajor, PackageManager> = { 8: 'pnpm', 7: 'npm' };
const OTHER: Record<PackageManager, PackageManager> = { npm: 'pnpm', pnpm: 'npm' };

let tarballDir: string;
let registry: LocalRegistry;
let app: ConsumerApp;
let app7: ConsumerApp;
/** The install-only checks: the other manager for each Vite version. */
let installOnly: { vite: ViteMajor; manager: PackageManager; result: PromiseSettledResult<ConsumerApp> }[];
let browser: Browser;

beforeAll(async () => {
  tarballDir = mkdtempSync(join(tmpdir(), 'webray-consumer-pack-'));
  const tarball = packWebray(tarballDir);
  registry = await startLocalRegistry(fileURLToPath(new URL('../node_modules', import.meta.url)));
  const install = (vite: ViteMajor, manager: PackageManager) => installConsumerApp({ vite, manager, tarball, registry: registry.url });
  const others = ([8, 7] as const).map((vite) => ({ vite, manager: OTHER[MANAGER[vite]] }));
  const [main8, main7, ...rest] = await Promise.allSettled([install(8, MANAGER[8]), install(7, MANAGER[7]), ...others.map((o) => install(o.vite, o.manager))]);
  installOnly = others.map((o, i) => ({ ...o, result: rest[i]! }));
  for (const r of installOnly) if (r.result.status === 'fulfilled') r.result.value.remove();
  const failed = [main8!, main7!].find((r) => r.status === 'rejected');
  if (failed) {
    for (const r of [main8!, main7!]) if (r.status === 'fulfilled') r.value.remove();
    throw failed.reason;
  }
  app = (main8 as PromiseFulfilledResult<ConsumerApp>).value;
  app7 = (main7 as PromiseFulfilledResult<ConsumerApp>).value;
  browser = await launchChromium();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await registry?.close();
  app?.remove();
  app7?.remove();
  if (tarballDir) rmSync(tarballDir, { recursive: true, force: true });
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

/**
 * Two tabs of the app's cluster page under its dev server (with the plugin) form a cluster
 * through a local PeerJS server; the driver tab spreads tasks over both. Returns the number of
 * hosts the tasks ran on.
 */
async function clusterUnderDev(target: ConsumerApp): Promise<number> {
  const webray = await target.plugin();
  const peers = await startPeerServer();
  const server = await startDevServer({ root: target.dir, vite: await target.vite(), excludeWebray: false, isolationHeaders: false, config: { plugins: [webray()] } });
  const context = await newContext(browser, server.origin);
  try {
    const keys = await ray.generateSubmitterKey();
    // The first host holds the operator key: it may be head (a host with only the join token may not).
    const operator = await ray.generateSubmitterKey();
    const cluster = { id: `consumer-vite${target.viteVersion.split('.')[0]}`, token: 'consumer-token', submitterPublicKey: keys.publicKey, operatorPublicKey: operator.publicKey, signal: peers.signal, iceServers: [] };
    const open = async (options: Record<string, unknown>) => {
      const page = await context.newPage();
      const log = capturePageLog(page);
      await withTimeout('loading the cluster page', 30_000, page.goto(`${server.url}cluster.html#${encodeURIComponent(JSON.stringify(options))}`), () => log.text());
      await withTimeout('ray.init with a cluster', 60_000, page.waitForSelector('#result[data-state]', { timeout: 60_000 }), () => log.text());
      const o: Outcome = { state: (await page.getAttribute('#result', 'data-state')) as Outcome['state'], text: (await page.textContent('#result')) ?? '', log: log.text() };
      expect(o.state, explain(o)).toBe('done');
      return { page, log };
    };
    await open({ numWorkers: 1, cluster: { ...cluster, operatorKey: operator.privateKey } });
    const driver = await open({ numWorkers: 1, cluster: { ...cluster, submitterKey: keys.privateKey } });
    // (waitForFunction takes a returned promise for true at once: the page waits itself, bounded.)
    const known = driver.page.evaluate(async () => {
      for (let i = 0; i < 300; i++) {
        if ((await window.consumerCluster.hosts()) === 2) return true;
        await new Promise((r) => setTimeout(r, 100));
      }
      return false;
    });
    expect(await withTimeout('both hosts known', 35_000, known, () => driver.log.text())).toBe(true);
    return await driver.page.evaluate(() => window.consumerCluster.spread(8));
  } finally {
    await context.close();
    await server.close();
    await peers.close();
  }
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
    it('forms a cluster of two tabs with the plugin (webray\'s CommonJS dependencies pre-bundled through it)', async () => {
      expect(await clusterUnderDev(app)).toBe(2);
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

/** The documented setup (the webray/vite plugin), in an app with Vite 7 and one with Vite 8. */
for (const major of [8, 7] as const satisfies readonly ViteMajor[]) {
  describe(`webray in a Vite ${major} app, with the webray/vite plugin`, () => {
    const target = () => (major === 7 ? app7 : app);

    it(`is installed by ${MANAGER[major]} with Vite ${major} (peer ranges enforced), and by ${OTHER[MANAGER[major]]} too`, () => {
      expect(target().viteVersion.startsWith(`${major}.`)).toBe(true);
      const other = installOnly.find((o) => o.vite === major)!;
      expect(other.result.status, other.result.status === 'rejected' ? String(other.result.reason) : '').toBe('fulfilled');
    });

    it('works under the dev server', async () => {
      const webray = await target().plugin();
      const vite = await target().vite();
      expectWorks(await serve(await startDevServer({ root: target().dir, vite, excludeWebray: false, isolationHeaders: false, config: { plugins: [webray()] } }), openApp));
    });

    if (major === 7) {
      it('forms a cluster of two tabs under the dev server', async () => {
        expect(await clusterUnderDev(app7)).toBe(2);
      });
    }

    it('works in a minified production build, nested tasks included', async () => {
      const configFile = await target().build(PLUGIN_CONFIG('dist-plugin'), 'vite.plugin.config.js');
      expectWorks(await serve(await startPreviewServer({ root: target().dir, outDir: 'dist-plugin', configFile, vite: await target().vite() }), openApp));
    });
  });
}
