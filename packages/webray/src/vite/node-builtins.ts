/**
 * Node builtins a module imports dynamically, as Emscripten output does when it finds itself in
 * Node (`const { createRequire } = await import('module')`; MuJoCo's WebAssembly build does). A
 * browser build swaps a builtin for an empty stand-in chunk that no longer says which builtin it
 * was, so a Node host that imports the built task module gets `{}` for it. Kept as `node:` imports
 * instead, they work on a Node host; a browser never runs them (the code checks where it is first).
 * Static imports are left to Vite: a browser would fail to load the module at all.
 * Vite 8 (Rolldown) only: Rollup does not say which kind of import it resolves.
 */
import { isBuiltin } from 'node:module';
import type { Plugin } from 'vite';

export function nodeBuiltins(): Plugin {
  return {
    name: 'webray:node-builtins',
    enforce: 'pre',
    apply: 'build',
    resolveId(source, _importer, options) {
      if ((options as { kind?: string }).kind !== 'dynamic-import' || !isBuiltin(source)) return null;
      return { id: source.startsWith('node:') ? source : `node:${source}`, external: true };
    },
  };
}
