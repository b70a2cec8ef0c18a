/**
 * Task modules in a production build: an app (in a temp dir outside the repo) names its task
 * modules as webray's nodes will import them; the built entry is imported in Node, and the URLs
 * it holds must lead to chunks that export the task functions, compiled.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type PluginOption } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { moduleTasks } from './module-tasks.js';
import { nodeBuiltins } from './node-builtins.js';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'webray-module-tasks-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

const FILES: Record<string, string> = {
  // TypeScript, small enough to be inlined as a data URL if Vite took it for an asset.
  'src/tasks.ts': 'export function double(x: number): number { return 2 * x; }\nexport const unused = (s: string): string => s;\n',
  // JavaScript that imports another module: the chunk imports a shared one.
  'src/helpers.js': 'export const offset = 100;\n',
  'src/more.js': "import { offset } from './helpers.js';\nexport function shift(x) { return x + offset; }\n",
  'src/by-query.ts': 'export function triple(x: number): number { return 3 * x; }\n',
  // A module loaded lazily whose chunk imports another chunk: Vite would preload both.
  'src/lazy.js': "export async function lazyShift(x) { const { shiftTwice } = await import('./lazy-target.js'); return shiftTwice(x); }\n",
  'src/lazy-target.js': "import { shift } from './more.js';\nexport const shiftTwice = (x) => shift(shift(x));\n",
  // As Emscripten output in Node (MuJoCo's build): a builtin imported where it is needed.
  'src/builtin.js': "export async function requireType() { const { createRequire } = await import('module'); return typeof createRequire; }\n",
  // A module whose import() fails (it throws as it loads): the task must see that error.
  'src/broken.js': "throw new Error('broken module: it throws as it loads');\n",
  'src/loads-broken.js': "export async function loadBroken() { await import('./broken.js'); }\n",
  'src/main.ts': [
    "import { offset } from './helpers.js';",
    "import { double } from './tasks.ts';",
    "import tripleUrl from './by-query.ts?webray-module';",
    // The README's form: the options object written in place in a ray.remote call.
    "const remote = (fn: unknown, o: { module: URL | string }) => ({ fn, url: String(o.module) });",
    "export const ts = remote(double, { module: new URL('./tasks.ts', import.meta.url) }).url;",
    "export const js = remote(null, { module: new URL('./more.js', import.meta.url) }).url;",
    "export const lazy = remote(null, { module: new URL('./lazy.js', import.meta.url) }).url;",
    "export const builtin = remote(null, { module: new URL('./builtin.js', import.meta.url) }).url;",
    "export const loadsBroken = remote(null, { module: new URL('./loads-broken.js', import.meta.url) }).url;",
    'export const query = tripleUrl;',
    'export const local = double(offset);',
  ].join('\n'),
};

async function buildApp(name: string, plugins: PluginOption[]): Promise<Record<string, unknown>> {
  const root = path.join(tmp, name);
  for (const [file, text] of Object.entries(FILES)) {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), text);
  }
  await build({
    root,
    configFile: false,
    logLevel: 'silent',
    plugins,
    // Chunk URLs relative to the importing module, so they resolve from file: URLs too (the browser e2e test uses base '/').
    base: './',
    build: {
      outDir: 'dist',
      rolldownOptions: { input: { main: path.join(root, 'src/main.ts') }, preserveEntrySignatures: 'strict', output: { entryFileNames: '[name].js' } },
    },
  });
  return (await import(pathToFileURL(path.join(root, 'dist', 'main.js')).href)) as Record<string, unknown>;
}

describe('webray/vite: task modules in a production build', () => {
  let built: Record<string, unknown>;
  let bare: Record<string, unknown>;
  let withoutBuiltins: Record<string, unknown>;
  beforeAll(async () => {
    built = await buildApp('with-plugin', [moduleTasks(), nodeBuiltins()]);
    withoutBuiltins = await buildApp('without-builtins', [moduleTasks()]);
    bare = await buildApp('without-plugin', [{ name: 'query-stub', load: (id) => (id.endsWith('?webray-module') ? 'export default "";' : null) }]);
  }, 60_000);

  it("`module: new URL('./tasks.ts', import.meta.url)` is a compiled chunk with all its exports", async () => {
    expect(built.ts).toMatch(/^file:.*\.js$/);
    const mod = (await import(built.ts as string)) as Record<string, (x: never) => unknown>;
    expect(mod.double!(21 as never)).toBe(42);
    expect(mod.unused!('kept' as never)).toBe('kept');
  });

  it('a .js task module that imports another module works from its chunk', async () => {
    const mod = (await import(built.js as string)) as { shift(x: number): number };
    expect(mod.shift(1)).toBe(101);
    expect(built.local).toBe(200);
  });

  it("`import url from './x.ts?webray-module'` gives the URL of such a chunk", async () => {
    const mod = (await import(built.query as string)) as { triple(x: number): number };
    expect(mod.triple(5)).toBe(15);
  });

  it('an import() in a task module works where there is no document (a worker, a Node host): no module preload there', async () => {
    const mod = (await import(built.lazy as string)) as { lazyShift(x: number): Promise<number> };
    expect(await mod.lazyShift(1)).toBe(201);
  });

  it('a Node builtin the module imports dynamically is the builtin on a Node host (without the plugin: Vite\'s empty stand-in, behind a preload that needs a document)', async () => {
    const run = async (app: Record<string, unknown>) => ((await import(app.builtin as string)) as { requireType(): Promise<string> }).requireType();
    expect(await run(built)).toBe('function');
    expect(await run(withoutBuiltins).catch((e: Error) => e.message)).not.toBe('function');
  });

  it('a failed import() in a task module rejects with its own error where there is no window (not Vite\'s "window is not defined")', async () => {
    const mod = (await import(built.loadsBroken as string)) as { loadBroken(): Promise<void> };
    await expect(mod.loadBroken()).rejects.toThrow('broken module: it throws as it loads');
  });

  it('without the plugin, Vite emits the .ts file as an uncompiled asset (so the plugin matters)', () => {
    expect(String(bare.ts)).not.toMatch(/\.js$/);
  });
});
