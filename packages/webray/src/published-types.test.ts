/**
 * The published declarations check in a user's project whatever its typings: a Node project
 * (lib ES2022 + @types/node, no DOM) and a browser project (lib ES2022 + DOM, no @types/node),
 * both strict and with `skipLibCheck: false`, so every webray .d.ts they reach is checked.
 * The declarations are emitted from the sources here (as `pnpm build` does), into a temp dir.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));
const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc');

/** A user's program: tasks, gets, an actor, a put and its release. */
const PROGRAM = `import * as ray from 'webray';
await ray.init({ numWorkers: 2 });
const square = ray.remote((x: number) => x * x);
const n: number = await ray.get(square.remote(3));
class Counter { n = 0; inc(by = 1) { return (this.n += by); } }
const counter = ray.remote(Counter).remote();
const m: number = await ray.get(counter.inc.remote(2));
const ref = ray.put(n + m);
console.log(await ray.get(ref));
ref.release();
await ray.shutdown();
`;

let tmp: string;
beforeAll(() => {
  // Outside the repo, so nothing resolves through the workspace by accident.
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'webray-types-'));
  const pkg = path.join(tmp, 'webray');
  fs.mkdirSync(pkg);
  fs.copyFileSync(path.join(PACKAGE_DIR, 'package.json'), path.join(pkg, 'package.json'));
  fs.symlinkSync(path.join(PACKAGE_DIR, 'node_modules'), path.join(pkg, 'node_modules'), 'dir');
  execFileSync(process.execPath, [TSC, '-p', path.join(PACKAGE_DIR, 'tsconfig.build.json'), '--emitDeclarationOnly', '--sourceMap', 'false', '--outDir', path.join(pkg, 'dist')], { stdio: 'pipe' });
}, 120_000);
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Writes a consumer project with these compiler options and returns tsc's complaints ('' when none). */
function check(name: string, options: Record<string, unknown>, withNodeTypes: boolean): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(path.join(dir, 'node_modules', '@types'), { recursive: true });
  fs.symlinkSync(path.join(tmp, 'webray'), path.join(dir, 'node_modules', 'webray'), 'dir');
  if (withNodeTypes) fs.symlinkSync(path.join(PACKAGE_DIR, 'node_modules', '@types', 'node'), path.join(dir, 'node_modules', '@types', 'node'), 'dir');
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  fs.writeFileSync(path.join(dir, 'main.ts'), PROGRAM);
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { target: 'es2022', strict: true, noEmit: true, skipLibCheck: false, ...options },
    files: ['main.ts'],
  }));
  try {
    execFileSync(process.execPath, [TSC, '-p', dir], { stdio: 'pipe', cwd: dir });
    return '';
  } catch (e) {
    return String((e as { stdout?: Buffer }).stdout ?? e);
  }
}

describe('published declarations', () => {
  it('check in a Node project without DOM typings (lib ES2022, types node)', () => {
    expect(check('node-app', { lib: ['ES2022'], types: ['node'], module: 'nodenext', moduleResolution: 'nodenext' }, true)).toBe('');
  }, 60_000);

  it('check in a browser project without @types/node (lib ES2022 + DOM)', () => {
    expect(check('browser-app', { lib: ['ES2022', 'DOM'], types: [], module: 'esnext', moduleResolution: 'bundler' }, false)).toBe('');
  }, 60_000);
});
