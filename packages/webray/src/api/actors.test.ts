import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ray from '../index.js';

beforeAll(() => ray.init({ numWorkers: 2 }));
afterAll(() => ray.shutdown());

class Counter {
  n = 0;
  constructor(start = 0) { this.n = start; }
  inc(by = 1) { return (this.n += by); }
  read() { return this.n; }
  fail(): never { throw new Error('counter broke'); }
  crash(): never { process.exit(1); }
}

class Sleeper {
  running = 0;
  peak = 0;
  async nap(ms: number) {
    this.running++;
    this.peak = Math.max(this.peak, this.running);
    await new Promise((r) => setTimeout(r, ms));
    this.running--;
    return this.peak;
  }
}

describe('actors', () => {
  it('keep state across calls and run one caller\'s calls in submission order', async () => {
    const c = ray.remote(Counter).remote(10);
    const refs = Array.from({ length: 100 }, () => c.inc.remote(1));
    const values = await ray.get(refs);
    expect(values).toEqual(Array.from({ length: 100 }, (_, i) => 11 + i));
    expect(await ray.get(c.read.remote())).toBe(110);
  });

  it('keep order when an earlier call waits for its arguments', async () => {
    const slow = ray.remote(async (x: number) => { await new Promise((r) => setTimeout(r, 50)); return x; });
    const log = ray.remote(class Log { items: number[] = []; add(x: number) { this.items.push(x); return this.items.length; } all() { return this.items; } }).remote();
    log.add.remote(slow.remote(1));
    log.add.remote(2);
    expect(await ray.get(log.all.remote())).toEqual([1, 2]);
  });

  it('run async methods concurrently up to maxConcurrency', async () => {
    const S = ray.remote(Sleeper);
    const many = S.remote();
    expect(Math.max(...(await ray.get([1, 2, 3, 4].map(() => many.nap.remote(30)))))).toBe(4);
    const two = S.options({ maxConcurrency: 2 }).remote();
    expect(Math.max(...(await ray.get([1, 2, 3, 4].map(() => two.nap.remote(30)))))).toBe(2);
  });

  it('do not use up the task slots of numWorkers', async () => {
    const actors = Array.from({ length: 3 }, () => ray.remote(Counter).remote());
    await ray.get(actors.map((a) => a.inc.remote()));
    const square = ray.remote((x: number) => x * x);
    expect(await ray.get([2, 3].map((x) => square.remote(x)))).toEqual([4, 9]);
    expect((await ray.availableResources()).CPU).toBe(2);
    for (const a of actors) await ray.kill(a);
  });

  it('give numReturns refs per method call with per-method options', async () => {
    const Pair = ray.remote(class Pair { both(): [string, number] { return ['a', 1]; } });
    const p = Pair.remote();
    const [a, b] = p.both.options({ numReturns: 2 }).remote();
    expect(await ray.get([a, b])).toEqual(['a', 1]);
  });

  it('reject a throwing method with RayTaskError and keep the actor alive', async () => {
    const c = ray.remote(Counter).remote();
    await expect(ray.get(c.fail.remote())).rejects.toThrow(/counter broke/);
    expect(await ray.get(c.inc.remote())).toBe(1);
  });

  it('are reachable by name, within their namespace', async () => {
    ray.remote(Counter).options({ name: 'shared-counter' }).remote(5);
    const again = await ray.getActor<Counter>('shared-counter');
    expect(await ray.get(again.inc.remote())).toBe(6);
    await expect(ray.getActor('shared-counter', { namespace: 'other' })).rejects.toThrow(/No live actor named 'shared-counter' in namespace 'other'/);
    expect(() => ray.remote(Counter).options({ name: 'shared-counter' }).remote()).toThrow(/already exists/);
    const other = ray.remote(Counter).options({ name: 'shared-counter', namespace: 'other' }).remote(100);
    expect(await ray.get(other.read.remote())).toBe(100);
  });

  it('can be passed to tasks, which call them', async () => {
    const c = ray.remote(Counter).remote();
    const bump = ray.remote(async (h: ray.ActorHandle<Counter>, by: number) => ray.get(h.inc.remote(by)));
    await ray.get([bump.remote(c, 1), bump.remote(c, 2), bump.remote(c, 3)]);
    expect(await ray.get(c.read.remote())).toBe(6);
  });

  it('fail calls with RayActorError after ray.kill', async () => {
    const c = ray.remote(Counter).remote();
    expect(await ray.get(c.inc.remote())).toBe(1);
    await ray.kill(c);
    await expect(ray.get(c.inc.remote())).rejects.toBeInstanceOf(ray.RayActorError);
    const [info] = await ray.state.listActors({ filters: { actorId: c.actorId } });
    expect(info?.state).toBe('DEAD');
    expect(info?.deathCause).toMatch(/killed/);
  });

  it('restart after a crash with maxRestarts, rerunning the constructor', async () => {
    const c = ray.remote(Counter).options({ maxRestarts: 1 }).remote(7);
    expect(await ray.get(c.inc.remote())).toBe(8);
    await expect(ray.get(c.crash.remote())).rejects.toBeInstanceOf(ray.RayActorError);
    expect(await ray.get(c.read.remote())).toBe(7);
    await expect(ray.get(c.crash.remote())).rejects.toBeInstanceOf(ray.RayActorError);
    await expect(ray.get(c.read.remote())).rejects.toThrow(/is dead/);
  });

  it('fail a call lost in a restart with an error saying the actor died, where, why and that it restarts; later calls reach the new instance in order', async () => {
    const c = ray.remote(Counter).options({ maxRestarts: 1 }).remote(7);
    expect(await ray.get(c.inc.remote())).toBe(8);
    const err = await ray.get(c.crash.remote()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ray.RayActorError);
    expect((err as ray.RayActorError).restarting).toBe(true);
    expect((err as Error).message).toMatch(/died: its worker \S+ on host \S+ died \(.+\) while running this call\. It is restarting/);
    expect((err as Error).message).not.toMatch(/fail from now on/);
    expect(await ray.get([1, 2, 3].map((k) => c.inc.remote(k)))).toEqual([8, 10, 13]);
    const [info] = await ray.state.listActors({ filters: { actorId: c.actorId } });
    expect(info).toMatchObject({ state: 'ALIVE', numRestarts: 1, deathCause: null });
    expect(info!.deathCauses).toHaveLength(1);
    expect(info!.deathCauses[0]).toMatch(/its worker \S+ on host \S+ died/);
  });

  it('list every death\'s cause, the restarts\' and the final one', async () => {
    const c = ray.remote(Counter).options({ maxRestarts: 1 }).remote();
    await ray.get(c.crash.remote()).catch(() => undefined);
    await ray.get(c.crash.remote()).catch(() => undefined);
    const [info] = await ray.state.listActors({ filters: { actorId: c.actorId } });
    expect(info).toMatchObject({ state: 'DEAD', numRestarts: 1 });
    expect(info!.deathCauses).toHaveLength(2);
    expect(info!.deathCauses[1]).toBe(info!.deathCause);
  });

  it('retry calls in flight on the restarted actor with maxTaskRetries', async () => {
    const Once = ray.remote(class Once {
      async step() {
        if (!ray.getRuntimeContext().wasCurrentActorRestarted) process.exit(1);
        return 'after restart';
      }
    });
    const a = Once.options({ maxRestarts: 1, maxTaskRetries: 1 }).remote();
    expect(await ray.get(a.step.remote())).toBe('after restart');
  });

  it('die with RayActorError when the constructor throws', async () => {
    const Broken = ray.remote(class Broken { constructor() { throw new Error('no config'); } ping() { return 1; } });
    const b = Broken.remote();
    const err = await ray.get(b.ping.remote()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ray.RayActorError);
    expect((err as Error).message).toMatch(/constructor threw Error: no config/);
  });

  it('refuse calls beyond maxPendingCalls', async () => {
    const S = ray.remote(Sleeper).options({ maxPendingCalls: 2 });
    const s = S.remote();
    const a = s.nap.remote(20);
    const b = s.nap.remote(20);
    expect(() => s.nap.remote(20)).toThrow(ray.PendingCallsLimitExceededError);
    await ray.get([a, b]);
    expect(await ray.get(s.nap.remote(1))).toBeGreaterThan(0);
  });
});
