/**
 * What `npm pack` of webray contains: what an npm user installs and what the registry page
 * shows. Packs the built package (the test run builds first) into a temp dir and unpacks it.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));
const REPO_README = path.join(PACKAGE_DIR, '..', '..', 'README.md');

let tmp: string;
let files: string[];
let unpacked: string;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'webray-pack-'));
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', tmp], {
    cwd: PACKAGE_DIR,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 60_000,
  });
  const [result] = JSON.parse(out) as { filename: string; files: { path: string }[] }[];
  files = result!.files.map((f) => f.path).sort();
  unpacked = path.join(tmp, 'unpacked');
  fs.mkdirSync(unpacked);
  execFileSync('tar', ['-xzf', path.join(tmp, result!.filename), '-C', unpacked]);
  unpacked = path.join(unpacked, 'package');
}, 60_000);

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('npm pack of webray', () => {
  it('ships the repository README (copied at pack time, not kept in the package folder)', () => {
    expect(files).toContain('README.md');
    expect(fs.readFileSync(path.join(unpacked, 'README.md'), 'utf8')).toBe(fs.readFileSync(REPO_README, 'utf8'));
    expect(fs.existsSync(path.join(PACKAGE_DIR, 'README.md'))).toBe(false); // postpack removed the copy
  });

  it('ships the Apache-2.0 license text its package.json declares', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(unpacked, 'package.json'), 'utf8')) as { license: string };
    expect(manifest.license).toBe('Apache-2.0');
    expect(files).toContain('LICENSE');
    const license = fs.readFileSync(path.join(unpacked, 'LICENSE'), 'utf8');
    expect(license).toMatch(/Apache License\s+Version 2\.0, January 2004/);
    expect(license).toMatch(/END OF TERMS AND CONDITIONS/);
  });

  it('ships every entry point its exports map names', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(unpacked, 'package.json'), 'utf8')) as { exports: Record<string, string | Record<string, string>> };
    const targets = Object.values(manifest.exports).flatMap((t) => (typeof t === 'string' ? [t] : Object.values(t)));
    expect(targets.length).toBeGreaterThan(0);
    for (const target of targets) expect(files, target).toContain(path.posix.normalize(target));
    expect(files).toContain('dist/node/entry.js'); // the worker entry, loaded by URL
  });

  it('ships no tests and no test helpers', () => {
    expect(files.filter((f) => /\.test\.|test-support|fixtures/.test(f))).toEqual([]);
  });

  it('ships the sources its source maps point to (and nothing under src/ that is not one)', () => {
    const maps = files.filter((f) => f.endsWith('.js.map'));
    expect(maps.length).toBeGreaterThan(0);
    const referenced = new Set<string>();
    for (const map of maps) {
      const { sources } = JSON.parse(fs.readFileSync(path.join(unpacked, map), 'utf8')) as { sources: string[] };
      for (const source of sources) referenced.add(path.posix.join(path.posix.dirname(map), source));
    }
    const missing = [...referenced].filter((f) => !files.includes(f));
    expect(missing).toEqual([]);
    expect(files.filter((f) => f.startsWith('src/') && !referenced.has(f))).toEqual([]);
  });
});
