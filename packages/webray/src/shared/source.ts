/**
 * Static analysis of a user's function/class source before it is shipped to a worker.
 *
 * Workers rebuild the code with `new Function(<params>, 'return (' + source + ')')`, so
 * every free identifier must either be a global there or one of the names the worker
 * binds as a parameter. We find free identifiers with a real parser and scope analysis
 * on the caller, so a closure fails at `ray.remote(fn)` with a clear message instead of
 * a ReferenceError deep inside a worker.
 */
import { parse } from 'acorn';
import type {
  AnyNode,
  ArrowFunctionExpression,
  Class,
  Expression,
  Function as FunctionNode,
  FunctionExpression,
  Options,
  Pattern,
} from 'acorn';

export type SourceBinding = 'ray' | 'name-helper' | 'coverage' | { api: string };

export interface SourceAnalysis {
  kind: 'function' | 'class';
  /** declared name or '' for anonymous */
  name: string;
  /** free identifier -> how the worker must bind it (globals are not listed) */
  bindings: Record<string, SourceBinding>;
  /** for classes: own method names declared in the class body (not constructor), incl. async/generator; getters/setters excluded; static excluded */
  methods: string[];
  /** subset of methods declared async (async generators included) */
  asyncMethods: string[];
  /** source such that `new Function(..., 'return (' + source + ')')` evaluates to the function/class */
  source: string;
  /** the `provided` names the source uses as free variables */
  provided: string[];
}

export interface AnalyzeSourceOptions {
  /** names exported by the ray runtime object (get, put, wait, remote, ...) */
  apiNames: readonly string[];
  /** whether a free identifier resolves on the worker's global; default: `name in globalThis` plus a few well-known names */
  isGlobal?: (name: string) => boolean;
  /** `fn.name`, used in messages only (arrow source text carries no name) */
  name?: string;
  /** names the caller binds itself (`ray.remote(fn, { uses, self })`): neither refused nor listed in `bindings` */
  provided?: readonly string[];
}

export class UnshippableFunctionError extends Error {
  override name = 'UnshippableFunctionError';
  /** first offending free variable, if the problem is a closure */
  readonly variable?: string;
  /** every offending free variable, in source order */
  readonly variables: readonly string[];
  readonly functionName: string;

  constructor(message: string, functionName: string, variables: readonly string[] = []) {
    super(message);
    this.functionName = functionName;
    this.variables = variables;
    if (variables.length > 0) this.variable = variables[0];
  }
}

const ACORN: Options = { ecmaVersion: 'latest', sourceType: 'script' };
const NAME_HELPER = '__name';
const COVERAGE = /^cov_[a-zA-Z0-9_]+$/;
/** Bundlers de-duplicate names as `get$1`, `get2` or `get_1`. */
const RENAME_SUFFIX = /(?:\$\d+|_\d+|\d+)$/;
// Globals a worker may have although this thread lacks them: SharedArrayBuffer and Atomics are
// missing from pages that are not cross-origin isolated.
// The analysis runs on a page's main thread or in Node, so the globals only a worker has are listed too.
const WELL_KNOWN_GLOBALS = new Set([
  'undefined', 'NaN', 'Infinity', 'globalThis', 'self', 'SharedArrayBuffer', 'Atomics',
  'WorkerGlobalScope', 'DedicatedWorkerGlobalScope', 'SharedWorkerGlobalScope', 'ServiceWorkerGlobalScope',
  'WorkerNavigator', 'WorkerLocation', 'importScripts', 'postMessage', 'close', 'onmessage', 'onmessageerror',
  'onerror', 'onunhandledrejection', 'onrejectionhandled', 'FileReaderSync',
]);
const MODULE_HINT = 'put the function in a module and use ray.remote(fn, { module, exportName })';
/** A renamed `import * as ray`, as Vite SSR, Vitest and bundlers spell it. */
const NAMESPACE_NAME = /^(?:__vite_ssr_(?:dynamic_)?import_\d+__|__vi_import_\d+__|[\w$]*_exports(?:\$\d+|\d+)?|(?:web)?ray(?:\$\d+|_\d+|\d+))$/;
/** Helpers TypeScript (or Babel) inserts when it compiles to a target below ES2017 / ES2015. */
const DOWNLEVEL_HELPER = /^_?__(?:awaiter|generator|assign|rest|spread|spreadArray|spreadArrays|values|read|await|asyncGenerator|asyncValues|asyncDelegator|extends|decorate|classPrivateField\w*|makeTemplateObject)(?:\$\d+|\d+)?$/;

function defaultIsGlobal(name: string): boolean {
  return WELL_KNOWN_GLOBALS.has(name) || name in globalThis;
}

export function analyzeSource(src: string, opts: AnalyzeSourceOptions): SourceAnalysis {
  const label = `ray.remote(${opts.name || guessName(src) || '<anonymous>'})`;
  if (/\{\s*\[native code\]\s*\}\s*$/.test(src)) {
    throw new UnshippableFunctionError(
      `${label}: bound functions and native/built-in functions cannot be shipped, because their source text is not available. ` +
        'Ship the original (unbound) function and pass bound values as arguments.',
      opts.name || guessName(src),
    );
  }

  const target = parseTarget(src, label);
  const free = freeVariables(target.node);
  const kind = target.node.type === 'ClassExpression' ? 'class' : 'function';
  const functionName = opts.name || target.name;
  const fail = (why: string, vars: readonly string[] = []): never => {
    throw new UnshippableFunctionError(`ray.remote(${functionName || '<anonymous>'}): ${why}`, functionName, vars);
  };

  const isGlobal = opts.isGlobal ?? defaultIsGlobal;
  const bindings: Record<string, SourceBinding> = {};
  const provided: string[] = [];
  const offending: string[] = [];
  for (const [name, uses] of free) {
    if (opts.provided?.includes(name)) {
      provided.push(name);
      continue;
    }
    const binding = classify(name, uses, opts.apiNames, isGlobal);
    if (binding === 'global') continue;
    if (binding) bindings[name] = binding;
    else offending.push(name);
  }
  if (offending.length > 0) {
    const quoted = offending.map((v) => `'${v}'`).join(', ');
    const one = offending.length === 1;
    fail(
      `the ${kind} uses ${quoted}, ${one ? 'a variable' : 'variables'} from the scope where it was defined. ` +
        `${kind === 'class' ? 'Classes' : 'Functions'} run on other workers by their source text, so closures are not shipped. ` +
        `Pass ${one ? quoted + ' as an argument' : 'them as arguments'}, define ${one ? 'it' : 'them'} inside the ${kind}, or ${MODULE_HINT}.` +
        hints(offending, free),
      offending,
    );
  }

  let source = src;
  if (target.method) {
    // A method's own name does not bind inside its body, but a named function
    // expression's does: only keep the name when that cannot change what the body means.
    const named = target.name && !free.has(target.name) ? `${target.method.head} ${target.name}${target.method.rest}` : '';
    source = named && parsesAsFunction(named) ? named : `${target.method.head}${target.method.rest}`;
    if (!parsesAsFunction(source)) {
      fail(`this method cannot be turned into a standalone function (it probably uses 'super'). Use a plain function, or ${MODULE_HINT}.`);
    }
  }

  const methods: string[] = [];
  const asyncMethods: string[] = [];
  if (target.node.type === 'ClassExpression') {
    for (const el of target.node.body.body) {
      if (el.type !== 'MethodDefinition' || el.kind !== 'method' || el.static) continue;
      const name = keyName(el.key, el.computed);
      if (name === undefined || methods.includes(name)) continue;
      methods.push(name);
      if (el.value.async) asyncMethods.push(name);
    }
  }

  return { kind, name: target.name, bindings, methods, asyncMethods, source, provided };
}

/** How one occurrence uses a free name: `X.name` / `X['name']` (the member name), `X(...)`, `typeof X`, or anything else. */
type Use = string | typeof CALL | typeof TYPEOF | null;
const CALL = Symbol('call');
const TYPEOF = Symbol('typeof');

/** What else to tell the user about the offending names, beyond "closures are not shipped". */
function hints(offending: readonly string[], free: ReadonlyMap<string, readonly Use[]>): string {
  const out: string[] = [];
  const remotes = offending.filter((n) => free.get(n)!.some((u) => u === 'remote' || u === 'options'));
  if (remotes.length > 0) {
    const list = remotes.join(', ');
    out.push(
      `If ${remotes.map((n) => `'${n}'`).join(', ')} ${remotes.length === 1 ? 'is a remote function or actor class' : 'are remote functions or actor classes'} (made by ray.remote), ` +
        `name ${remotes.length === 1 ? 'it' : 'them'} in the options: ray.remote(fn, { uses: { ${list} } }); ` +
        `a task that calls itself names itself: const ${remotes[0]} = ray.remote(fn, { self: '${remotes[0]}' }). ` +
        'The webray/vite plugin adds these options for you where it sees the module.',
    );
  }
  const helpers = offending.filter((n) => DOWNLEVEL_HELPER.test(n));
  if (helpers.length > 0) {
    out.push(
      `'${helpers[0]}' is a helper TypeScript inserts when it compiles async functions or generators for a target below ES2017: ` +
        "set compilerOptions.target to 'ES2017' or later (e.g. 'ES2022') in tsconfig.json.",
    );
  }
  // A minifier renames `ray` (or the API functions a bundle inlined) to one or two letters.
  if (offending.some((n) => n.length <= 2 && !DOWNLEVEL_HELPER.test(n))) {
    out.push(
      "If this is a production build, the minifier probably renamed ray's API inside the function: add the webray/vite plugin " +
        "(import webray from 'webray/vite'; plugins: [webray()]), which keeps webray's API names unmangled so shipped functions still find them.",
    );
  }
  return out.length > 0 ? ' ' + out.join(' ') : '';
}

function classify(
  name: string,
  uses: readonly Use[],
  apiNames: readonly string[],
  isGlobal: (name: string) => boolean,
): SourceBinding | 'global' | undefined {
  if (name === 'ray') return 'ray';
  if (name === NAME_HELPER) return 'name-helper';
  if (COVERAGE.test(name)) return 'coverage';
  // Globals before the API rules: `Reflect.get(...)` and `Atomics.wait(...)` look like namespace use.
  if (isGlobal(name)) return 'global';
  // Feature detection (`typeof importScripts === 'undefined'`) reads no value from the scope.
  if (uses.every((u) => u === TYPEOF)) return 'global';
  // `sq.remote(x)` is a remote function (or actor class) from the defining scope, unless the
  // name is how a tool spells a renamed `import * as ray`: it is refused, pointing to `uses`.
  if (uses.every((u) => u === 'remote') && !NAMESPACE_NAME.test(name)) return undefined;
  // A renamed `import * as ray` (`__vite_ssr_import_0__`, `webray_exports`, `ray$1`, minified `e`).
  if (uses.every((u) => typeof u === 'string' && apiNames.includes(u))) return 'ray';
  // A bundle that inlined the namespace calls the API functions directly (`get$1(r)`, `remote(f)`).
  if (apiNames.includes(name)) return { api: name };
  const base = name.replace(RENAME_SUFFIX, '');
  return base !== name && apiNames.includes(base) ? { api: base } : undefined;
}

// ---------------------------------------------------------------------------------------
// Parsing

type Target = {
  node: FunctionExpression | ArrowFunctionExpression | Extract<AnyNode, { type: 'ClassExpression' }>;
  name: string;
  /** set for method shorthand: `[async ]function[*]` and the text from the parameter list on */
  method?: { head: string; rest: string };
};

function parseTarget(src: string, label: string): Target {
  let firstError: unknown;
  try {
    // Parse exactly as the worker will evaluate it: as a parenthesised expression (the
    // newline keeps a trailing line comment from swallowing the paren).
    const expr = singleExpression(parse(`(${src}\n)`, ACORN));
    if (expr?.type === 'FunctionExpression' || expr?.type === 'ArrowFunctionExpression' || expr?.type === 'ClassExpression') {
      return { node: expr, name: expr.type === 'ArrowFunctionExpression' ? '' : (expr.id?.name ?? '') };
    }
    throw new UnshippableFunctionError(`${label}: expected the source of a function or class.`, guessName(src));
  } catch (err) {
    if (err instanceof UnshippableFunctionError) throw err;
    firstError = err;
  }
  // `({ foo(x) {} }).foo.toString()` is `foo(x) {}`: parse it back as an object member.
  try {
    const obj = singleExpression(parse(`({${src}\n})`, ACORN));
    const prop = obj?.type === 'ObjectExpression' && obj.properties.length === 1 ? obj.properties[0] : undefined;
    if (prop?.type === 'Property' && prop.start === 2 && (prop.method || prop.kind !== 'init')) {
      const name = keyName(prop.key, prop.computed) ?? '';
      if (prop.kind !== 'init') {
        throw new UnshippableFunctionError(`${label}: getters and setters cannot be shipped; use a plain function.`, name);
      }
      const fn = prop.value as FunctionExpression; // method values are always function expressions
      const head = `${fn.async ? 'async ' : ''}function${fn.generator ? '*' : ''}`;
      return { node: fn, name, method: { head, rest: src.slice(fn.start - 2) } };
    }
  } catch (err) {
    if (err instanceof UnshippableFunctionError) throw err;
  }
  const detail = firstError instanceof Error ? ` (${firstError.message})` : '';
  throw new UnshippableFunctionError(
    `${label}: the function's source could not be parsed${detail}. ` +
      `If it imports libraries or was transformed by a tool into something that is not standalone, ${MODULE_HINT}.`,
    guessName(src),
  );
}

function singleExpression(program: ReturnType<typeof parse>): Expression | undefined {
  const stmt = program.body.length === 1 ? program.body[0] : undefined;
  return stmt?.type === 'ExpressionStatement' ? stmt.expression : undefined;
}

function parsesAsFunction(source: string): boolean {
  try {
    return singleExpression(parse(`(${source}\n)`, ACORN))?.type === 'FunctionExpression';
  } catch {
    return false;
  }
}

function keyName(key: Expression | { type: 'PrivateIdentifier' }, computed: boolean): string | undefined {
  if (key.type === 'Identifier' && !computed) return key.name;
  if (key.type === 'Literal' && (typeof key.value === 'string' || typeof key.value === 'number')) return String(key.value);
  return undefined;
}

/** Best-effort name for messages when the source does not parse. */
function guessName(src: string): string {
  return /^\s*(?:async\s+)?(?:function\b\s*\*?\s*(?:bound\s+)?|class\s+)([\w$]+)/.exec(src)?.[1] ?? '';
}

// ---------------------------------------------------------------------------------------
// Scope analysis: one walk declares names into scopes and records references; references
// are resolved only at the end, so hoisting (var, function declarations) needs no pre-pass.

class Scope {
  readonly names = new Set<string>();
  constructor(
    readonly parent: Scope | null,
    /** receives `var` declarations (function bodies, parameter lists, static blocks) */
    readonly isVarScope: boolean,
  ) {}
  varScope(): Scope {
    let s: Scope = this;
    while (!s.isVarScope && s.parent) s = s.parent;
    return s;
  }
  has(name: string): boolean {
    for (let s: Scope | null = this; s; s = s.parent) if (s.names.has(name)) return true;
    return false;
  }
}

/** The free identifiers of a function or class expression parsed elsewhere (the webray/vite plugin's module AST), in source order. */
export function freeNames(node: Target['node']): string[] {
  return [...freeVariables(node).keys()];
}

/** Free identifiers of `root`, in source order, with how each occurrence uses them. */
function freeVariables(root: Target['node']): Map<string, Use[]> {
  const refs: { name: string; scope: Scope; use: Use }[] = [];
  const ref = (name: string, scope: Scope, use: Use) => refs.push({ name, scope, use });

  const visitFunction = (fn: FunctionNode, scope: Scope) => {
    let outer = scope;
    if (fn.type === 'FunctionExpression' && fn.id) {
      outer = new Scope(scope, false); // a named function expression sees its own name
      outer.names.add(fn.id.name);
    }
    // Parameters get their own scope: defaults cannot see the body's declarations.
    const params = new Scope(outer, true);
    if (fn.type !== 'ArrowFunctionExpression') params.names.add('arguments');
    for (const p of fn.params) declare(p, params, params);
    if (fn.body.type === 'BlockStatement') visitAll(fn.body.body, new Scope(params, true));
    else visit(fn.body, params);
  };

  const visitClass = (cls: Class, scope: Scope) => {
    if (cls.superClass) visit(cls.superClass, scope);
    const inner = new Scope(scope, false);
    if (cls.id) inner.names.add(cls.id.name);
    for (const el of cls.body.body) {
      if (el.type === 'StaticBlock') {
        visitAll(el.body, new Scope(inner, true));
        continue;
      }
      if (el.computed) visit(el.key, inner); // private names and plain keys are not variables
      if (el.value) visit(el.value, el.type === 'PropertyDefinition' ? new Scope(inner, true) : inner);
    }
  };

  /** Binds the names in a declaration pattern into `target`; defaults and computed keys are evaluated in `scope`. */
  const declare = (p: Pattern, target: Scope, scope: Scope): void => {
    switch (p.type) {
      case 'Identifier':
        target.names.add(p.name);
        return;
      case 'ObjectPattern':
        for (const prop of p.properties) {
          if (prop.type === 'RestElement') declare(prop.argument, target, scope);
          else {
            if (prop.computed) visit(prop.key, scope);
            declare(prop.value, target, scope);
          }
        }
        return;
      case 'ArrayPattern':
        for (const el of p.elements) if (el) declare(el, target, scope);
        return;
      case 'RestElement':
        declare(p.argument, target, scope);
        return;
      case 'AssignmentPattern':
        declare(p.left, target, scope);
        visit(p.right, scope);
        return;
      case 'MemberExpression': // only valid as an assignment target, never in a declaration
        visit(p, scope);
        return;
    }
  };

  const visitAll = (nodes: readonly AnyNode[], scope: Scope) => {
    for (const n of nodes) visit(n, scope);
  };

  // Expressions and assignment targets share this visitor: in `[a, b] = x` the
  // identifiers are references, exactly as in expressions.
  const visit = (node: AnyNode, scope: Scope): void => {
    switch (node.type) {
      case 'Identifier':
        ref(node.name, scope, null);
        return;
      case 'UnaryExpression':
        if (node.operator === 'typeof' && node.argument.type === 'Identifier') ref(node.argument.name, scope, TYPEOF);
        else visit(node.argument, scope);
        return;
      case 'CallExpression':
        if (node.callee.type === 'Identifier') ref(node.callee.name, scope, CALL);
        else visit(node.callee, scope);
        visitAll(node.arguments, scope);
        return;
      case 'MemberExpression':
        if (node.object.type === 'Identifier') {
          const key = node.property;
          const use = !node.computed && key.type === 'Identifier' ? key.name
            : node.computed && key.type === 'Literal' && typeof key.value === 'string' ? key.value
            : null;
          ref(node.object.name, scope, use);
        } else visit(node.object, scope);
        if (node.computed) visit(node.property, scope);
        return;
      case 'Property':
        if (node.computed) visit(node.key, scope);
        visit(node.value, scope); // `{ b }` shorthand: value is the reference to b
        return;
      case 'FunctionDeclaration': {
        // Annex B: in sloppy code a block-level function is also var-hoisted, so bind it in both.
        if (node.id) {
          scope.names.add(node.id.name);
          scope.varScope().names.add(node.id.name);
        }
        visitFunction(node, scope);
        return;
      }
      case 'FunctionExpression':
      case 'ArrowFunctionExpression':
        visitFunction(node, scope);
        return;
      case 'ClassDeclaration':
        if (node.id) scope.names.add(node.id.name);
        visitClass(node, scope);
        return;
      case 'ClassExpression':
        visitClass(node, scope);
        return;
      case 'VariableDeclaration': {
        const target = node.kind === 'var' ? scope.varScope() : scope;
        for (const d of node.declarations) {
          declare(d.id, target, scope);
          if (d.init) visit(d.init, scope);
        }
        return;
      }
      case 'BlockStatement':
        visitAll(node.body, new Scope(scope, false));
        return;
      case 'ForStatement':
      case 'ForInStatement':
      case 'ForOfStatement':
      case 'SwitchStatement':
        visitChildren(node, new Scope(scope, false)); // `let` in the head / cases is scoped to the statement
        return;
      case 'CatchClause': {
        const inner = new Scope(scope, false);
        if (node.param) declare(node.param, inner, inner);
        visit(node.body, inner);
        return;
      }
      case 'LabeledStatement':
        visit(node.body, scope); // labels are not variables
        return;
      case 'BreakStatement':
      case 'ContinueStatement':
      case 'MetaProperty': // new.target
      case 'ThisExpression':
      case 'Super':
      case 'PrivateIdentifier':
      case 'Literal':
        return;
      default:
        visitChildren(node, scope);
    }
  };

  const visitChildren = (node: AnyNode, scope: Scope) => {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'loc' || key === 'range') continue;
      if (Array.isArray(value)) {
        for (const v of value) if (isNode(v)) visit(v, scope);
      } else if (isNode(value)) visit(value, scope);
    }
  };

  visit(root, new Scope(null, true));

  const free = new Map<string, Use[]>();
  for (const r of refs) {
    if (r.scope.has(r.name)) continue;
    const uses = free.get(r.name);
    if (uses) uses.push(r.use);
    else free.set(r.name, [r.use]);
  }
  return free; // references were recorded in source order, so the first offender comes first
}

export function isNode(v: unknown): v is AnyNode {
  return typeof v === 'object' && v !== null && typeof (v as { type?: unknown }).type === 'string';
}
