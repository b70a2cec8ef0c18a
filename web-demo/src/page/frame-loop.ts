/**
 * The loop that asks the serving actor for a frame on every animation frame and draws it, one
 * request in flight at a time. One loop at a time: starting one stops the one before, so after a
 * restart of training the old loop neither draws nor reports its actor's death (it was killed).
 */
export interface FrameLoopParts<F> {
  /** Asks for the next frame. */
  ask(): Promise<F>;
  draw(frame: F): void;
  /** A failed request: the loop stops and says why. */
  onError(e: unknown): void;
  /** Schedules the next tick (default: requestAnimationFrame). */
  nextFrame?: (tick: () => void) => unknown;
}

let stopCurrent: (() => void) | undefined;

/** Stops the running loop, if any; a request still in flight is neither drawn nor reported. */
export function stopFrameLoop(): void {
  stopCurrent?.();
  stopCurrent = undefined;
}

export function startFrameLoop<F>({ ask, draw, onError, nextFrame = requestAnimationFrame }: FrameLoopParts<F>): void {
  stopFrameLoop();
  let on = true;
  stopCurrent = () => { on = false; };
  let inFlight = false;
  const tick = () => {
    if (!on) return;
    if (!inFlight) {
      inFlight = true;
      // A synchronous throw too (webray shut down as the page went away) ends the loop, not the page.
      new Promise<F>((resolve) => resolve(ask()))
        .then((f) => { if (on) draw(f); })
        .catch((e) => { if (on) { on = false; onError(e); } })
        .finally(() => { inFlight = false; });
    }
    nextFrame(tick);
  };
  nextFrame(tick);
}
