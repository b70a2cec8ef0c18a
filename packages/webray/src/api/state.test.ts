import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ray from '../index.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

beforeAll(() => ray.init({ numWorkers: 2, resources: { webgpu: 1 } }));
afterAll(() => ray.shutdown());

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
