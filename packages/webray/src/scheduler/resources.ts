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
