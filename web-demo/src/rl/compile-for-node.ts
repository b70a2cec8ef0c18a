/**
 * For tests: the RL modules compiled to JavaScript, so Node's worker threads (Node 20 runs no
 * TypeScript) can import rollouts as a module task. Written under web-demo/node_modules, where
 * their imports of 'mujoco-js' and 'webray' resolve as in the app.
 */
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

/** Compiles every non-test module of this folder; returns the file URL of the compiled `name` (e.g. 'rollouts'). */
export function compileForNode(name: string): string {
  const src = fileURLToPath(new URL('.', import.meta.url));
  const out = fileURLToPath(new URL('../../node_modules/.rl-test/', import.meta.url));
  mkdirSync(out, { recursive: true });
  for (const file of readdirSync(src)) {
    if (!file.endsWith('.ts') || file.endsWith('.test.ts') || file.endsWith('.d.ts')) continue;
    const { outputText } = ts.transpileModule(readFileSync(src + file, 'utf8'), {
      compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, rewriteRelativeImportExtensions: true, verbatimModuleSyntax: true },
    });
    writeFileSync(out + file.replace(/\.ts$/, '.js'), outputText);
  }
  return pathToFileURL(`${out}${name}.js`).href;
}
