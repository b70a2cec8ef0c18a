// Wall time spent in scheduling work, by category. Each entry point of the sim (a submission, a
// frame received, a dispatch, a completion) runs under `time`; the harness's own work (making
// tasks, checks, counting) runs under `outside`, is not counted there and is summed apart.

const now = () => performance.now();

export class Meter {
  /** Milliseconds per category. */
  ms = Object.create(null);
  #excluded = 0;

  time(category, fn) {
    const t0 = now();
    const excluded0 = this.#excluded;
    try {
      return fn();
    } finally {
      this.ms[category] = (this.ms[category] ?? 0) + now() - t0 - (this.#excluded - excluded0);
    }
  }

  outside(fn) {
    const t0 = now();
    try {
      return fn();
    } finally {
      this.#excluded += now() - t0;
    }
  }

  /** Wall time of the harness's own work. */
  get outsideMs() {
    return this.#excluded;
  }

  get totalMs() {
    let sum = 0;
    for (const k in this.ms) sum += this.ms[k];
    return sum;
  }
}
