/**
 * Node's own loader imports only file:, data: and node: URLs, but a task module lives at the
 * http(s) URL of the app that defined it. A Node thread about to import one registers the
 * loader hooks of node-http-hooks.ts first (once per thread: hooks registered in a worker
 * apply to that worker).
 */
import { isNode } from './detect.js';

let registered: Promise<void> | undefined;

/** Makes `import()` of http(s) URLs work in this thread (Node only; browsers import them already). */
export function enableHttpImports(): Promise<void> {
  if (!isNode) return Promise.resolve();
  return (registered ??= (async () => {
    // Computed specifiers: bundlers must not pull Node's modules (or the hooks file) into a page.
    const moduleName = 'node:module';
    const hooks = './node-http-hooks.js';
    const { register } = (await import(/* @vite-ignore */ moduleName)) as typeof import('node:module');
    register(new URL(hooks, import.meta.url).href);
  })());
}
