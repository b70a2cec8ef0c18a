/**
 * A separate app that depends on webray as a user's would: outside the workspace (under the OS
 * temp dir), with `webray` (the packed tarball) and `vite` (7 or 8) installed by a real
 * `npm install` or `pnpm install`. The e2e tests run in a loopback-only network namespace, so
 * the registry is a local one serving the workspace's installed packages (local-registry.ts;
 * e2e depends on `vite` and `vite7` so both are there).
 */
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
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

/** The Vite versions an app can have; the e2e workspace has each installed (`vite`, `vite7`). */
export type ViteMajor = 7 | 8;
const VITE_PACKAGE: Record<ViteMajor, string> = { 7: 'vite7', 8: 'vite' };
export type PackageManager = 'npm' | 'pnpm';

/** The exact Vite version the workspace installed as `VITE_PACKAGE[major]`. */
function workspaceViteVersion(major: ViteMajor): string {
  return (JSON.parse(readFileSync(join(here, '..', 'node_modules', VITE_PACKAGE[major], 'package.json'), 'utf8')) as { version: string }).version;
}

export interface ConsumerApp {
  dir: string;
  tarball: string;
  viteVersion: string;
  /** The app's own Vite (node_modules/vite), to run its dev and preview servers. */
  vite(): Promise<ViteApi>;
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

/** Runs a command without blocking this process (the local registry answers from it). */
function run(cmd: string, args: string[], cwd: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** The install command: peer ranges enforced (npm refuses with ERESOLVE; pnpm only when strict). */
function installCommand(manager: PackageManager, registry: string, dir: string): [string, string[]] {
  if (manager === 'npm') return ['npm', ['install', '--no-audit', '--no-fund', '--no-update-notifier', `--registry=${registry}`, `--cache=${join(dir, '.npm-cache')}`]];
  const [cmd, pre] = pnpmCommand() ?? ['npx', ['--offline', '-y', 'pnpm@12.4.2']];
  return [cmd, [...pre, 'install', `--registry=${registry}`, `--store-dir=${join(dir, '.pnpm-store')}`, '--config.strict-peer-dependencies=true']];
}

export interface InstallOptions {
  vite: ViteMajor;
  manager: PackageManager;
  /** the packed webray */
  tarball: string;
  /** the npm registry to install from (a local one: see local-registry.ts) */
  registry: string;
}

/**
 * The app from e2e/fixtures/consumer-app in a fresh temp dir, `webray` (file:webray.tgz) and
 * `vite` installed by `manager`. Throws with the package manager's output if the install fails.
 */
export async function installConsumerApp(options: InstallOptions): Promise<ConsumerApp> {
  const viteVersion = workspaceViteVersion(options.vite);
  const dir = mkdtempSync(join(realpathSync(tmpdir()), `webray-consumer-vite${options.vite}-${options.manager}-`));
  try {
    cpSync(FIXTURE, dir, { recursive: true });
    cpSync(options.tarball, join(dir, 'webray.tgz'));
    const manifestFile = join(dir, 'package.json');
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { dependencies: Record<string, string> };
    writeFileSync(manifestFile, JSON.stringify({ ...manifest, dependencies: { ...manifest.dependencies, vite: viteVersion } }, null, 2));
    if (options.manager === 'pnpm') {
      // pnpm 12 fails an install whose dependencies have unapproved build scripts (Vite 7's esbuild);
      // esbuild's binary comes as an optional package, so skip its script, as this workspace does.
      writeFileSync(join(dir, 'pnpm-workspace.yaml'), 'allowBuilds:\n  esbuild: false\n');
    }
    const [cmd, args] = installCommand(options.manager, options.registry, dir);
    const result = await run(cmd, args, dir);
    if (result.code !== 0) throw new Error(`${options.manager} install of webray and vite@${viteVersion} failed (exit ${result.code}):\n${result.output}`);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const nodeModules = join(dir, 'node_modules');
  // A sanity check that this really is the packed package, not a link into the workspace.
  const webray = realpathSync(join(nodeModules, 'webray'));
  if (webray.startsWith(realpathSync(WEBRAY_DIR)) || !existsSync(join(webray, 'dist', 'node', 'entry.js'))) {
    throw new Error(`the installed webray (${webray}) is not the packed package with dist/node/entry.js: was it built before packing?`);
  }
  const viteBin = join(nodeModules, 'vite', 'bin', 'vite.js');
  return {
    dir,
    tarball: join(dir, 'webray.tgz'),
    viteVersion,
    vite: async () => (await import(pathToFileURL(join(realpathSync(join(nodeModules, 'vite')), 'dist', 'node', 'index.js')).href)) as ViteApi,
    build: (config, name) => viteBuild(dir, viteBin, config, name),
    plugin: async () => {
      const file = join(webray, 'dist', 'vite.js');
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
