/**
 * The Vite plugin (webray/vite): the config it produces and how it merges with a user's,
 * then real production builds of a tiny app (in a temp dir outside the repo) whose minified
 * remote functions must pass webray's source analysis with the plugin, and fail without it.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, createLogger, resolveConfig, type ConfigEnv, type InlineConfig, type PluginOption, type ResolvedConfig, type Rolldown, type UserConfig } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiNames } from './api/api.js';
import { analyzeSource, UnshippableFunctionError, type SourceAnalysis } from './shared/source.js';
import webray, { reservedNames, webray as namedWebray, type WebrayPluginOptions } from './vite.js';

const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));
/** Dependencies only Node code imports (WebSocket for PeerJS): never in a browser bundle. */
const NODE_ONLY = ['ws'];
/** webray's browser dependencies: the dev server must pre-bundle each through the excluded webray. */
const DEPENDENCIES = Object.keys((JSON.parse(fs.readFileSync(path.join(PACKAGE_DIR, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies)
  .filter((d) => !NODE_ONLY.includes(d));
const COOP = 'Cross-Origin-Opener-Policy';
const COEP = 'Cross-Origin-Embedder-Policy';

let tmp: string;
beforeAll(() => {
  // Outside the repo, so nothing resolves through the workspace by accident.
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'webray-vite-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------
// (a) The config, as Vite resolves it: the plugin's config hook deep-merged into the user's.

async function resolve(user: InlineConfig = {}, options?: WebrayPluginOptions, command: 'build' | 'serve' = 'build') {
  const warnings: string[] = [];
  const logger = createLogger('silent');
  logger.warn = (msg) => void warnings.push(msg);
  const config = await resolveConfig(
    { root: tmp, configFile: false, logLevel: 'silent', customLogger: logger, ...user, plugins: [webray(options), ...(user.plugins ?? [])] },
    command,
  );
  return { config, warnings };
}

const buildOutput = (config: ResolvedConfig) => config.build.rolldownOptions.output as Rolldown.OutputOptions;
const workerOutput = (config: ResolvedConfig) => config.worker.rolldownOptions.output as Rolldown.OutputOptions;
const mangleOf = (o: Rolldown.OutputOptions) => (o.minify as { mangle?: unknown } | undefined)?.mangle;

describe('webray/vite: config', () => {
  it('exports the plugin as default and as `webray`', () => {
    expect(webray).toBe(namedWebray);
    expect(webray().map((p) => p.name)).toEqual(['webray', 'webray:module-tasks', 'webray:node-builtins', 'webray:uses']);
  });

  it('reserves exactly webray’s API names, their renamed forms and __name', () => {
    const plain = reservedNames.filter((n) => !n.includes('$'));
    expect(plain).toEqual(['__name', ...apiNames]); // the plugin's copy of apiNames is in sync
    expect(reservedNames).toContain('get$1');
    expect(reservedNames).toContain('getRuntimeContext$20');
  });

  it('sets everything webray needs on an empty config', async () => {
    const { config, warnings } = await resolve();
    expect(config.optimizeDeps.exclude).toContain('webray');
    expect(config.optimizeDeps.include).toEqual(DEPENDENCIES.map((d) => `webray > ${d}`));
    expect(config.worker.format).toBe('es');
    expect(config.server.headers).toMatchObject({ [COOP]: 'same-origin', [COEP]: 'require-corp' });
    expect(config.preview.headers).toMatchObject({ [COOP]: 'same-origin', [COEP]: 'require-corp' });
    for (const out of [buildOutput(config), workerOutput(config)]) {
      expect(out.keepNames).toBe(true);
      expect(out.minify).toEqual({ mangle: { reserved: [...reservedNames] } });
    }
    expect(warnings).toEqual([]);
  });

  it('merges with user settings instead of replacing them', async () => {
    const { config, warnings } = await resolve({
      optimizeDeps: { exclude: ['other-dep'] },
      server: { headers: { 'X-Custom': '1', 'cross-origin-embedder-policy': 'credentialless' } },
      build: {
        rolldownOptions: {
          output: { minify: { compress: { dropConsole: true }, mangle: { reserved: ['keepMe'] } }, entryFileNames: 'app.js' },
        },
      },
      worker: { format: 'iife', rolldownOptions: { output: { keepNames: false } } },
    });
    expect(config.optimizeDeps.exclude).toEqual(['other-dep', 'webray']);
    // The user's COEP (any case) wins; only the missing COOP is added; preview inherits server.headers.
    expect(config.server.headers).toEqual({ 'X-Custom': '1', 'cross-origin-embedder-policy': 'credentialless', [COOP]: 'same-origin' });
    expect(config.preview.headers).toEqual(config.server.headers);
    const out = buildOutput(config);
    expect(out.entryFileNames).toBe('app.js');
    expect(out.keepNames).toBe(true);
    expect(out.minify).toEqual({ compress: { dropConsole: true }, mangle: { reserved: ['keepMe', ...reservedNames] } });
    // An explicit worker format and keepNames: false are the user's choice (with a warning for the format).
    expect(config.worker.format).toBe('iife');
    expect(workerOutput(config).keepNames).toBe(false);
    expect(mangleOf(workerOutput(config))).toEqual({ reserved: [...reservedNames] });
    expect(warnings.join('\n')).toMatch(/worker\.format is 'iife'/);
  });

  it('adds to explicit preview headers, and leaves a user’s optimizeDeps.include of webray alone', async () => {
    const { config } = await resolve({ preview: { headers: { [COOP]: 'same-origin-allow-popups' } }, optimizeDeps: { include: ['webray'] } });
    expect(config.preview.headers).toEqual({ [COOP]: 'same-origin-allow-popups', [COEP]: 'require-corp' });
    expect(config.optimizeDeps.exclude ?? []).not.toContain('webray');
    expect(config.optimizeDeps.include).toEqual(['webray']); // Vite pre-bundles webray's dependencies with it
  });

  it('pre-bundles webray’s dependencies through it when the user excluded webray by hand', async () => {
    const { config } = await resolve({ optimizeDeps: { exclude: ['webray'], include: ['webray > peerjs', 'other'] } });
    expect(config.optimizeDeps.exclude).toEqual(['webray']);
    expect([...config.optimizeDeps.include!].sort()).toEqual(['other', ...DEPENDENCIES.map((d) => `webray > ${d}`)].sort());
  });

  it('respects minification the user turned off', async () => {
    const off = await resolve({ build: { minify: false } });
    expect(buildOutput(off.config).minify).toBeUndefined(); // Vite makes it 'dce-only' when it builds
    expect(buildOutput(off.config).keepNames).toBe(true);
    for (const minify of [false, 'dce-only', { mangle: false }] as const) {
      const { config } = await resolve({ build: { rolldownOptions: { output: { minify } } } });
      expect(buildOutput(config).minify).toEqual(minify);
      expect(buildOutput(config).keepNames).toBe(true);
    }
    // ...but an explicit output.minify wins over build.minify in Vite, so that one is protected.
    const explicit = await resolve({ build: { minify: false, rolldownOptions: { output: { minify: true } } } });
    expect(buildOutput(explicit.config).minify).toEqual({ mangle: { reserved: [...reservedNames] } });
  });

  it('patches each of several outputs in place, and the deprecated rollupOptions spelling', async () => {
    const { config } = await resolve({ build: { rolldownOptions: { output: [{ entryFileNames: 'a.js' }, { entryFileNames: 'b.js', minify: true }] } } });
    const outs = config.build.rolldownOptions.output as Rolldown.OutputOptions[];
    expect(outs.map((o) => o.entryFileNames)).toEqual(['a.js', 'b.js']); // no extra output appended
    for (const o of outs) expect(mangleOf(o)).toEqual({ reserved: [...reservedNames] });

    const legacy = await resolve({ build: { rollupOptions: { output: { entryFileNames: 'c.js' } } } });
    expect(buildOutput(legacy.config)).toMatchObject({ entryFileNames: 'c.js', keepNames: true, minify: { mangle: { reserved: [...reservedNames] } } });
  });

  it('configures terser, and warns about esbuild', async () => {
    // (Vite types terserOptions from terser, which this workspace does not install.)
    const terserOptions = { compress: { passes: 2 } } as NonNullable<InlineConfig['build']>['terserOptions'];
    const terser = await resolve({ build: { minify: 'terser', terserOptions } });
    expect(terser.config.build.terserOptions).toEqual({
      compress: { passes: 2 }, mangle: { reserved: [...reservedNames] }, keep_fnames: true, keep_classnames: true,
    });
    expect(buildOutput(terser.config).minify).toBeUndefined(); // terser minifies, not Rolldown

    const esbuild = await resolve({ build: { minify: 'esbuild' } });
    expect(esbuild.config.esbuild).toMatchObject({ minifyIdentifiers: false });
    // (Vite 8 itself notes that its `esbuild` option is deprecated: the user chose esbuild.)
    expect(esbuild.warnings.filter((w) => w.includes('[webray]'))).toEqual([]);
    // A user's explicit identifier minification is kept, and warned about.
    const forced = await resolve({ build: { minify: 'esbuild' }, esbuild: { minifyIdentifiers: true } });
    expect(forced.config.esbuild).toMatchObject({ minifyIdentifiers: true });
    expect(forced.warnings.join('\n')).toMatch(/build\.minify 'esbuild'.*renames webray's imports/s);
    // The dev server's esbuild TypeScript transform is left alone.
    const serve = await resolve({ build: { minify: 'esbuild' } }, {}, 'serve');
    expect(serve.config.esbuild).not.toMatchObject({ minifyIdentifiers: false });
  });

  it('under Vite 7 (Rollup, esbuild minifies by default): turns off esbuild identifier minification, sets no Rolldown options', () => {
    const plugin = webray()[0]!;
    const hook = plugin.config as (this: unknown, c: UserConfig, e: ConfigEnv) => UserConfig;
    const vite7 = { meta: { viteVersion: '7.3.8', rollupVersion: '4.53.0' } };
    const patch = hook.call(vite7, {}, { command: 'build', mode: 'production' });
    expect(patch.esbuild).toEqual({ minifyIdentifiers: false });
    expect(patch.build?.rolldownOptions).toBeUndefined();
    expect(patch.worker).toEqual({ format: 'es' });
    // Rollup's own outputs are not given Rolldown-only options.
    const outputs = [{ entryFileNames: 'a.js' }];
    hook.call(vite7, { build: { rollupOptions: { output: outputs } } }, { command: 'build', mode: 'production' });
    expect(outputs).toEqual([{ entryFileNames: 'a.js' }]);
    // terser still gets its reserved names.
    expect(hook.call(vite7, { build: { minify: 'terser' } }, { command: 'build', mode: 'production' }).build?.terserOptions).toMatchObject({
      mangle: { reserved: [...reservedNames] },
    });
    expect(hook.call(vite7, {}, { command: 'serve', mode: 'development' }).esbuild).toBeUndefined();
  });

  it('has options to turn off mangling, name keeping and the isolation headers', async () => {
    const { config } = await resolve({}, { mangle: false, keepNames: false, crossOriginIsolation: false }, 'serve');
    expect(buildOutput(config).minify).toEqual({ mangle: false });
    expect(buildOutput(config).keepNames).toBeUndefined();
    expect(config.server.headers ?? {}).toEqual({});
    expect(config.preview.headers ?? {}).toEqual({});
  });
});

// ---------------------------------------------------------------------------------------
// (b) Real production builds, and webray's analysis of the minified functions.

const MAIN_TS = `
import * as ray from 'webray';
const f = ray.remote((x: number) => ray.getRuntimeContext().nodeId + ':' + x);
const g = ray.remote(async (x: number) => {
  const h = ray.remote((y: number) => y * 2);
  return ray.get(h.remote(x));
});
// A named task (keepNames keeps 'square'), and an app function that takes the name 'get',
// so the bundle calls webray's one get$1.
function square(x: number) { return x * x; }
const s = ray.remote(square);
function get(key: string) { return key.length; }
// A task calling another module-level remote function: the plugin names it in { uses }.
const cube = ray.remote((x: number) => x * x * x);
const viaCube = ray.remote((x: number) => ray.get(cube.remote(x)));
Object.assign(globalThis, { app: { f, g, s, get, viaCube } });
`;

/** Runs the built entry in a fresh Node process and records every fn.toString() (webray's ray.remote reads the source). */
const RUNNER = `
const captured = [];
const toString = Function.prototype.toString;
Function.prototype.toString = function () { const source = toString.call(this); captured.push({ name: this.name, source }); return source; };
globalThis.document = { createElement: () => ({ relList: { supports: () => true } }) }; // for Vite's modulepreload polyfill
let error = null;
try { await import(process.argv[1]); } catch (e) { error = { name: e?.name, message: String(e?.message ?? e) }; }
Function.prototype.toString = toString;
process.stdout.write(JSON.stringify({ captured, error }));
`;

interface Run {
  captured: { name: string; source: string }[];
  error: { name: string; message: string } | null;
  jsBytes: number;
  /** the same JS files, gzipped one by one */
  gzipBytes: number;
  entryCode: string;
}

async function buildAndRun(name: string, plugins: PluginOption[], manual: InlineConfig = {}): Promise<Run> {
  const root = path.join(tmp, name);
  fs.mkdirSync(path.join(root, 'src'), { recursive: true });
  fs.mkdirSync(path.join(root, 'node_modules'), { recursive: true });
  fs.symlinkSync(PACKAGE_DIR, path.join(root, 'node_modules', 'webray'), 'dir');
  fs.writeFileSync(path.join(root, 'index.html'), '<!doctype html><script type="module" src="/src/main.ts"></script>\n');
  fs.writeFileSync(path.join(root, 'src', 'main.ts'), MAIN_TS);
  const result = (await build({ root, configFile: false, logLevel: 'silent', plugins, ...manual })) as Rolldown.RolldownOutput;
  const entry = result.output.find((o): o is Rolldown.OutputChunk => o.type === 'chunk' && o.isEntry)!;
  const assets = path.join(root, 'dist', 'assets');
  const js = fs.readdirSync(assets).filter((f) => f.endsWith('.js')).map((f) => fs.readFileSync(path.join(assets, f)));
  const jsBytes = js.reduce((n, b) => n + b.length, 0);
  const gzipBytes = js.reduce((n, b) => n + zlib.gzipSync(b).length, 0);
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', RUNNER, pathToFileURL(path.join(root, 'dist', entry.fileName)).href], {
    encoding: 'utf8',
  });
  return { ...(JSON.parse(out) as Pick<Run, 'captured' | 'error'>), jsBytes, gzipBytes, entryCode: entry.code };
}

const percent = (bigger: number, base: number) => `${(((bigger - base) / base) * 100).toFixed(1)}%`;
const analyze = (source: string): SourceAnalysis => analyzeSource(source, { apiNames });
/** The API names a function's free identifiers were bound to. */
function apiBindings(a: SourceAnalysis): string[] {
  return Object.values(a.bindings).map((b) => (typeof b === 'object' ? b.api : b)).sort();
}
/** The distinct captured sources matching `pattern` (webray may read a function's source more than once). */
const find = (run: Run, pattern: RegExp) => [...new Set(run.captured.map((c) => c.source).filter((s) => pattern.test(s)))];

describe('webray/vite: production build', () => {
  // What a user had to configure by hand before the plugin (the build fails without worker.format).
  const manual: InlineConfig = { worker: { format: 'es' }, optimizeDeps: { exclude: ['webray'] } };
  let withPlugin: Run;
  let withoutPlugin: Run;
  let noMangle: Run;
  let esbuildWithout: Run;
  let esbuildWith: Run;
  beforeAll(async () => {
    withoutPlugin = await buildAndRun('without-plugin', [], manual);
    withPlugin = await buildAndRun('with-plugin', [webray()]);
    noMangle = await buildAndRun('no-mangle', [webray({ mangle: false })]);
    console.log(
      `test app JS bytes: default minify ${withoutPlugin.jsBytes}, webray() ${withPlugin.jsBytes} ` +
        `(+${withPlugin.jsBytes - withoutPlugin.jsBytes}), webray({ mangle: false }) ${noMangle.jsBytes} (+${noMangle.jsBytes - withoutPlugin.jsBytes})`,
    );
    // esbuild, Vite 7's default minifier (Vite 8 still offers it).
    const esbuildMinify: InlineConfig = { build: { minify: 'esbuild' } };
    esbuildWithout = await buildAndRun('esbuild-without-plugin', [], { ...manual, ...esbuildMinify });
    esbuildWith = await buildAndRun('esbuild-with-plugin', [webray()], esbuildMinify);
    console.log(
      `test app JS bytes with build.minify 'esbuild': plain ${esbuildWithout.jsBytes}, webray() ${esbuildWith.jsBytes} ` +
        `(+${percent(esbuildWith.jsBytes, esbuildWithout.jsBytes)}); gzipped: plain ${esbuildWithout.gzipBytes}, webray() ${esbuildWith.gzipBytes} ` +
        `(+${percent(esbuildWith.gzipBytes, esbuildWithout.gzipBytes)}); Oxc gzipped: plain ${withoutPlugin.gzipBytes}, webray() ${withPlugin.gzipBytes}`,
    );
  }, 120_000);

  it('without the plugin, the minified functions are refused (so the plugin matters), with Oxc and with esbuild', () => {
    expect(esbuildWithout.error).toMatchObject({ name: 'UnshippableFunctionError' });
    expect(withoutPlugin.error).toMatchObject({ name: 'UnshippableFunctionError' });
    expect(withoutPlugin.error!.message).toMatch(/a variable from the scope where it was defined/);
    expect(withoutPlugin.error!.message).toMatch(/add the webray\/vite plugin/);
    const [f] = find(withoutPlugin, /nodeId/);
    expect(f).toBeDefined();
    let thrown: unknown;
    try {
      analyze(f!);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(UnshippableFunctionError);
    const variables = (thrown as UnshippableFunctionError).variables;
    expect(variables.length).toBeGreaterThan(0);
    for (const v of variables) expect(apiNames as readonly string[]).not.toContain(v.replace(/\$\d+$/, '')); // mangled, e.g. 'Vi'
  });

  const runs = [['webray()', () => withPlugin], ['webray({ mangle: false })', () => noMangle], ["webray() with build.minify 'esbuild'", () => esbuildWith]] as const;
  for (const [label, run] of runs) {
    it(`with ${label}, the minified functions pass the analysis and bind the API`, () => {
      const r = run();
      expect(r.error).toBeNull(); // the bundled webray accepted all three at ray.remote()
      const [f, ...moreF] = find(r, /nodeId/);
      const [g, ...moreG] = find(r, /^async/);
      expect(moreF).toEqual([]);
      expect(moreG).toEqual([]);
      const fa = analyze(f!);
      expect(apiBindings(fa)).toEqual(['getRuntimeContext']);
      const ga = analyze(g!);
      expect(apiBindings(ga)).toEqual(['get', 'remote']);
      expect(Object.keys(ga.bindings)).toContain('get$1'); // the app's own get took the plain name
      // keepNames: the task keeps its source name.
      const sq = r.captured.find((c) => c.name === 'square');
      expect(sq).toBeDefined();
      expect(analyze(sq!.source).bindings).toEqual({});
    });
  }

  it('keepNames: only the plugin keeps the task’s name in the bundle', () => {
    expect(withPlugin.entryCode).toMatch(/function square\(/);
    expect(withoutPlugin.entryCode).not.toMatch(/\bsquare\b/);
  });
});
