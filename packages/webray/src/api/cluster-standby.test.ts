// The head's standby. Five hosts in one process over the in-memory transport: the head H and O
// (both with the operator key), the driver (submitter key, joining before O), a serving host S
// (join token only), a host L that leaves before the head and a host M that leaves with it. O, not
// the driver, is the standby. The head goes at once after granting a name: nobody resends it, yet
// the next head has it. M's job ends as the head goes, before the head handled it: M asks the next.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostRuntime } from '../host/runtime.js';
import { MemorySignaling } from '../mesh/signaling.js';
import * as ray from '../index.js';
import { currentCore } from './core.js';
import { startServingHost } from './index.js';
import { until } from '../test-support/until.js';

let h: HostRuntime;
let o: HostRuntime;
let s: HostRuntime;
let leftJob = '';
let leftWithHeadJob = '';
let standbyBefore = '';

class Counter {
  n = 0;
  incr() { return ++this.n; }
}
type CounterHandle = { incr: { remote(): ray.ObjectRef<number> } };

beforeAll(async () => {
  const keys = await ray.generateSubmitterKey();
  const operator = await ray.generateSubmitterKey();
  const base = { id: 'standby-cluster', token: 'join-secret', submitterPublicKey: keys.publicKey, operatorPublicKey: operator.publicKey, signaling: new MemorySignaling(), heartbeatMs: 100, deadAfterMs: 2000 };
  h = await startServingHost({ numWorkers: 1, cluster: { ...base, operatorKey: operator.privateKey } });
  await ray.init({ numWorkers: 1, cluster: { ...base, submitterKey: keys.privateKey } });
  o = await startServingHost({ numWorkers: 1, cluster: { ...base, operatorKey: operator.privateKey } });
  s = await startServingHost({ numWorkers: 1, resources: { s: 1 }, cluster: base });
  const l = await startServingHost({ numWorkers: 1, cluster: base });
  const m = await startServingHost({ numWorkers: 1, cluster: base });
  await until(async () => (await ray.nodes()).filter((n) => n.kind === 'task').length >= 6 && h.cluster!.member.standbyId === o.hostId);
  expect(h.cluster!.member.isHead).toBe(true);
  standbyBefore = h.cluster!.member.standbyId;

  // L finishes its job and leaves: its FINISHED row now lives only in the head's tables.
  leftJob = l.jobId;
  await l.shutdown();
  await until(async () => (await ray.state.listJobs()).some((j) => j.jobId === leftJob && j.state === 'FINISHED'));

  // A named actor on S, granted by the head; S will not resend its names to the next head.
  const named = ray.remote(Counter).options({ name: 'just-before-failover', resources: { s: 1 }, lifetime: 'detached' }).remote() as unknown as CounterHandle;
  expect(await ray.get(named.incr.remote())).toBe(1);
  (s.cluster as unknown as { restoreTables(head: string): void }).restoreTables = () => undefined;

  // The head goes on receiving M's FINISHED row, without handling it; M shuts down meanwhile.
  const hc = h.cluster as unknown as { receive(from: string, f: { t: string; state?: string }): void };
  const receive = hc.receive.bind(hc);
  let headGone: Promise<void> | undefined;
  hc.receive = (from, f) => {
    if (from === m.hostId && f.t === 'job' && f.state === 'FINISHED') { headGone ??= h.shutdown(); return; }
    receive(from, f);
  };
  leftWithHeadJob = m.jobId;
  await m.shutdown();
  await until(() => headGone !== undefined);
  await headGone;
  const survivors = [currentCore() as HostRuntime, o, s];
  await until(() => survivors.every((x) => x.cluster!.member.headId !== '' && x.cluster!.member.headId !== h.hostId));
});

afterAll(async () => {
  await ray.shutdown();
  for (const x of [o, s]) await x?.shutdown();
});

describe('the head\'s standby', () => {
  it('is a credentialed host other than the head, an operator host rather than the driver, and claims the head id first when the head goes', () => {
    expect(standbyBefore).toBe(o.hostId);
    expect(o.cluster!.member.isHead).toBe(true);
  });

  it('keeps a name the head granted just before it left, though its host never resent it', async () => {
    const again = await ray.getActor('just-before-failover') as unknown as CounterHandle;
    expect(await ray.get(again.incr.remote())).toBe(2);
  });

  it('keeps the FINISHED job of a host that left before the head', async () => {
    const jobs = await ray.state.listJobs();
    expect(jobs.find((j) => j.jobId === leftJob)?.state).toBe('FINISHED');
  });

  it('keeps the FINISHED job of a host whose row the head never handled: the host asked the next head before it left', async () => {
    const jobs = await ray.state.listJobs();
    expect(jobs.find((j) => j.jobId === leftWithHeadJob)?.state).toBe('FINISHED');
  });
});
