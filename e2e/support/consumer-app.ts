/**
 * A separate app that depends on webray as a user's would: outside the workspace (under the OS
 * temp dir), with node_modules/webray unpacked from the `pnpm pack` tarball and webray's own
 * dependencies copied in beside it (a flat, npm-style node_modules, no symlinks into the
 * workspace). Vite itself runs from the workspace's copy: the app has no config file that imports it.
 */
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { PluginOption } from 'vite';

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

/**
 * Copies the dependencies named in `pkgDir`'s manifest (transitively), as installed beside
 * `installedDir`, into `nodeModules`, flat, as npm would lay them out.
 */
function copyDependencies(pkgDir: string, installedDir: string, nodeModules: string, seen = new Set<string>()): void {
  const deps = (JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> }).dependencies ?? {};
  for (const name of Object.keys(deps)) {
    if (seen.has(name)) continue;
    seen.add(name);
    const from = findPackageDir(name, installedDir);
    const to = join(nodeModules, name);
    cpSync(from, to, { recursive: true, dereference: true, filter: (src) => !src.includes(`${from}/node_modules`) });
    copyDependencies(from, from, nodeModules, seen);
  }
}

export interface ConsumerApp {
  dir: string;
  tarball: string;
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

/** The app from e2e/fixtures/consumer-app, in a fresh temp dir, with webray installed from its tarball. */
export function createConsumerApp(): ConsumerApp {
  const dir = mkdtempSync(join(realpathSync(tmpdir()), 'webray-consumer-'));
  cpSync(FIXTURE, dir, { recursive: true });
  const tarball = packWebray(join(dir, '.pack'));
  renameSync(tarball, join(dir, 'webray.tgz'));
  const nodeModules = join(dir, 'node_modules');
  mkdirSync(nodeModules, { recursive: true });
  execFileSync('tar', ['-xzf', join(dir, 'webray.tgz'), '-C', join(dir, '.pack')]);
  renameSync(join(dir, '.pack', 'package'), join(nodeModules, 'webray'));
  // The workspace installed webray's dependencies for its own package.json; the packed one names the same.
  copyDependencies(join(nodeModules, 'webray'), WEBRAY_DIR, nodeModules);
  // A sanity check that this really is the packed package, not a link into the workspace.
  const manifest = JSON.parse(readFileSync(join(nodeModules, 'webray', 'package.json'), 'utf8')) as { name: string };
  if (manifest.name !== 'webray' || !existsSync(join(nodeModules, 'webray', 'dist', 'node', 'entry.js'))) {
    throw new Error(`the packed webray in ${nodeModules}/webray has no dist/node/entry.js: was it built before packing?`);
  }
  return {
    dir,
    tarball: join(dir, 'webray.tgz'),
    build: (config, name) => viteBuild(dir, config, name),
    plugin: async () => {
      const file = join(nodeModules, 'webray', 'dist', 'vite.js');
      if (!existsSync(file)) throw new Error(`the packed webray has no dist/vite.js (the 'webray/vite' plugin the README documents)`);
      return ((await import(pathToFileURL(file).href)) as { default: (o?: Record<string, unknown>) => PluginOption }).default;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

async function viteBuild(dir: string, config: Record<string, unknown> | string, name = 'vite.config.js'): Promise<string> {
  const configFile = join(dir, name);
  writeFileSync(configFile, typeof config === 'string' ? config : `export default ${JSON.stringify(config, null, 2)};\n`);
  const viteBin = join(dirname(createRequire(import.meta.url).resolve('vite/package.json')), 'bin', 'vite.js');
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
