/**
 * A retried task makes new child task, actor-call and put ids (they derive from its attempt), so
 * its retry never reads what its failed attempt's children made.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ray from '../index.js';

beforeAll(() => ray.init({ numWorkers: 2 }));
afterAll(() => ray.shutdown());

class CounterClass {
  n = 0;
  inc() { return ++this.n; }
}
const Counter = ray.remote(CounterClass);

/** The attempt it is given. */
const echo = ray.remote((attempt: number) => attempt);

describe('a task retried after throwing (retryExceptions)', () => {
  it("gets the actor's answer to its own call, not to its failed attempt's call", async () => {
    const counter = Counter.remote();
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

  it("creates a new actor when it creates one, beside its failed attempt's", async () => {
    class Once { ping() { return 'pong'; } }
    const OnceActor = ray.remote(Once);
    const createThenThrow = ray.remote(async () => {
      await ray.get(OnceActor.options({ lifetime: 'detached' }).remote().ping.remote());
      if (ray.getRuntimeContext().attempt === 0) throw new Error('first attempt fails after creating an actor');
      return 'done';
    }, { uses: { OnceActor } });
    expect(await ray.get(createThenThrow.options({ retryExceptions: true }).remote())).toBe('done');
    const made = (await ray.state.listActors()).filter((a) => a.className === 'Once');
    expect(new Set(made.map((a) => a.actorId)).size).toBe(2);
  });
});

/** Puts whether it was restarted, in its constructor; exits its worker when told to. */
class Remembers {
  ref: ray.ObjectRef<boolean>;
  constructor() { this.ref = ray.put(ray.getRuntimeContext().wasCurrentActorRestarted); }
  read() { return ray.get(this.ref); }
  refs() { return [this.ref]; }
  exit() { process.exit(3); }
}

describe('an actor restarted after its worker died', () => {
  it('gets the object its new constructor put, not the first one', async () => {
    const a = ray.remote(Remembers).options({ maxRestarts: 1 }).remote();
    const [first] = await ray.get(a.refs.remote());
    await ray.get(a.exit.remote()).catch(() => undefined);
    expect(await ray.get(a.read.remote())).toBe(true);
    expect(await ray.get(first!)).toBe(false);
  });
});
