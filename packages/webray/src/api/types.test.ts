/**
 * The public types are the API's documentation: these assertions are checked by the compiler,
 * and the last test runs the compiler over the package so a wrong type fails the suite.
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import * as ray from '../index.js';

class Counter {
  n = 0;
  inc(by = 1): number { return (this.n += by); }
  async load(url: string): Promise<string[]> { return [url]; }
}

beforeAll(() => ray.init({ numWorkers: 1 }));
afterAll(() => ray.shutdown());

describe('types', () => {
  it('infer a remote function from its function, accepting refs for arguments', () => {
    const square = ray.remote((x: number) => x * x);
    expectTypeOf(square).toEqualTypeOf<ray.RemoteFunction<[x: number], number>>();
    expectTypeOf(square.remote(2)).toEqualTypeOf<ray.ObjectRef<number>>();
    expectTypeOf(square.remote).parameter(0).toEqualTypeOf<number | ray.ObjectRef<number>>();
    const asyncFn = ray.remote(async (s: string) => s.length);
    expectTypeOf(asyncFn.remote('a')).toEqualTypeOf<ray.ObjectRef<number>>();
    // @ts-expect-error a string is not a number
    square.remote('two');
  });

  it('type numReturns as one ref per tuple element', () => {
    const pair = ray.remote((): [string, boolean] => ['a', true]).options({ numReturns: 2 });
    expectTypeOf(pair.remote()).toEqualTypeOf<[ray.ObjectRef<string>, ray.ObjectRef<boolean>]>();
  });

  it('type get by the refs it is given', () => {
    const a = ray.put(1);
    const b = ray.put('x');
    expectTypeOf(ray.get(a)).toEqualTypeOf<Promise<number>>();
    expectTypeOf(ray.get([a, b])).toEqualTypeOf<Promise<[number, string]>>();
    const many: ray.ObjectRef<number>[] = [a, a];
    expectTypeOf(ray.get(many)).toEqualTypeOf<Promise<number[]>>();
  });

  it('return get of a literal list as a mutable tuple, assignable to an array', async () => {
    const a = ray.put(1);
    const b = ray.put(2);
    const xs: number[] = await ray.get([a, b]);
    xs.push(3);
    const [first, second] = await ray.get([a, ray.put('s')]);
    expectTypeOf(first).toEqualTypeOf<number>();
    expectTypeOf(second).toEqualTypeOf<string>();
    // @ts-expect-error the second value is a string, not a number
    const wrong: number[] = await ray.get([a, ray.put('s')]);
    void wrong;
  });

  it('type wait over refs of different types without a type argument', async () => {
    const n = ray.put(1);
    const s = ray.put('x');
    const [ready, notReady] = await ray.wait([n, s], { numReturns: 2 });
    expectTypeOf(ready).toEqualTypeOf<(ray.ObjectRef<number> | ray.ObjectRef<string>)[]>();
    expectTypeOf(notReady).toEqualTypeOf<(ray.ObjectRef<number> | ray.ObjectRef<string>)[]>();
    const nums: ray.ObjectRef<number>[] = [n];
    const [done] = await ray.wait(nums);
    expectTypeOf(await ray.get(done)).toEqualTypeOf<number[]>();
    // Never called: only the compiler looks at these.
    // @ts-expect-error wait takes an array of refs, not one ref
    const single = () => ray.wait(n);
    // @ts-expect-error not a wait option
    const misspelt = () => ray.wait([n], { num_returns: 1 });
    void single; void misspelt;
  });

  it('give actor handles every method of the class', () => {
    const C = ray.remote(Counter);
    const c = C.remote();
    expectTypeOf(c.inc.remote(1)).toEqualTypeOf<ray.ObjectRef<number>>();
    expectTypeOf(c.load.remote('u')).toEqualTypeOf<ray.ObjectRef<string[]>>();
    // @ts-expect-error no such method (and at run time a RayUsageError names it)
    expect(() => c.missing).toThrow(/has no method 'missing'/);
    // @ts-expect-error wrong argument type
    c.inc.remote('one');
  });

  it('compile cleanly, these assertions included', () => {
    const require = createRequire(import.meta.url);
    const tsc = require.resolve('typescript/bin/tsc');
    const project = fileURLToPath(new URL('../../tsconfig.json', import.meta.url));
    const run = () => execFileSync(process.execPath, [tsc, '-p', project, '--noEmit'], { encoding: 'utf8' });
    expect(run).not.toThrow();
  }, 120_000);
});
