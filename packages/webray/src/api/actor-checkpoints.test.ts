import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ray from '../index.js';

beforeAll(() => ray.init({ numWorkers: 1 }));
afterAll(() => ray.shutdown());

/** A counter that checkpoints its count; `ranHere` (not checkpointed) counts the calls this instance ran. */
class Tally implements ray.Checkpointable<{ n: number; log: number[] }> {
  n = 0;
  ranHere = 0;
  log: number[] = [];
  inc(k: number) { this.n++; this.ranHere++; this.log.push(k); return this.n; }
  read() { return { n: this.n, ranHere: this.ranHere, log: this.log.slice(-5) }; }
  crash(): never { process.exit(1); }
  webrayCheckpoint() { return { n: this.n, log: this.log }; }
  webrayRestore(s: { n: number; log: number[] }) { this.n = s.n; this.log = s.log; }
}

describe('actor checkpoints', () => {
  it('restore a restarted actor from its last checkpoint and replay only the calls after it, in order', async () => {
    const t = ray.remote(Tally).options({ maxRestarts: 1, checkpointEvery: 10 }).remote();
    const got = await ray.get(Array.from({ length: 25 }, (_, i) => t.inc.remote(i)));
    expect(got.at(-1)).toBe(25);
    await expect(ray.get(t.crash.remote())).rejects.toBeInstanceOf(ray.RayActorError);
    // Checkpoints after calls 10 and 20: the new instance restored 20 and replayed 21..25 (5 calls).
    expect(await ray.get(t.read.remote())).toEqual({ n: 25, ranHere: 5, log: [20, 21, 22, 23, 24] });
    expect(await ray.get(t.inc.remote(25))).toBe(26);
  });

  it('replay every call since creation when the actor died before its first checkpoint', async () => {
    const t = ray.remote(Tally).options({ maxRestarts: 1, checkpointEvery: 10 }).remote();
    await ray.get([1, 2, 3].map((k) => t.inc.remote(k)));
    await expect(ray.get(t.crash.remote())).rejects.toBeInstanceOf(ray.RayActorError);
    expect(await ray.get(t.read.remote())).toEqual({ n: 3, ranHere: 3, log: [1, 2, 3] });
  });

  it('refuse checkpointEvery without the hooks, with calls that may overlap, or not a positive integer', () => {
    class Plain { ping() { return 1; } }
    expect(() => ray.remote(Tally).options({ checkpointEvery: 5 }).remote()).toThrow(/used only when the actor restarts, and it has maxRestarts 0 \(the default\)/);
    expect(() => ray.remote(Plain).options({ maxRestarts: 1, checkpointEvery: 5 }).remote()).toThrow(/needs the methods webrayCheckpoint\(\).*lacks webrayCheckpoint and webrayRestore/);
    class Overlapping { async ping() { return 1; } webrayCheckpoint() { return 0; } webrayRestore() {} }
    expect(() => ray.remote(Overlapping).options({ maxRestarts: 1, checkpointEvery: 5 }).remote()).toThrow(/maxConcurrency: 1.*got maxConcurrency 1000 \(the default for a class with async methods\)/);
    expect(() => ray.remote(Tally).options({ checkpointEvery: 0 })).toThrow(ray.RayUsageError);
  });
});
