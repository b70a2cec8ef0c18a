/** A pool of resources (CPU and custom ones) with all-or-nothing acquire. */
import type { Resources } from '../shared/options.js';

export class ResourcePool {
  readonly total: Resources;
  readonly available: Resources;

  constructor(total: Resources) {
    this.total = { ...total };
    this.available = { ...total };
  }

  /** Could this demand ever be met here? */
  feasible(demand: Resources): boolean {
    return covers(this.total, demand);
  }

  fits(demand: Resources): boolean {
    return covers(this.available, demand);
  }

  tryAcquire(demand: Resources): boolean {
    if (!this.fits(demand)) return false;
    this.take(demand);
    return true;
  }

  /** Takes even past zero: a blocked task that resumes may oversubscribe, as in Ray. */
  take(demand: Resources): void {
    for (const k in demand) this.available[k] = (this.available[k] ?? 0) - demand[k]!;
  }

  release(demand: Resources): void {
    for (const k in demand) this.available[k] = (this.available[k] ?? 0) + demand[k]!;
  }
}

/** Do `have` resources meet `demand`? (Fractional amounts compare with a little slack.) */
export function covers(have: Readonly<Resources>, demand: Readonly<Resources>): boolean {
  for (const k in demand) if (demand[k]! > 0 && !((have[k] ?? 0) >= demand[k]! - 1e-9)) return false;
  return true;
}

/**
 * Resources actors hold for their lives. A task that needs more than the rest of its host's
 * total waits until one of those actors exits: Ray warns about such pending tasks, and so does
 * `waitsForActors` (once per demand, the first time a task with it queues).
 */
export class ActorHoldings {
  private readonly held: Resources = {};
  /** Actors holding something now: zero keeps the check off the hot path. */
  count = 0;
  private readonly told = new Set<string>();

  add(demand: Resources): void {
    this.count++;
    for (const k in demand) this.held[k] = (this.held[k] ?? 0) + demand[k]!;
  }

  remove(demand: Resources): void {
    this.count--;
    for (const k in demand) this.held[k] = (this.held[k] ?? 0) - demand[k]!;
  }

  /** What to tell the user if a task with `demand` (keyed `key`) cannot run while the actors hold theirs; undefined if it can, or was told. */
  waitsForActors(name: string, key: string, demand: Resources, total: Resources): string | undefined {
    if (this.told.has(key)) return undefined;
    // Called for every task while actors hold resources: no allocation unless it must tell.
    let heldBack = false;
    for (const k in demand) {
      if (demand[k]! > 0 && !((total[k] ?? 0) - (this.held[k] ?? 0) >= demand[k]! - 1e-9)) { heldBack = true; break; }
    }
    if (!heldBack || !covers(total, demand)) return undefined;
    this.told.add(key);
    const held = Object.fromEntries(Object.keys(demand).filter((k) => (this.held[k] ?? 0) > 0).map((k) => [k, this.held[k]]));
    return `webray: task ${name} needs ${JSON.stringify(demand)}, but actors on this host hold ${JSON.stringify(held)} of ${JSON.stringify(total)} for their lives: ` +
      `it waits until one of them exits. Kill an actor that holds it (ray.kill), or give the task fewer resources.`;
  }
}
