import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ray from '../index.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

beforeAll(() => ray.init({ numWorkers: 2, resources: { webgpu: 1 } }));
afterAll(() => ray.shutdown());

/** Resolves once the task given `flags` says it runs (flags[1] leaves 0). */
const runs = (flags: Int32Array, i = 1) => (Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number): { value: unknown } }).waitAsync(flags, i, 0).value;

describe('state API', () => {
  it('lists tasks with their state, type, node and error', async () => {
    const ok = ray.remote(function okTask() { return 1; });
    const bad = ray.remote(function badTask() { throw new SyntaxError('nope'); });
    const a = ok.remote();
    const b = bad.remote();
    await ray.wait([a, b], { numReturns: 2 });
    const tasks = await ray.state.listTasks();
    const okState = tasks.find((t) => t.name === 'okTask')!;
    expect(okState).toMatchObject({ state: 'FINISHED', type: 'NORMAL_TASK', errorType: null, jobId: ray.getRuntimeContext().jobId });
    expect(okState.nodeId).toMatch(/\.\d+$/);
    expect(okState.endedAt!).toBeGreaterThanOrEqual(okState.startedAt!);
    const badState = tasks.find((t) => t.name === 'badTask')!;
    expect(badState).toMatchObject({ state: 'FAILED', errorType: 'SyntaxError' });
    expect(await ray.state.listTasks({ filters: { name: 'okTask' }, limit: 5 })).toHaveLength(1);
  });

  it('lists actors and their methods\' tasks', async () => {
    const A = ray.remote(class Greeter { hi() { return 'hi'; } });
    const g = A.options({ name: 'greeter' }).remote();
    await ray.get(g.hi.remote());
    const [actor] = await ray.state.listActors({ filters: { name: 'greeter' } });
    expect(actor).toMatchObject({ className: 'Greeter', state: 'ALIVE', namespace: 'default', numRestarts: 0 });
    const calls = await ray.state.listTasks({ filters: { type: 'ACTOR_TASK', actorId: actor!.actorId } });
    expect(calls.map((t) => t.name)).toEqual(['Greeter.hi']);
  });

  it('shows a task RUNNING, with its start time, while it runs on a worker', async () => {
    // flags[0]: 1 lets the task return; flags[1]: 1 once it runs.
    const flags = new Int32Array(new SharedArrayBuffer(8));
    const long = ray.remote(function longRunning(f: Int32Array) {
      Atomics.store(f, 1, 1);
      Atomics.notify(f, 1);
      while (Atomics.load(f, 0) === 0) { /* CPU-bound */ }
      return 'ended';
    });
    const r = long.remote(flags);
    try {
      await runs(flags);
      // The node said so before the task began; its message may still be on the way to the host.
      const row = async () => (await ray.state.listTasks({ filters: { name: 'longRunning' } }))[0]!;
      for (let i = 0; i < 500 && (await row()).state !== 'RUNNING'; i++) await new Promise((res) => setTimeout(res, 1));
      const running = await row();
      expect(running.state).toBe('RUNNING');
      expect(running.startedAt).not.toBeNull();
      expect(await ray.state.listTasks({ filters: { state: 'RUNNING', name: 'longRunning' } })).toHaveLength(1);
    } finally {
      Atomics.store(flags, 0, 1);
    }
    expect(await ray.get(r)).toBe('ended');
    const [done] = await ray.state.listTasks({ filters: { name: 'longRunning' } });
    expect(done).toMatchObject({ state: 'FINISHED' });
    expect(done!.startedAt).toBeLessThanOrEqual(done!.endedAt!);
  });

  it('shows RUNNING a task that waited on its worker behind another one, once that one returned', async () => {
    const node = (await ray.nodes()).find((n) => n.kind === 'task')!.nodeId;
    // Two functions: a node says at once that a function it never ran starts (see Executor.reportStart).
    const pinned = { schedulingStrategy: { nodeId: node, soft: false } };
    const firstHeld = ray.remote(function firstHeld(f: Int32Array) {
      Atomics.store(f, 1, 1);
      Atomics.notify(f, 1);
      while (Atomics.load(f, 0) === 0) { /* CPU-bound */ }
      return 1;
    }).options(pinned);
    const secondHeld = ray.remote(function secondHeld(f: Int32Array) {
      Atomics.store(f, 3, 1);
      Atomics.notify(f, 3);
      while (Atomics.load(f, 2) === 0) { /* CPU-bound */ }
      return 3;
    }).options(pinned);
    // [go first, first runs, go second, second runs]
    const flags = new Int32Array(new SharedArrayBuffer(16));
    const a = firstHeld.remote(flags);
    const b = secondHeld.remote(flags);
    const state = async (name: string) => (await ray.state.listTasks({ filters: { name } }))[0]!;
    const until = async (name: string, want: string) => {
      for (let i = 0; i < 500 && (await state(name)).state !== want; i++) await new Promise((res) => setTimeout(res, 1));
      return state(name);
    };
    try {
      await runs(flags, 1);
      expect((await until('firstHeld', 'RUNNING')).state).toBe('RUNNING');
      expect((await state('secondHeld')).state).not.toBe('RUNNING');
      Atomics.store(flags, 0, 1);
      await runs(flags, 3);
      expect((await until('secondHeld', 'RUNNING')).state).toBe('RUNNING');
      expect((await state('firstHeld')).state).toBe('FINISHED');
    } finally {
      Atomics.store(flags, 0, 1);
      Atomics.store(flags, 2, 1);
    }
    expect(await ray.get([a, b])).toEqual([1, 3]);
  });

  it('lists objects with their reference counts', async () => {
    const r = ray.put({ big: 'value' });
    const [o] = await ray.state.listObjects({ filters: { objectId: r.id } });
    expect(o).toMatchObject({ state: 'READY', refCount: 1, owner: ray.getRuntimeContext().nodeId });
  });

  it('lists objects with the name of the task that made them: the function\'s, or options({ name })', async () => {
    const f = ray.remote(function makesObject() { return 1; });
    const plain = f.remote();
    const named = f.options({ name: 'renamed' }).remote();
    await ray.get([plain, named]);
    const rows = await ray.state.listObjects();
    expect(rows.find((o) => o.objectId === plain.id)?.taskName).toBe('makesObject');
    expect(rows.find((o) => o.objectId === named.id)?.taskName).toBe('renamed');
  });

  it('lists nodes and resources, custom ones included', async () => {
    const nodes = await ray.nodes();
    expect(nodes.filter((n) => n.kind === 'task' && n.alive)).toHaveLength(2);
    expect(await ray.clusterResources()).toEqual({ CPU: 2, webgpu: 1 });
    const gpu = ray.remote(() => 'on gpu').options({ resources: { webgpu: 1 } });
    expect(await ray.get(gpu.remote())).toBe('on gpu');
  });

  it('gives a Chrome-trace timeline with one complete event per task and named rows', async () => {
    const f = ray.remote(function traced() { return 1; });
    await ray.get([f.remote(), f.remote()]);
    const events = await ray.timeline();
    const traced = events.filter((e) => e.name === 'traced');
    expect(traced).toHaveLength(2);
    for (const e of traced) {
      expect(e.ph).toBe('X');
      expect(e.ts).toBeGreaterThan(0);
      expect(e.dur).toBeGreaterThanOrEqual(0);
      expect(events.some((m) => m.ph === 'M' && m.name === 'thread_name' && m.tid === e.tid)).toBe(true);
    }
    expect(() => JSON.parse(JSON.stringify(events))).not.toThrow();
  });

  it('writes the timeline as Chrome-trace JSON to a filename (Node), and returns the events too', async () => {
    const f = ray.remote(function traced2() { return 1; });
    await ray.get(f.remote());
    const dir = mkdtempSync(join(tmpdir(), 'webray-timeline-'));
    try {
      const file = join(dir, 'trace.json');
      const events = await ray.timeline(file);
      expect(events.some((e) => e.name === 'traced2')).toBe(true);
      const written = JSON.parse(readFileSync(file, 'utf8')) as ray.TraceEvent[];
      expect(written.filter((e) => e.name === 'traced2')).toHaveLength(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
