/**
 * ActorPool, as Ray's `ray.util.ActorPool`: work spread over a set of actors, each given one call
 * at a time, the rest queued until one is free; results in submission order (`getNext`, `map`) or
 * as they come (`getNextUnordered`, `mapUnordered`). An actor is free again once its result is taken.
 */
import { GetTimeoutError, RayUsageError } from '../shared/errors.js';
import { describeValue } from '../shared/usage.js';
import { get, wait } from './index.js';
import { isObjectRef, type ObjectRef } from './object-ref.js';

/** Calls one actor of the pool with one value; returns the call's ObjectRef. */
export type PoolCall<A, V, R> = (actor: A, value: V) => ObjectRef<R>;

export interface PoolGetOptions {
  /** Milliseconds to wait for the result; past it a GetTimeoutError. Default: no limit. */
  timeout?: number;
  /** On a timeout, drop that call (its actor goes back to the pool), then throw the GetTimeoutError. */
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
    const ref = fn(actor, value);
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
    if (!this.hasNext()) throw new RayUsageError('ActorPool.getNext(): no more results to get; submit() first (hasNext() is false).');
    if (this.nextReturn >= this.nextTask) {
      throw new RayUsageError('ActorPool.getNext(): getNext cannot follow getNextUnordered (the order is gone); keep to one of them until hasNext() is false.');
    }
    const ref = this.byIndex.get(this.nextReturn)!;
    let timedOut = false;
    if (options.timeout !== undefined) {
      const [ready] = await wait([ref], { timeout: options.timeout });
      if (ready.length === 0) {
        if (!options.ignoreIfTimedOut) throw new GetTimeoutError([ref.id], options.timeout);
        timedOut = true;
      }
    }
    this.byIndex.delete(this.nextReturn++);
    this.returned(ref);
    if (timedOut) throw new GetTimeoutError([ref.id], options.timeout!);
    return get(ref as ObjectRef<R>);
  }

  /** Whichever result is ready first. */
  async getNextUnordered<R = unknown>(options: PoolGetOptions = {}): Promise<R> {
    if (!this.hasNext()) throw new RayUsageError('ActorPool.getNextUnordered(): no more results to get; submit() first (hasNext() is false).');
    const [ready] = await wait([...this.inFlight.keys()], { numReturns: 1, ...(options.timeout === undefined ? {} : { timeout: options.timeout }) });
    const ref = ready[0];
    if (ref === undefined) throw new GetTimeoutError([...this.inFlight.keys()].map((r) => r.id), options.timeout!);
    const { index } = this.inFlight.get(ref)!;
    this.byIndex.delete(index);
    this.nextReturn = Math.max(this.nextReturn, index + 1);
    this.returned(ref);
    return get(ref as ObjectRef<R>);
  }

  /** Each value through `fn` on the pool's actors; the results in the values' order. */
  async *map<V, R>(fn: PoolCall<A, V, R>, values: Iterable<V>): AsyncGenerator<Awaited<R>> {
    yield* this.each(fn, values, () => this.getNext<Awaited<R>>());
  }

  /** As `map`, the results as they come. */
  async *mapUnordered<V, R>(fn: PoolCall<A, V, R>, values: Iterable<V>): AsyncGenerator<Awaited<R>> {
    yield* this.each(fn, values, () => this.getNextUnordered<Awaited<R>>());
  }

  private async *each<V, R, T>(fn: PoolCall<A, V, R>, values: Iterable<V>, next: () => Promise<T>): AsyncGenerator<T> {
    // As Ray's: what earlier submissions left is not this map's — queued calls never run, results not taken are dropped.
    this.pending.length = 0;
    for (const ref of [...this.inFlight.keys()]) this.returned(ref);
    this.byIndex.clear();
    this.nextReturn = this.nextTask;
    for (const v of values) this.submit(fn, v);
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

  /** A call's result was taken: its actor is free again. */
  private returned(ref: ObjectRef<unknown>): void {
    const f = this.inFlight.get(ref)!;
    this.inFlight.delete(ref);
    this.free(f.actor);
  }

  private free(actor: A): void {
    this.idle.push(actor);
    const next = this.pending.shift();
    if (next) this.submit(next[0], next[1]);
  }
}
