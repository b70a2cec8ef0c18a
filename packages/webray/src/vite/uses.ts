/**
 * The `webray/vite` plugin's source transform: `ray.remote(fn)` ships `fn` by its source text,
 * and JavaScript cannot read the values a closure holds, so a task that calls another remote
 * function defined in its module (`sq.remote(x)`) must name it: `ray.remote(fn, { uses: { sq } })`,
 * or itself: `{ self: 'fib' }`. Where the plugin sees the module, it adds these options.
 *
 * It looks for module-level `const X = ray.remote(...)` (or `remote(...)` imported from webray,
 * with any `.options(...)` after it) and, in every `ray.remote(<function or class>)` call whose
 * function uses such an X as a free variable, adds X to `uses` (or `self` when the call defines
 * X), in the form that survives minification (`uses: () => [sq]`, `self: () => fib`). Only names declared before the call are added (a later one is not initialised yet when
 * the call runs); a call whose options are not an object literal, or already name `uses`,
 * `self` or `module`, is left as it is.
 */
import { parse } from 'acorn';
import type { AnyNode, CallExpression, Expression, ImportDeclaration, Node, Program, Super } from 'acorn';
import type { Plugin } from 'vite';
import { freeNames, isNode } from '../shared/source.js';

const PACKAGE = 'webray';

/** How the module refers to `remote`: namespaces (`import * as ray`) and direct imports (`import { remote }`). */
interface RemoteNames {
  namespaces: Set<string>;
  functions: Set<string>;
}

function remoteNames(program: Program): RemoteNames {
  const names: RemoteNames = { namespaces: new Set(), functions: new Set() };
  for (const stmt of program.body) {
    if (stmt.type !== 'ImportDeclaration' || (stmt as ImportDeclaration).source.value !== PACKAGE) continue;
    for (const s of stmt.specifiers) {
      if (s.type === 'ImportNamespaceSpecifier') names.namespaces.add(s.local.name);
      else if (s.type === 'ImportSpecifier' && s.imported.type === 'Identifier' && s.imported.name === 'remote') names.functions.add(s.local.name);
    }
  }
  return names;
}

function isRemoteCall(e: Expression, names: RemoteNames): boolean {
  if (e.type !== 'CallExpression') return false;
  const c = e.callee;
  if (c.type === 'Identifier') return names.functions.has(c.name);
  return c.type === 'MemberExpression' && !c.computed && c.object.type === 'Identifier' && names.namespaces.has(c.object.name) &&
    c.property.type === 'Identifier' && c.property.name === 'remote';
}

/** The `ray.remote(...)` call inside `ray.remote(...).options(...).options(...)`, if that is what `e` is. */
function remoteCallOf(e: Expression, names: RemoteNames): CallExpression | undefined {
  for (let x: Expression = e; ;) {
    if (x.type !== 'CallExpression') return undefined;
    if (isRemoteCall(x, names)) return x;
    const c: Expression | Super = x.callee;
    if (c.type !== 'MemberExpression' || c.computed || c.object.type === 'Super') return undefined;
    if (c.property.type !== 'Identifier' || c.property.name !== 'options') return undefined;
    x = c.object;
  }
}

/** Module-level `const X = ray.remote(...)`: X → where its declaration ends, and the call that defines it. */
function remoteConsts(program: Program, names: RemoteNames): Map<string, { end: number; call: CallExpression }> {
  const out = new Map<string, { end: number; call: CallExpression }>();
  for (const stmt of program.body) {
    const decl = stmt.type === 'ExportNamedDeclaration' ? stmt.declaration : stmt;
    if (decl?.type !== 'VariableDeclaration' || decl.kind !== 'const') continue;
    for (const d of decl.declarations) {
      const call = d.id.type === 'Identifier' && d.init ? remoteCallOf(d.init, names) : undefined;
      if (call && d.id.type === 'Identifier') out.set(d.id.name, { end: d.end, call });
    }
  }
  return out;
}

function walk(node: Node, visit: (n: AnyNode) => void): void {
  visit(node as AnyNode);
  for (const [key, value] of Object.entries(node)) {
    if (key === 'loc' || key === 'range') continue;
    if (Array.isArray(value)) {
      for (const v of value) if (isNode(v)) walk(v, visit);
    } else if (isNode(value)) walk(value, visit);
  }
}

/**
 * The option text for one call, and where it goes. A production build's minifier renames `sq`
 * in the function and in the options alike, but would keep a key or string 'sq': so the names
 * go as arrow functions, whose source text webray reads (and `self`'s is never called: the
 * function is not defined yet when ray.remote runs).
 */
function edit(call: CallExpression, uses: string[], self: string | undefined): { at: number; text: string } | undefined {
  const parts = [...(uses.length > 0 ? [`uses: () => [${uses.join(', ')}]`] : []), ...(self ? [`self: () => ${self}`] : [])];
  if (call.arguments.length === 1) return { at: call.arguments[0]!.end, text: `, { ${parts.join(', ')} }` };
  const opts = call.arguments[1];
  if (call.arguments.length !== 2 || opts?.type !== 'ObjectExpression') return undefined;
  const taken = opts.properties.some((p) => p.type === 'SpreadElement' ||
    (!p.computed && p.key.type === 'Identifier' && ['uses', 'self', 'module'].includes(p.key.name)));
  return taken ? undefined : { at: opts.start + 1, text: ` ${parts.join(', ')},` };
}

/** Adds `uses` / `self` to the module's `ray.remote(fn)` calls; returns the code unchanged when there is nothing to add. */
export function addUses(code: string): string {
  if (!code.includes(PACKAGE)) return code;
  let program: Program;
  try {
    program = parse(code, { ecmaVersion: 'latest', sourceType: 'module' });
  } catch {
    return code; // not plain JavaScript (yet): leave it to the tools that understand it
  }
  const names = remoteNames(program);
  if (names.namespaces.size === 0 && names.functions.size === 0) return code;
  const consts = remoteConsts(program, names);
  if (consts.size === 0) return code;
  const defines = new Map([...consts].map(([name, c]) => [c.call, name]));

  const edits: { at: number; text: string }[] = [];
  walk(program, (n) => {
    if (n.type !== 'CallExpression' || !isRemoteCall(n, names)) return;
    const fn = n.arguments[0];
    if (fn?.type !== 'FunctionExpression' && fn?.type !== 'ArrowFunctionExpression' && fn?.type !== 'ClassExpression') return;
    const defined = defines.get(n);
    const free = freeNames(fn);
    // A class cannot name itself (ray.remote refuses `self` for classes, saying why).
    const self = defined !== undefined && fn.type !== 'ClassExpression' && free.includes(defined) ? defined : undefined;
    const uses = free.filter((x) => x !== self && (consts.get(x)?.end ?? Infinity) <= n.start);
    if (uses.length === 0 && !self) return;
    const e = edit(n, uses, self);
    if (e) edits.push(e);
  });
  let out = code;
  for (const e of edits.sort((a, b) => b.at - a.at)) out = out.slice(0, e.at) + e.text + out.slice(e.at);
  return out;
}

const SCRIPT = /\.(?:[cm]?[jt]sx?)$/;

/** The plugin that runs `addUses` on the app's own modules (not on dependencies). */
export function usesPlugin(): Plugin {
  return {
    name: 'webray:uses',
    transform(code, id) {
      const file = id.split('?', 1)[0]!;
      if (!SCRIPT.test(file) || file.includes('/node_modules/')) return null;
      const out = addUses(code);
      // Insertions only, within lines: positions move by a few columns at most, so no new map.
      return out === code ? null : { code: out, map: null };
    },
  };
}
