// Simulated time for the scheduler sim: tasks "run" for a number of ticks and load reports are
// rate-bounded in ticks, so simulated execution costs no wall time and the run is repeatable.

export class VirtualClock {
  tick = 0;
  #due = new Map();

  /** Runs `fn` when the clock reaches `ticks` from now. */
  after(ticks, fn) {
    const at = this.tick + ticks;
    let due = this.#due.get(at);
    if (!due) this.#due.set(at, (due = []));
    due.push(fn);
  }

  /** Moves one tick on and runs what is due then. */
  advance() {
    this.tick++;
    const due = this.#due.get(this.tick);
    if (!due) return;
    this.#due.delete(this.tick);
    for (const fn of due) fn();
  }
}
