/** Picks the platform this thread runs on. */
import type { Platform } from './types.js';

export const isNode = typeof process !== 'undefined' && !!process.versions?.node &&
  typeof (globalThis as { window?: unknown }).window === 'undefined' &&
  typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope === 'undefined';

/**
 * The Node platform is imported through a computed specifier so browser bundlers never pull
 * `node:worker_threads` into a page; from TypeScript sources (tests) it is the .ts file.
 */
export async function loadPlatform(): Promise<Platform> {
  if (!isNode) return (await import('./browser.js')).browserPlatform;
  const file = import.meta.url.endsWith('.ts') ? './node.ts' : './node.js';
  const mod = (await import(/* @vite-ignore */ new URL(file, import.meta.url).href)) as typeof import('./node.js');
  return mod.nodePlatform;
}
