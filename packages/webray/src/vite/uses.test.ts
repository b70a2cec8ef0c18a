/** The webray/vite plugin's `uses` transform, run on module source as Vite hands it over (TypeScript already stripped). */
import { describe, expect, it } from 'vitest';
import { addUses, usesPlugin } from './uses.js';

const ns = "import * as ray from 'webray';\n";

describe('webray/vite: uses', () => {
  it('names the module-level remote functions a shipped function calls', () => {
    const code = ns +
      'const sq = ray.remote((x) => x * x);\n' +
      'const add = ray.remote((a, b) => a + b).options({ numCpus: 1 });\n' +
      'export const f = ray.remote(async (x) => ray.get(add.remote(sq.remote(x), 1)));\n';
    expect(addUses(code)).toBe(ns +
      'const sq = ray.remote((x) => x * x);\n' +
      'const add = ray.remote((a, b) => a + b).options({ numCpus: 1 });\n' +
      'export const f = ray.remote(async (x) => ray.get(add.remote(sq.remote(x), 1)), { uses: () => [add, sq] });\n');
  });

  it('names the function itself for recursion, also behind .options(...)', () => {
    const code = ns + 'const fib = ray.remote(async (n) => n < 2 ? n : (await ray.get(fib.remote(n - 1))) + 1).options({ maxRetries: 0 });\n';
    expect(addUses(code)).toContain("ray.get(fib.remote(n - 1))) + 1, { self: () => fib }).options({ maxRetries: 0 })");
  });

  it('works with a named import of remote and with actor classes, and merges into an options literal', () => {
    const code = "import { remote as r, get } from 'webray';\n" +
      'const Counter = r(class { n = 0; inc() { return ++this.n; } });\n' +
      'const f = r(async () => { const c = Counter.remote(); return get(c.inc.remote()); }, {});\n';
    expect(addUses(code)).toContain('return get(c.inc.remote()); }, { uses: () => [Counter],});');
  });

  it('leaves alone what it must not touch', () => {
    const untouched = [
      // a remote function declared after the call is not initialised when the call runs
      ns + 'const f = ray.remote((x) => g.remote(x));\nconst g = ray.remote((x) => x);\n',
      // options that already say what the function uses, or that are not a literal
      ns + 'const sq = ray.remote((x) => x);\nconst f = ray.remote((x) => sq.remote(x), { uses: { sq } });\n',
      ns + 'const sq = ray.remote((x) => x);\nconst f = ray.remote((x) => sq.remote(x), opts);\n',
      // a local function, not a remote one; a variable that is not module-level
      ns + 'const helper = (x) => x;\nconst f = ray.remote((x) => helper(x));\n',
      // no webray import: another library's `remote`
      "import * as other from 'other';\nconst sq = other.remote((x) => x);\nconst f = other.remote((x) => sq.remote(x));\n",
      // not JavaScript (yet)
      ns + 'const f = ray.remote((x: number) => x);\n',
    ];
    for (const code of untouched) expect(addUses(code)).toBe(code);
  });

  it('transforms the app’s modules, not dependencies', () => {
    const plugin = usesPlugin();
    const transform = plugin.transform as (code: string, id: string) => { code: string } | null;
    const code = ns + 'const sq = ray.remote((x) => x);\nconst f = ray.remote((x) => sq.remote(x));\n';
    expect(transform(code, '/app/src/main.ts?v=1')?.code).toContain('{ uses: () => [sq] }');
    expect(transform(code, '/app/node_modules/lib/index.js')).toBeNull();
    expect(transform(code, '/app/src/style.css')).toBeNull();
  });
});
