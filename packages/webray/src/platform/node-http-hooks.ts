/**
 * Module loader hooks for Node's worker threads (registered by node-http-imports.ts): Node's
 * own loader imports only file:, data: and node: URLs, but a task module lives at the http(s)
 * URL of the app that defined it. These fetch such a module and resolve what it imports
 * (a built chunk imports other chunks; a dev-server module imports absolute paths) against
 * its URL, as a browser does.
 */

interface ResolveContext { parentURL?: string }
interface ResolveResult { url: string; format?: string | null; shortCircuit?: boolean }
interface LoadResult { format: string; source?: string | ArrayBuffer | Uint8Array; shortCircuit?: boolean }

const HTTP = /^https?:/;
/** Relative or absolute paths: what a module served over http may import besides full URLs. */
const PATH = /^\.{0,2}\//;

export async function resolve(specifier: string, context: ResolveContext, next: (s: string, c: ResolveContext) => Promise<ResolveResult>): Promise<ResolveResult> {
  const parent = context.parentURL;
  if (HTTP.test(specifier)) return { url: specifier, shortCircuit: true };
  if (parent && HTTP.test(parent) && PATH.test(specifier)) return { url: new URL(specifier, parent).href, shortCircuit: true };
  return next(specifier, context);
}

export async function load(url: string, context: object, next: (u: string, c: object) => Promise<LoadResult>): Promise<LoadResult> {
  if (!HTTP.test(url)) return next(url, context);
  const res = await fetch(url);
  if (!res.ok) throw new Error(`cannot import ${url}: the server answered ${res.status} ${res.statusText}`);
  return { format: 'module', source: await res.text(), shortCircuit: true };
}
