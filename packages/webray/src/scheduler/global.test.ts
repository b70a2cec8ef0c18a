import { describe, expect, it } from 'vitest';
import { GlobalScheduler } from './global.js';

const cpu = { CPU: 1 };

describe('the global scheduler', () => {
  it('places a task where most of its argument bytes are, while that host has free resources', () => {
    const g = new GlobalScheduler();
    g.hostJoined('a', { CPU: 4 });
    g.hostJoined('b', { CPU: 4 });
    g.hostJoined('c', { CPU: 4 });
    expect(g.place(cpu, [{ host: 'a', bytes: 1000 }, { host: 'b', bytes: 32 << 20 }])).toBe('b');
    g.report('b', { free: { CPU: 0 }, queued: 3 });
    // b is busy: the least loaded other host takes it, data or not.
    expect(g.place(cpu, [{ host: 'b', bytes: 32 << 20 }])).not.toBe('b');
  });

  it('spreads tasks without arguments over the least loaded hosts, counting what it placed until the next report', () => {
    const g = new GlobalScheduler();
    g.hostJoined('a', { CPU: 2 });
    g.hostJoined('b', { CPU: 2 });
    g.report('a', { free: { CPU: 0 }, queued: 0 });
    const placed = Array.from({ length: 6 }, () => g.place(cpu));
    // b's two free CPUs first, then turns by load.
    expect(placed.slice(0, 2)).toEqual(['b', 'b']);
    expect(placed.filter((h) => h === 'a').length).toBe(2);
    expect(placed.filter((h) => h === 'b').length).toBe(4);
    g.report('b', { free: { CPU: 2 }, queued: 0 });
    expect(g.place(cpu)).toBe('b');
  });

  it('places nothing on a paused host, even holding the arguments or least loaded, counts nothing free there, and uses it again once resumed', () => {
    const g = new GlobalScheduler();
    g.hostJoined('a', { CPU: 4 });
    g.hostJoined('b', { CPU: 1, GPU: 1 });
    g.report('b', { free: { CPU: 0, GPU: 1 }, queued: 9 });
    g.hostPaused('a', true);
    expect(g.available()).toEqual({ CPU: 0, GPU: 1 });
    expect(Array.from({ length: 5 }, () => g.place(cpu, [{ host: 'a', bytes: 1 << 20 }]))).toEqual(Array(5).fill('b'));
    g.hostPaused('b', true);
    expect(g.place(cpu)).toBeUndefined();
    g.hostPaused('a', false);
    expect(g.place(cpu, [{ host: 'a', bytes: 1 << 20 }])).toBe('a');
    expect(g.place({ GPU: 1 })).toBeUndefined();
  });

  it('sends a task needing a custom resource only to a host that has it, and none when no host has it', () => {
    const g = new GlobalScheduler();
    g.hostJoined('a', { CPU: 8 });
    g.hostJoined('gpu', { CPU: 1, GPU: 1 });
    g.report('gpu', { free: { CPU: 0, GPU: 0 }, queued: 5 });
    expect(g.place({ CPU: 1, GPU: 1 })).toBe('gpu');
    expect(g.place({ TPU: 1 })).toBeUndefined();
  });

  it('forgets a host that left', () => {
    const g = new GlobalScheduler();
    g.hostJoined('a', { CPU: 1 });
    g.hostJoined('b', { CPU: 1 });
    g.report('a', { free: { CPU: 0 }, queued: 10 });
    g.hostLeft('b');
    expect(g.place(cpu, [{ host: 'b', bytes: 1 << 20 }])).toBe('a');
    expect(g.size).toBe(1);
  });

  it('keeps picking the least loaded of many hosts as reports change', () => {
    const g = new GlobalScheduler();
    const n = 1000;
    for (let i = 0; i < n; i++) g.hostJoined(`h${i}`, { CPU: 4 });
    for (let i = 0; i < n; i++) g.report(`h${i}`, { free: { CPU: 0 }, queued: 1 + (i % 7) });
    g.report('h500', { free: { CPU: 3 }, queued: 0 });
    expect(g.place(cpu)).toBe('h500');
    expect(g.place(cpu)).toBe('h500');
    expect(g.place(cpu)).toBe('h500');
    // h500 has no CPU free and nothing queued (load 1): still the lightest.
    expect(g.place(cpu)).toBe('h500');
    // Now it has one queued, as do the hosts i % 7 == 0: one of those, never a heavier one.
    const next = Number(g.place(cpu)!.slice(1));
    expect(next === 500 || next % 7 === 0).toBe(true);
  });
});
