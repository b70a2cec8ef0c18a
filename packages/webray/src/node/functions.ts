/**
 * A node's function table: code arrives by source (compiled once per function id into a
 * factory) or by module URL (imported once; in Node, http(s) URLs through loader hooks). Each
 * execution gets its own `ray`, because a node
 * interleaves many async tasks and a shared "current task" would be wrong after an `await`.
 */
import type { Binding, FunctionDescriptor } from '../shared/protocol.js';
import type { RayApi } from '../api/api.js';
import { usedRemote } from '../api/revive.js';
import { enableHttpImports } from '../platform/node-http-imports.js';
import { RayUsageError } from '../shared/errors.js';

/** Gives an execution its own `ray`, made only if the code uses it. */
export interface RayProvider {
  api(): RayApi;
}

/** Builds the callable for one execution, bound to that execution's `ray`. */
export type Instantiate = (ray: RayProvider) => any;

const nameHelper = (target: object, value: string) => Object.defineProperty(target, 'name', { value, configurable: true });

/** Absorbs coverage counters (`cov_x().s[0]++`) that instrumenting tools put in function source. */
const coverageSink: any = new Proxy(function () {}, {
  get: (_t, p) => (p === Symbol.toPrimitive ? () => 0 : coverageSink),
  set: () => true,
  apply: () => coverageSink,
});

function bindingValue(b: Binding, ray: RayProvider, self: FunctionDescriptor): unknown {
  if (b === 'ray') return ray.api();
  if (b === 'name-helper') return nameHelper;
  if (b === 'coverage') return coverageSink;
  const api = ray.api();
  // `uses` and `self`: bound to this call, so what they submit derives from this task.
  if (b === 'self' || !('api' in b)) return usedRemote(b, self, api.caller);
  const v = (api as unknown as Record<string, unknown>)[b.api];
  // Methods are bound to this call's ray; classes (ObjectRef, the errors) are passed as they are.
  return typeof v === 'function' && !/^[A-Z]/.test(b.api) ? (v as Function).bind(api) : v;
}

/**
 * A function shipped by its source is rebuilt with `new Function`, which a Content Security Policy
 * without 'unsafe-eval' forbids (an EvalError): say which policy and what to allow.
 */
function evaluate(names: string[], body: string, d: { name: string }): (...a: unknown[]) => unknown {
  try {
    return new Function(...names, body) as (...a: unknown[]) => unknown;
  } catch (e) {
    if (!(e instanceof EvalError)) throw e;
    throw new RayUsageError(
      `${d.name || 'a function'} cannot run on this worker: the page's Content Security Policy (the one sent with webray's worker ` +
      `script) forbids rebuilding a function from its source text. Add 'unsafe-eval' to its script-src ` +
      `(README: "Content Security Policy"), or put the function in a module: ray.remote(fn, { module, exportName }).`,
    );
  }
}

function compileSource(d: Extract<FunctionDescriptor, { kind: 'source' }>): Instantiate {
  const names = Object.keys(d.bindings);
  const factory = evaluate(names, `"use strict";\nreturn (${d.source}\n);`, d);
  if (names.length === 0) {
    const fn = factory();
    return () => fn;
  }
  const bindings = names.map((n) => d.bindings[n]!);
  return (ray) => factory(...bindings.map((b) => bindingValue(b, ray, d)));
}

export class FunctionTable {
  private readonly descriptors = new Map<string, FunctionDescriptor>();
  private readonly compiled = new Map<string, Instantiate>();
  private readonly loading = new Map<string, Promise<Instantiate>>();

  register(d: FunctionDescriptor): void {
    if (!this.descriptors.has(d.id)) this.descriptors.set(d.id, d);
  }

  get size(): number {
    return this.descriptors.size;
  }

  descriptor(id: string): FunctionDescriptor | undefined {
    return this.descriptors.get(id);
  }

  /** The compiled function, or a promise while its module loads. Throws if the code does not compile. */
  get(id: string): Instantiate | Promise<Instantiate> {
    const c = this.compiled.get(id);
    if (c) return c;
    const d = this.descriptors.get(id);
    if (!d) throw new Error(`function ${id} was never registered on this node`);
    if (d.kind === 'source') {
      const inst = compileSource(d);
      this.compiled.set(id, inst);
      return inst;
    }
    let p = this.loading.get(id);
    if (!p) {
      const ready = /^https?:/.test(d.url) ? enableHttpImports() : Promise.resolve();
      p = ready.then(() => import(/* @vite-ignore */ d.url)).then((mod: Record<string, unknown>) => {
        const target = mod[d.exportName];
        if (typeof target !== 'function') {
          const exports = Object.keys(mod);
          // A bundle that treats the module as part of the app keeps only the exports the app uses (none if it imports none).
          throw new Error(`module ${d.url} has no exported function or class '${d.exportName}' (exports: ${exports.join(', ') || 'none'}). ` +
            `If this is a production build, add webray() from 'webray/vite' to the Vite config's plugins: it builds task modules with all their exports.`);
        }
        const inst: Instantiate = () => target;
        this.compiled.set(id, inst);
        return inst;
      });
      this.loading.set(id, p);
      p.catch(() => this.loading.delete(id));
    }
    return p;
  }
}
