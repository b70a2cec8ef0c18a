// The serving loop after a restart of training: only the new loop asks and draws; the old one's
// late answers (its actor was killed) are neither drawn nor reported.
import { afterEach, describe, expect, it } from 'vitest';
import { startFrameLoop, stopFrameLoop } from './frame-loop.ts';

/** Animation frames run by hand: `run()` runs the ticks scheduled so far. */
function frames() {
  let queued: (() => void)[] = [];
  return {
    nextFrame: (tick: () => void) => { queued.push(tick); },
    run: async () => {
      const now = queued;
      queued = [];
      for (const t of now) t();
      await new Promise((r) => setTimeout(r, 0)); // lets the answers settle, as between two frames
    },
  };
}

/** A loop's parts that count what it asked and drew; `answer` decides each request's fate. */
function parts(answer: () => Promise<string> = () => Promise.resolve('frame')) {
  const seen = { asked: 0, drawn: [] as string[], errors: [] as unknown[] };
  return { seen, ask: () => { seen.asked++; return answer(); }, draw: (f: string) => seen.drawn.push(f), onError: (e: unknown) => seen.errors.push(e) };
}

afterEach(() => stopFrameLoop());

describe('the serving frame loop', () => {
  it('asks once per animation frame, one request in flight, and draws each answer', async () => {
    const f = frames();
    const a = parts();
    startFrameLoop({ ...a, nextFrame: f.nextFrame });
    for (let i = 0; i < 3; i++) await f.run();
    expect(a.seen.asked).toBe(3);
    expect(a.seen.drawn).toEqual(['frame', 'frame', 'frame']);
  });

  it('starting a loop stops the one before: the old loop asks nothing more', async () => {
    const f = frames();
    const old = parts();
    startFrameLoop({ ...old, nextFrame: f.nextFrame });
    await f.run();
    const next = parts();
    startFrameLoop({ ...next, nextFrame: f.nextFrame });
    for (let i = 0; i < 3; i++) await f.run();
    expect(old.seen.asked).toBe(1);
    expect(next.seen.asked).toBe(3);
  });

  it('a stopped loop\'s late answer is neither drawn nor reported (its actor was killed), and the new loop goes on', async () => {
    const f = frames();
    let fail!: (e: Error) => void;
    const old = parts(() => new Promise((_, reject) => { fail = reject; }));
    startFrameLoop({ ...old, nextFrame: f.nextFrame });
    await f.run();
    const next = parts();
    startFrameLoop({ ...next, nextFrame: f.nextFrame });
    fail(new Error('the actor was killed'));
    for (let i = 0; i < 2; i++) await f.run();
    expect(old.seen.errors).toEqual([]);
    expect(next.seen.errors).toEqual([]);
    expect(next.seen.drawn).toEqual(['frame', 'frame']);
  });

  it.each([
    ['a failed request stops the loop and is reported once', () => Promise.reject(new Error('no actor'))],
    ['a request that throws at once (webray shut down as the page goes) stops the loop and is reported, not thrown', (): Promise<string> => { throw new Error('webray is not initialised'); }],
  ])('%s', async (_name, answer) => {
    const f = frames();
    const a = parts(answer);
    startFrameLoop({ ...a, nextFrame: f.nextFrame });
    for (let i = 0; i < 3; i++) await f.run();
    expect(a.seen.asked).toBe(1);
    expect(a.seen.errors).toHaveLength(1);
  });
});
