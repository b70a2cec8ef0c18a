/**
 * A retried task makes new child task, actor-call and put ids (they derive from its attempt), so
 * its retry never reads what its failed attempt's children made.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ray from '../index.js';

beforeAll(() => ray.init({ numWorkers: 2 }));
afterAll(() => ray.shutdown());

class Counter {
  n = 0;
  inc() { return ++this.n; }
}

/** The attempt it is given. */
const echo = ray.remote((attempt: number) => attempt);

describe('a task retried after throwing (retryExceptions)', () => {
  it("gets the actor's answer to its own call, not to its failed attempt's call", async () => {
    const counter = ray.remote(Counter).remote();
    const incThenThrow = ray.remote(async (c: { inc: { remote(): ray.ObjectRef<number> } }) => {
      const n = await ray.get(c.inc.remote());
      if (ray.getRuntimeContext().attempt === 0) throw new Error('first attempt fails after calling the actor');
      return n;
    });
    expect(await ray.get(incThenThrow.options({ retryExceptions: true }).remote(counter))).toBe(2);
  });

  it("gets its own nested task's result, not its failed attempt's", async () => {
    const nestThenThrow = ray.remote(async () => {
      const attempt = ray.getRuntimeContext().attempt;
      const got = await ray.get(echo.remote(attempt));
      if (attempt === 0) throw new Error('first attempt fails after its nested task');
      return got;
    }, { uses: { echo } });
    expect(await ray.get(nestThenThrow.options({ retryExceptions: true }).remote())).toBe(1);
  });

  it('gets the object it put, not the one its failed attempt put', async () => {
    const putThenThrow = ray.remote(async () => {
      const attempt = ray.getRuntimeContext().attempt;
      const got = await ray.get(ray.put({ attempt }));
      if (attempt === 0) throw new Error('first attempt fails after its put');
      return got.attempt;
    });
    expect(await ray.get(putThenThrow.options({ retryExceptions: true }).remote())).toBe(1);
  });
});
