// The serving actor as the page uses it: a module actor (compiled to JavaScript for Node workers)
// holding the policy and running its own environment, one frame per call.
import * as ray from 'webray';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileForNode } from './compile-for-node.ts';
import type { Frame, PolicyServer } from './serving.ts';
import { policyServer } from './serving-actor.ts';

let Server: ray.ActorClass<typeof PolicyServer>;

beforeAll(async () => {
  Server = policyServer(compileForNode('serving'));
  await ray.init({ numWorkers: 1 });
}, 60_000);

afterAll(() => ray.shutdown());

describe('PolicyServer (the serving actor)', () => {
  it('draws CartPole under the policy it was given, and starts a new episode when one ends', async () => {
    const server = Server.remote('cartpole', 1);
    // Always push right: the pole falls left within a second.
    await ray.get(server.setPolicy.remote(new Float32Array([0, 0, 0, 0, 1])));
    const first = await ray.get(server.frame.remote(5));
    expect(first).toMatchObject({ kind: 'cartpole', episode: 0, episodeReward: 5 });
    expect((first as Extract<Frame, { kind: 'cartpole' }>).x).toBeGreaterThan(0);
    expect(first.t).toBeCloseTo(0.1, 10);
    let frame = first;
    for (let i = 0; i < 100 && frame.episode === 0; i++) frame = await ray.get(server.frame.remote(1));
    expect(frame).toMatchObject({ kind: 'cartpole', episode: 1, episodeReward: 1 });
    expect(frame.t).toBeCloseTo(0.02, 10);
  });

  it('draws the walker as 2-D segments, and refuses a policy of the wrong shape saying what it expects', async () => {
    const server = Server.remote('walker', 1);
    const frame = await ray.get(server.frame.remote(2), { timeout: 30_000 });
    expect(frame.kind).toBe('walker');
    const { segments } = frame as Extract<Frame, { kind: 'walker' }>;
    expect(segments).toHaveLength(7);
    expect(segments.every((s) => s.length === 5 && s.every(Number.isFinite))).toBe(true);
    const err = await ray.get(server.setPolicy.remote(new Float32Array(5))).catch((e: unknown) => e);
    expect(String((err as Error).message)).toMatch(/walker policy, a Float32Array of 108 parameters; got 5 parameters/);
  });
});
