/**
 * Batches the messages of one turn into a single postMessage. Runs of plain-JSON records (tiny
 * tasks, their results) travel as one JSON string in their place in the batch, so order holds.
 * A run is one flat array of the records' fields, stringified once when the batch is sent.
 */
/** What one postMessage carries: messages in order, or just the JSON text of a single run. */
export type Batch = unknown[] | string;

/** The messages of a batch, with a bare JSON run given back its envelope. */
export function messagesOf<M>(batch: Batch, runType: string): M[] {
  return typeof batch === 'string' ? [{ t: runType, j: batch } as M] : (batch as M[]);
}

/**
 * An array field of a run record: the array itself when it holds only primitives (nothing can
 * change it before the run is sent), else its JSON text now — the sender may change its objects
 * afterwards, and a task's arguments are what they were at `.remote()`.
 */
export type JsonField = unknown[] | string;

export function jsonField(a: unknown[]): JsonField {
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (typeof v === 'object' && v !== null) return JSON.stringify(a);
  }
  return a;
}

export function fromJsonField(f: JsonField): unknown[] {
  return typeof f === 'string' ? (JSON.parse(f) as unknown[]) : f;
}

/** A batch this long is sent at once, so the receiver starts while the sender goes on. */
const EAGER_FLUSH = 256;

export class Outbox<M extends { t: string }> {
  private batch: unknown[] = [];
  private size = 0;
  private run: unknown[] | undefined;
  private queued = false;
  /** Told after each flush. */
  onFlushed: (() => void) | undefined;
  /** Told of each message that could not be cloned (the rest of the batch still goes). */
  onUnsendable: ((m: M, error: unknown) => void) | undefined;

  constructor(private readonly send: (batch: Batch) => void, private readonly runType: M['t']) {}

  post(m: M): void {
    this.batch.push(m);
    this.run = undefined;
    this.schedule();
  }

  /**
   * Posts `m` with what is queued before it, now: for a message holding objects its sender may
   * change next (a task's result, the arguments of a task it submits). The clone postMessage
   * makes is then the value as it was.
   */
  postNow(m: M): void {
    this.batch.push(m);
    this.flush();
  }

  private schedule(): void {
    if (++this.size >= EAGER_FLUSH) { this.flush(); return; }
    if (this.queued) return;
    this.queued = true;
    queueMicrotask(this.flushQueued);
  }

  private readonly flushQueued = (): void => {
    this.queued = false;
    this.flush();
  };

  /** The current JSON run, to push one record's fields onto (plain JSON data); then call `added`. */
  jsonRun(): unknown[] {
    if (!this.run) {
      this.run = [];
      this.batch.push({ t: this.runType, j: this.run });
    }
    return this.run;
  }

  /** One record was pushed onto the JSON run. */
  added(): void {
    this.schedule();
  }

  /** Sends what is queued now. */
  flush(): void {
    const batch = this.batch;
    if (batch.length === 0) return;
    this.batch = [];
    this.size = 0;
    this.run = undefined;
    for (const m of batch) {
      const r = m as { t: string; j?: unknown };
      if (r.t === this.runType) r.j = JSON.stringify(r.j);
    }
    // A batch that is one JSON run goes as the bare string: the cheapest thing to post.
    const only = batch.length === 1 ? (batch[0] as { t: string; j?: string }) : undefined;
    const payload: Batch = only?.t === this.runType ? only.j! : batch;
    try {
      this.send(payload);
    } catch {
      // Some message could not be cloned: send the others one by one and report the bad ones.
      for (const m of batch) {
        try { this.send([m]); } catch (e) { this.onUnsendable?.(m as M, e); }
      }
    }
    this.onFlushed?.();
  }
}
