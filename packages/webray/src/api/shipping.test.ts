/** Code reaches nodes by source or by module, whatever tools touched the caller's code. */
import { transformSync } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ray from '../index.js';
import { addUses } from '../vite/uses.js';

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

describe('remote functions a task uses', () => {
  it('refuses a task that calls a module-level remote function it was not told about, showing the uses form', () => {
    const sq = ray.remote((x: number) => x * x);
    const f = () => ray.remote(async (x: number) => ray.get(sq.remote(x)));
    expect(f).toThrow(ray.UnshippableFunctionError);
    expect(f).toThrow(/'sq'.*ray\.remote\(fn, \{ uses: \{ sq \} \}\)/s);
  });

  it('refuses a task module in uses: its signed content would not be checked', () => {
    const shift = ray.remote((x: number) => x, { module: 'data:text/javascript,export function shift(x) { return x + 1; }', exportName: 'shift' });
    const f = () => ray.remote(async (x: number) => ray.get(shift.remote(x)), { uses: { shift } });
    expect(f).toThrow(ray.RayUsageError);
    expect(f).toThrow(/uses\.shift is a task module/);
  });

  it('runs a task that calls remote functions named in uses, with their options', async () => {
    const sq = ray.remote((x: number) => x * x);
    const pair = ray.remote((x: number) => [x, -x]).options({ numReturns: 2 });
    const f = ray.remote(async (x: number) => {
      const [a, b] = pair.remote(x);
      return ray.get([sq.remote(x), a, b]);
    }, { uses: { sq, pair } });
    expect(await ray.get(f.remote(7))).toEqual([49, 7, -7]);
  });

  it('tells functions with the same source but other uses apart', async () => {
    const sq = ray.remote((x: number) => x * x);
    const cube = ray.remote((x: number) => x * x * x);
    const source = async (x: number) => ray.get(g.remote(x));
    let g = sq;
    const viaSq = ray.remote(source, { uses: { g: sq } });
    g = cube;
    const viaCube = ray.remote(source, { uses: { g: cube } });
    expect(await ray.get([viaSq.remote(2), viaCube.remote(2)])).toEqual([4, 8]);
  });

  it('lets a task call itself through self (recursion)', async () => {
    const fib = ray.remote(async (n: number): Promise<number> => {
      if (n < 2) return n;
      const [a, b] = await ray.get([fib.remote(n - 1), fib.remote(n - 2)]);
      return a + b;
    }, { self: 'fib' });
    expect(await ray.get(fib.remote(7))).toBe(13);
  });

  it('creates actors inside a task from an actor class named in uses', async () => {
    class Acc { total = 0; add(x: number) { return (this.total += x); } }
    const Accumulator = ray.remote(Acc);
    const f = ray.remote(async (xs: number[]) => {
      const acc = Accumulator.remote();
      let last = 0;
      for (const x of xs) last = await ray.get(acc.add.remote(x));
      return last;
    }, { uses: { Accumulator } });
    expect(await ray.get(f.remote([1, 2, 3]))).toBe(6);
  });

  it('refuses uses that are not remote functions, names the function does not use, and unknown options', () => {
    const sq = ray.remote((x: number) => x * x);
    const plain = (x: number) => x;
    expect(() => ray.remote((x: number) => plain(x), { uses: { plain } } as never)).toThrow(/uses\.plain must be a remote function or actor class.*plain function plain/);
    expect(() => ray.remote((x: number) => x, { uses: { sq } })).toThrow(/uses no variable 'sq'/);
    expect(() => ray.remote((x: number) => x, { use: { sq } } as never)).toThrow(/unknown option 'use'/);
    expect(() => ray.remote((x: number) => x, { self: 'not a name' })).toThrow(ray.RayUsageError);
    expect(() => ray.remote(class Node { next() { return Node; } }, { self: 'Node' })).toThrow(/a class cannot name itself/);
    expect(() => ray.remote((x: number) => sq.remote(x), { uses: () => [sq.options({})] })).toThrow(/an arrow returning an array of variables/);
  });
});

describe('the webray/vite uses transform', () => {
  it('runs a module the plugin gave uses and self, without the user naming them', async () => {
    const importLine = "import * as ray from 'webray';\n";
    const transformed = addUses(importLine +
      'const sq = ray.remote((x) => x * x);\n' +
      'const sumSquares = ray.remote(async (n) => n === 0 ? 0 : (await ray.get(sq.remote(n))) + (await ray.get(sumSquares.remote(n - 1))));\n');
    const sumSquares = new Function('ray', transformed.replace(importLine, '') + 'return sumSquares;')(ray);
    expect(await ray.get(sumSquares.remote(3))).toBe(14);
  });
});

describe('actor classes as arguments', () => {
  it('revives an actor class passed to a task, which creates an actor from it', async () => {
    class Counter { n = 0; inc() { return ++this.n; } }
    const C = ray.remote(Counter);
    const f = ray.remote(async (cls: typeof C) => {
      const c = cls.remote();
      await ray.get(c.inc.remote());
      return ray.get(c.inc.remote());
    });
    expect(await ray.get(f.remote(C))).toBe(2);
  });
});

describe('generators', () => {
  it('refuses generator functions at ray.remote time', () => {
    expect(() => ray.remote(function* count() { yield 1; })).toThrow(/ray\.remote\(count\): generator functions cannot be tasks yet/);
    expect(() => ray.remote(async function* () { yield 1; })).toThrow(ray.RayUsageError);
  });

  it('fails a task that returns a generator object, instead of hanging', async () => {
    const f = ray.remote(() => (function* () { yield 1; })());
    await expect(ray.get(f.remote(), { timeout: 30_000 })).rejects.toThrow(/generator or iterator object/);
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
