/**
 * Task modules (`ray.remote(fn, { module, exportName })`) in production builds. Every node
 * `import()`s the module by URL and runs one of its exports, so a build must emit the module
 * as a chunk of its own, compiled, with all its exports kept. Left to Vite, a
 * `new URL('./tasks.ts', import.meta.url)` is copied (or inlined as a data URL) as an
 * uncompiled asset, and a module the app also imports has its unused exports tree-shaken.
 *
 * Two forms are recognised, for .js/.mjs/.ts/.mts/.jsx/.tsx files:
 *
 * - `module: new URL('./tasks.ts', import.meta.url)` (the `module` option written in place);
 * - `import tasksUrl from './tasks.ts?webray-module'` (the module's URL as a string, for a
 *   URL built elsewhere than in the `ray.remote` call).
 *
 * In a build both become the URL of a chunk emitted with `preserveSignature: 'strict'`
 * (resolved against `import.meta.url`: Vite writes it relative to `base`).
 * The dev server needs nothing: it serves and compiles the file at that URL already.
 * A dynamic `import()` in a task module's chunks gets no module preload (which needs a
 * `document`, so it would throw on a worker or a Node host), and Vite's preload helper reports a
 * failed import on `window` only where there is one, so the import rejects with its own error.
 */
import type { Plugin } from 'vite';

/** Vite's module preload helper (the same id in Vite 7 and 8). */
const PRELOAD_HELPER = '\0vite/preload-helper.js';

/** The query that turns an import into the URL of a task module. */
const MODULE_QUERY = 'webray-module';

const SCRIPT = String.raw`\.(?:[cm]?[jt]sx?)`;
/** `module: new URL('./x.ts', import.meta.url)`: the relative path is group 2. */
const MODULE_URL = new RegExp(String.raw`(\bmodule\s*:\s*)new\s+URL\(\s*(['"\x60])(\.{1,2}/[^'"\x60\n]+?${SCRIPT})\2\s*,\s*import\.meta\.url\s*\)`, 'g');
const QUERY = new RegExp(String.raw`[?&]${MODULE_QUERY}(?:&|$)`);

function withoutQuery(id: string): string {
  return id.replace(/\?.*$/, '');
}

/** The chunk's name: the file's base name without its extension. */
function chunkName(file: string): string {
  return file.replace(/^.*\//, '').replace(new RegExp(`${SCRIPT}$`), '');
}

/** The plugin `webray()` includes; see the module comment. */
export function moduleTasks(): Plugin {
  let building = false;
  /** Reference ids of the task-module chunks emitted (generateBundle turns them into file names). */
  const emitted: string[] = [];
  /** Chunks that workers and Node hosts import: task modules and every chunk they import (file names). */
  const taskChunks = new Set<string>();
  return {
    name: 'webray:module-tasks',

    config(config) {
      // Vite wraps a dynamic import() in a preload of its chunk's dependencies, which adds
      // <link> tags to `document`: a worker or a Node host has none, so the import throws there.
      const preload = config.build?.modulePreload;
      if (preload === false) return null;
      const own = typeof preload === 'object' ? preload.resolveDependencies : undefined;
      return {
        build: {
          modulePreload: {
            resolveDependencies: (file, deps, context) => (taskChunks.has(context.hostId) ? [] : own ? own(file, deps, context) : deps),
          },
        },
      };
    },

    configResolved(config) {
      building = config.command === 'build';
    },

    buildStart() {
      emitted.length = 0;
      taskChunks.clear();
    },

    // Before Vite's own generateBundle, which asks resolveDependencies.
    generateBundle(_options, bundle) {
      const todo = emitted.map((ref) => this.getFileName(ref));
      for (let file = todo.pop(); file !== undefined; file = todo.pop()) {
        if (taskChunks.has(file)) continue;
        taskChunks.add(file);
        const chunk = bundle[file];
        if (chunk?.type === 'chunk') todo.push(...chunk.imports, ...chunk.dynamicImports);
      }
    },

    async resolveId(source, importer) {
      if (!QUERY.test(source)) return null;
      const target = await this.resolve(withoutQuery(source), importer, { skipSelf: true });
      if (!target) return null;
      return `${target.id}?${MODULE_QUERY}`;
    },

    load(id) {
      if (!QUERY.test(id)) return null;
      const file = withoutQuery(id);
      if (!building) {
        // The dev server serves this virtual module beside the file, at the same path with a query.
        return `export default new URL(${JSON.stringify(`./${file.replace(/^.*\//, '')}`)}, import.meta.url).href;\n`;
      }
      const ref = this.emitFile({ type: 'chunk', id: file, name: chunkName(file), preserveSignature: 'strict' });
      emitted.push(ref);
      return `export default new URL(import.meta.ROLLUP_FILE_URL_${ref}, import.meta.url).href;\n`;
    },

    async transform(code, id) {
      if (building && id === PRELOAD_HELPER) {
        // The preload helper reports a failed import() on `window`, which a worker or a Node host
        // lacks: the import would reject with "window is not defined" instead of its own error.
        return { code: code.replaceAll('window.dispatchEvent(', 'globalThis.dispatchEvent?.('), map: null };
      }
      if (!building || id.startsWith('\0') || !code.includes('import.meta.url')) return null;
      const found = [...code.matchAll(MODULE_URL)];
      if (found.length === 0) return null;
      let out = '';
      let last = 0;
      for (const m of found) {
        const target = await this.resolve(m[3]!, id);
        if (!target) this.error(`[webray] task module ${m[3]} (imported by ${id}) was not found.`);
        const ref = this.emitFile({ type: 'chunk', id: target.id, name: chunkName(target.id), preserveSignature: 'strict' });
        emitted.push(ref);
        out += code.slice(last, m.index) + `${m[1]}new URL(import.meta.ROLLUP_FILE_URL_${ref}, import.meta.url)`;
        last = m.index! + m[0].length;
      }
      return { code: out + code.slice(last), map: null };
    },
  };
}
