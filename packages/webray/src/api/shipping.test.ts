/** Code reaches nodes by source or by module, whatever tools touched the caller's code. */
import { transformSync } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ray from '../index.js';

beforeAll(() => ray.init({ numWorkers: 2 }));
afterAll(() => ray.shutdown());

/** A function made from source text, as a bundler would have emitted it. */
function fromBuiltSource<T>(code: string, helpers: Record<string, unknown>): T {
  return new Function(...Object.keys(helpers), `return (${code.trim().replace(/;$/, '')});`)(...Object.values(helpers)) as T;
}

describe('source shipping', () => {
  it('runs functions that esbuild keepNames rewrote with __name calls', async () => {
    const { code } = transformSync(
      'capture((x) => { const inner = (y) => y + 1; class Box { get() { return inner(x); } } return [new Box().get(), inner.name, Box.name]; });',
      { keepNames: true, loader: 'js' },
    );
    let fn: ((x: number) => [number, string, string]) | undefined;
    new Function('capture', code)((f: typeof fn) => { fn = f; });
    expect(String(fn)).toContain('__name(');
    expect(await ray.get(ray.remote(fn!).remote(41))).toEqual([42, 'inner', 'Box']);
  });

  it('binds a bundler-renamed ray namespace and renamed API functions to the runtime', async () => {
    const renamedNamespace = fromBuiltSource<(x: number) => Promise<number>>(
      'async (x) => { const f = webray_exports.remote((y) => y * 3); return webray_exports.get(f.remote(x)); }', { webray_exports: ray });
    expect(await ray.get(ray.remote(renamedNamespace).remote(2))).toBe(6);
    const inlinedCalls = fromBuiltSource<(x: number) => Promise<string>>(
      'async (x) => { const f = remote$1((y) => y + "!"); return get$2(f.remote(x)); }', { remote$1: ray.remote, get$2: ray.get });
    expect(await ray.get(ray.remote(inlinedCalls).remote(5))).toBe('5!');
  });

  it('refuses a function whose free variable would not resolve on the node, naming it', () => {
    const table = { a: 1 };
    expect(() => ray.remote(() => table.a)).toThrow(ray.UnshippableFunctionError);
    expect(() => ray.remote(() => table.a)).toThrow(/'table'/);
  });

  it('refuses bound and native functions', () => {
    expect(() => ray.remote(Math.max)).toThrow(/native/);
    expect(() => ray.remote(((x: number) => x).bind(null))).toThrow(/bound/);
  });
});

describe('module shipping', () => {
  const module = new URL('../../test-support/fixtures/tasks-with-imports.mjs', import.meta.url);

  it('runs a function from a module that imports a library', async () => {
    const { countNodes } = await import(module.href);
    const f = ray.remote(countNodes as (code: string) => number, { module });
    expect(await ray.get(f.remote('let a = 1; let b = 2;'))).toBe(2);
  });

  it('lets module code use the webray import for nested tasks', async () => {
    const { nestedFromModule } = await import(module.href);
    const f = ray.remote(nestedFromModule as (x: number) => Promise<number>, { module });
    expect(await ray.get(f.remote(21))).toBe(42);
  });

  it('creates actors from a module class', async () => {
    const { Tokenizer } = await import(module.href);
    const T = ray.remote(Tokenizer as new () => { count(code: string): number }, { module });
    const t = T.remote();
    expect(await ray.get(t.count.remote('1; 2; 3;'))).toBe(3);
  });

  it('says which export is missing', async () => {
    const f = ray.remote(function notThere() { return 1; }, { module });
    await expect(ray.get(f.remote())).rejects.toThrow(/has no exported function or class 'notThere'/);
  });
});
