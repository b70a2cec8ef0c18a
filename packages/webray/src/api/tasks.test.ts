import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ray from '../index.js';
import { deserializeError, type SerializedError } from '../shared/errors.js';

beforeAll(() => ray.init({ numWorkers: 2 }));
afterAll(() => ray.shutdown());

describe('remote functions', () => {
  it('run on workers and return their values', async () => {
    const square = ray.remote((x: number) => x * x);
    expect(await ray.get([1, 2, 3].map((i) => square.remote(i)))).toEqual([1, 4, 9]);
  });

  it('run async functions to completion', async () => {
    const later = ray.remote(async (x: string) => { await new Promise((r) => setTimeout(r, 5)); return x + '!'; });
    expect(await ray.get(later.remote('hi'))).toBe('hi!');
  });

  it('resolve refs given as top-level arguments before the task runs', async () => {
    const add = ray.remote((a: number, b: number) => a + b);
    const one = ray.put(1);
    const three = add.remote(one, 2);
    expect(await ray.get(add.remote(three, three))).toBe(6);
  });

  it('pass refs nested inside values as refs', async () => {
    const kind = ray.remote((box: { r: ray.ObjectRef<number> }) => [box.r instanceof ray.ObjectRef, typeof box.r]);
    const r = ray.put(5);
    expect(await ray.get(kind.remote({ r }))).toEqual([true, 'object']);
    const deref = ray.remote(async (box: { r: ray.ObjectRef<number> }) => (await ray.get(box.r)) * 2);
    expect(await ray.get(deref.remote({ r }))).toBe(10);
  });

  it('give numReturns refs, one per returned element', async () => {
    const split = ray.remote((s: string): [string, number] => [s.toUpperCase(), s.length]).options({ numReturns: 2 });
    const [a, b] = split.remote('abc');
    expect(await ray.get(a)).toBe('ABC');
    expect(await ray.get(b)).toBe(3);
  });

  it('fail with a clear error when numReturns does not match what the function returns', async () => {
    const wrong = ray.remote(() => [1]).options({ numReturns: 2 });
    const [a] = wrong.remote();
    await expect(ray.get(a)).rejects.toThrow(/numReturns: 2 but returned an array of 1/);
  });

  it('let tasks submit tasks (nested, dynamic graphs)', async () => {
    const fibTask = ray.remote(fibSource);
    expect(await ray.get(fibTask.remote(7))).toBe(13);
  });

  it('never deadlock when more tasks wait in ray.get than there are workers', async () => {
    const leaf = ray.remote((x: number) => x + 1);
    const parent = ray.remote(async (l: ray.RemoteFunction<[number], number>, x: number) => ray.get(l.remote(x)));
    const refs = Array.from({ length: 8 }, (_, i) => parent.remote(leaf, i));
    expect(await ray.get(refs)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('accept remote functions as arguments', async () => {
    const double = ray.remote((x: number) => 2 * x);
    const apply = ray.remote(async (f: ray.RemoteFunction<[number], number>, x: number) => ray.get(f.remote(x)));
    expect(await ray.get(apply.remote(double, 21))).toBe(42);
  });

  it('tell the task where it runs through getRuntimeContext', async () => {
    const where = ray.remote(() => { const c = ray.getRuntimeContext(); return [c.nodeId, c.taskId, c.jobId]; });
    const [nodeId, taskId, jobId] = await ray.get(where.remote());
    const driver = ray.getRuntimeContext();
    expect(nodeId).not.toBe(driver.nodeId);
    expect(taskId).toMatch(/^[0-9a-f]{24}$/);
    expect(jobId).toBe(driver.jobId);
  });
});

async function fibSource(n: number): Promise<number> {
  if (n < 2) return n;
  const self = ray.remote(fibSource);
  return (await ray.get(self.remote(n - 1))) + (await ray.get(self.remote(n - 2)));
}

describe('ObjectRef', () => {
  it('is not thenable, so await does not unwrap it', async () => {
    const r = ray.put(1);
    expect('then' in r).toBe(false);
    expect(await Promise.resolve(r)).toBe(r);
  });
});

describe('values', () => {
  it('round-trip every structured-clone type with its type kept', async () => {
    const echo = ray.remote((v: unknown) => v);
    const cyclic: { self?: unknown; n: number } = { n: 1 };
    cyclic.self = cyclic;
    const value = {
      map: new Map<unknown, unknown>([[1, 'a'], ['k', { deep: [1, 2] }]]),
      set: new Set([1, 'two']),
      date: new Date(1_700_000_000_000),
      big: 12345678901234567890n,
      undef: undefined,
      f64: new Float64Array([1.5, -2]),
      u8: new Uint8Array([1, 2, 255]),
      i32: new Int32Array([-7]),
      nested: { a: [null, true, 'x'] },
      cyclic,
    };
    const back = (await ray.get(echo.remote(value))) as typeof value;
    expect(back.map).toBeInstanceOf(Map);
    expect(back.map.get('k')).toEqual({ deep: [1, 2] });
    expect(back.set).toEqual(new Set([1, 'two']));
    expect(back.date.getTime()).toBe(1_700_000_000_000);
    expect(back.big).toBe(12345678901234567890n);
    expect('undef' in back && back.undef === undefined).toBe(true);
    expect(back.f64).toBeInstanceOf(Float64Array);
    expect([...back.f64]).toEqual([1.5, -2]);
    expect(back.u8).toBeInstanceOf(Uint8Array);
    expect(back.i32).toBeInstanceOf(Int32Array);
    expect(back.cyclic.self).toBe(back.cyclic);
  });

  it('refuse a non-serializable argument with a typed error naming it', () => {
    const echo = ray.remote((v: unknown) => v);
    expect(() => echo.remote({ cb: () => 1 })).toThrow(ray.NonSerializableError);
    expect(() => echo.remote({ cb: () => 1 })).toThrow(/\(args\[0\]\)\.cb is a function/);
    expect(() => echo.remote(Symbol('s'))).toThrow(/a symbol/);
    expect(() => echo.remote(Promise.resolve(1))).toThrow(/a Promise/);
  });

  it('fail the task, not the worker, when a return value cannot be sent', async () => {
    const bad = ray.remote(() => ({ f: () => 1 }));
    await expect(ray.get(bad.remote())).rejects.toThrow(/return value\.f is a function/);
    const ok = ray.remote(() => 'still alive');
    expect(await ray.get(ok.remote())).toBe('still alive');
  });

  it('snapshot ray.put values, so later changes do not show', async () => {
    const v = { n: 1 };
    const r = ray.put(v);
    v.n = 2;
    expect(await ray.get(r)).toEqual({ n: 1 });
  });
});

describe('errors', () => {
  it('reject get with RayTaskError carrying the remote message, stack, cause and function name', async () => {
    function failing(): never { throw new RangeError('out of range'); }
    const f = ray.remote(failing);
    const err = await ray.get(f.remote()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ray.RayTaskError);
    const e = err as ray.RayTaskError;
    expect(e.functionName).toBe('failing');
    expect(e.cause).toBeInstanceOf(RangeError);
    expect((e.cause as Error).message).toBe('out of range');
    expect(e.remoteStack).toMatch(/failing/);
    expect(e.message).toMatch(/retryExceptions/);
  });

  it('keep a thrown error\'s own properties that can be sent (code, data) on .cause, and drop the rest', async () => {
    const f = ray.remote(() => {
      const e = new Error('no such file') as Error & Record<string, unknown>;
      e.code = 'E_X';
      e.info = { path: '/x', tries: [1, 2] };
      e.callback = () => 1;
      throw e;
    });
    const err = (await ray.get(f.remote()).catch((e: unknown) => e)) as ray.RayTaskError;
    expect(err).toBeInstanceOf(ray.RayTaskError);
    const cause = err.cause as Error & Record<string, unknown>;
    expect(cause.message).toBe('no such file');
    expect(cause.code).toBe('E_X');
    expect(cause.info).toEqual({ path: '/x', tries: [1, 2] });
    expect('callback' in cause).toBe(false);
  });

  it('rebuilds a received error\'s properties as plain ones: a \'__proto__\' key does not change its prototype', () => {
    const e = deserializeError(JSON.parse('{"name":"Error","message":"m","props":{"__proto__":{"polluted":1},"code":"E_Y"}}') as SerializedError);
    expect(Object.getPrototypeOf(e)).toBe(Error.prototype);
    expect((e as Error & { code?: string }).code).toBe('E_Y');
    expect((e as Error & { polluted?: number }).polluted).toBeUndefined();
  });

  it('fail tasks that depend on a failed task with the same cause', async () => {
    const boom = ray.remote(function boom(): number { throw new Error('first'); });
    const inc = ray.remote((x: number) => x + 1);
    const err = await ray.get(inc.remote(inc.remote(boom.remote()))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ray.RayTaskError);
    expect((err as ray.RayTaskError).functionName).toBe('boom');
    expect(((err as Error).cause as Error).message).toBe('first');
  });

  it('retry thrown errors with retryExceptions, up to maxRetries', async () => {
    const flaky = ray.remote(() => {
      if (ray.getRuntimeContext().attempt < 2) throw new Error('transient');
      return ray.getRuntimeContext().attempt;
    });
    expect(await ray.get(flaky.options({ retryExceptions: true, maxRetries: 3 }).remote())).toBe(2);
    await expect(ray.get(flaky.options({ retryExceptions: true, maxRetries: 1 }).remote())).rejects.toThrow(/transient/);
    await expect(ray.get(flaky.remote())).rejects.toThrow(/transient/);
  });

  it('retry only the named errors when retryExceptions lists names', async () => {
    const typed = ray.remote(() => {
      if (ray.getRuntimeContext().attempt === 0) throw new TypeError('retry me');
      return 'ok';
    });
    expect(await ray.get(typed.options({ retryExceptions: ['TypeError'] }).remote())).toBe('ok');
    await expect(ray.get(typed.options({ retryExceptions: ['RangeError'] }).remote())).rejects.toThrow(/retry me/);
  });

  it('retry a task whose worker died, then report WorkerCrashedError when retries run out', async () => {
    const dieOnce = ray.remote(() => {
      if (ray.getRuntimeContext().attempt === 0) process.exit(1);
      return 'survived';
    });
    expect(await ray.get(dieOnce.remote())).toBe('survived');
    const dieAlways = ray.remote(() => process.exit(1));
    const err = await ray.get(dieAlways.options({ maxRetries: 1 }).remote()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ray.WorkerCrashedError);
    expect((await ray.nodes()).filter((n) => n.kind === 'task' && n.alive).length).toBe(2);
  });

  it('refuse a closure over a local variable, naming the variable', () => {
    const offset = 3;
    expect(() => ray.remote((x: number) => x + offset)).toThrow(/'offset'/);
  });

  it('say to call init when submitting before init', async () => {
    await ray.shutdown();
    const f = ray.remote(() => 1);
    expect(() => f.remote()).toThrow(/ray\.init\(\)/);
    await ray.init({ numWorkers: 2 });
  });
});

describe('resources', () => {
  it('keep a task pending while it needs a resource no node has', async () => {
    const gpu = ray.remote(() => 'gpu').options({ resources: { webgpu: 1 } });
    const r = gpu.remote();
    const [ready] = await ray.wait([r], { timeout: 200 });
    expect(ready).toEqual([]);
    const tasks = await ray.state.listTasks({ filters: { taskId: r.id.slice(0, 24) } });
    expect(tasks[0]?.state).toBe('PENDING_NODE_ASSIGNMENT');
    await ray.cancel(r);
    await expect(ray.get(r)).rejects.toBeInstanceOf(ray.TaskCancelledError);
  });

  it('report cluster and available resources', async () => {
    expect(await ray.clusterResources()).toEqual({ CPU: 2 });
    expect((await ray.availableResources()).CPU).toBeLessThanOrEqual(2);
  });
});
