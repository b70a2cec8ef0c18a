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
    for (const k in demand) if (demand[k]! > 0 && !((this.total[k] ?? 0) >= demand[k]!)) return false;
    return true;
  }

  fits(demand: Resources): boolean {
    for (const k in demand) if (demand[k]! > 0 && !((this.available[k] ?? 0) >= demand[k]! - 1e-9)) return false;
    return true;
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
