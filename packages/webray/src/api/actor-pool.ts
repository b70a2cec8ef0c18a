/**
 * ActorPool, as Ray's `ray.util.ActorPool`: work spread over a set of actors, each given one call
 * at a time, the rest queued until one is free; results in submission order (`getNext`, `map`) or
 * as they come (`getNextUnordered`, `mapUnordered`). An actor is free again once its call's result
 * arrived (or was given up on with `ignoreIfTimedOut`); one that died leaves the pool.
 */
import { ActorUnavailableError, GetTimeoutError, RayActorError, RayUsageError } from '../shared/errors.js';
import { describeValue } from '../shared/usage.js';
import { get, wait } from './index.js';
import { isObjectRef, type ObjectRef } from './object-ref.js';

/** Calls one actor of the pool with one value; returns the call's ObjectRef. */
export type PoolCall<A, V, R> = (actor: A, value: V) => ObjectRef<R>;

export interface PoolGetOptions {
  /** Milliseconds to wait for the result; past it a GetTimeoutError. Default: no limit. */
  timeout?: number;
  /** On a timeout, give that call up (its actor takes the next one), then throw the GetTimeoutError. */
  ignoreIfTimedOut?: boolean;
}

interface InFlight<A> {
  index: number;
  actor: A;
}

export class ActorPool<A> {
  private readonly idle: A[];
  private readonly inFlight = new Map<ObjectRef<unknown>, InFlight<A>>();
  private readonly byIndex = new Map<number, ObjectRef<unknown>>();
  private readonly pending: [PoolCall<A, unknown, unknown>, unknown][] = [];
  private nextTask = 0;
  private nextReturn = 0;

  constructor(actors: Iterable<A>) {
    if (actors === null || typeof (actors as { [Symbol.iterator]?: unknown })?.[Symbol.iterator] !== 'function') {
      throw new RayUsageError(`new ActorPool(actors): actors must be an array of actor handles, got ${describeValue(actors)}.`);
    }
    this.idle = [...actors];
  }

  /** Calls `fn(actor, value)` on an idle actor, or queues it until one is free. */
  submit<V, R>(fn: PoolCall<A, V, R>, value: V): void {
    if (typeof fn !== 'function') throw new RayUsageError(`ActorPool.submit(fn, value): fn must be a function (actor, value) => actor.method.remote(value), got ${describeValue(fn)}.`);
    const actor = this.idle.pop();
    if (actor === undefined) { this.pending.push([fn as PoolCall<A, unknown, unknown>, value]); return; }
    let ref: unknown;
    try {
      ref = fn(actor, value);
    } catch (e) {
      this.idle.push(actor);
      throw e;
    }
    if (!isObjectRef(ref)) {
      this.idle.push(actor);
      throw new RayUsageError(`ActorPool.submit(fn, value): fn must return the ObjectRef of one actor call (actor.method.remote(value)), got ${describeValue(ref)}.`);
    }
    this.inFlight.set(ref, { index: this.nextTask, actor });
    this.byIndex.set(this.nextTask++, ref);
  }

  /** Are results left to get (calls running or queued)? */
  hasNext(): boolean {
    return this.inFlight.size > 0;
  }

  /** The next result in submission order. */
  async getNext<R = unknown>(options: PoolGetOptions = {}): Promise<R> {
    for (;;) {
      if (!this.hasNext()) throw new RayUsageError('ActorPool.getNext(): no more results to get; submit() first (hasNext() is false).');
      if (this.nextReturn >= this.nextTask) {
        throw new RayUsageError('ActorPool.getNext(): getNext cannot follow getNextUnordered (the order is gone); keep to one of them until hasNext() is false.');
      }
      const index = this.nextReturn;
      const ref = this.byIndex.get(index)!;
      if (options.timeout !== undefined) {
        const [ready] = await wait([ref], { timeout: options.timeout });
        // Another getNext took it meanwhile: this one waits for the next.
        if (this.byIndex.get(index) !== ref) continue;
        if (ready.length === 0) this.timedOut(ref, options);
      }
      return this.result<R>(ref);
    }
  }

  /** Whichever result is ready first. */
  async getNextUnordered<R = unknown>(options: PoolGetOptions = {}): Promise<R> {
    for (;;) {
      if (!this.hasNext()) throw new RayUsageError('ActorPool.getNextUnordered(): no more results to get; submit() first (hasNext() is false).');
      const [ready] = await wait([...this.inFlight.keys()], { numReturns: 1, ...(options.timeout === undefined ? {} : { timeout: options.timeout }) });
      // One ready but taken by another caller meanwhile: wait again.
      const ref = ready.find((r) => this.inFlight.has(r));
      if (ref !== undefined) return this.result<R>(ref);
      if (ready.length > 0 || !this.hasNext()) continue;
      this.timedOut(this.inFlight.keys().next().value!, options);
    }
  }

  /** Each value through `fn` on the pool's actors (all submitted now); the results in the values' order. */
  map<V, R>(fn: PoolCall<A, V, R>, values: Iterable<V>): AsyncGenerator<Awaited<R>> {
    this.start(fn, values);
    return this.results(() => this.getNext<Awaited<R>>());
  }

  /** As `map`, the results as they come. */
  mapUnordered<V, R>(fn: PoolCall<A, V, R>, values: Iterable<V>): AsyncGenerator<Awaited<R>> {
    this.start(fn, values);
    return this.results(() => this.getNextUnordered<Awaited<R>>());
  }

  private start<V, R>(fn: PoolCall<A, V, R>, values: Iterable<V>): void {
    // What earlier submissions left is not this map's: results not taken are given up (their
    // actors take the new calls after them), and calls still queued never run.
    this.pending.length = 0;
    for (const ref of [...this.inFlight.keys()]) this.free(this.take(ref));
    for (const v of values) this.submit(fn, v);
  }

  private async *results<T>(next: () => Promise<T>): AsyncGenerator<T> {
    while (this.hasNext()) yield await next();
  }

  /** Is an actor idle, with nothing queued? */
  hasFree(): boolean {
    return this.idle.length > 0 && this.pending.length === 0;
  }

  /** Takes an idle actor out of the pool (null if none is free). */
  popIdle(): A | null {
    return this.hasFree() ? this.idle.pop()! : null;
  }

  /** Adds an actor to the pool (it takes queued work at once). */
  push(actor: A): void {
    if (this.idle.includes(actor) || [...this.inFlight.values()].some((f) => f.actor === actor)) {
      throw new RayUsageError('ActorPool.push(actor): that actor already belongs to this pool.');
    }
    this.free(actor);
  }

  /** Takes a call out of the pool's books (its result is being got, or given up); returns its actor. */
  private take(ref: ObjectRef<unknown>): A {
    const { index, actor } = this.inFlight.get(ref)!;
    this.inFlight.delete(ref);
    this.byIndex.delete(index);
    this.nextReturn = Math.max(this.nextReturn, index + 1);
    return actor;
  }

  /** A call's result; its actor is free once it came, unless the actor died. */
  private async result<R>(ref: ObjectRef<unknown>): Promise<R> {
    const actor = this.take(ref);
    let alive = true;
    try {
      return await get(ref as ObjectRef<R>);
    } catch (e) {
      if (e instanceof RayActorError && !(e instanceof ActorUnavailableError)) alive = false;
      throw e;
    } finally {
      if (alive) this.free(actor);
    }
  }

  private timedOut(ref: ObjectRef<unknown>, options: PoolGetOptions): never {
    if (options.ignoreIfTimedOut) this.free(this.take(ref));
    throw new GetTimeoutError([ref.id], options.timeout!);
  }

  private free(actor: A): void {
    this.idle.push(actor);
    const next = this.pending.shift();
    if (next) this.submit(next[0], next[1]);
  }
}
