import { createRequire } from 'node:module';
import { describe, it, expect } from 'vitest';
import * as shared from './source.js';
import { analyzeSource, UnshippableFunctionError, type SourceAnalysis } from './source.js';

const apiNames = ['init', 'remote', 'get', 'wait', 'put', 'cancel', 'kill', 'getActor', 'ObjectRef'] as const;
const analyze = (src: string, name?: string) => analyzeSource(src, { apiNames, name });

/** Catches the error analyzeSource throws (fails the test if it does not throw). */
function refusal(src: string, name?: string): UnshippableFunctionError {
  try {
    analyze(src, name);
  } catch (err) {
    expect(err).toBeInstanceOf(UnshippableFunctionError);
    return err as UnshippableFunctionError;
  }
  throw new Error(`expected ${src} to be refused`);
}

const nameHelper = (f: object, value: string) => Object.defineProperty(f, 'name', { value, configurable: true });
// Istanbul calls `cov_x().s[0]++` / `cov_x().b[1][0]++`: every step must accept reads, writes and `++`.
const coverage: unknown = new Proxy(() => coverage, {
  get: (_t, key) => (key === Symbol.toPrimitive ? () => 0 : coverage),
  set: () => true,
  apply: () => coverage,
});

/** Does what a worker does with a shipped descriptor: bind every free name, evaluate the source once. */
function compileOnWorker(a: SourceAnalysis, ray: Record<string, unknown>): any {
  const names = Object.keys(a.bindings);
  const values = names.map((n) => {
    const b = a.bindings[n]!;
    return b === 'ray' ? ray : b === 'name-helper' ? nameHelper : b === 'coverage' ? coverage : ray[b.api];
  });
  return new Function(...names, `return (${a.source})`)(...values);
}

const fakeRay = { get: (x: number) => x * 10, put: (x: number) => x + 1, wait: (x: number) => [x], remote: (f: unknown) => f };

describe('closures', () => {
  it('refuses a closure over a local and names the variable', () => {
    const offset = 10;
    function addOffset(x: number) {
      return x + offset;
    }
    const err = refusal(addOffset.toString(), addOffset.name);
    expect(err.name).toBe('UnshippableFunctionError');
    expect(err.variable).toBe('offset');
    expect(err.functionName).toBe('addOffset');
    expect(err.message).toBe(
      "ray.remote(addOffset): the function uses 'offset', a variable from the scope where it was defined. " +
        'Functions run on other workers by their source text, so closures are not shipped. ' +
        "Pass 'offset' as an argument, define it inside the function, or put the function in a module and use ray.remote(fn, { module, exportName }).",
    );
  });

  it('lists every offending variable, the first one in `variable`', () => {
    const err = refusal('(x) => scale * x + bias + scale');
    expect(err.variable).toBe('scale');
    expect(err.variables).toEqual(['scale', 'bias']);
    expect(err.message).toContain("'scale', 'bias'");
    expect(err.message).toContain('ray.remote(<anonymous>)');
  });

  it('takes the name for messages from opts.name (arrow source has none)', () => {
    expect(refusal('(x) => x + k', 'scaleBy').message).toMatch(/^ray\.remote\(scaleBy\): the function uses 'k'/);
  });

  it('refuses writes to outer variables, a name used beyond typeof, and top-level `arguments` in arrows', () => {
    expect(refusal('() => { count++; }').variable).toBe('count');
    expect(refusal('() => { [a, b] = [1, 2]; }').variables).toEqual(['a', 'b']);
    expect(refusal("() => typeof maybeDefined === 'undefined' ? 0 : maybeDefined").variable).toBe('maybeDefined');
    expect(refusal('() => arguments[0]').variable).toBe('arguments');
    expect(analyze('function f() { return () => arguments[0]; }').bindings).toEqual({});
  });

  it('names the class in messages and refuses free variables in extends and field initialisers', () => {
    const err = refusal('class Model extends Base { weights = initialWeights; }');
    expect(err.variables).toEqual(['Base', 'initialWeights']);
    expect(err.message).toMatch(/^ray\.remote\(Model\): the class uses 'Base', 'initialWeights', variables/);
  });
});

describe('globals', () => {
  it('allows Math, JSON, console, setTimeout and other globals without binding them', () => {
    const fn = async (xs: number[]) => {
      console.log(JSON.stringify(xs));
      await new Promise((r) => setTimeout(r, 0));
      return Math.max(...xs, -Infinity) + (Number.isNaN(NaN) ? 0 : 1) + (xs[0] === undefined ? 0 : 1) + (globalThis ? 0 : 1);
    };
    const a = analyze(fn.toString());
    expect(a.bindings).toEqual({});
    expect(a.kind).toBe('function');
  });

  it('treats globals with API-named members (Reflect.get, Atomics.wait) as globals, not as the ray namespace', () => {
    expect(analyze('(o) => Reflect.get(o, "x") + Atomics.wait.length').bindings).toEqual({});
  });

  it('accepts SharedArrayBuffer and Atomics on a page that lacks them (not cross-origin isolated): a worker may have them', () => {
    const saved = Object.getOwnPropertyDescriptor(globalThis, 'SharedArrayBuffer')!;
    delete (globalThis as Record<string, unknown>).SharedArrayBuffer;
    try {
      expect(analyze('(a) => typeof SharedArrayBuffer === "function" && a.buffer instanceof SharedArrayBuffer').bindings).toEqual({});
    } finally {
      Object.defineProperty(globalThis, 'SharedArrayBuffer', saved);
    }
  });

  it('uses a custom isGlobal predicate', () => {
    const isGlobal = (n: string) => n === 'workerConfig';
    expect(analyzeSource('() => workerConfig.size', { apiNames, isGlobal }).bindings).toEqual({});
    expect(() => analyzeSource('() => Math.PI', { apiNames, isGlobal })).toThrow(/'Math'/);
  });
});

describe('worker globals and feature detection', () => {
  it('accepts globals only a worker has, although this thread lacks them', () => {
    const a = analyze("() => { if (self instanceof WorkerGlobalScope) importScripts('x.js'); postMessage(DedicatedWorkerGlobalScope.name); }");
    expect(a.bindings).toEqual({});
  });

  it('accepts a name used only as the operand of typeof (feature detection)', () => {
    expect(analyze("() => typeof window !== 'undefined' && typeof someBrowserOnlyThing === 'function'").bindings).toEqual({});
  });
});

describe('remote functions from the defining scope', () => {
  it('refuses `sq.remote(x)` instead of binding sq to the ray namespace, showing the uses and self forms', () => {
    const err = refusal('async (x) => ray.get(sq.remote(x))');
    expect(err.variable).toBe('sq');
    expect(err.message).toContain('ray.remote(fn, { uses: { sq } })');
    expect(err.message).toContain("{ self: 'sq' }");
    expect(err.message).toContain('webray/vite');
  });

  it('still binds a renamed namespace used only for .remote', () => {
    expect(analyze('(f) => __vite_ssr_import_0__.remote(f)').bindings).toEqual({ __vite_ssr_import_0__: 'ray' });
    expect(analyze('(f) => ray$1.remote(f)').bindings).toEqual({ ray$1: 'ray' });
  });

  it('leaves provided names to the caller and reports which ones the source uses', () => {
    const a = analyzeSource('async (n) => n < 2 ? n : (await ray.get(fib.remote(n - 1))) + sq', { apiNames, provided: ['fib', 'sq', 'other'] });
    expect(a.bindings).toEqual({ ray: 'ray' });
    expect(a.provided).toEqual(['fib', 'sq']);
  });
});

describe('hints for code a tool transformed', () => {
  it('says to add the webray/vite plugin when a minified name is free', () => {
    const err = refusal('async (r) => { const v = await Q(r); return v + 1; }');
    expect(err.variable).toBe('Q');
    expect(err.message).toMatch(/add the webray\/vite plugin/);
  });

  it('says to target ES2017 or later when TypeScript inserted __awaiter/__generator', () => {
    const err = refusal('function (x) { return __awaiter(this, void 0, void 0, function () { return __generator(this, function (_a) { return [2, x]; }); }); }');
    expect(err.variables).toEqual(['__awaiter', '__generator']);
    expect(err.message).toMatch(/target to 'ES2017' or later/);
    expect(err.message).not.toMatch(/webray\/vite/);
  });

  it('adds no hint to a plain closure', () => {
    expect(refusal('(x) => x + offset').message).not.toMatch(/webray\/vite|ES2017|uses:/);
  });
});

describe('scope analysis', () => {
  const bound: [string, string][] = [
    ['params with destructuring, defaults and rest', 'function f({ a, b: [c, ...d] = [] }, e = a + c, ...rest) { return [a, c, d, e, rest]; }'],
    ['var hoisted out of blocks', 'function f() { if (Math.random()) { var x = 1; } y = 2; return x + y; var y; }'],
    ['for / for-in / for-of heads', '(xs) => { let s = 0; for (let i = 0; i < xs.length; i++) s += xs[i]; for (const k in xs) s += k; for (const [a, b] of xs) s += a + b; for (var j of xs) {} return s + j; }'],
    ['hoisted function declarations', '() => { return helper(2); function helper(n) { return n * 2; } }'],
    ['block-level function (sloppy-mode hoisting)', '() => { if (true) { function inner() { return 1; } } return inner(); }'],
    ['named function expressions', 'function fact(n) { return n <= 1 ? 1 : n * fact(n - 1); }'],
    ['named function expression inside', '() => { const f = function self2() { return self2; }; return f; }'],
    ['class declarations and named class expressions', '() => { class Point { static origin() { return new Point(); } } const Q = class Self { clone() { return new Self(); } }; return [Point, Q]; }'],
    ['catch parameters', "() => { try { JSON.parse('{'); } catch ({ message }) { return message; } try {} catch (e) { return e; } }"],
    ['labels', '(xs) => { outer: for (const x of xs) { for (const y of xs) { if (y) continue outer; break outer; } } }'],
    ['property keys and member names', "(o) => ({ a: o.b, c: o['d'], e() { return 1; }, get f() { return 2; }, 'g': o?.h })"],
    ['new.target, this and super', 'class A extends Object { constructor() { super(); this.t = new.target; } m() { return super.toString() + this.x; } }'],
    ['class fields, private names and static blocks', 'class C { #x = 1; static #count = 0; y = this.#x; static { let tmp = 1; C.#count = tmp; } #m() { return #x in this; } }'],
    ['arguments in non-arrow functions', 'function f() { return () => arguments.length; }'],
    ['destructuring assignment to locals', '() => { let a, b; [a, { b }] = [1, { b: 2 }]; return a + b; }'],
    ['switch-scoped declarations', '(k) => { switch (k) { case 1: let v = 1; return v; default: return 0; } }'],
  ];
  it.each(bound)('%s are not free', (_label, src) => {
    expect(analyze(src).bindings).toEqual({});
  });

  const free: [string, string, string[]][] = [
    ['let is block scoped', '() => { { let x = 1; } return x; }', ['x']],
    ['for-let is scoped to the loop', '() => { for (let i = 0; i < 1; i++) {} return i; }', ['i']],
    ['shorthand property is a reference', '() => ({ b })', ['b']],
    ['computed keys and members are references', '(o) => ({ [key]: o[k], m: o.m })', ['key', 'k']],
    ['computed class keys are references', 'class C { [methodName]() {} [fieldName] = 1 }', ['methodName', 'fieldName']],
    ['parameter defaults do not see the body', 'function f(a = b) { var b = 1; return a; }', ['b']],
    ['catch parameter is scoped to the catch', '() => { try {} catch (e) {} return e; }', ['e']],
    ['a label does not declare a variable', '() => { loop: for (;;) { break loop; } return loop; }', ['loop']],
    ['a default value in destructuring', '({ a = fallback }) => a', ['fallback']],
  ];
  it.each(free)('%s', (_label, src, vars) => {
    expect(refusal(src).variables).toEqual(vars);
  });
});

describe('method shorthand', () => {
  it('turns `foo(x) {}` into a function the worker can evaluate and call', () => {
    const obj = { double(x: number) { return x * 2; } };
    const a = analyze(obj.double.toString());
    expect(a.kind).toBe('function');
    expect(a.name).toBe('double');
    expect(a.source).toMatch(/^function double\(x\) \{/);
    const fn = new Function('return (' + a.source + ')')();
    expect(fn(21)).toBe(42);
    expect(fn.name).toBe('double');
  });

  it('handles async, generator and async generator methods', async () => {
    const obj = {
      async inc(x: number) { return x + 1; },
      *count(n: number) { for (let i = 0; i < n; i++) yield i; },
      async *countAsync(n: number) { for (let i = 0; i < n; i++) yield i; },
    };
    const inc = analyze(obj.inc.toString());
    expect(inc.source.startsWith('async function inc(')).toBe(true);
    expect(await new Function('return (' + inc.source + ')')()(1)).toBe(2);

    const count = analyze(obj.count.toString());
    expect(count.source.startsWith('function* count(')).toBe(true);
    expect([...new Function('return (' + count.source + ')')()(3)]).toEqual([0, 1, 2]);

    const countAsync = analyze(obj.countAsync.toString());
    expect(countAsync.source.startsWith('async function* countAsync(')).toBe(true);
    const out: number[] = [];
    for await (const v of new Function('return (' + countAsync.source + ')')()(2)) out.push(v);
    expect(out).toEqual([0, 1]);
  });

  it('keeps the parameters and body byte-identical', () => {
    const src = 'scale(x, /* c */ { k = 2 } = {}) {\n  return x * k; // twice\n}';
    expect(analyze(src).source).toBe('function scale(x, /* c */ { k = 2 } = {}) {\n  return x * k; // twice\n}');
  });

  it('leaves the function anonymous when the name is a keyword or computed', () => {
    const del = analyze('delete(x) { return x; }');
    expect(del.name).toBe('delete');
    expect(del.source).toBe('function(x) { return x; }');
    expect(new Function('return (' + del.source + ')')()(5)).toBe(5);
    const sym = analyze('[Symbol.iterator]() { return [][Symbol.iterator](); }');
    expect(sym.name).toBe('');
    expect([...new Function('return (' + sym.source + ')')()()]).toEqual([]);
  });

  it('does not let the method name capture a free reference to the same name', () => {
    // In a method `get` inside the body is the outer `get` (here the ray API); a named
    // function expression would make it recursive.
    const a = analyze('get(r) { return get(r); }');
    expect(a.bindings).toEqual({ get: { api: 'get' } });
    expect(a.source).toBe('function(r) { return get(r); }');
    expect(compileOnWorker(a, fakeRay)(4)).toBe(40);
  });

  it('refuses methods using super, and getters/setters', () => {
    expect(refusal('m() { return super.m(); }').message).toMatch(/super/);
    expect(refusal('get size() { return 1; }').message).toMatch(/getters and setters/);
  });

  it('returns other sources unchanged', () => {
    for (const src of ['function f(a) { return a; }', 'async (a) => a', 'class K { m() {} }', 'function* g() {}']) {
      expect(analyze(src).source).toBe(src);
    }
  });
});

describe('bundler and test-runner transforms', () => {
  it('binds esbuild/Vitest keepNames `__name` to the name helper', () => {
    const src = '(x) => { const g = /* @__PURE__ */ __name((y) => y * 3, "g"); return [g(x), g.name]; }';
    const a = analyze(src);
    expect(a.bindings).toEqual({ __name: 'name-helper' });
    expect(compileOnWorker(a, fakeRay)(2)).toEqual([6, 'g']);
  });

  const renamed: [string, SourceAnalysis['bindings']][] = [
    ['(r) => __vite_ssr_import_0__.get(r)', { __vite_ssr_import_0__: 'ray' }],
    ['(f) => (0, __vite_ssr_import_1__.remote)(f)', { __vite_ssr_import_1__: 'ray' }],
    ['(x) => __vi_import_0__.put(x)', { __vi_import_0__: 'ray' }],
    ['(x) => webray_exports.get(x)', { webray_exports: 'ray' }],
    ['(x) => ray$1.wait(x)', { ray$1: 'ray' }],
    ["(r) => __vite_ssr_import_0__['get'](r) + __vite_ssr_import_0__.put(r)", { __vite_ssr_import_0__: 'ray' }],
    ['(r) => get$1(r)', { get$1: { api: 'get' } }],
    ['(r) => get2(r)', { get2: { api: 'get' } }],
    ['(r) => put_1(r)', { put_1: { api: 'put' } }],
    ['(f) => remote(f)', { remote: { api: 'remote' } }],
    ['(r) => ray.anything(r)', { ray: 'ray' }],
  ];
  it.each(renamed)('%s', (src, bindings) => {
    const a = analyze(src);
    expect(a.bindings).toEqual(bindings);
    expect(typeof compileOnWorker(a, fakeRay)).toBe('function');
  });

  it('calls the bound runtime for renamed namespaces and direct API functions', () => {
    expect(compileOnWorker(analyze('(r) => __vite_ssr_import_0__.get(r)'), fakeRay)(3)).toBe(30);
    expect(compileOnWorker(analyze('(r) => (0, __vite_ssr_import_1__.put)(r)'), fakeRay)(3)).toBe(4);
    expect(compileOnWorker(analyze('(r) => get$1(r)'), fakeRay)(3)).toBe(30);
  });

  it('refuses a free name that is not used only as the ray namespace', () => {
    expect(refusal('(x) => lodash.chunk(x)').variable).toBe('lodash');
    expect(refusal('(x) => ns.get(x) + ns').variable).toBe('ns');
    expect(refusal('(x) => helper3(x)').variable).toBe('helper3');
  });

  it('binds Istanbul coverage counters to a no-op counter', () => {
    const a = analyze('function add(a, b) { cov_1x2y3z().f[0]++; cov_1x2y3z().s[0]++; cov_1x2y3z().b[1][0]++; return a + b; }');
    expect(a.bindings).toEqual({ cov_1x2y3z: 'coverage' });
    expect(compileOnWorker(a, fakeRay)(1, 2)).toBe(3);
  });

  it("ships a function Vitest's transform rewrote (import namespace renamed)", () => {
    const fn = (src: string) => shared.analyzeSource(src, { apiNames: [] }).kind;
    const a = analyzeSource(fn.toString(), { apiNames: ['analyzeSource'] });
    expect(Object.values(a.bindings)).toEqual(['ray']);
    expect(compileOnWorker(a, shared as unknown as Record<string, unknown>)('class A {}')).toBe('class');
  });

  it('ships functions, methods and classes from a real keepNames bundle (rolldown, via vite)', async () => {
    const vite = createRequire(import.meta.url).resolve('vite');
    // rolldown is vite's bundler; it is not a dependency of this package, so type the little we use.
    type Bundle = { generate(o: object): Promise<{ output: { code: string }[] }> };
    const { rolldown } = (await import(createRequire(vite).resolve('rolldown'))) as { rolldown(o: object): Promise<Bundle> };
    const files: Record<string, string> = {
      entry: `import * as ray from 'webray'; import { get } from './other';
        export const unrelated = () => get();
        export function addAll(xs) { const sq = (y) => y * y; return ray.get(xs.map(sq).reduce((a, b) => a + b, 0)); }
        export const obj = { async fetch(r) { return ray.get(r); } };
        export class Acc { total = 0; async add(r) { this.total += await ray.get(r); return this.total; } sync() { return ray.put(this.total); } }`,
      './other': 'export function get() { return 1 }',
      webray: 'export function get(x) { return x } export function put(x) { return x }',
    };
    const plugin = { name: 'virtual', resolveId: (id: string) => (id in files ? id : null), load: (id: string) => files[id] };
    const seen: string[] = [];
    for (const external of [true, false]) {
      const bundle = await rolldown({ input: 'entry', external: external ? ['webray'] : [], plugins: [plugin] });
      for (const minify of [false, true]) {
        const { output } = await bundle.generate({ format: 'cjs', keepNames: true, minify });
        const mod: { exports: Record<string, any> } = { exports: {} };
        new Function('module', 'exports', 'require', output[0].code)(mod, mod.exports, () => ({ get: () => -1, put: () => -1 }));
        const { addAll, obj, Acc } = mod.exports;

        const fn = analyze(addAll.toString());
        seen.push(...Object.keys(fn.bindings));
        expect(compileOnWorker(fn, fakeRay)([1, 2])).toBe(50);

        const method = analyze(obj.fetch.toString());
        expect(method.source).toMatch(/^async function fetch\(/);
        expect(await compileOnWorker(method, fakeRay)(7)).toBe(70);

        const cls = analyze(Acc.toString());
        expect(cls.kind).toBe('class');
        expect(cls.methods).toEqual(['add', 'sync']);
        expect(cls.asyncMethods).toEqual(['add']);
        const acc = new (compileOnWorker(cls, fakeRay))();
        expect(await acc.add(1)).toBe(10);
        expect(acc.sync()).toBe(11);
      }
    }
    // Both forms were exercised: a renamed namespace and an inlined, renamed API function.
    expect(seen).toContain('get$1');
    expect(seen.some((n) => n !== 'get$1' && n !== 'ray')).toBe(true);
  });
});

describe('refusals of unusable source', () => {
  it('refuses bound and native functions', () => {
    function scale(this: { k: number }, x: number) { return x * this.k; }
    for (const f of [Math.max, scale.bind({ k: 2 }), Array.prototype.map]) {
      expect(refusal(f.toString()).message).toMatch(/bound functions and native\/built-in functions cannot be shipped/);
    }
  });

  it('refuses source that does not parse, pointing to the module form', () => {
    const err = refusal('function broken(x) { return x +; }');
    expect(err.functionName).toBe('broken');
    expect(err.message).toMatch(/^ray\.remote\(broken\): the function's source could not be parsed/);
    expect(err.message).toContain('ray.remote(fn, { module, exportName })');
  });

  it('refuses source that is not a function or class', () => {
    expect(refusal('42').message).toMatch(/expected the source of a function or class/);
    expect(refusal('(function a() {}), (function b() {})').message).toMatch(/expected the source/);
  });
});

describe('classes', () => {
  it('lists prototype methods and the async ones', () => {
    class Counter {
      count = 0;
      constructor() { this.count = 1; }
      inc() { return ++this.count; }
      async fetchAll() { return [this.count]; }
      *gen() { yield this.count; }
      async *stream() { yield this.count; }
      get value() { return this.count; }
      set value(v: number) { this.count = v; }
      static create() { return new Counter(); }
      #hidden() { return 0; }
      ['computed']() { return this.#hidden(); }
    }
    const a = analyze(Counter.toString());
    expect(a.kind).toBe('class');
    expect(a.name).toBe('Counter');
    expect(a.methods).toEqual(['inc', 'fetchAll', 'gen', 'stream', 'computed']);
    expect(a.asyncMethods).toEqual(['fetchAll', 'stream']);
    expect(a.bindings).toEqual({});
    const C = new Function('return (' + a.source + ')')();
    expect(new C().inc()).toBe(2);
  });

  it('reports no methods for functions and an empty name for anonymous classes', () => {
    expect(analyze('function f() {}').methods).toEqual([]);
    expect(analyze('class { async run() {} }')).toMatchObject({ name: '', methods: ['run'], asyncMethods: ['run'] });
  });
});
