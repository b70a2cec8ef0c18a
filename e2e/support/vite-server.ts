/**
 * Vite servers for e2e pages: a dev server (programmatic `createServer`) or a `vite preview` of a
 * build, on 127.0.0.1 with a free port, cross-origin isolated (COOP/COEP) so SharedArrayBuffer works.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as workspaceVite from 'vite';
import type { InlineConfig, PreviewServer, ViteDevServer } from 'vite';

/** The parts of Vite's API used here (the same in Vite 7 and 8). */
export type ViteApi = Pick<typeof workspaceVite, 'createServer' | 'preview' | 'mergeConfig'>;

export const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

/** A page folder under e2e/pages/. */
export function pageDir(name: string): string {
  return fileURLToPath(new URL(`../pages/${name}/`, import.meta.url));
}

export interface RunningServer {
  /** e.g. http://127.0.0.1:41234/ */
  url: string;
  /** e.g. http://127.0.0.1:41234 */
  origin: string;
  close(): Promise<void>;
}

export interface DevServerOptions {
  /** The folder served (holds index.html). */
  root: string;
  /** Set `optimizeDeps.exclude: ['webray']` here. Default true. */
  excludeWebray?: boolean;
  /** Set the COOP/COEP headers here. Default true; false leaves them to plugins (webray/vite). */
  isolationHeaders?: boolean;
  /** Merged over the defaults. */
  config?: InlineConfig;
  /** The Vite to run (e.g. an app's own); default the workspace's. */
  vite?: ViteApi;
}

function serverUrl(server: ViteDevServer | PreviewServer): RunningServer['url'] {
  const url = server.resolvedUrls?.local[0];
  if (url) return url;
  const addr = server.httpServer?.address();
  if (addr && typeof addr === 'object') return `http://127.0.0.1:${addr.port}/`;
  throw new Error('Vite did not report the address it listens on');
}

export async function startDevServer(options: DevServerOptions): Promise<RunningServer & { server: ViteDevServer }> {
  // A private dependency cache: parallel or earlier runs must not share half-optimised deps.
  const cacheDir = mkdtempSync(join(tmpdir(), 'webray-e2e-vite-cache-'));
  const excludeWebray = options.excludeWebray ?? true;
  const isolationHeaders = options.isolationHeaders ?? true;
  const base: InlineConfig = {
    configFile: false,
    root: options.root,
    cacheDir,
    logLevel: 'warn',
    clearScreen: false,
    server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false, watch: null, ...(isolationHeaders ? { headers: ISOLATION_HEADERS } : {}) },
    optimizeDeps: excludeWebray ? { exclude: ['webray'] } : {},
  };
  const { createServer, mergeConfig } = options.vite ?? workspaceVite;
  const server = await createServer(mergeConfig(base, options.config ?? {}));
  await server.listen();
  const url = serverUrl(server);
  return {
    server,
    url,
    origin: new URL(url).origin,
    async close() {
      await server.close();
      rmSync(cacheDir, { recursive: true, force: true });
    },
  };
}

export interface PreviewOptions {
  /** The app's folder. */
  root: string;
  /** The build output folder, relative to root. Default 'dist'. */
  outDir?: string;
  /**
   * The app's own config file (its plugins then set the headers), or false (the default) to
   * serve with COOP/COEP headers set here.
   */
  configFile?: string | false;
  /** The Vite to run (e.g. an app's own); default the workspace's. */
  vite?: ViteApi;
}

/** `vite preview` of an already built folder. */
export async function startPreviewServer(options: PreviewOptions): Promise<RunningServer> {
  const { root, outDir = 'dist', configFile = false } = options;
  const server = await (options.vite ?? workspaceVite).preview({
    configFile,
    root,
    logLevel: 'warn',
    build: { outDir },
    preview: { host: '127.0.0.1', port: 0, strictPort: false, ...(configFile ? {} : { headers: ISOLATION_HEADERS }) },
  });
  const url = serverUrl(server);
  return {
    url,
    origin: new URL(url).origin,
    close: () => server.close(),
  };
}
