import { describe, expect, it } from 'vitest';
import { LoadReporter, spills } from './bottom-up.js';
import type { LoadReport } from './global.js';

describe('a host\'s half of bottom-up scheduling', () => {
  it('keeps a task where it was submitted while there is room, unless another host holds more of its bytes', () => {
    expect(spills('a', [], true)).toBe(false);
    expect(spills('a', [], false)).toBe(true);
    expect(spills('a', [{ host: 'a', bytes: 10 }, { host: 'b', bytes: 5 }], true)).toBe(false);
    expect(spills('a', [{ host: 'a', bytes: 10 }, { host: 'b', bytes: 50 }], true)).toBe(true);
  });

  it('reports load at once after a quiet spell, holds back changes to one report per interval, and repeats an unchanged load now and then', () => {
    let now = 0;
    const sent: LoadReport[] = [];
    const r = new LoadReporter(() => now, (l) => sent.push({ ...l, free: { ...l.free } }), 100, 1000);
    r.update({ free: { CPU: 4 }, queued: 0 });
    expect(sent).toHaveLength(1);
    now = 10;
    r.update({ free: { CPU: 3 }, queued: 0 });
    r.update({ free: { CPU: 2 }, queued: 0 });
    r.tick();
    expect(sent).toHaveLength(1);
    now = 100;
    r.tick();
    expect(sent.at(-1)).toEqual({ free: { CPU: 2 }, queued: 0 });
    now = 200;
    r.tick();
    expect(sent).toHaveLength(2);
    now = 1100;
    r.tick();
    expect(sent).toHaveLength(3);
    expect(sent.at(-1)).toEqual({ free: { CPU: 2 }, queued: 0 });
  });
});
