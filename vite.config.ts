/**
 * One config for the workspace: `vite` serves the demo (web-demo/) with the webray plugin, the
 * way an app using webray would; `vitest` runs the unit tests beside the code in packages/.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
// The plugin from source: the config loads before webray is built.
import webray from './packages/webray/src/vite.ts';

const page = (file: string) => fileURLToPath(new URL(`./web-demo/${file}`, import.meta.url));

export default defineConfig({
  root: 'web-demo',
  // No pre-bundling of webray, ES workers, webray's API names kept through minification, COOP/COEP.
  plugins: [webray()],
  server: { host: '127.0.0.1' },
  preview: { host: '127.0.0.1' },
  // Two pages: the demo, and the page volunteers open from its link.
  build: {
    outDir: '../dist/web-demo', emptyOutDir: true, target: 'es2022',
    rollupOptions: { input: { main: page('index.html'), volunteer: page('volunteer.html') } },
  },
  test: {
    root: '.',
    include: ['packages/*/src/**/*.test.ts', 'web-demo/src/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // The leak test measures heaps after forced collections.
    execArgv: ['--expose-gc'],
    globalSetup: ['packages/webray/test-support/global-setup.ts'],
  },
});
