/**
 * A host's half of bottom-up scheduling (the head's half is global.ts): whether a task leaves the
 * host it was submitted on, and how the host tells the head its load.
 */
import type { ArgBytes, LoadReport } from './global.js';

/**
 * Does a task leave the host it was submitted on? It stays while the host has resources free for
 * it (`hasRoom`), unless another host holds more of its argument bytes.
 */
export function spills(host: string, args: readonly ArgBytes[], hasRoom: boolean): boolean {
  const here = args.find((a) => a.host === host)?.bytes ?? 0;
  return args.some((a) => a.bytes > here) || !hasRoom;
}

export const LOAD_REPORT_MS = 100;
export const LOAD_REFRESH_MS = 1000;

/**
 * Load reports: after a change, at most once per `everyMs`, and unchanged once per `refreshMs` —
 * the head's estimate counts tasks it placed on a host that may never have come (their owner ran
 * them itself), and an idle host has nothing else to correct it with. Call `tick` every `everyMs`.
 */
export class LoadReporter {
  private load: LoadReport | undefined;
  private changed = false;
  private sentAt = -Infinity;

  constructor(
    private readonly now: () => number,
    private readonly send: (load: LoadReport) => void,
    private readonly everyMs = LOAD_REPORT_MS,
    private readonly refreshMs = LOAD_REFRESH_MS,
  ) {}

  /** This host's load now (the object may be live: it is read when sent). */
  update(load: LoadReport): void {
    this.load = load;
    this.changed = true;
    if (this.now() - this.sentAt >= this.everyMs) this.flush(load);
  }

  /** Sends a change held back by the rate bound, or the periodic refresh. */
  tick(): void {
    const since = this.now() - this.sentAt;
    if (this.load && (this.changed ? since >= this.everyMs : since >= this.refreshMs)) this.flush(this.load);
  }

  private flush(load: LoadReport): void {
    this.changed = false;
    this.sentAt = this.now();
    this.send(load);
  }
}
