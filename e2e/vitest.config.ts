/**
 * E2E tests: real Chromium (playwright-core + Debian's chromium) against Vite servers. Run by
 * `pnpm test` (e2e/scripts/test-all.mjs) inside a loopback-only network namespace, or alone
 * with `pnpm --filter @webray/e2e test` after `pnpm build`.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: fileURLToPath(new URL('.', import.meta.url)),
    include: ['**/*.e2e.test.ts'],
    exclude: ['**/node_modules/**'],
    environment: 'node',
    pool: 'forks',
    // Two cores: one browser and one Vite at a time keeps timings honest.
    fileParallelism: false,
    testTimeout: 90_000,
    hookTimeout: 120_000,
    teardownTimeout: 30_000,
    globalSetup: ['support/global-setup.ts'],
  },
});
