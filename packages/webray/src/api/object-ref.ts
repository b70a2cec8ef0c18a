/**
 * ObjectRef: the future a caller holds for an object. It is deliberately NOT thenable — `await
 * ref` must not resolve it, since promise chains unwrap thenables silently; `ray.get` is the one
 * way to a value. Each instance counts as one reference; the owner frees the object when the
 * last one is released (explicitly or by the garbage collector).
 */
import { makeMarker, toMarker, type Marker } from '../shared/codec.js';
import { endedSessionError } from '../shared/usage.js';
import { currentCore, type CoreWorker } from './core.js';

const brand: unique symbol = Symbol('webray.ObjectRef');

// `using ref` needs Symbol.dispose, which ES2022 projects without esnext.disposable or @types/node
// do not declare; declared here (as @types/node does) so the published types check in any project.
declare global {
  interface SymbolConstructor {
    readonly dispose: unique symbol;
  }
}

/**
 * What the collector hands back for a dead ref: its id, and whether `release()` already dropped
 * the reference. Registering with an unregister token costs about twice as much (the registry
 * keeps a hash table of tokens), and a driver mints one ref per task.
 */
interface Held {
  readonly id: string;
  released: boolean;
  /** The session (core) that counted it: a ref outliving `shutdown` must not touch the next one. */
  readonly core: CoreWorker;
}

const finalizer = new FinalizationRegistry<Held>((held) => {
  if (!held.released && held.core === currentCore()) held.core.removeLocalRef(held.id);
});

export class ObjectRef<T = unknown> {
  declare readonly [brand]: T;
  readonly id: string;
  /** The worker or driver that owns the object (holds its lineage and reference count). */
  readonly owner: string;
  #held: Held | undefined;

  /** @internal `counted`: the core already counted this reference when it minted the id. */
  constructor(id: string, owner: string, counted = false) {
    this.id = id;
    this.owner = owner;
    const core = currentCore();
    if (core) {
      if (!counted) core.addLocalRef(id);
      this.#held = { id, released: false, core };
      finalizer.register(this, this.#held);
    }
  }

  /** Drops this reference now instead of when it is garbage-collected; the object is freed once nothing refers to it. */
  release(): void {
    const held = this.#held;
    if (!held || held.released) return;
    held.released = true;
    if (held.core === currentCore()) held.core.removeLocalRef(this.id);
  }

  /** @internal Throws if this ref was made by a webray session that has been shut down since (`what` made only then). */
  checkSession(what: string | (() => string)): void {
    const held = this.#held;
    if (!held || held.core === currentCore()) return;
    throw endedSessionError(typeof what === 'string' ? what : what(), String(this), 'Refs do not outlive their session: after ray.init() again, submit the task or put the value again for a new ref.');
  }

  [Symbol.dispose](): void {
    this.release();
  }

  [toMarker](): Marker {
    return makeMarker('ref', { id: this.id, owner: this.owner });
  }

  toString(): string {
    return `ObjectRef(${this.id})`;
  }

  toJSON(): string {
    return this.toString();
  }
}

export function isObjectRef(v: unknown): v is ObjectRef {
  return v instanceof ObjectRef;
}
