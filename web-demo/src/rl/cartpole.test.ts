import { describe, expect, it } from 'vitest';
import { CartPole } from './cartpole.ts';

describe('CartPole', () => {
  it('steps as the classic equations do (values computed by hand from them)', () => {
    const c = new CartPole(0);
    c.state.set([0.01, 0.02, 0.03, 0.04]);
    expect(c.step(1)).toBe(1);
    const right = [0.0104, 0.21467919574755523, 0.030799999999999998, -0.24306871796000815];
    right.forEach((v, i) => expect(c.state[i]).toBeCloseTo(v, 12));
    c.step(0);
    const left = [0.014693583914951104, 0.019131151051807987, 0.025938625640799833, 0.05916799993941654];
    left.forEach((v, i) => expect(c.state[i]).toBeCloseTo(v, 12));
  });

  it('starts uniform in ±0.05 from its seed, the same seed giving the same trajectory', () => {
    const run = (seed: number) => {
      const c = new CartPole(seed);
      const states = [Array.from(c.state)];
      for (let i = 0; !c.done; i++) {
        c.step(i % 3 === 0 ? 0 : 1);
        states.push(Array.from(c.state));
      }
      return states;
    };
    const a = run(7);
    expect(a[0]!.every((v) => Math.abs(v) <= 0.05)).toBe(true);
    expect(run(7)).toEqual(a);
    expect(run(8)[0]).not.toEqual(a[0]);
  });

  it('ends when |θ| passes 12°, when |x| passes 2.4, and after 500 steps', () => {
    const tipping = new CartPole(1);
    tipping.state.set([0, 0, 0.2, 0]);
    tipping.step(1);
    expect(tipping.done).toBe(false); // 0.2 rad is 11.5°
    tipping.state.set([0, 0, 0.21, 0]);
    tipping.step(1);
    expect(tipping.done).toBe(true);
    const away = new CartPole(1);
    away.state.set([2.39, 1, 0, 0]);
    away.step(1);
    expect(away.done).toBe(true);
    const long = new CartPole(1);
    long.steps = 498;
    long.step(1);
    expect(long.done).toBe(false);
    long.step(0);
    expect(long.done).toBe(true);
    expect(long.steps).toBe(500);
    expect(() => long.step(1)).toThrow(/reset/);
  });
});
