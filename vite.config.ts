/**
 * One config for the workspace: `vite` serves the demo (web-demo/) with the webray plugin, the
 * way an app using webray would; `vitest` runs the unit tests beside the code in packages/.
 */
import { defineConfig } from 'vitest/config';
// The plugin from source: the config loads before webray is built.
import webray from './packages/webray/src/vite.ts';

export default defineConfig({
  root: 'web-demo',
  // No pre-bundling of webray, ES workers, webray's API names kept through minification, COOP/COEP.
  plugins: [webray()],
  server: { host: '127.0.0.1' },
  preview: { host: '127.0.0.1' },
  build: { outDir: '../dist/web-demo', emptyOutDir: true, target: 'es2022' },
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
