/**
 * A separate app that depends on webray as a user's would: outside the workspace (under the OS
 * temp dir), with node_modules/webray unpacked from the `pnpm pack` tarball, and its own Vite
 * (7 or 8, the workspace's copies: e2e depends on `vite` and `vite7`), webray's and Vite's
 * dependencies copied in beside them: a flat, npm-style node_modules, no symlinks into the
 * workspace. (The e2e tests run in a loopback-only network namespace, so no registry install
 * here; `npm ls` checks the tree, peer ranges included, as npm would at install.)
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { PluginOption } from 'vite';
import type { ViteApi } from './vite-server.js';

const here = dirname(fileURLToPath(import.meta.url));
export const WEBRAY_DIR = join(here, '..', '..', 'packages', 'webray');
const FIXTURE = join(here, '..', 'fixtures', 'consumer-app');

/** How to run pnpm: the one running `pnpm test` (npm_execpath), else the one on PATH. */
function pnpmCommand(): [string, string[]] | undefined {
  const exec = process.env.npm_execpath;
  if (exec && /pnpm/.test(basename(exec)) && existsSync(exec)) {
    return /\.[cm]?js$/.test(exec) ? [process.execPath, [exec]] : [exec, []];
  }
  try {
    execFileSync('pnpm', ['--version'], { stdio: 'ignore' });
    return ['pnpm', []];
  } catch {
    return undefined;
  }
}

/** Packs webray like `pnpm publish` would (honours "files"); falls back to `npm pack`. */
export function packWebray(destination: string): string {
  mkdirSync(destination, { recursive: true });
  const pnpm = pnpmCommand();
  const [cmd, pre, args] = pnpm ? [pnpm[0], pnpm[1], ['pack', '--pack-destination', destination]] : ['npm', [], ['pack', '--pack-destination', destination]];
  execFileSync(cmd, [...pre, ...args], { cwd: WEBRAY_DIR, stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  const tgz = readdirSync(destination).find((f) => f.startsWith('webray-') && f.endsWith('.tgz'));
  if (!tgz) throw new Error(`packing webray left no webray-*.tgz in ${destination}`);
  return join(destination, tgz);
}

/** The folder holding package `name` as seen from `fromDir` (Node's lookup: every node_modules up the tree). */
function findPackageDir(name: string, fromDir: string): string {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return realpathSync(candidate);
    if (dirname(dir) === dir) throw new Error(`cannot find package ${name} from ${fromDir}`);
  }
}

/** The folder holding package `name` from `fromDir`, or undefined (an optional dependency not installed on this platform). */
function findOptionalPackageDir(name: string, fromDir: string): string | undefined {
  try {
    return findPackageDir(name, fromDir);
  } catch {
    return undefined;
  }
}

/**
 * Copies the dependencies named in `pkgDir`'s manifest (transitively, optional ones where
 * installed), as installed beside `installedDir`, into `nodeModules`, flat, as npm would lay them out.
 */
function copyDependencies(pkgDir: string, installedDir: string, nodeModules: string, seen = new Set<string>()): void {
  const manifest = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> };
  const optional = new Set(Object.keys(manifest.optionalDependencies ?? {}));
  for (const name of [...Object.keys(manifest.dependencies ?? {}), ...optional]) {
    if (seen.has(name)) continue;
    const from = optional.has(name) ? findOptionalPackageDir(name, installedDir) : findPackageDir(name, installedDir);
    if (!from) continue;
    seen.add(name);
    const to = join(nodeModules, name);
    cpSync(from, to, { recursive: true, dereference: true, filter: (src) => !src.includes(`${from}/node_modules`) });
    copyDependencies(from, from, nodeModules, seen);
  }
}

/** The Vite versions an app can have; the e2e workspace has each installed (`vite`, `vite7`). */
export type ViteMajor = 7 | 8;
const VITE_PACKAGE: Record<ViteMajor, string> = { 7: 'vite7', 8: 'vite' };


export interface ConsumerApp {
  dir: string;
  tarball: string;
  viteVersion: string;
  /** The app's own Vite (node_modules/vite), to run its dev and preview servers. */
  vite(): Promise<ViteApi>;
  /** `npm ls --all` in the app: exit code and its problem lines (non-zero on an invalid peer range). */
  npmLs(): { code: number; problems: string };
  /**
   * `vite build` in a child process (a clean NODE_ENV, as a user's CLI run) with `config` as the
   * app's vite.config.js: an object (written as JSON) or the file's source text. Returns the
   * config file's path.
   */
  build(config: Record<string, unknown> | string, name?: string): Promise<string>;
  /** The packed package's Vite plugin (`webray/vite`), loaded from the app's node_modules. */
  plugin(): Promise<(options?: Record<string, unknown>) => PluginOption>;
  remove(): void;
}

/**
 * The app from e2e/fixtures/consumer-app, in a fresh temp dir, with webray installed from its
 * tarball and Vite `vite` (default 8).
 */
export function createConsumerApp(options: { vite?: ViteMajor; /** a webray tarball to reuse (else packed here) */ tarball?: string } = {}): ConsumerApp {
  const major = options.vite ?? 8;
  const dir = mkdtempSync(join(realpathSync(tmpdir()), `webray-consumer-vite${major}-`));
  cpSync(FIXTURE, dir, { recursive: true });
  if (options.tarball) {
    mkdirSync(join(dir, '.pack'));
    cpSync(options.tarball, join(dir, 'webray.tgz'));
  } else {
    renameSync(packWebray(join(dir, '.pack')), join(dir, 'webray.tgz'));
  }
  const nodeModules = join(dir, 'node_modules');
  mkdirSync(nodeModules, { recursive: true });
  execFileSync('tar', ['-xzf', join(dir, 'webray.tgz'), '-C', join(dir, '.pack')]);
  renameSync(join(dir, '.pack', 'package'), join(nodeModules, 'webray'));
  // The workspace installed webray's dependencies for its own package.json; the packed one names the same.
  const seen = new Set<string>(['vite']);
  copyDependencies(join(nodeModules, 'webray'), WEBRAY_DIR, nodeModules, seen);
  const viteDir = findPackageDir(VITE_PACKAGE[major], here);
  cpSync(viteDir, join(nodeModules, 'vite'), { recursive: true, dereference: true, filter: (src) => !src.includes(`${viteDir}/node_modules`) });
  copyDependencies(viteDir, viteDir, nodeModules, seen);
  const viteVersion = (JSON.parse(readFileSync(join(nodeModules, 'vite', 'package.json'), 'utf8')) as { version: string }).version;
  if (!viteVersion.startsWith(`${major}.`)) throw new Error(`expected Vite ${major} from ${viteDir}, got ${viteVersion}`);
  // The app's manifest as after `npm install webray vite` (npm ls checks what is installed against it).
  const webrayVersion = (JSON.parse(readFileSync(join(nodeModules, 'webray', 'package.json'), 'utf8')) as { version: string }).version;
  const appManifest = join(dir, 'package.json');
  const app = JSON.parse(readFileSync(appManifest, 'utf8')) as { dependencies: Record<string, string> };
  writeFileSync(appManifest, JSON.stringify({ ...app, dependencies: { ...app.dependencies, webray: `^${webrayVersion}`, vite: `^${viteVersion}` } }, null, 2));
  // A sanity check that this really is the packed package, not a link into the workspace.
  const manifest = JSON.parse(readFileSync(join(nodeModules, 'webray', 'package.json'), 'utf8')) as { name: string };
  if (manifest.name !== 'webray' || !existsSync(join(nodeModules, 'webray', 'dist', 'node', 'entry.js'))) {
    throw new Error(`the packed webray in ${nodeModules}/webray has no dist/node/entry.js: was it built before packing?`);
  }
  const viteBin = join(nodeModules, 'vite', 'bin', 'vite.js');
  return {
    dir,
    tarball: join(dir, 'webray.tgz'),
    viteVersion,
    vite: async () => (await import(pathToFileURL(join(nodeModules, 'vite', 'dist', 'node', 'index.js')).href)) as ViteApi,
    npmLs: () => {
      const r = spawnSync('npm', ['ls', '--all'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
      const problems = `${r.stdout}${r.stderr}`.split('\n').filter((l) => /invalid|missing|extraneous|error/i.test(l) && !/UNMET OPTIONAL/.test(l));
      return { code: r.status ?? -1, problems: problems.join('\n') };
    },
    build: (config, name) => viteBuild(dir, viteBin, config, name),
    plugin: async () => {
      const file = join(nodeModules, 'webray', 'dist', 'vite.js');
      if (!existsSync(file)) throw new Error(`the packed webray has no dist/vite.js (the 'webray/vite' plugin the README documents)`);
      return ((await import(pathToFileURL(file).href)) as { default: (o?: Record<string, unknown>) => PluginOption }).default;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

async function viteBuild(dir: string, viteBin: string, config: Record<string, unknown> | string, name = 'vite.config.js'): Promise<string> {
  const configFile = join(dir, name);
  writeFileSync(configFile, typeof config === 'string' ? config : `export default ${JSON.stringify(config, null, 2)};\n`);
  const env = { ...process.env };
  delete env.NODE_ENV; // Vitest sets 'test'; a user's `vite build` has none.
  delete env.VITEST;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [viteBin, 'build', '--config', configFile, '--logLevel', 'warn'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(configFile);
      else reject(new Error(`vite build failed (${signal ?? `exit ${code}`}) in ${dir}:\n${out}`));
    });
  });
}
