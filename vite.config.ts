/**
 * One config for the workspace: `vite` serves the demo (web-demo/) cross-origin isolated, so
 * SharedArrayBuffer works; `vitest` runs the unit tests beside the code in packages/.
 */
import { defineConfig } from 'vitest/config';

const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  root: 'web-demo',
  server: { headers: isolation, host: '127.0.0.1' },
  preview: { headers: isolation, host: '127.0.0.1' },
  // webray creates its workers with new URL(..., import.meta.url): pre-bundling would move the module away from them.
  optimizeDeps: { exclude: ['webray'] },
  build: { outDir: '../dist/web-demo', emptyOutDir: true, target: 'es2022' },
  worker: { format: 'es' },
  test: {
    root: '.',
    include: ['packages/*/src/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // The leak test measures heaps after forced collections.
    execArgv: ['--expose-gc'],
    globalSetup: ['packages/webray/test-support/global-setup.ts'],
  },
});
