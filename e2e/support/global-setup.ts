/**
 * The e2e pages import webray's built dist (its workers are dist/node/entry.js). `pnpm test`
 * builds once before both suites and sets WEBRAY_E2E_SKIP_BUILD=1; run alone, this builds.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const pkg = fileURLToPath(new URL('../../packages/webray/', import.meta.url));
  if (process.env.WEBRAY_E2E_SKIP_BUILD === '1' && existsSync(`${pkg}dist/index.js`)) return;
  const tsc = createRequire(`${pkg}package.json`).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [fileURLToPath(new URL('../../wasm/build.mjs', import.meta.url))], { stdio: 'inherit' });
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: pkg, stdio: 'inherit' });
}
