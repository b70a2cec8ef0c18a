/**
 * Module loader hooks for Node's worker threads (registered by node-http-imports.ts): Node's
 * own loader imports only file:, data: and node: URLs, but a task module lives at the http(s)
 * URL of the app that defined it. These fetch such a module and resolve what it imports
 * (a built chunk imports other chunks; a dev-server module imports absolute paths) against
 * its URL, as a browser does.
 */

import { isBuiltin } from 'node:module';

interface ResolveContext { parentURL?: string }
interface ResolveResult { url: string; format?: string | null; shortCircuit?: boolean }
interface LoadResult { format: string; source?: string | ArrayBuffer | Uint8Array; shortCircuit?: boolean }

const HTTP = /^https?:/;
/** Relative or absolute paths: what a module served over http may import besides full URLs. */
const PATH = /^\.{0,2}\//;

/**
 * Vite's stand-in for a Node builtin that a dependency imports where it runs in Node (Emscripten's
 * `await import('module')`, MuJoCo's among them): on the dev server `/@id/__vite-browser-external:module`,
 * in its pre-bundled deps a chunk `browser-external_module-<hash>.js`. It is empty, made for
 * browsers; a Node host importing the app's modules takes the builtin instead.
 */
const VITE_BROWSER_EXTERNAL = /\/(?:@id\/__vite-browser-external:(?:node:)?([\w/]+)|node_modules\/\.vite\/deps\/browser-external_(\w+)-[\w-]+\.js)(?:\?|$)/;

/** The Node builtin a Vite browser stub stands for, if `url` is one (`fs_promises` is `fs/promises`). */
function builtinFor(url: string): string | undefined {
  const m = VITE_BROWSER_EXTERNAL.exec(url);
  return m ? [m[1] ?? m[2], m[2]?.replace(/_/g, '/')].find((name) => name !== undefined && isBuiltin(name)) : undefined;
}

/**
 * `node:module` for code fetched over http: its `createRequire(import.meta.url)` gets an http URL,
 * which Node refuses; such a require resolves from the host's working directory instead (what
 * Emscripten's Node glue requires is Node's own: fs, path, url).
 */
const MODULE_OVER_HTTP = `data:text/javascript,${encodeURIComponent([
  "import * as m from 'node:module';",
  "const createRequire = (from) => m.createRequire(/^https?:/.test(String(from)) ? process.cwd() + '/' : from);",
  'export default { ...m, createRequire };',
  'export { createRequire };',
].join('\n'))}`;

export async function resolve(specifier: string, context: ResolveContext, next: (s: string, c: ResolveContext) => Promise<ResolveResult>): Promise<ResolveResult> {
  const parent = context.parentURL;
  const fromHttp = parent !== undefined && HTTP.test(parent);
  const url = HTTP.test(specifier) ? specifier : fromHttp && PATH.test(specifier) ? new URL(specifier, parent).href : undefined;
  // Vite's stand-in on the dev server; in a build, the `node:module` that webray/vite kept (node-builtins).
  const builtin = url !== undefined ? builtinFor(url) : fromHttp && (specifier === 'module' || specifier === 'node:module') ? 'module' : undefined;
  if (builtin === 'module') return { url: MODULE_OVER_HTTP, shortCircuit: true };
  if (url === undefined) return next(specifier, context);
  return { url: builtin ? `node:${builtin}` : url, shortCircuit: true };
}

export async function load(url: string, context: object, next: (u: string, c: object) => Promise<LoadResult>): Promise<LoadResult> {
  if (!HTTP.test(url)) return next(url, context);
  const res = await fetch(url);
  if (!res.ok) throw new Error(`cannot import ${url}: the server answered ${res.status} ${res.statusText}`);
  return { format: 'module', source: await res.text(), shortCircuit: true };
}
