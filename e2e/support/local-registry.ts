/**
 * An npm registry on 127.0.0.1 that serves the packages this workspace installed (every package
 * in node_modules/.pnpm), so the e2e tests can run real `npm install` and `pnpm install` inside
 * the loopback-only network namespace. Tarballs are packed from the installed folders on first
 * request; a name the workspace lacks (e.g. another platform's optional binary) is a 404.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';

export interface LocalRegistry {
  /** e.g. http://127.0.0.1:41234/ */
  url: string;
  close(): Promise<void>;
}

interface Tarball {
  data: Buffer;
  integrity: string;
  shasum: string;
}

/** name -> version -> installed folder, from a pnpm virtual store. */
function scanVirtualStore(store: string): Map<string, Map<string, string>> {
  const packages = new Map<string, Map<string, string>>();
  const add = (dir: string) => {
    // A package's own folder is a real directory; its dependencies beside it are symlinks.
    if (!lstatSync(dir).isDirectory() || !existsSync(join(dir, 'package.json'))) return;
    const { name, version } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
    if (!name || !version) return;
    if (!packages.has(name)) packages.set(name, new Map());
    packages.get(name)!.set(version, dir);
  };
  for (const entry of readdirSync(store)) {
    const modules = join(store, entry, 'node_modules');
    if (!existsSync(modules)) continue;
    for (const name of readdirSync(modules)) {
      if (name.startsWith('@')) for (const sub of readdirSync(join(modules, name))) add(join(modules, name, sub));
      else add(join(modules, name));
    }
  }
  return packages;
}

function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/).map(Number);
  const pb = b.split(/[.-]/).map(Number);
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

export async function startLocalRegistry(workspaceNodeModules: string): Promise<LocalRegistry> {
  const packages = scanVirtualStore(join(workspaceNodeModules, '.pnpm'));
  const tarballs = new Map<string, Tarball>();
  const tarball = (name: string, version: string): Tarball => {
    const key = `${name}@${version}`;
    let t = tarballs.get(key);
    if (!t) {
      const dir = packages.get(name)!.get(version)!;
      const data = execFileSync('tar', ['-czf', '-', '--exclude=./node_modules', '--transform', 's,^\\./,package/,', '-C', dir, '.'], { maxBuffer: 512 * 1024 * 1024 });
      t = {
        data,
        integrity: `sha512-${createHash('sha512').update(data).digest('base64')}`,
        shasum: createHash('sha1').update(data).digest('hex'),
      };
      tarballs.set(key, t);
    }
    return t;
  };

  let base = '';
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).slice(1);
    const tgz = /^-\/tarball\/(.+)\/([^/]+)\.tgz$/.exec(path);
    if (tgz && packages.get(tgz[1]!)?.has(tgz[2]!)) {
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(tarball(tgz[1]!, tgz[2]!).data);
      return;
    }
    const versions = packages.get(path);
    if (!versions) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'Not found' }));
      return;
    }
    const sorted = [...versions.keys()].sort(compareVersions);
    const time: Record<string, string> = { created: '2020-01-01T00:00:00.000Z', modified: '2020-01-01T00:00:00.000Z' };
    const manifests: Record<string, unknown> = {};
    for (const version of sorted) {
      const manifest = JSON.parse(readFileSync(join(versions.get(version)!, 'package.json'), 'utf8')) as Record<string, unknown>;
      const t = tarball(path, version);
      manifests[version] = {
        ...manifest,
        _id: `${path}@${version}`,
        dist: { tarball: `${base}-/tarball/${encodeURIComponent(path)}/${version}.tgz`, integrity: t.integrity, shasum: t.shasum },
      };
      time[version] = '2020-01-01T00:00:00.000Z';
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({ name: path, 'dist-tags': { latest: sorted[sorted.length - 1] }, versions: manifests, time }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  base = `http://127.0.0.1:${port}/`;
  return {
    url: base,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
