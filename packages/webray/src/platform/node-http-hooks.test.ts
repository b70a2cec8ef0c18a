import { describe, expect, it } from 'vitest';
import { resolve } from './node-http-hooks.js';

const next = async (s: string) => ({ url: `next:${s}` });
const from = (parentURL: string, specifier: string) => resolve(specifier, { parentURL }, next);

describe('the http module hooks of Node hosts', () => {
  it('resolve a module\'s relative and absolute imports against its http URL', async () => {
    expect(await from('http://127.0.0.1:5173/src/rl/rollouts.ts', './es.ts')).toEqual({ url: 'http://127.0.0.1:5173/src/rl/es.ts', shortCircuit: true });
    expect(await from('http://127.0.0.1:5173/src/rl/rollouts.ts', '/node_modules/.vite/deps/mujoco-js.js?v=1')).toEqual({ url: 'http://127.0.0.1:5173/node_modules/.vite/deps/mujoco-js.js?v=1', shortCircuit: true });
  });

  it('give Node\'s builtin where Vite served its browser stand-in (MuJoCo\'s `import(\'module\')` in Node)', async () => {
    const dep = 'http://127.0.0.1:5173/node_modules/.vite/deps/mujoco-js.js?v=3c8529ac';
    expect((await from(dep, '/node_modules/.vite/deps/browser-external_fs-i8rlJ3S6.js?v=3c8529ac')).url).toBe('node:fs');
    expect((await from(dep, '/node_modules/.vite/deps/browser-external_fs_promises-Ab12.js')).url).toBe('node:fs/promises');
    expect((await from(dep, '/node_modules/.vite/deps/browser-external_child_process-Ab12.js')).url).toBe('node:child_process');
    expect((await from('http://127.0.0.1:5173/src/x.ts', '/@id/__vite-browser-external:path')).url).toBe('node:path');
  });

  it('give `module` whose createRequire takes the http URL of the code that calls it (Emscripten\'s Node glue does)', async () => {
    const { url } = await from('http://127.0.0.1:5173/node_modules/.vite/deps/mujoco-js.js', '/node_modules/.vite/deps/browser-external_module-i8rlJ3S6.js');
    // On the dev server (Vite's stand-in), and in a build (a `node:module` import that webray/vite kept).
    const built = (await from('http://127.0.0.1:4173/assets/mujoco_wasm-BpqUIvPg.js', 'node:module')).url;
    expect(built).toBe(url);
    const m = (await import(url)) as { default: { createRequire(from: string): NodeJS.Require } };
    const require = m.default.createRequire('http://127.0.0.1:5173/node_modules/.vite/deps/mujoco-js.js');
    expect(typeof (require('fs') as { readFileSync: unknown }).readFileSync).toBe('function');
  });

  it('leave other modules and non-http parents to Node', async () => {
    expect((await from('http://127.0.0.1:5173/src/x.ts', '/node_modules/.vite/deps/browser-external_nonsense-Ab12.js')).url).toBe('http://127.0.0.1:5173/node_modules/.vite/deps/browser-external_nonsense-Ab12.js');
    expect(await from('file:///app/x.js', 'fs')).toEqual({ url: 'next:fs' });
  });
});
