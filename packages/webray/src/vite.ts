/**
 * Vite plugin for apps that use webray:
 *
 * ```ts
 * import { defineConfig } from 'vite';
 * import webray from 'webray/vite';
 * export default defineConfig({ plugins: [webray()] });
 * ```
 *
 * What it sets, always merged into (never replacing) the user's config:
 *
 * - `optimizeDeps.exclude: ['webray']`: webray starts its workers with
 *   `new URL('../node/entry.js', import.meta.url)`, which dependency pre-bundling breaks.
 *   Its own browser dependencies are then pre-bundled through it, in Vite's nested form
 *   (`optimizeDeps.include: ['webray > peerjs', ...]`): the dev server would otherwise serve
 *   their CommonJS dependencies raw (peerjs -> webrtc-adapter -> sdp: "does not provide an
 *   export named 'default'"). Both left alone if the user lists 'webray' in
 *   `optimizeDeps.include` (then Vite pre-bundles webray with its dependencies).
 * - `worker.format: 'es'` (webray's worker entry is an ES module that imports chunks),
 *   unless the user chose a format: a different one gets a warning.
 * - Production builds: webray ships a remote function by its source text and, at
 *   `ray.remote(fn)`, checks which free variables it uses. A bundle inlines
 *   `ray.get(...)` into a direct call of webray's `get` binding, and the minifier then
 *   renames that binding (`ray.getRuntimeContext()` becomes `Ui()`), so the function is
 *   refused as a closure. The plugin keeps identifier mangling on but reserves webray's
 *   API names (`get`, `remote`, ..., their bundler-renamed forms `get$1`, and `__name`):
 *   `build.rolldownOptions.output.minify.mangle.reserved` (and the same for
 *   `worker.rolldownOptions`), or `build.terserOptions.mangle.reserved` with
 *   `build.minify: 'terser'`. It also sets `output.keepNames: true` so task and actor
 *   names stay readable in the state API, timeline and errors.
 *   An explicit user choice wins: `output.minify: false | 'dce-only'`, `mangle: false`,
 *   `build.minify: false`, `output.keepNames: false` are kept as they are; a user's own
 *   `mangle.reserved` list is extended, not replaced.
 *   Vite 7 (Rollup) minifies with esbuild by default, as does `build.minify: 'esbuild'` in
 *   Vite 8; esbuild has no list of names to keep, so the plugin sets
 *   `esbuild.minifyIdentifiers: false` for builds (whitespace and syntax are still minified;
 *   names stay as the bundler wrote them, so keepNames has nothing to do). A user's own
 *   `minifyIdentifiers: true` is kept, with a warning.
 * - Dev and preview servers: `Cross-Origin-Opener-Policy: same-origin` and
 *   `Cross-Origin-Embedder-Policy: require-corp`, so the page is cross-origin isolated
 *   and SharedArrayBuffer is available. A header the user already sets (any case) is kept
 *   (e.g. `Cross-Origin-Embedder-Policy: credentialless`). `preview.headers` is only
 *   touched when the user set it; otherwise preview inherits `server.headers` as usual.
 *   Opt out with `webray({ crossOriginIsolation: false })`.
 * - Task modules (`ray.remote(fn, { module: new URL('./tasks.ts', import.meta.url) })`, or a
 *   `./tasks.ts?webray-module` import) are built as chunks of their own with every export
 *   kept: see vite/module-tasks.ts. A Node builtin imported dynamically (Emscripten output
 *   does so in Node) stays a `node:` import rather than Vite's empty stand-in, so a Node host
 *   gets the builtin (vite/node-builtins.ts; Vite 8).
 * - The app's modules: `ray.remote(fn)` calls whose function calls a module-level remote
 *   function get `uses: () => [...]` (or `self: () => fn` for recursion) added (vite/uses.ts).
 */
import type { OutgoingHttpHeaders } from 'node:http';
import type { Plugin, Rolldown, UserConfig } from 'vite';
import { moduleTasks } from './vite/module-tasks.js';
import { nodeBuiltins } from './vite/node-builtins.js';
import { usesPlugin } from './vite/uses.js';

export interface WebrayPluginOptions {
  /**
   * Serve the dev and preview servers cross-origin isolated (COOP `same-origin`, COEP
   * `require-corp`), so SharedArrayBuffer is available. Note that `require-corp` blocks
   * cross-origin resources that do not send CORS/CORP headers. Default `true`.
   */
  crossOriginIsolation?: boolean;
  /**
   * Keep function and class names in production builds, so tasks and actors show their
   * source names (not `Yi`) in the state API, timeline and error messages. Costs a few
   * percent of bundle size. Default `true`.
   */
  keepNames?: boolean;
  /**
   * Identifier mangling in production builds. `true` (default): mangle, but never rename
   * webray's API bindings (see {@link reservedNames}). `false`: no identifier mangling at
   * all: a bigger bundle, but the fallback if a bundle still renames a name webray needs.
   */
  mangle?: boolean;
}

const PACKAGE = 'webray';

/**
 * webray's `dependencies` that its browser code imports (all but `ws`, which only Node hosts
 * use): pre-bundled through webray as `webray > name`. A Node-only dependency must not be listed.
 */
const BROWSER_DEPENDENCIES = ['acorn', 'comlink', 'idb-keyval', 'peerjs'];

/**
 * The names shipped code may call on `ray`: the same list as `apiNames` in api/api.ts
 * (kept separate so loading this plugin in a Vite config does not load webray's
 * runtime; vite.test.ts checks the two agree).
 */
const API_NAMES = [
  'init', 'shutdown', 'isInitialized', 'remote', 'get', 'wait', 'put', 'release', 'cancel', 'kill', 'getActor', 'getRuntimeContext',
  'nodes', 'clusterResources', 'availableResources', 'state', 'timeline', 'ObjectRef',
  'RayError', 'RayTaskError', 'RayActorError', 'ActorUnavailableError', 'WorkerCrashedError', 'GetTimeoutError', 'TaskCancelledError',
  'NonSerializableError', 'OwnerDiedError', 'NodeDiedError', 'ObjectLostError', 'ObjectStoreFullError', 'ObjectMutatedError',
  'PendingCallsLimitExceededError', 'RayUsageError', 'VerificationError',
];

/**
 * Rolldown de-duplicates a top-level name clashing with another module's as `get$1`,
 * `get$2`, ...; reserving a name no binding carries costs nothing, so be generous.
 */
const MAX_RENAME_SUFFIX = 20;

/**
 * Identifiers the minifier must not rename (nor rename anything to): webray's API names,
 * their bundler-deduplicated forms (`get$1` ... `get$20`), and `__name`, the helper that
 * keepNames inserts. Use it for a minifier the plugin does not configure, e.g. esbuild
 * has no reserved list, but terser takes it as `mangle.reserved`.
 */
export const reservedNames: readonly string[] = Object.freeze([
  '__name',
  ...API_NAMES.flatMap((name) => [name, ...Array.from({ length: MAX_RENAME_SUFFIX }, (_, i) => `${name}$${i + 1}`)]),
]);

const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
} as const;

type OutputOptions = Rolldown.OutputOptions;
type RolldownOptions = { output?: OutputOptions | OutputOptions[] };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The isolation headers `headers` does not set yet (header names are case-insensitive). */
function missingHeaders(headers: OutgoingHttpHeaders | undefined): OutgoingHttpHeaders | undefined {
  const have = new Set(Object.keys(headers ?? {}).map((k) => k.toLowerCase()));
  const missing = Object.entries(ISOLATION_HEADERS).filter(([k]) => !have.has(k.toLowerCase()));
  return missing.length > 0 ? Object.fromEntries(missing) : undefined;
}

interface OutputPlan {
  keepNames: boolean;
  /** what to do with identifier mangling: reserve webray's names (true) or turn it off (false) */
  mangle: boolean;
  /** whether an output without its own `minify` is minified by Rolldown (build.minify unset, true or 'oxc') */
  minifiedByDefault: boolean;
}

/**
 * What to add to one Rolldown output options object, as a partial to deep-merge with Vite's
 * mergeConfig (objects merge, arrays concatenate); undefined if nothing.
 */
function outputDelta(output: OutputOptions | undefined, plan: OutputPlan): OutputOptions | undefined {
  const delta: OutputOptions = {};
  if (plan.keepNames && output?.keepNames === undefined) delta.keepNames = true;
  const minify = output?.minify;
  // An explicit output.minify wins over build.minify in Vite. `false`, 'dce-only' and
  // `{ mangle: false }` do not mangle; `true` and other objects do. Omitted minify fields
  // default to on, so `{ mangle: {...} }` alone is `true` plus our mangle setting.
  const mangles = minify === undefined ? plan.minifiedByDefault : minify === true || (isObject(minify) && minify.mangle !== false);
  if (mangles) {
    delta.minify = { mangle: plan.mangle ? { reserved: [...reservedNames] } : false };
  }
  return Object.keys(delta).length > 0 ? delta : undefined;
}

/** Applies `outputDelta` in place, for an array of outputs (mergeConfig would append to it instead). */
function mergeOutputInPlace(output: OutputOptions, delta: OutputOptions): void {
  if (delta.keepNames !== undefined) output.keepNames = delta.keepNames;
  if (delta.minify === undefined) return;
  const ours = (delta.minify as { mangle: false | { reserved: string[] } }).mangle;
  const current = isObject(output.minify) ? output.minify : {};
  const mangle = current.mangle;
  output.minify = {
    ...current,
    mangle: ours && isObject(mangle)
      ? { ...mangle, reserved: [...((mangle.reserved as string[] | undefined) ?? []), ...ours.reserved] }
      : ours,
  };
}

/**
 * The patch for `build.rolldownOptions` or `worker.rolldownOptions` (either spelling:
 * Vite 8 still accepts `rollupOptions`). Arrays of outputs are updated in place.
 */
function rolldownPatch(
  section: { rolldownOptions?: RolldownOptions; rollupOptions?: RolldownOptions } | undefined,
  plan: OutputPlan,
): { output: OutputOptions } | undefined {
  const output = section?.rolldownOptions?.output ?? section?.rollupOptions?.output;
  if (Array.isArray(output)) {
    for (const o of output) {
      const delta = outputDelta(o, plan);
      if (delta) mergeOutputInPlace(o, delta);
    }
    return undefined;
  }
  const delta = outputDelta(output, plan);
  return delta && { output: delta };
}

/** The Vite plugins; see the module comment for what they configure. */
export function webray(options: WebrayPluginOptions = {}): Plugin[] {
  return [configPlugin(options), moduleTasks(), nodeBuiltins(), usesPlugin()];
}

function configPlugin(options: WebrayPluginOptions): Plugin {
  const { crossOriginIsolation = true, keepNames = true, mangle = true } = options;
  return {
    name: 'webray',

    config(config, env) {
      const patch: UserConfig = {};

      const deps = config.optimizeDeps;
      if (!deps?.include?.includes(PACKAGE)) {
        const nested = BROWSER_DEPENDENCIES.map((name) => `${PACKAGE} > ${name}`).filter((entry) => !deps?.include?.includes(entry));
        patch.optimizeDeps = {
          ...(deps?.exclude?.includes(PACKAGE) ? {} : { exclude: [PACKAGE] }),
          ...(nested.length > 0 ? { include: nested } : {}),
        };
      }

      if (config.worker?.format === undefined) patch.worker = { format: 'es' };

      // Production minification. Vite 8 builds with Rolldown and minifies with Oxc by default;
      // Vite 7 builds with Rollup and minifies with esbuild by default.
      const rolldown = Boolean(this?.meta?.rolldownVersion);
      const minifier = config.build?.minify;
      const effective = minifier === undefined || minifier === true ? (rolldown ? 'oxc' : 'esbuild') : minifier;
      if (rolldown) {
        const plan: OutputPlan = { keepNames, mangle, minifiedByDefault: effective === 'oxc' };
        const build = rolldownPatch(config.build, plan);
        if (build) patch.build = { rolldownOptions: build };
        const worker = rolldownPatch(config.worker, plan);
        if (worker) patch.worker = { ...patch.worker, rolldownOptions: worker };
      }

      // esbuild has no list of names to keep: its identifier minification is the one part
      // of its minify that must go (whitespace and syntax minification stay). Only for builds:
      // the same options drive esbuild's TypeScript transform in dev.
      const esbuild = config.esbuild;
      if (effective === 'esbuild' && env.command === 'build' && esbuild !== false && esbuild?.minifyIdentifiers === undefined) {
        patch.esbuild = { minifyIdentifiers: false };
      }

      if (effective === 'terser') {
        // Vite types terserOptions from terser, which may not be installed: read the fields we need loosely.
        const terser = config.build?.terserOptions as { mangle?: unknown; keep_fnames?: unknown; keep_classnames?: unknown } | undefined;
        const terserPatch: Record<string, unknown> = {};
        if (terser?.mangle !== false) terserPatch.mangle = mangle ? { reserved: [...reservedNames] } : false;
        if (keepNames && terser?.keep_fnames === undefined) terserPatch.keep_fnames = true;
        if (keepNames && terser?.keep_classnames === undefined) terserPatch.keep_classnames = true;
        if (Object.keys(terserPatch).length > 0) patch.build = { ...patch.build, terserOptions: terserPatch };
      }

      if (crossOriginIsolation) {
        const server = missingHeaders(config.server?.headers);
        if (server) patch.server = { headers: server };
        // Without its own headers, preview uses server.headers, which now include ours.
        const preview = config.preview?.headers ? missingHeaders(config.preview.headers) : undefined;
        if (preview) patch.preview = { headers: preview };
      }

      return patch;
    },

    configResolved(config) {
      if (config.command === 'build' && config.build.minify === 'esbuild' && (config.esbuild === false || config.esbuild.minifyIdentifiers !== false)) {
        config.logger.warn(
          "[webray] build.minify 'esbuild' with esbuild identifier minification renames webray's imports inside functions passed " +
            'to ray.remote(), so they would be refused at runtime. Leave esbuild.minifyIdentifiers unset (webray/vite turns it ' +
            'off) or set it to false.',
        );
      }
      if (config.worker.format !== 'es') {
        config.logger.warn(`[webray] worker.format is '${config.worker.format}'; webray's workers need 'es'.`);
      }
    },
  };
}

export default webray;
