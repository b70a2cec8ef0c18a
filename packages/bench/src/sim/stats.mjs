// What a sim run checks and counts besides time: each task ran and completed exactly once,
// where tasks with data ran, and whether the head kept them by their data when it had room.

export class SimStats {
  constructor(taskCount) {
    this.runs = new Uint8Array(taskCount);
    this.dones = new Uint8Array(taskCount);
    /** Data host of each task with an argument in a store. */
    this.dataHost = new Map();
    this.completed = 0;
    this.withData = 0;
    this.ranByData = 0;
    /** Head decisions for tasks with data whose data host had room then (its own hasRoom), and those placed elsewhere. */
    this.dataHadRoom = 0;
    this.missedLocality = 0;
    this.placedByHead = 0;
  }

  submitted(t) {
    if (t.dataHost === undefined) return;
    this.dataHost.set(t.id, t.dataHost);
    this.withData++;
  }

  started(t, host) {
    this.runs[idx(t.id)]++;
    if (this.dataHost.get(t.id) === host) this.ranByData++;
  }

  done(id) {
    this.dones[idx(id)]++;
    this.completed++;
  }

  /** The head placed `tasks`; `hasRoom(host, demand)` is the data host's own view (tasks on their way to it not counted). */
  placed(tasks, hosts, hasRoom) {
    this.placedByHead += tasks.length;
    tasks.forEach((t, i) => {
      if (!t.args.length) return;
      const data = t.args.reduce((a, b) => (b.bytes > a.bytes ? b : a)).host;
      if (!hasRoom(data, t.demand)) return;
      this.dataHadRoom++;
      if (hosts[i] !== data) this.missedLocality++;
    });
  }

  /** Tasks that did not run, or complete, exactly once. */
  notExactlyOnce() {
    let bad = 0;
    for (let i = 0; i < this.runs.length; i++) if (this.runs[i] !== 1 || this.dones[i] !== 1) bad++;
    return bad;
  }
}

const idx = (id) => Number(id.slice(1));
